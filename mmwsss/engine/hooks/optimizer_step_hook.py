"""Tell the model how many forward passes make one optimizer step (its thresholds count optimizer steps)."""
from mmengine.hooks import Hook

from mmseg.registry import HOOKS

from ...runtime_info import ACCUMULATION_KEY


@HOOKS.register_module()
class OptimizerStepInfoHook(Hook):
    """Before training, write ``optim_wrapper.accumulative_counts`` into the message hub (:mod:`mmwsss.runtime_info`).

    The model and :class:`MemoryBankHook` read it to turn MMEngine's iteration into the optimizer step, so every
    iteration threshold of an mmwsss model is counted in optimizer steps and a ``-accN`` config needs no scaled
    copies of them. A default hook of every mmwsss config (``configs/_base_/default_runtime.py``).
    """
    priority = 'VERY_HIGH'

    def before_train(self, runner) -> None:
        counts = int(getattr(runner.optim_wrapper, '_accumulative_counts', 1) or 1)
        runner.message_hub.update_info(ACCUMULATION_KEY, counts)
        if counts > 1:
            runner.logger.info(f'OptimizerStepInfoHook: {counts} forward passes per optimizer step; the model\'s '
                               'iteration thresholds count optimizer steps')
