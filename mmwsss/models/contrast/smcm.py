"""MSFC's Spatial Multi-view Contrast Module (SMCM) as the method describes it, with gradient.

The released SMCM computes every CAM under ``no_grad``, so its loss is a constant (docs/methods/msfc.md). Here the three
spatial views of the training crop are built on the device inside the step, their CAMs come from the segmentor's
CAM function **with gradient** (``ctx.encoder.cams``), are mapped back to the main frame, normalised the same way, and compared with an
L1 against each other and against the stop-gradient multi-scale CAM of the main view.

Views of a (B, 3, H, W) crop ``x`` (:func:`make_spatial_views`):

* ``'rot'``: 180-degree rotation, ``x.flip(-2, -1)``;
* ``'scale'``: a bilinear down-scaled copy, side ``int(side * scale_factor)`` (as ``multi_scale_cam``);
* ``'quad'``: the four quadrant crops ``(TL, TR, BL, BR)`` of size (H/2, W/2); H and W must be even.

Inverse mappings (:func:`views_to_main_frame`): the rotation CAM is rotated back (a 180-degree rotation is its own
inverse), the quadrant CAMs are stitched ``[[TL, TR], [BL, BR]]`` on their own grid, then every CAM is resized
bilinearly (``align_corners=False``) to the main CAM size ``out_hw``. Only the down-scaled view is inexact.
"""
from typing import Dict, Sequence, Tuple

import torch
import torch.nn.functional as F

from mmseg.registry import MODELS

from ..cam import CAMChoice, box_mask, normalise_cam
from .base import AuxModule

VIEW_NAMES = ('rot', 'scale', 'quad')


def make_spatial_views(x: torch.Tensor, scale_factor: float = 0.5) -> Dict[str, object]:
    """The three SMCM views of a (B, C, H, W) batch.

    Returns:
        dict: ``'rot'`` (B, C, H, W) rotated by 180 degrees; ``'scale'`` (B, C, int(H*s), int(W*s)) bilinear copy;
        ``'quad'`` tuple of four (B, C, H/2, W/2) crops in the order top-left, top-right, bottom-left, bottom-right.

    Raises:
        ValueError: if H or W is odd (the quadrants would not have one size, so their CAMs could not be stitched
            back onto the main grid exactly), or if the down-scaled copy would be empty.
    """
    h, w = x.shape[-2:]
    if h % 2 or w % 2:
        raise ValueError(f'SMCM quadrant view needs an even crop size, got {h}x{w}')
    if scale_factor <= 0:
        raise ValueError(f'scale_factor must be > 0, got {scale_factor}')
    sh, sw = int(h * scale_factor), int(w * scale_factor)
    if sh < 1 or sw < 1:
        raise ValueError(f'scale_factor {scale_factor} turns a {h}x{w} crop into an empty image')
    scaled = x if (sh, sw) == (h, w) else F.interpolate(x, size=(sh, sw), mode='bilinear', align_corners=False)
    hh, hw = h // 2, w // 2
    quads = (x[..., :hh, :hw], x[..., :hh, hw:], x[..., hh:, :hw], x[..., hh:, hw:])
    return {'rot': x.flip(-2, -1), 'scale': scaled, 'quad': quads}


def stitch_quadrants(quads: Sequence[torch.Tensor]) -> torch.Tensor:
    """Stitch ``(TL, TR, BL, BR)`` maps of equal size (B, K, h, w) into one (B, K, 2h, 2w) map."""
    if len(quads) != 4:
        raise ValueError(f'expected 4 quadrant maps (TL, TR, BL, BR), got {len(quads)}')
    if len({tuple(q.shape) for q in quads}) != 1:
        raise ValueError(f'quadrant maps must share one shape, got {[tuple(q.shape) for q in quads]}')
    tl, tr, bl, br = quads
    return torch.cat([torch.cat([tl, tr], dim=-1), torch.cat([bl, br], dim=-1)], dim=-2)


def _resize(cam: torch.Tensor, out_hw: Tuple[int, int]) -> torch.Tensor:
    if tuple(cam.shape[-2:]) == tuple(out_hw):
        return cam
    return F.interpolate(cam, size=tuple(out_hw), mode='bilinear', align_corners=False)


def views_to_main_frame(cams: Dict[str, object], out_hw: Sequence[int]) -> Dict[str, torch.Tensor]:
    """Map the view CAMs back onto the main view's frame at size ``out_hw``.

    Args:
        cams (dict): ``'rot'`` (B, K, h, w), ``'scale'`` (B, K, h', w'), ``'quad'`` four (B, K, hq, wq) maps in
            the order TL, TR, BL, BR (any subset of the keys).
        out_hw: (H, W) of the main CAM.

    Returns:
        dict[str, Tensor]: the same keys, each (B, K, H, W), not normalised.
    """
    out_hw = tuple(int(v) for v in out_hw)
    mapped = {}
    if 'rot' in cams:
        mapped['rot'] = _resize(cams['rot'].flip(-2, -1), out_hw)  # rot180 is its own inverse
    if 'scale' in cams:
        mapped['scale'] = _resize(cams['scale'], out_hw)
    if 'quad' in cams:
        mapped['quad'] = _resize(stitch_quadrants(cams['quad']), out_hw)
    return mapped


def normalise_view_cam(cam: torch.Tensor, eps: float = 1e-5) -> torch.Tensor:
    """``relu(A) / (max_{h,w} relu(A) + eps)`` per image and class, over the whole map (gradient flows through
    the max too). Applied in the main frame, i.e. after stitching, so the four quadrants share one scale."""
    cam = cam.relu()
    return cam / (cam.amax(dim=(-2, -1), keepdim=True) + eps)


@MODELS.register_module()
class SpatialMultiViewContrast(AuxModule):
    """MSFC's SMCM: spatial-view CAM consistency, with gradient through the view CAMs.

    Per step: the views of ``ctx.inputs`` (:func:`make_spatial_views`) go through ``ctx.encoder.cams`` (raw CAMs
    with gradient) in three calls (rotation B, scale B, quadrants 4B). The CAMs are mapped to the main frame
    (:func:`views_to_main_frame`) and normalised by :func:`normalise_view_cam`. With ``M`` the main view's
    multi-scale CAM (``ctx.cam``, or ``ctx.aux_cam`` for ``cam='aux'``; already in [0, 1], detached here)::

        smc1 = |M_rot - M| + |M_scale - M| + |M_quad - M|                 (views vs stop-gradient main CAM)
        smc2 = |M_rot - M_scale| + |M_rot - M_quad| + |M_scale - M_quad|  (views vs each other)
        loss_smcm = loss_weight * (smc1_weight * smc1 + smc2_weight * smc2) / 6

    where ``|.|`` is the mean absolute difference over the valid elements: classes present in the image
    (``img_labels``) and pixels inside the crop's ``img_box``. With both term weights 1 this is the method's
    (1/6)-average of the six pairs. Gradient flows into both members of each smc2 pair. See docs/methods/msfc.md.

    Args:
        loss_weight (float): weight of the loss (0.1).
        scale_factor (float): size factor of the down-scaled view (0.5).
        smc1_weight, smc2_weight (float): relative weights of the two groups of terms (1.0 / 1.0, the plain
            average of all six pairs).
        cam (dict | str): :class:`~mmwsss.models.cam.CAMChoice` of the views and the target: 'final' (final-token
            CAMs, target ``ctx.cam``) or 'aux'. Defaults to 'final'.
        loss_name (str): the logged key. Defaults to 'loss_smcm'.
        eps (float): normalisation epsilon.
        view_norm (str): how the view CAMs are normalised. ``'relu_max'`` (the released code, the default):
            ``relu(A) / max relu(A)``, while the target (the multi-scale CAM) is min-max normalised, so the two
            sides of every smc1 term are normalised differently; ``'min_max'``: the views min-max normalised like
            the target (after the ReLU the multi-scale CAM also has).
        **kwargs: :class:`~mmwsss.models.contrast.AuxModule` arguments (``start_iter``).
    """
    VIEW_NORMS = ('relu_max', 'min_max')

    def __init__(self, loss_weight: float = 0.1, scale_factor: float = 0.5, smc1_weight: float = 1.0,
                 smc2_weight: float = 1.0, cam='final', loss_name: str = 'loss_smcm', eps: float = 1e-5,
                 view_norm: str = 'relu_max', **kwargs) -> None:
        super().__init__(**kwargs)
        if view_norm not in self.VIEW_NORMS:
            raise ValueError(f'view_norm must be one of {self.VIEW_NORMS}, got {view_norm!r}')
        self.view_norm = view_norm
        if scale_factor <= 0:
            raise ValueError(f'scale_factor must be > 0, got {scale_factor}')
        self.loss_weight = loss_weight
        self.scale_factor = scale_factor
        self.smc1_weight, self.smc2_weight = smc1_weight, smc2_weight
        self.cam = CAMChoice.build(cam)
        self.loss_name = loss_name
        self.eps = eps

    @property
    def loss_names(self):
        return (self.loss_name,)

    def _cam_of(self, ctx, x: torch.Tensor) -> torch.Tensor:
        cam, aux_cam = ctx.encoder.cams(x)
        return self.cam.pick(cam, aux_cam, ctx.step)

    def view_cams(self, ctx, out_hw: Sequence[int]) -> Dict[str, torch.Tensor]:
        """Normalised view CAMs (with gradient) in the main frame, each (B, K, H, W)."""
        views = make_spatial_views(ctx.inputs, self.scale_factor)
        b = ctx.inputs.shape[0]
        raw = {'rot': self._cam_of(ctx, views['rot']), 'scale': self._cam_of(ctx, views['scale']),
               'quad': tuple(self._cam_of(ctx, torch.cat(views['quad'], dim=0)).split(b, dim=0))}
        return {k: self._normalise_view(v) for k, v in views_to_main_frame(raw, out_hw).items()}

    def _normalise_view(self, cam: torch.Tensor) -> torch.Tensor:
        """``view_norm``: the released relu / max, or the target's ReLU + min-max per image and class."""
        if self.view_norm == 'min_max':
            return normalise_cam(cam.relu(), self.eps)
        return normalise_view_cam(cam, self.eps)

    @staticmethod
    def _masked_l1(a: torch.Tensor, b: torch.Tensor, mask: torch.Tensor, denom: torch.Tensor) -> torch.Tensor:
        return ((a - b).abs() * mask).sum() / denom

    # ------------------------------------------------------------------ forward
    def forward(self, ctx) -> dict:
        target = self.cam.pick(ctx.cam, ctx.aux_cam, ctx.step).detach()
        out_hw = tuple(target.shape[-2:])
        mapped = self.view_cams(ctx, out_hw)
        target = target.to(mapped['rot'].dtype)

        inside = box_mask(ctx.img_boxes, out_hw, crop_hw=ctx.crop_hw, device=target.device)
        mask = ctx.img_labels.to(target.dtype)[:, :, None, None] * inside[:, None].to(target.dtype)
        denom = mask.sum().clamp(min=1.0)

        m = [mapped[k] for k in VIEW_NAMES]
        smc1 = sum(self._masked_l1(v, target, mask, denom) for v in m)
        smc2 = sum(self._masked_l1(m[i], m[j], mask, denom) for i, j in ((0, 1), (0, 2), (1, 2)))
        loss = self.loss_weight * (self.smc1_weight * smc1 + self.smc2_weight * smc2) / 6.0
        return {self.loss_name: loss}
