#!/usr/bin/env bash
# Shared by tools/dist_train.sh and tools/dist_test.sh:  torchrun.sh SCRIPT NPROC [script args]
# Multi-node through NNODES, NODE_RANK, MASTER_ADDR and PORT, as in MMSeg. Adds --launcher pytorch.
SCRIPT=$1
NPROC=$2
NNODES=${NNODES:-1}
NODE_RANK=${NODE_RANK:-0}
PORT=${PORT:-29500}
MASTER_ADDR=${MASTER_ADDR:-"127.0.0.1"}
TOOLS=$(cd "$(dirname "$0")/.." && pwd)
source "$TOOLS/misc/python.sh"

# One process checks the weights, checkpoints and data first (mmwsss/utils/preflight.py): a missing file then
# stops the launch with one message instead of NPROC failing ranks and torchrun's error report.
if [ "${MMWSSS_PREFLIGHT:-1}" != 0 ]; then
    PYTHONPATH="$TOOLS/..":${PYTHONPATH:-} OMP_NUM_THREADS=1 \
        "$PYTHON" "$TOOLS/$SCRIPT" "${@:3}" --preflight-only || exit $?
fi

PYTHONPATH="$TOOLS/..":${PYTHONPATH:-} \
OMP_NUM_THREADS=${OMP_NUM_THREADS:-1} \
exec "$PYTHON" -m torch.distributed.run \
    --nnodes="$NNODES" \
    --node_rank="$NODE_RANK" \
    --master_addr="$MASTER_ADDR" \
    --nproc_per_node="$NPROC" \
    --master_port="$PORT" \
    "$TOOLS/$SCRIPT" "${@:3}" --launcher pytorch
