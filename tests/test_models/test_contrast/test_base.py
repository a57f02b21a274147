"""The EMA update of the class-token teacher (mmwsss/models/contrast/base.py)."""
import pytest
import torch
import torch.nn as nn

from mmwsss.models.contrast.base import ema_update_


def test_ema_update_by_hand():
    teacher = nn.Sequential(nn.Linear(2, 1), nn.BatchNorm1d(1))
    student = nn.Sequential(nn.Linear(2, 1), nn.BatchNorm1d(1))
    with torch.no_grad():
        teacher[0].weight.copy_(torch.tensor([[1., 2.]]))
        teacher[0].bias.fill_(0.)
        student[0].weight.copy_(torch.tensor([[3., -2.]]))
        student[0].bias.fill_(10.)
        student[1].running_mean.fill_(5.)
    student[1].num_batches_tracked += 7
    ema_update_(teacher, student, momentum=0.9)
    assert torch.allclose(teacher[0].weight, torch.tensor([[1.2, 1.6]]))
    assert torch.allclose(teacher[0].bias, torch.tensor([1.0]))
    assert teacher[1].running_mean.item() == 5.0 and teacher[1].num_batches_tracked.item() == 7
    assert teacher[0].weight.grad is None and student[0].weight.tolist() == [[3., -2.]]
    ema_update_(teacher, student, momentum=0.0)
    assert torch.equal(teacher[0].weight, student[0].weight)
    with pytest.raises(ValueError):
        ema_update_(teacher, nn.Linear(2, 1))
