"""Class-token contrast between global and local views: ToCo's local crops (CTC) and MCC's masked views.

Both share the teacher/student bookkeeping of :class:`ClassTokenContrast` and the loss formula of
:class:`~mmwsss.models.losses.ViewContrastLoss`; they differ only in how the student's local views are built and
labelled, so a config switches method by swapping one registered module.
"""
from typing import Optional, Tuple

import torch
import torch.nn as nn
import torch.nn.functional as F

from mmseg.registry import MODELS

from ..losses.view_contrast_loss import ViewContrastLoss
from ..utils.cam import cam_to_roi
from ..utils.masking import generate_block_masks, masked_view_flags


class ClassTokenContrast(nn.Module):
    """Teacher = EMA projector on the detached class tokens of the 2 global views; student = projector on the
    same 2 global views (with grad) and on the local views; flags mark local views as positive or negative.

    Args:
        temperature (float): contrast temperature (0.5; ToCo COCO 1.0).
        loss_weight (float): weight (0.5).
        low_thr, high_thr (float): ROI thresholds of the view labels (0.25 / 0.7, COCO 0.65).
        neg_ratio (float): a view is negative iff its mean ROI value is at most this (0.2).
        cam_source (str): 'aux' or 'final' CAM for the ROI; ``final_cam_after`` switches to the final CAM for
            iterations after it (MCC VOC: 12000).
        start_iter (int): first iteration (0-based) the loss is active.
    """
    loss_key = 'loss_contrast'

    def __init__(self, temperature: float = 0.5, loss_weight: float = 0.5, low_thr: float = 0.25,
                 high_thr: float = 0.7, neg_ratio: float = 0.2, cam_source: str = 'aux', final_cam_after=None,
                 start_iter: int = 0) -> None:
        super().__init__()
        if cam_source not in ('aux', 'final'):
            raise ValueError(f"cam_source must be 'aux' or 'final', got {cam_source!r}")
        self.loss = ViewContrastLoss(temperature=temperature, loss_weight=loss_weight)
        self.low_thr, self.high_thr, self.neg_ratio = low_thr, high_thr, neg_ratio
        self.cam_source, self.final_cam_after = cam_source, final_cam_after
        self.start_iter = start_iter

    def roi_cam(self, ctx) -> torch.Tensor:
        use_final = self.cam_source == 'final' or (self.final_cam_after is not None
                                                   and ctx.iter > self.final_cam_after)
        return ctx.cam if use_final else ctx.aux_cam

    def global_outputs(self, ctx) -> Tuple[torch.Tensor, torch.Tensor]:
        """Teacher (B, 2, D) and student (B, 2, D) outputs of the two global views."""
        if ctx.projector is None:
            raise ValueError(f'{type(self).__name__} needs the segmentor to have a projector')
        cls2, _, _ = ctx.backbone(ctx.view('img_global2'))
        cls = torch.stack([ctx.cls_token, cls2], dim=1)
        with torch.no_grad():
            teacher = ctx.projector_teacher(cls.detach())
        return teacher, ctx.projector(cls)

    def local_outputs(self, ctx) -> Tuple[torch.Tensor, torch.Tensor]:
        """Student outputs (B, V, D) of the local views and their positive flags (B, V)."""
        raise NotImplementedError

    def forward(self, ctx) -> dict:
        teacher, student_global = self.global_outputs(ctx)
        student_local, flags = self.local_outputs(ctx)
        student = torch.cat([student_global, student_local], dim=1)
        flags = torch.cat([flags.new_ones(flags.shape[0], 2), flags], dim=1)
        return {self.loss_key: self.loss(teacher, student, flags)}


@MODELS.register_module()
class MaskedViewContrast(ClassTokenContrast):
    """MCC: ``num_views`` key-masked copies of the local view (spec 1.5), encoded on their visible tokens only.

    Masks: Bernoulli(``mask_prob``) on blocks of ``block`` x ``block`` tokens; a view is negative iff the mean
    ROI value of its visible tokens is at most ``neg_ratio``. The ROI map (from the CAM on the main view) is
    flipped where the local view is flipped, so it lines up with the view's tokens. Views with no visible block
    are redrawn (``min_visible_blocks=1``), since their class token would be an image-independent constant.
    """
    loss_key = 'loss_mcc'

    def __init__(self, num_views: int = 8, block: int = 4, mask_prob: float = 0.95, min_visible_blocks: int = 1,
                 **kwargs) -> None:
        super().__init__(**kwargs)
        self.num_views, self.block, self.mask_prob = num_views, block, mask_prob
        self.min_visible_blocks = min_visible_blocks

    def local_outputs(self, ctx):
        local = ctx.view('img_local')
        b, grid = local.shape[0], ctx.patch_tokens.shape[-2:]
        cam = F.interpolate(self.roi_cam(ctx), size=grid, mode='bicubic', align_corners=False)
        roi = cam_to_roi(cam, ctx.img_labels, low=self.low_thr, high=self.high_thr)
        flips = torch.tensor(ctx.view_flips('local'), device=roi.device)
        roi = torch.where(flips[:, None, None], roi.flip(-1), roi)
        # per image, from its own generator: the masks do not depend on the batch or process the image is in
        keep = torch.cat([generate_block_masks(1, self.num_views, tuple(grid), block=self.block,
                                               mask_prob=self.mask_prob, min_visible_blocks=self.min_visible_blocks,
                                               generator=gen)
                          for gen in ctx.generators(local.device, 'MaskedViewContrast')])
        flags = masked_view_flags(keep, roi, neg_ratio=self.neg_ratio)
        views = local[:, None].expand(-1, self.num_views, -1, -1, -1).flatten(0, 1)
        cls = ctx.backbone.forward_visible(views, keep.flatten(0, 1))
        return ctx.projector(cls).view(b, self.num_views, -1), flags


@MODELS.register_module()
class LocalCropContrast(ClassTokenContrast):
    """ToCo CTC: ``num_crops`` crops of ``crop_size`` px cut from the local view (spec 1.6).

    Crop centres are drawn among interior pixels whose ROI value is at most 1 (not confident foreground; any
    interior pixel when fewer than ``num_crops`` qualify); a crop is negative iff its mean ROI is at most
    ``neg_ratio``. The ROI (at pixel resolution) is flipped with the local view.
    """
    loss_key = 'loss_ctc'

    def __init__(self, num_crops: int = 8, crop_size: int = 96, **kwargs) -> None:
        super().__init__(**kwargs)
        self.num_crops, self.crop_size = num_crops, crop_size

    def _centres(self, roi: torch.Tensor, generator: Optional[torch.Generator] = None) -> torch.Tensor:
        half = self.crop_size // 2
        h, w = roi.shape
        interior = torch.zeros_like(roi, dtype=torch.bool)
        interior[half:h - half + 1, half:w - half + 1] = True
        candidates = torch.nonzero(interior & (roi <= 1))
        if candidates.shape[0] < self.num_crops:
            candidates = torch.nonzero(interior)
        pick = torch.randperm(candidates.shape[0], generator=generator, device=roi.device)[:self.num_crops]
        return candidates[pick]

    def local_outputs(self, ctx):
        local = ctx.view('img_local')
        roi = cam_to_roi(self.roi_cam(ctx), ctx.img_labels, low=self.low_thr, high=self.high_thr)
        flips = torch.tensor(ctx.view_flips('local'), device=roi.device)
        roi = torch.where(flips[:, None, None], roi.flip(-1), roi)
        half = self.crop_size // 2
        crops, flags = [], []
        for img, r, gen in zip(local, roi, ctx.generators(roi.device, 'LocalCropContrast')):
            for y, x in self._centres(r, gen).tolist():
                window = (slice(y - half, y - half + self.crop_size), slice(x - half, x - half + self.crop_size))
                crops.append(img[:, window[0], window[1]])
                flags.append(r[window].float().mean() > self.neg_ratio)
        cls, _, _ = ctx.backbone(torch.stack(crops))
        b = local.shape[0]
        return ctx.projector(cls).view(b, self.num_crops, -1), torch.stack(flags).view(b, self.num_crops)
