"""Update MP2M's prototype memory bank every N iterations (spec 4.3, done as described, not as released)."""
from typing import Optional

from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper

from mmseg.registry import HOOKS


@HOOKS.register_module()
class MemoryBankHook(Hook):
    """Owns the timing of the memory-bank updates; the bank itself is a buffer of the model.

    Protocol: the model (after unwrapping DDP) has an attribute ``bank_attr`` (default ``'memory_bank'``, a dotted
    path is allowed) holding a :class:`mmwsss.models.utils.PrototypeMemoryBank`. The training step calls
    ``bank.accumulate(*bank.extract(...))``; every ``interval`` iterations this hook calls ``bank.flush()`` and
    ``bank.update(sums, counts)``, which sums over all processes (collective: it runs on every rank at the same
    iteration) and sets / EMA-updates every class with at least ``min_count`` samples.

    Checkpoints and ``--resume``: ``bank`` and ``initialised`` are buffers, so ``CheckpointHook`` saves them with
    the model and ``runner.resume`` restores them exactly. The per-process accumulators are not state (see
    :class:`PrototypeMemoryBank`): ``before_train`` resets them, so a resumed run starts a fresh update window.
    This hook has priority ``NORMAL`` (above ``CheckpointHook``'s ``VERY_LOW``), so when the checkpoint interval
    is a multiple of ``interval`` the bank is updated before it is saved and a resume loses nothing.

    Args:
        interval (int): update every ``interval`` training iterations (spec 4.3: 200). Defaults to 200.
        bank_attr (str): attribute path of the bank on the unwrapped model. Defaults to ``'memory_bank'``.
        momentum (float, optional): override the bank's momentum. Defaults to None (the bank's own).
        min_count (int, optional): override the bank's ``min_count``. Defaults to None.
    """
    priority = 'NORMAL'

    def __init__(self, interval: int = 200, bank_attr: str = 'memory_bank', momentum: Optional[float] = None,
                 min_count: Optional[int] = None) -> None:
        if interval < 1:
            raise ValueError(f'interval must be >= 1, got {interval}')
        self.interval, self.bank_attr = int(interval), bank_attr
        self.momentum, self.min_count = momentum, min_count

    def _bank(self, runner):
        model = runner.model.module if is_model_wrapper(runner.model) else runner.model
        obj = model
        for name in self.bank_attr.split('.'):
            obj = getattr(obj, name, None)
            if obj is None:
                raise AttributeError(f'MemoryBankHook: the model ({type(model).__name__}) has no '
                                     f'{self.bank_attr!r}; enable the memory bank in the model config or remove the '
                                     'hook')
        for method in ('flush', 'update'):
            if not callable(getattr(obj, method, None)):
                raise TypeError(f'MemoryBankHook: {self.bank_attr!r} has no {method}() method')
        return obj

    def before_train(self, runner) -> None:
        bank = self._bank(runner)
        if hasattr(bank, 'reset_accumulators'):
            bank.reset_accumulators()
        initialised = getattr(bank, 'initialised', None)
        done = int(initialised.sum()) if initialised is not None else '?'
        total = initialised.numel() if initialised is not None else '?'
        runner.logger.info(f'MemoryBankHook: updates every {self.interval} iterations; {done}/{total} classes '
                           'initialised at start')

    def after_train_iter(self, runner, batch_idx: int, data_batch=None, outputs=None) -> None:
        if not self.every_n_train_iters(runner, self.interval):
            return
        bank = self._bank(runner)
        sums, counts = bank.flush()
        updated = bank.update(sums, counts, momentum=self.momentum, min_count=self.min_count)
        n_updated = int(updated.sum())
        initialised = getattr(bank, 'initialised', None)
        ready = f', {int(initialised.sum())}/{initialised.numel()} initialised' if initialised is not None else ''
        runner.logger.info(f'MemoryBankHook: iter {runner.iter + 1}: updated {n_updated} classes{ready}')
        message_hub = getattr(runner, 'message_hub', None)
        if message_hub is not None:
            message_hub.update_scalar('train/memory_bank_updated', n_updated)
