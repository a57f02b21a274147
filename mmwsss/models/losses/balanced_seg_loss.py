"""Background/foreground-balanced cross entropy for the segmentation head (docs/methods/toco.md)."""
from typing import Optional

import torch
import torch.nn as nn
import torch.nn.functional as F

from mmseg.registry import MODELS


@MODELS.register_module()
class BalancedSegCELoss(nn.Module):
    """``1/2 * CE over background pixels + 1/2 * CE over foreground pixels`` (ToCo's segmentation loss).

    Pixels labelled 0 are background, any other label except ``ignore_index`` is foreground; each half is the mean
    over its pixels in the whole batch, so the (often much larger) background does not dominate.

    Empty halves: the reference takes a mean over zero pixels and returns NaN when a batch has no valid foreground
    (or background) pixel (issues #3/#8/#15). Here an empty half contributes 0 and the other half *keeps
    its weight 1/2* (no renormalisation): the gradient a pixel receives then does not depend on whether a single
    pixel of the other kind happens to be in the batch (renormalising would double it when the last such pixel
    disappears), and the loss stays continuous in that sense. All pixels ignored gives 0.

    Signature of an MMSeg decode-head loss (``loss_decode=dict(type='BalancedSegCELoss')``).

    Args:
        loss_weight (float): Defaults to 1.0 (the ToCo weight 0.1 is usually set here in configs).
        ignore_index (int): default ignored label when ``forward`` gets none. Defaults to 255.
        loss_name (str): Defaults to 'loss_seg'.

    Example:
        >>> import torch
        >>> logits = torch.zeros(1, 3, 1, 2)  # uniform over 3 classes: CE = log 3 everywhere
        >>> loss = BalancedSegCELoss()(logits, torch.tensor([[[0, 255]]]))  # no foreground: 1/2 * log 3
        >>> round(loss.item(), 4)
        0.5493
    """

    def __init__(self, loss_weight: float = 1.0, ignore_index: int = 255, loss_name: str = 'loss_seg') -> None:
        super().__init__()
        self.loss_weight = loss_weight
        self.ignore_index = ignore_index
        self._loss_name = loss_name

    def forward(self, cls_score: torch.Tensor, label: torch.Tensor, weight: Optional[torch.Tensor] = None,
                ignore_index: Optional[int] = None, **kwargs) -> torch.Tensor:
        """Args:
            cls_score (Tensor): (B, C, H, W) logits.
            label (Tensor): (B, H, W) labels.
            weight (Tensor, optional): (B, H, W) per-pixel weights (MMSeg samplers) multiplying the per-pixel CE;
                each half is still divided by its pixel count.
            ignore_index (int, optional): overrides the constructor's value (MMSeg heads pass theirs).
            **kwargs: other MMSeg loss arguments (``avg_factor``, ``reduction_override``), unused.
        """
        ignore_index = self.ignore_index if ignore_index is None else ignore_index
        label = label.long()
        ce = F.cross_entropy(cls_score.float(), label, reduction='none', ignore_index=ignore_index)
        if weight is not None:
            ce = ce * weight.float()
        valid = label != ignore_index
        bg = valid & (label == 0)
        fg = valid & (label != 0)
        # clamp(min=1): an empty half sums to 0, so it contributes 0 instead of 0 / 0
        bg_loss = (ce * bg).sum() / bg.sum().clamp(min=1)
        fg_loss = (ce * fg).sum() / fg.sum().clamp(min=1)
        return self.loss_weight * 0.5 * (bg_loss + fg_loss)

    @property
    def loss_name(self) -> str:
        return self._loss_name
