"""MemoryBankHook (mmwsss/engine/hooks/memory_bank_hook.py): finds the banks by type, updates each on its own
interval (in optimizer steps), keeps the open window across a checkpoint, and takes no interval of its own."""
import logging
import types

import pytest
import torch
import torch.nn as nn
from mmengine.logging import MessageHub

from mmwsss.compat import load_checkpoint_file
from mmwsss.engine.hooks.memory_bank_hook import MemoryBankHook
from mmwsss.models.contrast.mp2m import PrototypeMemoryBank
from mmwsss.runtime_info import ACCUMULATION_KEY


def _batch(step: int, channels: int = 8, classes: int = 4):
    gen = torch.Generator().manual_seed(1000 * step)
    return (torch.randn(3, channels, 4, 4, generator=gen), torch.rand(3, classes, 8, 8, generator=gen),
            (torch.rand(3, classes, generator=gen) > 0.4).float())


class _ToyModel(nn.Module):
    """A model with one bank, nested like MP2M's (``aux_losses.mp2m.bank``)."""

    def __init__(self, interval=3):
        super().__init__()
        self.head = nn.Linear(8, 4)
        self.aux_losses = nn.ModuleDict({'mp2m': nn.Module()})
        self.aux_losses['mp2m'].bank = PrototypeMemoryBank(4, 8, min_count=1, update_interval=interval)

    @property
    def bank(self):
        return self.aux_losses['mp2m'].bank

    def train_step(self, step):
        self.bank.accumulate(*self.bank.extract(*_batch(step)))


def _run(model, hook, iters, resume=None, acc=1):
    hub = MessageHub.get_instance('test_memory_bank_hook')
    hub.update_info(ACCUMULATION_KEY, acc)
    runner = types.SimpleNamespace(model=model, iter=0, logger=logging.getLogger('test_memory_bank_hook'),
                                   message_hub=hub, _resume=resume is not None)
    if resume is not None:
        hook.after_load_checkpoint(runner, resume)
    hook.before_train(runner)
    for it in iters:
        runner.iter = it
        model.train_step(it)
        hook.after_train_iter(runner, batch_idx=it)
    hub.update_info(ACCUMULATION_KEY, 1)
    return runner


def test_finds_banks_by_type_and_updates_on_the_bank_interval():
    model = _ToyModel(interval=4)
    assert [n for n, _ in MemoryBankHook.banks(types.SimpleNamespace(model=model))] == ['aux_losses.mp2m.bank']
    calls = []
    original = model.bank.update

    def spy(**kwargs):
        calls.append(float(model.bank.acc_counts.sum()))
        return original(**kwargs)

    model.bank.update = spy
    _run(model, MemoryBankHook(), range(9))
    expected = [sum(float(model.bank.extract(*_batch(s))[1].sum()) for s in range(i, i + 4)) for i in (0, 4)]
    assert calls == expected  # at iterations 4 and 8, each with its own window of 4 steps
    assert float(model.bank.acc_counts.sum()) > 0  # iteration 9 waits for the next window


def test_interval_counts_optimizer_steps():
    model = _ToyModel(interval=2)
    calls = []
    original = model.bank.update
    model.bank.update = lambda **kw: calls.append(1) or original(**kw)
    _run(model, MemoryBankHook(), range(12), acc=3)  # 2 steps = 6 forwards: updates after iterations 6 and 12
    assert len(calls) == 2


def test_a_model_without_a_bank_is_left_alone_and_arguments_are_refused():
    _run(_NoBank(), MemoryBankHook(), range(3))
    with pytest.raises(TypeError, match='update_interval'):
        MemoryBankHook(interval=200)


class _NoBank(nn.Linear):
    def __init__(self):
        super().__init__(1, 1)

    def train_step(self, step):
        pass


def test_checkpoint_keeps_the_bank_and_the_open_window(tmp_path):
    torch.manual_seed(0)
    model, hook = _ToyModel(), MemoryBankHook()
    runner = _run(model, hook, range(4))  # one update at iteration 3; iteration 4 opens the next window
    assert model.bank.initialised.any()
    state = model.state_dict()
    assert {'aux_losses.mp2m.bank.bank', 'aux_losses.mp2m.bank.initialised'} <= set(state)
    assert not any('acc_' in k for k in state)  # the open window is per process, not state
    checkpoint = {'state_dict': state}
    hook._windows = {'aux_losses.mp2m.bank': model.bank.window()}  # as after_train_iter does at a checkpoint
    hook.before_save_checkpoint(runner, checkpoint)
    torch.save(checkpoint, tmp_path / 'iter_4.pth')

    resumed = _ToyModel()
    loaded = load_checkpoint_file(str(tmp_path / 'iter_4.pth'))
    resumed.load_state_dict(loaded['state_dict'])
    resumed.bank.accumulate(torch.ones(4, 8), torch.ones(4))  # a stale window: replaced by the checkpoint's
    _run(resumed, MemoryBankHook(), range(4, 6), resume=loaded)
    torch.manual_seed(0)
    uninterrupted = _ToyModel()
    _run(uninterrupted, MemoryBankHook(), range(6))
    assert torch.equal(resumed.bank.bank, uninterrupted.bank.bank)
    # a checkpoint of the layout before the banks were named ({'sums', 'counts'}) resumes the same way
    old = _ToyModel()
    old.load_state_dict(loaded['state_dict'])
    _run(old, MemoryBankHook(), range(4, 6), resume={'memory_bank_window': loaded['memory_bank_window'][
        'aux_losses.mp2m.bank']})
    assert torch.equal(old.bank.bank, uninterrupted.bank.bank)
