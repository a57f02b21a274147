"""Close the windows of the MP2M memory banks on their schedule, and keep the open window across ``--resume``."""
from typing import List, Tuple

from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper

from mmseg.registry import HOOKS

from ...runtime_info import accumulative_counts
from ..checkpoint_io import checkpoint_due

WINDOW_KEY = 'memory_bank_window'


@HOOKS.register_module()
class MemoryBankHook(Hook):
    """Updates every :class:`~mmwsss.models.contrast.PrototypeMemoryBank` of the model on the bank's own interval.

    The banks are found by type among the model's modules (MP2M owns one), and each bank carries its
    ``update_interval`` in optimizer steps (``MemoryPrototypeContrast(update_interval=200)``): one number in one
    place. A default hook of every mmwsss config; without a bank it does nothing.

    Protocol (:class:`~mmwsss.models.contrast.PrototypeMemoryBank`): the training step fills the bank's open window
    (``accumulate``); at the end of every ``update_interval``-th optimizer step this hook calls ``bank.update()``,
    which sums the window over all processes (collective: it runs on every rank at the same iteration) and sets /
    EMA-updates every class with enough samples, then checks that every rank holds the same bank.

    Checkpoints and ``--resume``: ``bank`` and ``initialised`` are buffers, so ``CheckpointHook`` saves them with
    the model. The open window is saved too: in an iteration whose end is checkpointed, ``bank.window()`` sums it
    over all ranks (without closing it) and the total goes into ``checkpoint['memory_bank_window']``. A resumed
    run starts with that total on rank 0 and zeros elsewhere (``bank.load_window``), so the next update sees the
    same sums as the uninterrupted run (bit for bit with one process; with several, the order of the floating-point
    additions differs). Priority ``NORMAL``: above ``CheckpointHook`` (``VERY_LOW``).
    """
    priority = 'NORMAL'

    def __init__(self, **kwargs) -> None:
        if kwargs:
            raise TypeError(f'MemoryBankHook takes no arguments (got {sorted(kwargs)}): the update interval, momentum '
                            'and min_count belong to the bank, e.g. model.aux_losses.mp2m.update_interval=200 and '
                            'model.aux_losses.mp2m.bank=dict(momentum=0.9, min_count=4)')
        self._windows = None  # the open windows (summed over ranks) to save with this iteration's checkpoint
        self._resumed = None  # the windows loaded by --resume, applied in before_train
        self._banks = []  # (name, bank) of the model, found once in before_train

    @staticmethod
    def banks(runner) -> List[Tuple[str, object]]:
        """``(name, bank)`` for every memory bank of the (unwrapped) model."""
        from ...models.contrast.mp2m import PrototypeMemoryBank
        model = runner.model.module if is_model_wrapper(runner.model) else runner.model
        return [(n, m) for n, m in model.named_modules() if isinstance(m, PrototypeMemoryBank)]

    def before_train(self, runner) -> None:
        resumed, self._resumed = self._resumed, None
        self._banks = self.banks(runner)  # the model does not change its modules during training
        for name, bank in self._banks:
            window = self._window_for(resumed, name)
            bank.load_window(window)
            if window is not None:
                runner.logger.info(f'MemoryBankHook: {name}: resumed the open update window '
                                   f'({int(window["counts"].sum())} pooled prototypes)')
            runner.logger.info(f'MemoryBankHook: {name}: updates every {bank.update_interval} optimizer steps; '
                               f'{int(bank.initialised.sum())}/{bank.initialised.numel()} classes initialised at start')

    @staticmethod
    def _window_for(resumed, name):
        if not resumed:
            return None
        if 'sums' in resumed:  # a checkpoint of one bank, written before the banks were named
            return resumed
        return resumed.get(name)

    def after_train_iter(self, runner, batch_idx: int, data_batch=None, outputs=None) -> None:
        self._windows = None
        if not self._banks:
            return
        acc = accumulative_counts()
        for name, bank in self._banks:
            if (runner.iter + 1) % (bank.update_interval * acc) == 0:
                self._update(runner, name, bank)
        if checkpoint_due(runner):
            self._windows = {name: bank.window() for name, bank in self._banks}

    def before_save_checkpoint(self, runner, checkpoint: dict) -> None:
        if self._windows is not None:
            checkpoint[WINDOW_KEY] = self._windows

    def after_load_checkpoint(self, runner, checkpoint: dict) -> None:
        self._resumed = checkpoint.get(WINDOW_KEY) if runner._resume else None

    @staticmethod
    def _update(runner, name: str, bank) -> None:
        n_updated = int(bank.update().sum())
        ranks = bank.same_on_all_ranks()
        same = f', identical on all {ranks} ranks' if ranks > 1 else ''
        runner.logger.info(f'MemoryBankHook: {name}: iter {runner.iter + 1}: updated {n_updated} classes, '
                           f'{int(bank.initialised.sum())}/{bank.initialised.numel()} initialised{same}')
        runner.message_hub.update_scalar('train/memory_bank_updated', n_updated)
