"""Patch Token Contrast loss (ToCo PTC, MCC "aff_loss"; docs/methods/toco.md)."""
import torch
import torch.nn as nn
import torch.nn.functional as F

from mmseg.registry import MODELS


@MODELS.register_module()
class PTCLoss(nn.Module):
    """Patch Token Contrast: pull together tokens with the same pseudo label, push apart different ones.

    Features are L2-normalised over channels and ``c_pq = |cos(f_p, f_q)|``; with ``Pos``/``Neg`` the pairs labelled
    1/0 over the whole batch,

    ``L = 1/2 * (1 - sum_Pos c / (|Pos| + 1)) + 1/2 * sum_Neg c / (|Neg| + 1)``.

    The ``+ 1`` keeps the loss finite without pairs: with every pair ignored it is the constant 0.5 (no gradient).

    Args:
        loss_weight (float): Defaults to 0.2 (``w_ptc``).
        ignore_index (int): pair label that is neither positive nor negative. Only 0 and 1 count, so any other
            value is ignored as well. Defaults to 255.
        loss_name (str): Defaults to 'loss_ptc'.

    Example:
        >>> import torch
        >>> tokens = torch.tensor([[[1., 0.], [1., 0.], [0., 1.]]])  # (B=1, N=3, C=2)
        >>> pairs = torch.tensor([[[255, 1, 0], [1, 255, 0], [0, 0, 255]]])
        >>> PTCLoss(loss_weight=1.0)(tokens, pairs)  # 0.5 * (1 - 2/3) + 0.5 * 0/5
        tensor(0.1667)
    """

    def __init__(self, loss_weight: float = 0.2, ignore_index: int = 255, loss_name: str = 'loss_ptc') -> None:
        super().__init__()
        self.loss_weight = loss_weight
        self.ignore_index = ignore_index
        self._loss_name = loss_name

    def forward(self, tokens: torch.Tensor, pair_labels: torch.Tensor, **kwargs) -> torch.Tensor:
        """Args: tokens (B, C, h, w) or (B, N, C); pair_labels (B, N, N) with N = h * w (row-major)."""
        if tokens.dim() == 4:
            tokens = tokens.flatten(2).transpose(1, 2)
        feats = F.normalize(tokens.float(), dim=-1)
        if pair_labels.shape != (*feats.shape[:2], feats.shape[1]):
            raise ValueError(f'pair_labels {tuple(pair_labels.shape)} do not match {feats.shape[1]} tokens')
        cos = (feats @ feats.transpose(1, 2)).abs()
        pos = (pair_labels == 1).to(cos.dtype)
        neg = (pair_labels == 0).to(cos.dtype)
        pos_term = 1.0 - (cos * pos).sum() / (pos.sum() + 1.0)
        neg_term = (cos * neg).sum() / (neg.sum() + 1.0)
        return self.loss_weight * 0.5 * (pos_term + neg_term)

    @property
    def loss_name(self) -> str:
        return self._loss_name
