"""Contrast of teacher global views with student views (ToCo ``CTCLoss_neg`` = MCC ``MCCLoss``; docs/methods)."""
import math

import torch
import torch.nn as nn
import torch.nn.functional as F

from mmseg.registry import MODELS


@MODELS.register_module()
class ViewContrastLoss(nn.Module):
    """InfoNCE-like loss between the teacher's global views and the student's views flagged positive / negative.

    For image ``i`` with teacher outputs ``t_a`` (a = 1..A, A = 2 in ToCo/MCC) and student outputs ``s_j``
    (j = 1..V), ``e_aj = exp(<t_a, s_j> / tau)``, ``N_a = sum_{j in Neg} e_aj`` and

    ``L_i = [ sum_{j in Pos} sum_a -log(e_aj / (e_aj + N_a + 1e-4)) + sum_a -log(1 / (1 + N_a + 1e-4)) ]
    / (A * (|Pos| + 1e-4))``,  ``L = mean_i L_i``

    (docs/methods/mcc.md, "The MCC loss"; the denominator's A is the reference's hard-coded 2). The second sum is the
    reference's extra "push the negatives away" term. Outputs are not normalised here.

    Numerics: every term is computed from the logits ``z_aj = <t_a, s_j> / tau`` in log space, which gives the same
    value without forming ``exp(z)``. With ``u_a = log(N_a + eps) = logaddexp(logsumexp_{j in Neg} z_aj, log eps)``
    (the log-sum-exp is ``-inf`` without negatives),
    ``-log(e_aj / (e_aj + N_a + eps)) = log(1 + (N_a + eps) / e_aj) = softplus(u_a - z_aj)`` and
    ``-log(1 / (1 + N_a + eps)) = softplus(u_a)``. The softplus form also avoids the cancellation of
    ``log(e + N) - z`` when a positive term is tiny. The reference overflows to inf/NaN once ``z`` exceeds ~88 in
    float32, which the 1024-d head outputs can reach at tau = 0.5.

    The teacher outputs are used as given; pass them detached (the reference's teacher head is EMA-only).

    Args:
        temperature (float): ``tau``. Defaults to 0.5.
        loss_weight (float): Defaults to 0.5 (``w_ctc`` / ``w_mcc``).
        eps (float): the reference's 1e-4 in the denominators and in ``|Pos| + eps``. Defaults to 1e-4.
        loss_name (str): Defaults to 'loss_view_contrast'.

    Example:
        >>> import torch
        >>> teacher = torch.randn(2, 2, 8)
        >>> student = torch.randn(2, 5, 8)
        >>> flags = torch.tensor([[True, True, False, True, False]] * 2)  # the 2 global views are positives
        >>> ViewContrastLoss()(teacher, student, flags).shape
        torch.Size([])
    """

    def __init__(self, temperature: float = 0.5, loss_weight: float = 0.5, eps: float = 1e-4,
                 loss_name: str = 'loss_view_contrast') -> None:
        super().__init__()
        self.temperature = temperature
        self.loss_weight = loss_weight
        self.eps = eps
        self._loss_name = loss_name

    def forward(self, teacher: torch.Tensor, student: torch.Tensor, flags: torch.Tensor, **kwargs) -> torch.Tensor:
        """Args: teacher (B, A, D); student (B, V, D); flags (B, V) bool, True = positive."""
        if teacher.dim() != 3 or student.dim() != 3 or teacher.shape[0] != student.shape[0] \
                or teacher.shape[2] != student.shape[2] or flags.shape != student.shape[:2]:
            raise ValueError(f'expected teacher (B, A, D), student (B, V, D), flags (B, V); got '
                             f'{tuple(teacher.shape)}, {tuple(student.shape)}, {tuple(flags.shape)}')
        flags = flags.bool()
        num_teacher = teacher.shape[1]
        logits = torch.einsum('bad,bvd->bav', teacher.float(), student.float()) / self.temperature  # (B, A, V)
        log_neg = logits.masked_fill(flags[:, None, :], float('-inf')).logsumexp(dim=2)  # log N_a, (B, A)
        log_neg_eps = torch.logaddexp(log_neg, torch.full_like(log_neg, math.log(self.eps)))  # log(N_a + eps)
        # -log(e_aj / (e_aj + N_a + eps)) for every (a, j); only the positive j are summed
        pos_terms = F.softplus(log_neg_eps[..., None] - logits)
        pos_sum = pos_terms.masked_fill(~flags[:, None, :], 0.0).sum(dim=(1, 2))
        # -log(1 / (1 + N_a + eps))
        push_sum = F.softplus(log_neg_eps).sum(dim=1)
        num_pos = flags.sum(dim=1).to(logits.dtype)
        per_image = (pos_sum + push_sum) / (num_teacher * (num_pos + self.eps))
        return self.loss_weight * per_image.mean()

    @property
    def loss_name(self) -> str:
        return self._loss_name
