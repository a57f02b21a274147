#!/usr/bin/env bash
# Distributed testing with torchrun:  tools/dist_test.sh CONFIG CHECKPOINT GPUS [test.py args]
# Multi-node: NNODES, NODE_RANK, MASTER_ADDR, PORT (as in MMSeg). Without CUDA, GPUS CPU processes test with gloo.
CONFIG=$1
CHECKPOINT=$2
GPUS=$3
exec "$(dirname "$0")/misc/torchrun.sh" test.py "$GPUS" "$CONFIG" "$CHECKPOINT" "${@:4}"
