"""ToCo's class-token contrast on local crops (CTC): crops of the local view against the two global views."""
from typing import Optional

import torch

from mmseg.registry import MODELS

from .base import ClassTokenContrast


@MODELS.register_module()
class LocalCropContrast(ClassTokenContrast):
    """ToCo CTC: ``num_crops`` crops of ``crop_size`` px cut from the local view.

    Crop centres are drawn among interior pixels whose ROI value is at most 1 (not confident foreground; any
    interior pixel when fewer than ``num_crops`` qualify); a crop is negative iff its mean ROI is at most
    ``neg_ratio``. The ROI (at pixel resolution) is flipped with the local view. See docs/methods/toco.md.

    Args:
        num_crops (int): crops per image (8).
        crop_size (int): crop side in pixels (96 at a 448 crop).
        **kwargs: :class:`~mmwsss.models.contrast.ClassTokenContrast` arguments (projector, loss, EMA, ROI).
    """
    default_loss_name = 'loss_ctc'
    stream = 'LocalCropContrast'

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
        local = ctx.view_local()
        if self.crop_size > min(local.shape[-2:]):
            raise ValueError(f'LocalCropContrast: crop_size={self.crop_size} does not fit the '
                             f'{local.shape[-2]}x{local.shape[-1]} local view; scale it with the crop (96 at 448)')
        roi = self.roi(ctx, self.cam.pick(ctx.cam, ctx.aux_cam, ctx.step))
        half = self.crop_size // 2
        crops, flags = [], []
        for img, r, gen in zip(local, roi, ctx.generators(roi.device, self.stream)):
            for y, x in self._centres(r, gen).tolist():
                window = (slice(y - half, y - half + self.crop_size), slice(x - half, x - half + self.crop_size))
                crops.append(img[:, window[0], window[1]])
                flags.append(r[window].float().mean() > self.neg_ratio)
        cls, _, _ = ctx.encoder.encode(torch.stack(crops))
        b = local.shape[0]
        return self.projector(cls).view(b, self.num_crops, -1), torch.stack(flags).view(b, self.num_crops)
