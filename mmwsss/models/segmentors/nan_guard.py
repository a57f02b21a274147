"""Logged loss values averaged over processes and checked for NaN/Inf before the optimizer step."""
import math
from collections import OrderedDict
from typing import List

import torch
import torch.distributed as dist

from ...runtime_info import current_iter


class NaNGuardMixin:
    """``parse_losses`` for a segmentor: mmengine's sum of the loss terms, with the logged values averaged over
    processes and, when ``self.nan_guard`` is set, a ``FloatingPointError`` naming the term, the iteration and the
    batch's images (``self._batch_paths``) as soon as one is NaN/Inf, before the optimizer step (so the weights and
    the last checkpoint stay clean).

    Averaging makes the log of a DDP run the loss of its global batch (mmengine logs rank 0's own values) and lets
    every rank see the same values, so with the guard all ranks stop together instead of the others waiting forever
    in the next all-reduce.
    """
    nan_guard: bool = True
    _batch_paths: List[str] = []

    def parse_losses(self, losses: dict):
        loss, log_vars = super().parse_losses(losses)
        names = list(log_vars)
        values = torch.stack([v.detach().float().reshape(()) for v in log_vars.values()])
        local_bad = [n for n, v in zip(names, values.tolist()) if not math.isfinite(v)]
        if dist.is_available() and dist.is_initialized() and dist.get_world_size() > 1:
            # every rank has the same loss keys: the active terms depend on the iteration and on the memory bank,
            # which are the same on all ranks
            dist.all_reduce(values, op=dist.ReduceOp.SUM)
            values = values / dist.get_world_size()
        if self.nan_guard and not bool(torch.isfinite(values).all()):
            raise FloatingPointError(self._non_finite_message(names, values, local_bad))
        return loss, OrderedDict(zip(names, values))

    def _non_finite_message(self, names, values, local_bad) -> str:
        bad = [f'{n}={v}' for n, v in zip(names, values.tolist()) if n != 'loss' and not math.isfinite(v)]
        where = (f'This process computed non-finite {", ".join(local_bad)} for the images' if local_bad
                 else 'Another process produced it; this process\'s losses were finite for the images')
        return (f'non-finite loss at iteration {current_iter() + 1}: {", ".join(bad) or "loss"}. {where} '
                f'{", ".join(self._batch_paths) or "an unknown batch"}. Training stopped before the optimizer '
                'step, so the last checkpoint is clean: find the cause (learning rate, bad image, loss '
                'weights), then continue with tools/train.py --resume. model.nan_guard=False disables this check.')
