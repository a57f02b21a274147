"""Exponential moving average of a student module into a teacher (ToCo/MCC projection head, spec section 1.4)."""
import torch
import torch.nn as nn


@torch.no_grad()
def ema_update_(teacher: nn.Module, student: nn.Module, momentum: float = 0.9) -> None:
    """In place ``theta_t <- m * theta_t + (1 - m) * theta_s`` for every parameter; buffers are copied.

    Buffers (e.g. BatchNorm statistics) are copied rather than averaged: they are not learned by gradient, and the
    teacher should describe the data the way the current student does. The ToCo/MCC heads have no buffers, so this
    does not change them. Parameters are matched by name, so the two modules must have the same structure.

    Args:
        teacher (nn.Module): updated in place; its parameters need no gradient.
        student (nn.Module): read only.
        momentum (float): ``m`` in [0, 1]; 1 keeps the teacher, 0 copies the student. Defaults to 0.9.

    Example:
        >>> import torch
        >>> t, s = torch.nn.Linear(1, 1, bias=False), torch.nn.Linear(1, 1, bias=False)
        >>> _ = t.weight.data.fill_(1.), s.weight.data.fill_(3.)
        >>> ema_update_(t, s, momentum=0.9)
        >>> round(t.weight.item(), 6)
        1.2
    """
    if not 0.0 <= momentum <= 1.0:
        raise ValueError(f'momentum must be in [0, 1], got {momentum}')
    t_params, s_params = dict(teacher.named_parameters()), dict(student.named_parameters())
    t_buffers, s_buffers = dict(teacher.named_buffers()), dict(student.named_buffers())
    if t_params.keys() != s_params.keys() or t_buffers.keys() != s_buffers.keys():
        raise ValueError('teacher and student must have the same parameter and buffer names')
    for name, t_param in t_params.items():
        t_param.mul_(momentum).add_(s_params[name].detach(), alpha=1.0 - momentum)
    for name, t_buffer in t_buffers.items():
        t_buffer.copy_(s_buffers[name])
