"""DuPL's consistency regularisation on the pixels a student gets no supervision for.

Cross supervision ignores the partner's uncertain pixels (the 255 band, the noise filter's removals and the crop
padding). There each student is trained to keep its own confident prediction (max softmax > 0.9 on the clean view)
on a strongly augmented view of the same crop (RandAugment, always flipped, shrunk by 0.75): cross entropy between
the strong-view logits (flipped back and upsampled) and the clean-view argmax, averaged over the masked pixels.
The target is the student's own prediction (self-consistency), detached.
"""
from typing import Sequence

import torch
import torch.nn as nn
import torch.nn.functional as F

from mmseg.registry import MODELS


def strong_view_logits(encode_decode, view: torch.Tensor, flips: Sequence[bool], scale: float,
                       out_hw: Sequence[int]) -> torch.Tensor:
    """Segmentation logits of the strong view, aligned with the clean crop.

    The view is resized by ``scale`` (bilinear), run through ``encode_decode`` (``x -> logits``), upsampled to
    ``out_hw`` and flipped back where ``flips`` says the view was flipped.

    Args:
        encode_decode (callable): ``(B, 3, h, w) -> (B, C, h', w')`` logits of one student.
        view (Tensor): (B, 3, H, W) normalised strong views.
        flips (sequence[bool]): per image, whether the view is horizontally flipped w.r.t. the crop.
        scale (float): resize factor of the view before the network (0.75).
        out_hw (sequence[int]): (H, W) of the clean crop.
    """
    if scale != 1:
        h, w = view.shape[-2:]
        view = F.interpolate(view, size=(int(h * scale), int(w * scale)), mode='bilinear', align_corners=False)
    logits = F.interpolate(encode_decode(view), size=tuple(out_hw), mode='bilinear', align_corners=False)
    flip = torch.tensor(list(flips), dtype=torch.bool, device=logits.device)[:, None, None, None]
    return torch.where(flip, logits.flip(-1), logits)


@MODELS.register_module()
class StrongViewConsistencyLoss(nn.Module):
    """``loss_weight * sum_{p in Q} CE(strong(p), argmax clean(p)) / |Q|``, Q = partner-ignored and confident.

    Args:
        loss_weight (float): 0.05 in DuPL.
        conf_thr (float): the clean view's max softmax must exceed it. Defaults to 0.9.
        scale (float): the strong view's resize factor before the network. Defaults to 0.75.
        start_iter (int): first optimizer step whose loss includes it (VOC 8001, COCO 32001).
        ignore_index (int): the partner labels' ignore value. Defaults to 255.
        loss_name (str): Defaults to 'loss_reg'.

    Example:
        >>> clean = torch.tensor([[[[5.0, -5.0]], [[-5.0, 5.0]]]])  # (1, 2, 1, 2): confident class 0, then 1
        >>> strong = torch.zeros(1, 2, 1, 2)  # uniform: CE = log 2
        >>> loss = StrongViewConsistencyLoss(loss_weight=1.0)
        >>> round(float(loss(strong, clean, torch.tensor([[[255, 1]]]))), 4)  # only the first pixel counts
        0.6931
    """

    def __init__(self, loss_weight: float = 0.05, conf_thr: float = 0.9, scale: float = 0.75, start_iter: int = 0,
                 ignore_index: int = 255, loss_name: str = 'loss_reg') -> None:
        super().__init__()
        self.loss_weight, self.conf_thr, self.scale = loss_weight, conf_thr, scale
        self.start_iter, self.ignore_index = int(start_iter), ignore_index
        self._loss_name = loss_name

    @property
    def loss_name(self) -> str:
        return self._loss_name

    def mask_and_target(self, clean_logits: torch.Tensor, partner_labels: torch.Tensor):
        """(B, H, W) bool mask Q and long target (the clean argmax), both detached."""
        with torch.no_grad():
            conf, target = F.softmax(clean_logits.detach().float(), dim=1).max(dim=1)
            mask = (partner_labels == self.ignore_index) & (conf > self.conf_thr)
        return mask, target

    def forward(self, strong_logits: torch.Tensor, clean_logits: torch.Tensor,
                partner_labels: torch.Tensor) -> torch.Tensor:
        """Args:
            strong_logits (Tensor): (B, C, H, W) strong-view logits aligned with the crop (with gradient).
            clean_logits (Tensor): (B, C, H, W) the same student's clean-view logits at crop size.
            partner_labels (Tensor): (B, H, W) the labels that supervise this student (after noise filtering).
        """
        mask, target = self.mask_and_target(clean_logits, partner_labels)
        ce = F.cross_entropy(strong_logits.float(), target, reduction='none')
        # an empty mask gives 0 (with a gradient of zeros), not 0 / 0
        return self.loss_weight * (ce * mask).sum() / mask.sum().clamp(min=1)
