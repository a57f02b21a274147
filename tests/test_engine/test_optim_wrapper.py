"""The gradient guard given by FiniteGradOptimWrapperConstructor: any wrapper type, AMP on the CPU, loss scaler rules."""
import logging
from contextlib import contextmanager

import pytest
import torch
from mmengine.logging import MessageHub, MMLogger
from mmengine.optim import OptimWrapper, build_optim_wrapper
from mmengine.registry import init_default_scope

import mmwsss  # noqa: F401  (registers the constructor and wrappers)
from mmseg.registry import OPTIM_WRAPPERS
from mmwsss.engine.optim_wrapper import CPUAmpOptimWrapper, FiniteGradCheck, accelerator_available


class _SqrtAtZero(torch.nn.Module):
    """A finite loss whose gradient w.r.t. ``w`` is NaN (d/dx sqrt(x^2) at 0 is 0 * inf)."""

    def __init__(self):
        super().__init__()
        self.w = torch.nn.Parameter(torch.ones(4))
        self.b = torch.nn.Parameter(torch.ones(2))
        self.frozen = torch.nn.Parameter(torch.ones(3), requires_grad=False)

    def forward(self, nan=True):
        first = torch.sqrt((self.w - self.w.detach()) ** 2).sum() if nan else (self.w ** 2).sum()
        return first + (self.b ** 2).sum()


@pytest.fixture(autouse=True)
def _first_iteration():
    """The guard names the iteration from MessageHub's ``iter``; the current instance is process-wide, and a test
    that ran before in the same process (another file, under pytest-xdist in any order) leaves its own there."""
    MessageHub.get_current_instance().update_info('iter', 0)


def _build(model, **cfg):
    init_default_scope('mmseg')
    base = dict(type='OptimWrapper', constructor='FiniteGradOptimWrapperConstructor',
                optimizer=dict(type='SGD', lr=0.1), clip_grad=dict(max_norm=1.0))
    return build_optim_wrapper(model, dict(base, **cfg))


def _step(wrapper, model, nan=True):
    with wrapper.optim_context(model):
        loss = model(nan)
    wrapper.update_params(loss)


def test_constructor_guards_the_plain_wrapper_and_keeps_its_type():
    model = _SqrtAtZero()
    wrapper = _build(model)
    assert isinstance(wrapper, OptimWrapper) and isinstance(wrapper, FiniteGradCheck)
    assert type(wrapper).__name__ == 'FiniteGradOptimWrapper'
    before = model.w.detach().clone()
    with pytest.raises(FloatingPointError, match=r'at iteration 1 in 1 parameter tensor\(s\): w \(nan in 4 of 4\)'):
        _step(wrapper, model)
    assert torch.equal(model.w, before), 'the optimizer stepped on a NaN gradient'


def test_default_constructor_has_no_guard():
    """The control: the same config with mmengine's constructor writes NaN into the weights."""
    model = _SqrtAtZero()
    wrapper = _build(model, constructor='DefaultOptimWrapperConstructor')
    _step(wrapper, model)
    assert torch.isnan(model.w).all()


@pytest.mark.skipif(accelerator_available(), reason='the CPU fallback is only used without CUDA/NPU/MLU/MUSA')
def test_amp_on_the_cpu_is_bf16_autocast_and_guarded():
    model = _SqrtAtZero()
    wrapper = _build(model, type='AmpOptimWrapper', loss_scale='dynamic')  # what --amp makes of the config
    assert isinstance(wrapper, CPUAmpOptimWrapper) and isinstance(wrapper, FiniteGradCheck)
    layer = torch.nn.Linear(4, 2)
    with wrapper.optim_context(layer):
        assert layer(torch.ones(1, 4)).dtype == torch.bfloat16
    assert layer(torch.ones(1, 4)).dtype == torch.float32
    with pytest.raises(FloatingPointError, match='non-finite gradient at iteration 1'):  # no scaler: at once
        _step(wrapper, model)
    # a GPU checkpoint's loss-scaler state is accepted and dropped
    state = wrapper.state_dict()
    wrapper.load_state_dict(dict(state, loss_scaler={'scale': 65536.0}))


def test_cpu_amp_refuses_fp16():
    with pytest.raises(ValueError, match='bfloat16 only'):
        CPUAmpOptimWrapper(optimizer=torch.optim.SGD([torch.nn.Parameter(torch.ones(1))], lr=0.1), dtype='float16')


@OPTIM_WRAPPERS.register_module(force=True)
class _ScaledTestWrapper(OptimWrapper):
    """AmpOptimWrapper's step on a CPU GradScaler (mmengine's own wrapper refuses to start without a GPU)."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.loss_scaler = torch.amp.GradScaler('cpu', init_scale=1024.0)

    def backward(self, loss, **kwargs):
        self.loss_scaler.scale(loss).backward(**kwargs)

    def step(self, **kwargs):
        self.loss_scaler.unscale_(self.optimizer)
        self._clip_grad()
        self.loss_scaler.step(self.optimizer, **kwargs)
        self.loss_scaler.update()


def test_under_a_loss_scaler_skipped_steps_are_allowed_until_max_in_a_row():
    model = _SqrtAtZero()
    wrapper = _build(model, type='_ScaledTestWrapper', max_skipped_steps=3)
    assert wrapper.max_skipped_steps == 3
    before = model.w.detach().clone()
    for _ in range(2):  # the scaler skips these steps and halves its scale; the guard lets it
        _step(wrapper, model)
    assert torch.equal(model.w, before) and wrapper.loss_scaler.get_scale() == 256.0
    _step(wrapper, model, nan=False)  # a finite step resets the count
    assert not torch.equal(model.w, before)
    for _ in range(2):
        _step(wrapper, model)
    with pytest.raises(FloatingPointError, match=r'in 3 optimizer steps in a row \(the dynamic loss scaler skipped'):
        _step(wrapper, model)


@contextmanager
def _captured_log():
    logger = MMLogger.get_current_instance()
    records = []
    handler = logging.Handler()
    handler.emit = records.append
    logger.addHandler(handler)
    try:
        yield records
    finally:
        logger.removeHandler(handler)


def test_paramwise_lines_become_one_summary():
    model = torch.nn.Sequential(torch.nn.Linear(2, 2), torch.nn.Linear(2, 2))
    model[1].bias.requires_grad_(False)
    with _captured_log() as records:
        _build(model, paramwise_cfg=dict(custom_keys={'0.': dict(lr_mult=0.1)}))
    lines = [r.getMessage() for r in records]
    assert not any('paramwise_options' in line or 'is skipped since' in line for line in lines), lines
    summary = [line for line in lines if line.startswith('FiniteGradOptimWrapper (SGD)')]
    assert summary == ['FiniteGradOptimWrapper (SGD): lr=0.01 weight_decay=0: 2 tensors (0.00M, e.g. 0.weight); '
                       'lr=0.1 weight_decay=0: 1 tensors (0.00M, e.g. 1.weight); 1 frozen tensors '
                       '(requires_grad=False) not optimised'], lines
