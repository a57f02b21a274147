"""The auxiliary-module protocol every paper term implements, and the class-token contrast base (ToCo CTC, MCC).

An auxiliary module is one paper term (PTC, CTC, MCC, SMCM, MP2M, ...). The segmentor calls, in every training
step and in the order of ``aux_losses``:

1. :meth:`AuxModule.observe` on every module (no loss; state that must follow every step, e.g. an EMA teacher
   update or a memory bank's accumulation), then
2. :meth:`AuxModule.forward` on the modules whose ``start_iter`` (an optimizer step) has come, each returning a
   dict of named loss terms.

Both read one :class:`~mmwsss.models.contrast.WSSSContext`. A module owns what only it uses (the class-token modules
their projector and EMA teacher, MP2M its memory bank) and takes the defaults it shares with the segmentor (the
threshold pair, the number of classes, the token channels) in :meth:`AuxModule.bind`, so a COCO config sets
``thr=(0.25, 0.65)`` once on the segmentor.
"""
import copy
from dataclasses import dataclass
from typing import Dict, Optional, Sequence, Tuple

import torch
import torch.nn as nn

from mmseg.registry import MODELS

from ..cam import CAMChoice, cam_to_roi


@dataclass(frozen=True)
class AuxDefaults:
    """What the segmentor tells its aux modules once, when it builds them."""
    num_classes: int  #: foreground classes K
    embed_dims: int  #: channels of the backbone's tokens
    thr: Tuple[float, float] = (0.25, 0.7)  #: ``(low, high)`` CAM thresholds of the segmentor


def build_loss(default: dict, override: Optional[dict]) -> nn.Module:
    """Build a registered loss: ``override`` with a ``type`` replaces ``default``; without one it updates it."""
    cfg = dict(default)
    if override:
        cfg = dict(override) if 'type' in override else {**cfg, **override}
    return MODELS.build(cfg)


class AuxModule(nn.Module):
    """Base of the auxiliary loss modules.

    Subclasses implement :meth:`forward`; a module whose keys are not its registered ``loss``'s ``loss_name``
    overrides :attr:`loss_names` (SMCM). They override
    :meth:`observe` when they keep state across steps and :meth:`bind` when they build parts whose size depends on
    the model. Set ``observes_cam = True`` when :meth:`observe` reads ``ctx.cam`` (the segmentor then computes the
    CAMs in every step, also before any loss is active).

    Args:
        start_iter (int): first optimizer step (0-based) whose loss includes this module. Defaults to 0.
        thr (tuple[float, float], optional): ``(low, high)`` CAM thresholds; None takes the segmentor's.
    """
    observes_cam = False
    #: keys :meth:`forward` returns besides the losses: values logged for monitoring, without gradient and without
    #: ``loss`` in their names (MMEngine sums only the keys that contain it)
    log_names: Tuple[str, ...] = ()

    def __init__(self, start_iter: int = 0, thr: Optional[Sequence[float]] = None, **unknown) -> None:
        super().__init__()
        if unknown:
            from ..segmentors.legacy_keys import LEGACY_MODULE_KEYS, reject_unknown_keys
            reject_unknown_keys(type(self).__name__, unknown, LEGACY_MODULE_KEYS)
        if start_iter < 0:
            raise ValueError(f'start_iter must be >= 0, got {start_iter}')
        self.start_iter = int(start_iter)
        self._thr = None if thr is None else tuple(float(v) for v in thr)
        self.low_thr, self.high_thr = self._thr or AuxDefaults.thr

    @property
    def loss_names(self) -> Tuple[str, ...]:
        """The keys :meth:`forward` returns: by default the ``loss_name`` of the module's registered ``loss``."""
        return (self.loss.loss_name,)

    def bind(self, defaults: AuxDefaults) -> None:
        """Take the segmentor's shared settings (called once, right after the module is built)."""
        if self._thr is None:
            self.low_thr, self.high_thr = (float(v) for v in defaults.thr)

    def high_threshold(self, ctx):
        """The high CAM threshold of this step: the segmentor's per-image schedule (``ctx.high_thr``, DuPL's
        dynamic threshold) when it has one and this module takes the segmentor's thresholds, else ``high_thr``."""
        if self._thr is None and getattr(ctx, 'high_thr', None) is not None:
            return ctx.high_thr
        return self.high_thr

    def observe(self, ctx) -> None:
        """Every training step, before any loss, without a loss. Does nothing by default."""

    def forward(self, ctx) -> Dict[str, torch.Tensor]:
        raise NotImplementedError


@torch.no_grad()
def ema_update_(teacher: nn.Module, student: nn.Module, momentum: float = 0.9) -> None:
    """In place ``theta_t <- m * theta_t + (1 - m) * theta_s`` for every parameter; buffers are copied.

    Buffers (e.g. BatchNorm statistics) are copied rather than averaged: they are not learned by gradient, and the
    teacher should describe the data the way the current student does. The ToCo/MCC heads have no buffers, so this
    does not change them. Parameters are matched by name, so the two modules must have the same structure.

    Args:
        teacher (nn.Module): updated in place; its parameters need no gradient.
        student (nn.Module): read only.
        momentum (float): ``m`` in [0, 1]; 1 keeps the teacher, 0 copies the student. Defaults to 0.9.

    Example:
        >>> import torch
        >>> t, s = torch.nn.Linear(1, 1, bias=False), torch.nn.Linear(1, 1, bias=False)
        >>> _ = t.weight.data.fill_(1.), s.weight.data.fill_(3.)
        >>> ema_update_(t, s, momentum=0.9)
        >>> round(t.weight.item(), 6)
        1.2
    """
    if not 0.0 <= momentum <= 1.0:
        raise ValueError(f'momentum must be in [0, 1], got {momentum}')
    t_params, s_params = dict(teacher.named_parameters()), dict(student.named_parameters())
    t_buffers, s_buffers = dict(teacher.named_buffers()), dict(student.named_buffers())
    if t_params.keys() != s_params.keys() or t_buffers.keys() != s_buffers.keys():
        raise ValueError('teacher and student must have the same parameter and buffer names')
    for name, t_param in t_params.items():
        t_param.mul_(momentum).add_(s_params[name].detach(), alpha=1.0 - momentum)
    for name, t_buffer in t_buffers.items():
        t_buffer.copy_(s_buffers[name])


DEFAULT_PROJECTOR = dict(type='DINOProjectionHead', in_dims=768, hidden_dims=2048, bottleneck_dims=256, out_dims=1024)


class ClassTokenContrast(AuxModule):
    """Class-token contrast between two global views and a set of local views (ToCo's CTC, MCC).

    Teacher = an EMA copy of the projector on the detached class tokens of the two global views; student = the
    projector on the same two global views (with gradient) and on the local views; flags mark each local view as
    positive or negative. The module owns its projector and the teacher: the teacher is in the checkpoint, not in
    the optimizer, and is updated in :meth:`observe`, once per ``ema_interval`` optimizer steps, at the first
    forward of the step and before any teacher output (the released code's order). Subclasses build the local
    views (:meth:`local_outputs`).

    Args:
        projector (dict): projection head (:class:`~mmwsss.models.heads.DINOProjectionHead`; DeiT-B: 768 -> 2048
            -> 256 -> 1024).
        loss (dict, optional): the registered loss; defaults to ``ViewContrastLoss`` (temperature 0.5, weight 0.5;
            ToCo COCO uses temperature 1.0). A dict without ``type`` updates the default.
        ema_momentum (float): teacher momentum. Defaults to 0.9.
        ema_interval (int): update the teacher every this many optimizer steps. Defaults to 1.
        neg_ratio (float): a view is negative iff its mean ROI value is at most this (0.2).
        cam (dict | str): :class:`~mmwsss.models.cam.CAMChoice` for the ROI: 'aux' (ToCo), or
            ``dict(source='aux', final_after=12000)`` (MCC VOC). Defaults to 'aux'.
        **kwargs: :class:`AuxModule` arguments (``start_iter``, ``thr``).
    """
    default_loss_name = 'loss_contrast'
    #: name of the per-image random stream of the views; fixed, so seeded runs reproduce across versions
    stream = 'ClassTokenContrast'

    def __init__(self, projector: Optional[dict] = None, loss: Optional[dict] = None, ema_momentum: float = 0.9,
                 ema_interval: int = 1, neg_ratio: float = 0.2, cam='aux', **kwargs) -> None:
        super().__init__(**kwargs)
        if ema_interval < 1:
            raise ValueError(f'ema_interval must be >= 1, got {ema_interval}')
        self.loss = build_loss(dict(type='ViewContrastLoss', temperature=0.5, loss_weight=0.5,
                                    loss_name=self.default_loss_name), loss)
        self.projector = MODELS.build(projector or DEFAULT_PROJECTOR)
        self.projector_teacher = copy.deepcopy(self.projector)
        self.projector_teacher.requires_grad_(False)
        self.ema_momentum, self.ema_interval = ema_momentum, int(ema_interval)
        self.neg_ratio = neg_ratio
        self.cam = CAMChoice.build(cam)

    def observe(self, ctx) -> None:
        if ctx.first_in_step and ctx.step % self.ema_interval == 0:
            ema_update_(self.projector_teacher, self.projector, self.ema_momentum)

    def roi(self, ctx, cam: torch.Tensor) -> torch.Tensor:
        """0/1/2 confidence map of ``cam`` (already on the view's grid), flipped where the local view is."""
        roi = cam_to_roi(cam, ctx.img_labels, low=self.low_thr, high=self.high_thr)
        flips = torch.tensor(ctx.view_flips('local'), device=roi.device)
        return torch.where(flips[:, None, None], roi.flip(-1), roi)

    def global_outputs(self, ctx) -> Tuple[torch.Tensor, torch.Tensor]:
        """Teacher (B, 2, D) and student (B, 2, D) outputs of the two global views."""
        cls2, _, _ = ctx.encoder.encode(ctx.view_global2())
        cls = torch.stack([ctx.cls_token, cls2], dim=1)
        with torch.no_grad():
            teacher = self.projector_teacher(cls.detach())
        return teacher, self.projector(cls)

    def local_outputs(self, ctx) -> Tuple[torch.Tensor, torch.Tensor]:
        """Student outputs (B, V, D) of the local views and their positive flags (B, V)."""
        raise NotImplementedError

    def forward(self, ctx) -> dict:
        teacher, student_global = self.global_outputs(ctx)
        student_local, flags = self.local_outputs(ctx)
        student = torch.cat([student_global, student_local], dim=1)
        flags = torch.cat([flags.new_ones(flags.shape[0], 2), flags], dim=1)
        return {self.loss.loss_name: self.loss(teacher, student, flags)}
