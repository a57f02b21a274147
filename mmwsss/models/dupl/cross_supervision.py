"""DuPL's cross pseudo supervision: each student's segmentation head learns from the *other* student's labels.

Student k's pseudo labels (its own CAM, PAR, the dynamic threshold, and the noise filter once it runs) supervise
student (k + 1) mod N. With two students: head 1 <- labels of student 2, head 2 <- labels of student 1. A student
never trains its head on its own labels, so its own CAM mistakes are not confirmed by its own head. The loss is the
decode head's own ``loss_by_feat`` (the balanced CE of the DuPL configs), so any MMSeg decode head works.
"""
from typing import List, Sequence

import torch
from mmengine.structures import PixelData

from mmseg.utils import add_prefix


def partner(k: int, num_students: int) -> int:
    """The student whose labels supervise student ``k``: the next one, cyclically."""
    return (k + 1) % num_students


def cross_pseudo_supervision(decode_heads: Sequence, seg_logits: Sequence[torch.Tensor],
                             labels: Sequence[torch.Tensor], data_samples: List) -> List[dict]:
    """Per student, the decode head's loss against its partner's labels.

    Args:
        decode_heads (sequence): the students' MMSeg decode heads.
        seg_logits (sequence[Tensor]): each student's (B, C, h, w) decode-head logits.
        labels (sequence[Tensor]): each student's (B, H, W) pseudo labels (255 ignored).
        data_samples (list): the batch's ``SegDataSample``; their ``gt_sem_seg`` is set to the labels each head
            was trained on last (the partner's labels of the last student).

    Returns:
        list[dict]: per student, the head's loss dict with keys prefixed by ``decode``.

    Example:
        >>> partner(0, 2), partner(1, 2)
        (1, 0)
    """
    n = len(decode_heads)
    losses = []
    for k in range(n):
        for sample, label in zip(data_samples, labels[partner(k, n)]):
            sample.gt_sem_seg = PixelData(data=label[None])
        losses.append(add_prefix(decode_heads[k].loss_by_feat(seg_logits[k], data_samples), 'decode'))
    return losses
