"""Multi-scale + flip class activation maps, min-max normalised (the CAMs every WSSS term reads).

Conventions: CAMs are (B, K, H, W) over the K foreground classes (no background channel); class ``k`` (0-based
channel) has label id ``k + 1`` and 0 is background.
"""
from typing import Callable, Optional, Sequence, Tuple

import torch
import torch.nn.functional as F


def normalise_cam(cam: torch.Tensor, eps: float = 1e-5) -> torch.Tensor:
    """Min-max normalise each image and channel: ``(A - min A) / (max(A - min A) + eps)``.

    Example:
        >>> import torch
        >>> normalise_cam(torch.tensor([[[[1., 3.], [2., 5.]]]]), eps=0.)
        tensor([[[[0.0000, 0.5000],
                  [0.2500, 1.0000]]]])
    """
    cam = cam - cam.amin(dim=(-2, -1), keepdim=True)
    return cam / (cam.amax(dim=(-2, -1), keepdim=True) + eps)


def _merge_flip(cam: torch.Tensor, batch: int, size: Tuple[int, int]) -> torch.Tensor:
    """Upsample the CAMs of ``[x; flip(x)]`` to ``size`` and return ``relu(max(cam, unflipped flip-cam))``."""
    if cam.shape[-2:] != size:
        cam = F.interpolate(cam, size=size, mode='bilinear', align_corners=False)
    return torch.maximum(cam[:batch], cam[batch:].flip(-1)).relu()


@torch.no_grad()
def multi_scale_cam(cam_fn: Callable[[torch.Tensor], Tuple[torch.Tensor, Optional[torch.Tensor]]],
                    img: torch.Tensor,
                    scales: Sequence[float] = (1.0, 0.5, 1.5)) -> Tuple[torch.Tensor, Optional[torch.Tensor]]:
    """Multi-scale + flip CAMs at the input resolution, normalised to [0, 1] (docs/methods/toco.md).

    For each scale the image is resized bilinearly and run together with its horizontal flip in one ``cam_fn``
    call (batch ``2B``); both CAMs are upsampled bilinearly to the input size, the flipped one is flipped back, and
    their elementwise max goes through a ReLU. The scales are summed, then :func:`normalise_cam`. The same is done
    for the auxiliary CAM. No gradient flows.

    Args:
        cam_fn (callable): ``x -> (cam, aux_cam)``, raw CAMs (B', K, h, w) on the token grid of ``x``; ``aux_cam``
            may be None (a bare tensor is read as ``(cam, None)``).
        img (Tensor): (B, 3, H, W) network input.
        scales (sequence[float]): resize factors; a resized side is ``int(side * scale)``. Defaults to
            (1.0, 0.5, 1.5).

    Returns:
        tuple[Tensor, Tensor | None]: ``(cam, aux_cam)``, each (B, K, H, W) in [0, 1].

    Example:
        >>> import torch, torch.nn.functional as F
        >>> cam_fn = lambda x: (F.avg_pool2d(x[:, :2], 4), None)
        >>> cam, aux = multi_scale_cam(cam_fn, torch.rand(2, 3, 32, 32))
        >>> cam.shape, aux
        (torch.Size([2, 2, 32, 32]), None)
    """
    b, _, h, w = img.shape
    cam_sum = aux_sum = None
    for scale in scales:
        x = img
        if scale != 1.0:
            x = F.interpolate(img, size=(int(h * scale), int(w * scale)), mode='bilinear', align_corners=False)
        out = cam_fn(torch.cat([x, x.flip(-1)], dim=0))
        cam, aux = (out, None) if isinstance(out, torch.Tensor) else out
        cam = _merge_flip(cam, b, (h, w))
        cam_sum = cam if cam_sum is None else cam_sum + cam
        if aux is not None:
            aux = _merge_flip(aux, b, (h, w))
            aux_sum = aux if aux_sum is None else aux_sum + aux
    return normalise_cam(cam_sum), None if aux_sum is None else normalise_cam(aux_sum)
