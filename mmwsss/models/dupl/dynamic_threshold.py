"""DuPL's dynamic threshold: the confident-foreground CAM threshold decays per class on a cosine schedule.

Early CAMs are unreliable, so pseudo labels start strict (0.70); as training goes on, each class's threshold
moves to its target along half a cosine (VOC: 0.55 for most classes, 0.70 kept for six classes whose CAMs stay
too wide, as in the released DuPL code). An image uses the largest threshold among its classes, so an image with
one of the strict classes keeps 0.70 for the whole run.
"""
import math
from typing import Sequence, Union

import torch
import torch.nn as nn

from mmseg.registry import MODELS


def cosine_descent(start_value: float, end_value: float, step: int, total: int) -> float:
    """``start_value`` for ``step <= 0``, ``end_value`` for ``step >= total``, half a cosine in between.

    ``start + (end - start) (1 - cos(pi step / (total - 1))) / 2``: the value reaches ``end_value`` at
    ``step = total - 1`` already (the released code's convention).

    Example:
        >>> round(cosine_descent(0.7, 0.55, 6000, 18000), 4), cosine_descent(0.7, 0.55, 17999, 18000)
        (0.6625, 0.55)
    """
    if step <= 0:
        return float(start_value)
    if step >= total:
        return float(end_value)
    return start_value + (end_value - start_value) * (1 - math.cos(math.pi * step / (total - 1))) / 2


@MODELS.register_module()
class DynamicThreshold(nn.Module):
    """Per-image high CAM threshold of an optimizer step: the max over the image's classes of the class schedules.

    Args:
        initial (float): threshold before ``start`` (0.70 VOC, 0.65 COCO).
        target (float | sequence[float]): where each class ends, one value or one per foreground class.
        start (int): optimizer step where the decay begins (VOC 2000, COCO 12000).
        length (int): steps of the decay (VOC 18000 = 20000 - 2000, COCO 68000).

    Example:
        >>> thr = DynamicThreshold(initial=0.7, target=[0.7, 0.55], start=2000, length=18000)
        >>> thr(torch.tensor([[0., 1.], [1., 1.]]), step=8000)
        tensor([0.6625, 0.7000])
    """

    def __init__(self, initial: float = 0.7, target: Union[float, Sequence[float]] = 0.55, start: int = 2000,
                 length: int = 18000) -> None:
        super().__init__()
        if length < 2:
            raise ValueError(f'DynamicThreshold: length must be >= 2 steps, got {length}')
        self.initial, self.start, self.length = float(initial), int(start), int(length)
        self.target = [float(target)] if isinstance(target, (int, float)) else [float(v) for v in target]

    def class_thresholds(self, num_classes: int, step: int) -> torch.Tensor:
        """(K,) threshold of every foreground class at optimizer step ``step``."""
        targets = self.target * num_classes if len(self.target) == 1 else self.target
        if len(targets) != num_classes:
            raise ValueError(f'DynamicThreshold: {len(targets)} targets for {num_classes} classes; give one value '
                             'or one per foreground class')
        return torch.tensor([cosine_descent(self.initial, t, step - self.start, self.length) for t in targets])

    def forward(self, img_labels: torch.Tensor, step: int) -> torch.Tensor:
        """(B, K) multi-hot labels -> (B,) thresholds; an image without a class gets ``initial``."""
        per_class = self.class_thresholds(img_labels.shape[1], step).to(img_labels.device, torch.float32)
        present = img_labels > 0
        value = torch.where(present, per_class, torch.full_like(per_class, -math.inf)).amax(dim=1)
        return torch.where(present.any(dim=1), value, torch.full_like(value, self.initial))

    def extra_repr(self) -> str:
        return f'initial={self.initial}, target={self.target}, start={self.start}, length={self.length}'
