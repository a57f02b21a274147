"""Log the global batch a run really trains with (GPUs x images per GPU x accumulation)."""
from mmengine.dist import get_world_size
from mmengine.hooks import Hook

from mmseg.registry import HOOKS


@HOOKS.register_module()
class GlobalBatchInfoHook(Hook):
    """Before training, log ``global batch = processes x batch_size x accumulative_counts``.

    WSSS results depend on the global batch (a single-GPU run of a 4-GPU recipe silently loses several mIoU), so
    every log states it; compare it with ``expected`` (e.g. the paper's 4 for MCC VOC) and warn on a mismatch.

    Args:
        expected (int, optional): the global batch of the recipe the config reproduces.
    """
    priority = 'VERY_LOW'

    def __init__(self, expected=None) -> None:
        self.expected = expected

    def before_train(self, runner) -> None:
        batch = runner.train_dataloader.batch_size
        accumulate = runner.cfg.optim_wrapper.get('accumulative_counts', 1)
        world = get_world_size()
        total = world * batch * accumulate
        runner.logger.info(f'global batch = {world} processes x {batch} images x {accumulate} accumulated steps '
                           f'= {total}')
        if self.expected is not None and total != self.expected:
            runner.logger.warning(f'global batch {total} differs from the recipe\'s {self.expected}: use the '
                                  '1xbN-accM config or --cfg-options optim_wrapper.accumulative_counts=... to '
                                  'keep it')
