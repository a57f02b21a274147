#!/usr/bin/env bash
# Training on a Slurm cluster:  [GPUS=8] tools/slurm_train.sh PARTITION JOB_NAME CONFIG [train.py args]
# GPUS_PER_NODE, CPUS_PER_TASK and SRUN_ARGS as in MMSeg.
exec "$(dirname "$0")/misc/srun.sh" "$1" "$2" train.py "${@:3}"
