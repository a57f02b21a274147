"""A progress bar over the images of a validation or test run (tools/test.py, --ms-flip-crf, CAM evaluation)."""
import sys
from typing import Optional

from mmengine.dist import is_main_process
from mmengine.hooks import Hook
from mmengine.utils import ProgressBar

from mmseg.registry import HOOKS


@HOOKS.register_module()
class EvalProgressHook(Hook):
    """MMEngine's ``ProgressBar`` over the val/test batches, on the main process only.

    The CRF of ``WSSSIoUMetric`` runs in worker processes with at most ``2 x num_workers`` images pending, so the
    bar also tracks the CRF. Shown only when standard output is a terminal (a log file or CI gets MMEngine's
    ``Iter(test)`` lines instead of carriage-return updates); ``always=True`` shows it anyway. A default hook of
    every mmwsss config (``default_hooks.eval_progress``).

    Args:
        always (bool): show the bar when standard output is not a terminal too. Defaults to False.
    """
    priority = 'VERY_LOW'

    def __init__(self, always: bool = False) -> None:
        self.always = always
        self._bar: Optional[ProgressBar] = None

    def _start(self, loader) -> None:
        self._bar = None
        if not is_main_process() or not (self.always or sys.stdout.isatty()):
            return
        total = len(loader) if loader is not None else 0
        if total:
            self._bar = ProgressBar(total, file=sys.stdout)

    def _step(self) -> None:
        if self._bar is not None:
            self._bar.update()

    def _end(self) -> None:
        if self._bar is not None:
            sys.stdout.write('\n')
            sys.stdout.flush()
        self._bar = None

    def before_val_epoch(self, runner) -> None:
        self._start(runner.val_dataloader)

    def after_val_iter(self, runner, batch_idx, data_batch=None, outputs=None) -> None:
        self._step()

    def after_val_epoch(self, runner, metrics=None) -> None:
        self._end()

    def before_test_epoch(self, runner) -> None:
        self._start(runner.test_dataloader)

    def after_test_iter(self, runner, batch_idx, data_batch=None, outputs=None) -> None:
        self._step()

    def after_test_epoch(self, runner, metrics=None) -> None:
        self._end()
