#!/usr/bin/env bash
# Testing on a Slurm cluster:  [GPUS=8] tools/slurm_test.sh PARTITION JOB_NAME CONFIG CHECKPOINT [test.py args]
# GPUS_PER_NODE, CPUS_PER_TASK and SRUN_ARGS as in MMSeg.
exec "$(dirname "$0")/misc/srun.sh" "$1" "$2" test.py "${@:3}"
