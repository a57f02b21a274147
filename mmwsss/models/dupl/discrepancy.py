"""DuPL's inter-student discrepancy loss: push the two students' final feature maps apart.

For every image and channel, the cosine between the two students' maps is taken over the spatial positions (a
per-channel comparison of where features fire, not a per-token comparison of channels), and the loss is
``(1 + mean cos(sg(F_1), F_2)) + (1 + mean cos(sg(F_2), F_1))`` with ``sg`` the stop-gradient: each student is
pushed away from the other, held fixed in turn. Its value is ``2 (1 + mean cos)`` and its gradient that of
``1 + mean cos`` without any stop-gradient. The paper writes a log-based form; the released code uses this one,
which its authors report to perform about the same.
"""
import torch
import torch.nn as nn
import torch.nn.functional as F

from mmseg.registry import MODELS


@MODELS.register_module()
class DiscrepancyLoss(nn.Module):
    """``loss_weight * [(1 + mean cos(sg(a), b)) + (1 + mean cos(sg(b), a))]``, cosine over space per channel.

    Args:
        loss_weight (float): 0.1 (VOC), 0.05 (COCO).
        eps (float): cosine epsilon. Defaults to 1e-6.
        start_iter (int): first optimizer step whose loss includes it (VOC 0, COCO 8001).
        loss_name (str): Defaults to 'loss_dis'.

    Example:
        >>> a = torch.randn(2, 8, 4, 4)
        >>> float(DiscrepancyLoss(loss_weight=1.0)(a, a))  # identical maps: 2 (1 + 1)
        4.0
    """

    def __init__(self, loss_weight: float = 0.1, eps: float = 1e-6, start_iter: int = 0,
                 loss_name: str = 'loss_dis') -> None:
        super().__init__()
        self.loss_weight, self.eps, self.start_iter = loss_weight, eps, int(start_iter)
        self._loss_name = loss_name

    @property
    def loss_name(self) -> str:
        return self._loss_name

    def forward(self, feats_a: torch.Tensor, feats_b: torch.Tensor) -> torch.Tensor:
        """Args: feats_a, feats_b (Tensor): (B, D, h, w) final patch tokens of the two students."""
        if feats_a.shape != feats_b.shape:
            raise ValueError(f'DiscrepancyLoss: feature maps {tuple(feats_a.shape)} and {tuple(feats_b.shape)} differ')
        a, b = feats_a.flatten(2).float(), feats_b.flatten(2).float()
        cos_ab = F.cosine_similarity(a.detach(), b, dim=2, eps=self.eps)  # (B, D)
        cos_ba = F.cosine_similarity(b.detach(), a, dim=2, eps=self.eps)
        return self.loss_weight * ((1 + cos_ab.mean()) + (1 + cos_ba.mean()))
