# How jobs run: utils/run.pl runs them on this machine. On a SLURM cluster, uncomment the last
# line: utils/slurm.pl submits each job array with sbatch, its options mapped by conf/slurm.conf
# (partition, account; docs/cluster.md).
export train_cmd="utils/run.pl"
export decode_cmd="utils/run.pl"
# export train_cmd="utils/slurm.pl" decode_cmd="utils/slurm.pl"
