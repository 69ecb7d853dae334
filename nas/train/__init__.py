"""Training machinery of the NAS stages: data, losses, checkpoints, logging, data parallelism, the loop."""
