"""Update MP2M's prototype memory bank every N iterations (spec 4.3, done as described, not as released)."""
from typing import Optional

import torch
import torch.distributed as dist
from mmengine.dist import get_rank
from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper

from mmseg.registry import HOOKS

from ..checkpoint_io import checkpoint_due


@HOOKS.register_module()
class MemoryBankHook(Hook):
    """Owns the timing of the memory-bank updates; the bank itself is a buffer of the model.

    Protocol: the model (after unwrapping DDP) has an attribute ``bank_attr`` (default ``'memory_bank'``, a dotted
    path is allowed) holding a :class:`mmwsss.models.utils.PrototypeMemoryBank`. The training step calls
    ``bank.accumulate(*bank.extract(...))``; every ``interval`` iterations this hook calls ``bank.flush()`` and
    ``bank.update(sums, counts)``, which sums over all processes (collective: it runs on every rank at the same
    iteration) and sets / EMA-updates every class with at least ``min_count`` samples.

    Checkpoints and ``--resume``: ``bank`` and ``initialised`` are buffers, so ``CheckpointHook`` saves them with
    the model and ``runner.resume`` restores them exactly. The open update window (what the processes pooled
    since the last update) is saved too: in an iteration whose end is checkpointed, this hook sums the
    per-process accumulators over all ranks (a collective, without touching them) and puts the total in
    ``checkpoint['memory_bank_window']``. A resumed run starts with that total on rank 0 and zeros elsewhere, so
    the next update sees the same sums as the uninterrupted run (bit for bit with one process; with several, the
    order of the floating-point additions differs). Priority ``NORMAL``: above ``CheckpointHook`` (``VERY_LOW``).

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
        self._window = None  # the open window (summed over ranks) to save with this iteration's checkpoint
        self._resumed_window = None  # the window loaded by --resume, applied in before_train

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
        window, self._resumed_window = self._resumed_window, None
        if window is not None and get_rank() == 0:
            bank.accumulate(window['sums'], window['counts'])
        if window is not None:
            runner.logger.info(f'MemoryBankHook: resumed the open update window '
                               f'({int(window["counts"].sum())} pooled prototypes)')
        initialised = getattr(bank, 'initialised', None)
        done = int(initialised.sum()) if initialised is not None else '?'
        total = initialised.numel() if initialised is not None else '?'
        runner.logger.info(f'MemoryBankHook: updates every {self.interval} iterations; {done}/{total} classes '
                           'initialised at start')

    def after_train_iter(self, runner, batch_idx: int, data_batch=None, outputs=None) -> None:
        self._window = None
        if self.every_n_train_iters(runner, self.interval):
            self._update(runner)
        if checkpoint_due(runner):
            self._window = self._global_window(self._bank(runner))

    @staticmethod
    def _check_same_on_all_ranks(bank) -> str:
        """With several processes, compare every rank's bank with rank 0's (they must be equal bit for bit)."""
        if not (dist.is_available() and dist.is_initialized()) or dist.get_world_size() == 1:
            return ''
        banks = [torch.empty_like(bank.bank) for _ in range(dist.get_world_size())]
        dist.all_gather(banks, bank.bank.contiguous())
        differ = [r for r, b in enumerate(banks) if not torch.equal(b, banks[0])]
        if differ:
            raise RuntimeError(f'MemoryBankHook: the memory bank of rank(s) {differ} differs from rank 0 after the '
                               'update; the ranks no longer train the same model')
        return f', identical on all {len(banks)} ranks'

    @staticmethod
    def _global_window(bank) -> dict:
        packed = torch.cat([bank.acc_sums, bank.acc_counts[:, None]], dim=1).detach().clone()
        if dist.is_available() and dist.is_initialized() and dist.get_world_size() > 1:
            dist.all_reduce(packed, op=dist.ReduceOp.SUM)
        return dict(sums=packed[:, :-1].cpu(), counts=packed[:, -1].cpu())

    def before_save_checkpoint(self, runner, checkpoint: dict) -> None:
        if self._window is not None:
            checkpoint['memory_bank_window'] = self._window

    def after_load_checkpoint(self, runner, checkpoint: dict) -> None:
        self._resumed_window = checkpoint.get('memory_bank_window') if runner._resume else None

    def _update(self, runner) -> None:
        bank = self._bank(runner)
        sums, counts = bank.flush()
        updated = bank.update(sums, counts, momentum=self.momentum, min_count=self.min_count)
        n_updated = int(updated.sum())
        initialised = getattr(bank, 'initialised', None)
        ready = f', {int(initialised.sum())}/{initialised.numel()} initialised' if initialised is not None else ''
        runner.logger.info(f'MemoryBankHook: iter {runner.iter + 1}: updated {n_updated} classes{ready}'
                           f'{self._check_same_on_all_ranks(bank)}')
        message_hub = getattr(runner, 'message_hub', None)
        if message_hub is not None:
            message_hub.update_scalar('train/memory_bank_updated', n_updated)
