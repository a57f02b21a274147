"""The NaN/Inf gradient guard, for any optimizer wrapper, and mixed precision on the CPU.

The guard is given by the optimizer-wrapper *constructor*, not by the wrapper type, so that the configs keep
``optim_wrapper.type='OptimWrapper'``: MMSeg's ``tools/train.py --amp`` (and ``mim train ... --amp``) accepts only
that type and turns it into ``AmpOptimWrapper``; the constructor then guards the AMP wrapper too::

    optim_wrapper = dict(type='OptimWrapper', constructor='FiniteGradOptimWrapperConstructor',
                         optimizer=dict(type='AdamW', lr=6e-5, weight_decay=0.01), clip_grad=dict(max_norm=5.0))

What the guard does on a non-finite gradient depends on the wrapper:

* without a loss scaler (fp32, bf16 autocast on the CPU): it raises ``FloatingPointError`` at once, naming the
  parameters, before clipping and the optimizer step, so the weights and the last checkpoint stay clean;
* under a dynamic loss scaler (``AmpOptimWrapper``, fp16): an inf gradient is the scaler's normal overflow
  signal; the scaler skips that step and lowers the scale. The guard lets it, and raises only when
  ``max_skipped_steps`` (default 10) optimizer steps *in a row* had non-finite gradients: an overflow disappears
  when the scale drops (each skip halves it), a NaN produced by the model does not.
"""
import logging
import math
import weakref
from collections import OrderedDict
from contextlib import contextmanager
from typing import Dict, List, Optional

import torch
import torch.nn as nn
from mmengine.logging import MMLogger, print_log
from mmengine.optim import DefaultOptimWrapperConstructor, OptimWrapper

from mmseg.registry import OPTIM_WRAPPER_CONSTRUCTORS, OPTIM_WRAPPERS

__all__ = ['FiniteGradCheck', 'FiniteGradOptimWrapper', 'FiniteGradOptimWrapperConstructor', 'CPUAmpOptimWrapper',
           'accelerator_available']


def accelerator_available() -> bool:
    """Whether mmengine's ``AmpOptimWrapper`` can run here (it asserts a CUDA/NPU/MLU/MUSA device)."""
    from mmengine.device import is_cuda_available, is_mlu_available, is_musa_available, is_npu_available
    return is_cuda_available() or is_npu_available() or is_mlu_available() or is_musa_available()


class FiniteGradCheck:
    """Mixin for an :class:`~mmengine.optim.OptimWrapper` subclass: check the gradients in ``step`` (module
    docstring). Checked once per optimizer step, after accumulation and the DDP all-reduce, so all ranks agree.

    Cost: one reduction per parameter tensor and one device sync per optimizer step.
    """

    #: consecutive non-finite steps a dynamic loss scaler may skip before the guard stops training
    max_skipped_steps: int = 10
    _model_ref = None
    _skipped_in_a_row = 0

    @contextmanager
    def optim_context(self, model: nn.Module):
        # train_step passes the model here (plain and DDP alike); kept to name the parameters in the error message
        self._model_ref = weakref.ref(model)
        with super().optim_context(model):
            yield

    def step(self, **kwargs) -> None:
        bad = self._non_finite_grads()
        if bad and self._scaler_enabled():
            self._skipped_in_a_row += 1
            if self._skipped_in_a_row >= self.max_skipped_steps:
                raise FloatingPointError(self._message(bad, scaler=True))
        elif bad:
            raise FloatingPointError(self._message(bad))
        else:
            self._skipped_in_a_row = 0
        super().step(**kwargs)  # with a scaler and bad gradients: the scaler skips this step and lowers the scale

    def _scaler_enabled(self) -> bool:
        scaler = getattr(self, 'loss_scaler', None)
        return scaler is not None and (not hasattr(scaler, 'is_enabled') or scaler.is_enabled())

    def _params(self) -> List[torch.Tensor]:
        return [p for group in self.optimizer.param_groups for p in group['params']
                if p.requires_grad and p.grad is not None]

    def _non_finite_grads(self) -> List[torch.Tensor]:
        params = self._params()
        if not params:
            return []
        # one sync: the largest magnitude of every gradient (NaN/Inf propagate through amax)
        peaks = torch.stack([p.grad.detach().abs().amax().float() for p in params]).tolist()
        return [p for p, peak in zip(params, peaks) if not math.isfinite(peak)]

    def _names(self, params) -> List[str]:
        model = self._model_ref() if self._model_ref is not None else None
        names = {id(p): n for n, p in model.named_parameters()} if model is not None else {}
        return [names.get(id(p), f'<unnamed {tuple(p.shape)}>') for p in params]

    def _message(self, bad, scaler: bool = False) -> str:
        described = []
        for name, p in zip(self._names(bad), bad):
            grad = p.grad.detach()
            kind = 'nan' if bool(torch.isnan(grad).any()) else 'inf'
            described.append(f'{name} ({kind} in {int((~torch.isfinite(grad)).sum())} of {grad.numel()})')
        more = f' and {len(described) - 6} more' if len(described) > 6 else ''
        it = int(self.message_hub.get_info('iter', 0)) + 1
        where = (f'in {self._skipped_in_a_row} optimizer steps in a row (the dynamic loss scaler skipped them; its '
                 f'scale is now {self.loss_scaler.get_scale():g}, so this is not an fp16 overflow), last at '
                 f'iteration {it}' if scaler else f'at iteration {it}')
        return (f'non-finite gradient {where} in {len(bad)} parameter tensor(s): '
                f'{", ".join(described[:6])}{more}. If the loss terms were finite (WeakSegmentor\'s nan_guard checks '
                'them first), a term has an undefined derivative at this batch (a sqrt, norm, log or division at 0) '
                'or a gradient overflowed; the parameters named say which part of the model it reached. Training '
                'stopped before gradient clipping and the optimizer step, so the weights and the last checkpoint are '
                "clean: fix the term, then continue with tools/train.py --resume. optim_wrapper.constructor="
                "'DefaultOptimWrapperConstructor' disables this check.")


@OPTIM_WRAPPERS.register_module()
class FiniteGradOptimWrapper(FiniteGradCheck, OptimWrapper):
    """``OptimWrapper`` with the gradient guard, for configs that name the wrapper type (before the guard moved to
    :class:`FiniteGradOptimWrapperConstructor`; MMSeg's ``--amp`` refuses this type, the constructor does not).

    Example:
        >>> optim_wrapper = dict(type='FiniteGradOptimWrapper', clip_grad=dict(max_norm=5.0),
        ...                      optimizer=dict(type='AdamW', lr=6e-5, weight_decay=0.01))
    """


@OPTIM_WRAPPERS.register_module()
class CPUAmpOptimWrapper(OptimWrapper):
    """Mixed precision on the CPU: the forward under ``torch.autocast('cpu', dtype=torch.bfloat16)``.

    mmengine's ``AmpOptimWrapper`` asserts a CUDA/NPU/MLU/MUSA device; :class:`FiniteGradOptimWrapperConstructor`
    builds this wrapper instead when ``--amp`` runs on a machine without one. bf16 has fp32's exponent range, so no
    loss scaler is needed: ``loss_scale`` is accepted (what ``--amp`` sets) and ignored, and a checkpoint's
    ``loss_scaler`` state from a GPU run is dropped on load. Speed depends on the CPU's bf16 support.

    Args:
        loss_scale: ignored (see above).
        dtype (str | torch.dtype, optional): ``'bfloat16'`` or None (the CPU autocast supports nothing else).
        **kwargs: those of :class:`mmengine.optim.OptimWrapper`.
    """

    def __init__(self, loss_scale='dynamic', dtype=None, **kwargs):
        if dtype not in (None, 'bfloat16', torch.bfloat16):
            raise ValueError(f'CPUAmpOptimWrapper: CPU autocast runs in bfloat16 only, got dtype={dtype!r}')
        super().__init__(**kwargs)
        self.cast_dtype = torch.bfloat16

    @contextmanager
    def optim_context(self, model: nn.Module):
        with super().optim_context(model), torch.autocast('cpu', dtype=self.cast_dtype):
            yield

    def load_state_dict(self, state_dict: dict) -> None:
        state_dict = {k: v for k, v in state_dict.items() if k != 'loss_scaler'}
        super().load_state_dict(state_dict)


_GUARDED: Dict[type, type] = {}


def _guarded_class(cls: type) -> type:
    """``cls`` with :class:`FiniteGradCheck` in front, created once per wrapper class (``FiniteGrad<Name>``)."""
    if issubclass(cls, FiniteGradCheck):
        return cls
    if cls not in _GUARDED:
        _GUARDED[cls] = type(f'FiniteGrad{cls.__name__}', (FiniteGradCheck, cls), {'__module__': __name__})
    return _GUARDED[cls]


@OPTIM_WRAPPER_CONSTRUCTORS.register_module()
class FiniteGradOptimWrapperConstructor(DefaultOptimWrapperConstructor):
    """mmengine's default constructor (``paramwise_cfg`` and all), plus: the wrapper it builds, whatever its type
    (``OptimWrapper``, ``AmpOptimWrapper`` after ``--amp``, ...), gets the NaN/Inf gradient guard; ``AmpOptimWrapper``
    becomes :class:`CPUAmpOptimWrapper` on a machine without an accelerator; and the per-parameter
    ``paramwise_options`` lines of the default constructor (one per tensor: 447 for DeiT-B) are replaced by one
    summary line per (lr, weight decay) group.

    ``optim_wrapper.max_skipped_steps`` (read here, not passed on) sets
    :attr:`FiniteGradCheck.max_skipped_steps`.

    Example:
        >>> optim_wrapper = dict(type='OptimWrapper', constructor='FiniteGradOptimWrapperConstructor',
        ...                      optimizer=dict(type='AdamW', lr=6e-4, weight_decay=0.01),
        ...                      paramwise_cfg=dict(custom_keys={'backbone': dict(lr_mult=0.1)}))
    """

    def __init__(self, optim_wrapper_cfg: dict, paramwise_cfg: Optional[dict] = None):
        optim_wrapper_cfg = dict(optim_wrapper_cfg)
        self.max_skipped_steps = int(optim_wrapper_cfg.pop('max_skipped_steps', FiniteGradCheck.max_skipped_steps))
        if optim_wrapper_cfg.get('type') == 'AmpOptimWrapper' and not accelerator_available():
            print_log('AmpOptimWrapper needs a CUDA/NPU/MLU/MUSA device; on this CPU, mixed precision runs as bf16 '
                      'autocast (CPUAmpOptimWrapper, no loss scaler).', logger='current', level=logging.WARNING)
            optim_wrapper_cfg['type'] = 'CPUAmpOptimWrapper'
        super().__init__(optim_wrapper_cfg, paramwise_cfg)

    def __call__(self, model: nn.Module) -> OptimWrapper:
        logger = MMLogger.get_current_instance()
        level = logger.level
        logger.setLevel(logging.ERROR)  # the default constructor's line per parameter (and per frozen parameter)
        try:
            wrapper = super().__call__(model)
        finally:
            logger.setLevel(level)
        wrapper.__class__ = _guarded_class(type(wrapper))
        wrapper.max_skipped_steps = self.max_skipped_steps
        self._log_summary(model, wrapper)
        return wrapper

    @staticmethod
    def _log_summary(model: nn.Module, wrapper: OptimWrapper) -> None:
        model = getattr(model, 'module', model)
        names = {id(p): n for n, p in model.named_parameters()}
        groups: 'OrderedDict[tuple, List[str]]' = OrderedDict()
        numel: Dict[tuple, int] = {}
        for group in wrapper.optimizer.param_groups:
            key = (group.get('lr'), group.get('weight_decay'))
            for p in group['params']:
                groups.setdefault(key, []).append(names.get(id(p), '?'))
                numel[key] = numel.get(key, 0) + p.numel()
        frozen = sum(1 for p in model.parameters() if not p.requires_grad)
        parts = [f'lr={lr:g} weight_decay={wd:g}: {len(ps)} tensors ({numel[(lr, wd)] / 1e6:.2f}M, e.g. {ps[0]})'
                 for (lr, wd), ps in groups.items()]
        print_log(f'{type(wrapper).__name__} ({type(wrapper.optimizer).__name__}): ' + '; '.join(parts)
                  + (f'; {frozen} frozen tensors (requires_grad=False) not optimised' if frozen else ''),
                  logger='current')
