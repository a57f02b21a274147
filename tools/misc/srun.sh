#!/usr/bin/env bash
# Shared by tools/slurm_train.sh and tools/slurm_test.sh:  srun.sh PARTITION JOB_NAME SCRIPT [script args]
# GPUS, GPUS_PER_NODE, CPUS_PER_TASK and SRUN_ARGS as in MMSeg; the interpreter as in tools/misc/python.sh.
set -x
PARTITION=$1
JOB_NAME=$2
SCRIPT=$3
GPUS=${GPUS:-4}
GPUS_PER_NODE=${GPUS_PER_NODE:-4}
CPUS_PER_TASK=${CPUS_PER_TASK:-5}
SRUN_ARGS=${SRUN_ARGS:-""}
TOOLS=$(cd "$(dirname "$0")/.." && pwd)
source "$TOOLS/misc/python.sh"

PYTHONPATH="$TOOLS/..":${PYTHONPATH:-} \
srun -p "${PARTITION}" \
    --job-name="${JOB_NAME}" \
    --gres=gpu:"${GPUS_PER_NODE}" \
    --ntasks="${GPUS}" \
    --ntasks-per-node="${GPUS_PER_NODE}" \
    --cpus-per-task="${CPUS_PER_TASK}" \
    --kill-on-bad-exit=1 \
    ${SRUN_ARGS} \
    "$PYTHON" -u "$TOOLS/$SCRIPT" "${@:4}" --launcher="slurm"
