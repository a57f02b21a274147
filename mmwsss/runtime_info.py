"""Where the model reads the training progress: the runner's iteration and the optimizer step it belongs to.

MMEngine counts iterations in forward passes; with gradient accumulation over ``N`` forwards one optimizer step
spans ``N`` iterations. Every iteration threshold on the model side (``seg_start_iter``, an aux module's
``start_iter``, a CAM switch ``final_after``, the memory bank's ``update_interval``, the EMA ``ema_interval``) is
counted in **optimizer steps**, so an ``-accN`` config changes only MMEngine's own keys (batch size,
``accumulative_counts``, ``max_iters``, the schedulers) and trains the same model as the multi-GPU recipe.

:class:`~mmwsss.engine.hooks.OptimizerStepInfoHook` (a default hook of every mmwsss config) writes the accumulation
count into MMEngine's message hub before training; outside a runner both values fall back to 0 and 1.
"""
from mmengine.logging import MessageHub

#: message-hub runtime-info key of the runner's 0-based iteration (written by MMEngine's RuntimeInfoHook)
ITER_KEY = 'iter'
#: message-hub runtime-info key of ``optim_wrapper.accumulative_counts`` (written by OptimizerStepInfoHook)
ACCUMULATION_KEY = 'accumulative_counts'


def current_iter() -> int:
    """The runner's 0-based iteration (forward passes); 0 outside a runner."""
    return int(MessageHub.get_current_instance().get_info(ITER_KEY, 0))


def accumulative_counts() -> int:
    """Forward passes per optimizer step; 1 outside a runner or without accumulation."""
    return max(int(MessageHub.get_current_instance().get_info(ACCUMULATION_KEY, 1)), 1)


