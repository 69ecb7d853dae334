# How jobs run: utils/run.pl runs them on this machine. A cluster user points these at
# a queue.pl-style runner with the same interface.
export train_cmd="utils/run.pl"
export decode_cmd="utils/run.pl"
