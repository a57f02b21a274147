#!/usr/bin/env bash
# Distributed training with torchrun:  tools/dist_train.sh CONFIG GPUS [train.py args]
# Multi-node: NNODES, NODE_RANK, MASTER_ADDR, PORT (as in MMSeg). Without CUDA, GPUS CPU processes train with gloo.
CONFIG=$1
GPUS=$2
exec "$(dirname "$0")/misc/torchrun.sh" train.py "$GPUS" "$CONFIG" "${@:3}"
