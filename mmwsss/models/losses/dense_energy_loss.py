"""Regularised dense-CRF energy loss ("rloss", Tang et al., ECCV 2018) in PyTorch, without a compiled extension.

The ToCo/MCC/MSFC recipes add this loss on the segmentation output (docs/methods/toco.md); every
reference repository needs rloss's SWIG/OpenMP extension for it, which users cannot build. Here the bilateral
filtering ``W S`` runs on the model's device, either on the permutohedral lattice
(:func:`~mmwsss.models.losses.permutohedral.permutohedral_filter`, O(N), the same approximation and scale as the
extension) or exactly (:func:`~mmwsss.models.losses.permutohedral.dense_gaussian_filter`, O(N^2), for small inputs
and validation).
"""
from typing import Optional

import torch
import torch.nn as nn
import torch.nn.functional as F

from mmseg.registry import MODELS

from .permutohedral import dense_gaussian_filter, permutohedral_filter

#: name -> filter(features (N, d), values (N, K)[, batch_index]); every backend but 'exact' filters a batch at once
BACKENDS = {'lattice': permutohedral_filter, 'exact': dense_gaussian_filter}


def bilateral_filter(images: torch.Tensor, values: torch.Tensor, sigma_rgb: float, sigma_xy: float,
                     backend: str = 'lattice', per_image: Optional[bool] = None) -> torch.Tensor:
    """``W V`` per image, with ``W_ij = exp(-|p_i - p_j|^2 / (2 sxy^2) - |c_i - c_j|^2 / (2 srgb^2))``.

    Args:
        images (Tensor): (B, 3, H, W) colours (0-255).
        values (Tensor): (B, K, H, W) maps to filter.
        sigma_rgb, sigma_xy (float): kernel widths in colour units and pixels.
        backend (str): ``'lattice'`` (permutohedral) or ``'exact'`` (dense).
        per_image (bool, optional): a lattice backend builds one lattice per image (default on the CPU: the
            working set stays in the caches, 1.4x faster at batch 4) or one for the batch (default on a GPU: fewer,
            larger kernels; images kept apart by their batch index).

    Returns:
        Tensor: (B, K, H, W) filtered maps, no gradient.
    """
    if backend not in BACKENDS:
        raise ValueError(f'backend must be one of {sorted(BACKENDS)}, got {backend!r}')
    b, k, h, w = values.shape
    if images.shape[0] != b or images.shape[-2:] != values.shape[-2:]:
        raise ValueError(f'images {tuple(images.shape)} and values {tuple(values.shape)} must share batch and size')
    yy, xx = torch.meshgrid(torch.arange(h, device=images.device, dtype=torch.float64),
                            torch.arange(w, device=images.device, dtype=torch.float64), indexing='ij')
    xy = torch.stack([xx, yy]).reshape(2, -1).T / sigma_xy  # (HW, 2)
    with torch.no_grad():
        if backend != 'exact':
            rgb = images.detach().double().reshape(b, 3, -1).transpose(1, 2) / sigma_rgb
            feats = torch.cat([xy.expand(b, -1, -1), rgb], dim=2)  # (B, HW, 5)
            # (B, HW, K) row-major, in one copy: the lattice's sparse products want each image's (HW, K) contiguous
            vals = values.detach().reshape(b, k, -1).transpose(1, 2).contiguous()
            if per_image if per_image is not None else images.device.type == 'cpu':
                filtered = torch.empty_like(vals)
                for i in range(b):
                    filtered[i] = BACKENDS[backend](feats[i], vals[i])
            else:
                index = torch.arange(b, device=images.device).repeat_interleave(h * w)
                filtered = BACKENDS[backend](feats.reshape(b * h * w, 5), vals.reshape(b * h * w, k),
                                             batch_index=index).reshape(b, h * w, k)
            return filtered.permute(0, 2, 1).reshape(b, k, h, w)
        out = []
        for i in range(b):  # exact: one image at a time (O((HW)^2) each)
            rgb = images[i].detach().double().reshape(3, -1).T / sigma_rgb
            filtered = dense_gaussian_filter(torch.cat([xy, rgb], dim=1), values[i].detach().reshape(k, -1).T)
            out.append(filtered.T.reshape(k, h, w))
        return torch.stack(out)


class _DenseEnergy(torch.autograd.Function):
    """E = -(1/B) sum_k S_k^T (Gate * W S_k), S = probs * ROI; backward as the reference: -2 (W S * Gate) / B * ROI.

    ``Gate = max(ROI - max_k probs, 0)``, set to 1 on unlabelled (pseudo label 255) pixels, is a constant of the
    backward pass (as in the reference).
    """

    @staticmethod
    def forward(ctx, images, probs, rois, unlabelled, sigma_rgb, sigma_xy, backend):
        batch = probs.shape[0]
        rois = rois.to(probs.dtype)
        gate = (rois - probs.detach().amax(dim=1)).clamp(min=0)
        gate = torch.where(unlabelled, torch.ones_like(gate), gate)
        seg = probs.detach() * rois[:, None]
        weighted = bilateral_filter(images, seg, sigma_rgb, sigma_xy, backend).to(probs.dtype) * gate[:, None]
        ctx.save_for_backward(weighted, rois)
        ctx.batch = batch
        return -(seg * weighted).sum() / batch

    @staticmethod
    def backward(ctx, grad_output):
        weighted, rois = ctx.saved_tensors
        grad = -2.0 * grad_output * weighted / ctx.batch * rois[:, None]
        return None, grad, None, None, None, None, None


@MODELS.register_module()
class DenseEnergyLoss(nn.Module):
    """Dense-CRF energy of the segmentation softmax, Gaussian bilateral kernel over (x, y, r, g, b).

    Everything is resized by ``scale_factor`` first (image and ROI/labels nearest, probabilities bilinear) and
    ``sigma_xy`` is scaled with it, as in the reference (0.5: a 448 crop is filtered at 224 with sigma_xy 50).

    Args:
        loss_weight (float): weight in the total loss (0.05 in ToCo/MCC/MSFC).
        weight (float): the energy's own factor (1e-7 in the reference).
        sigma_rgb (float): colour sigma (15).
        sigma_xy (float): spatial sigma in input pixels (100).
        scale_factor (float): resolution of the computation (0.5).
        backend (str): ``'lattice'`` (permutohedral, default) or ``'exact'`` (dense O(N^2)).
        loss_name (str): key in the loss dict. Defaults to ``'loss_energy'``.

    Example:
        >>> loss = DenseEnergyLoss()
        >>> img = torch.rand(1, 3, 32, 32) * 255
        >>> probs = torch.softmax(torch.randn(1, 4, 32, 32, requires_grad=True), 1)
        >>> value = loss(img, probs, torch.ones(1, 32, 32), torch.zeros(1, 32, 32, dtype=torch.long))
    """

    def __init__(self, loss_weight: float = 0.05, weight: float = 1e-7, sigma_rgb: float = 15.0,
                 sigma_xy: float = 100.0, scale_factor: float = 0.5, backend: str = 'lattice',
                 loss_name: str = 'loss_energy') -> None:
        super().__init__()
        if backend not in BACKENDS:
            raise ValueError(f'backend must be one of {sorted(BACKENDS)}, got {backend!r}')
        self.loss_weight, self.weight = loss_weight, weight
        self.sigma_rgb, self.sigma_xy, self.scale_factor = sigma_rgb, sigma_xy, scale_factor
        self.backend = backend
        self._loss_name = loss_name

    @property
    def loss_name(self) -> str:
        return self._loss_name

    def forward(self, images: torch.Tensor, probs: torch.Tensor, rois: torch.Tensor,
                labels: Optional[torch.Tensor] = None) -> torch.Tensor:
        """Args:
            images (Tensor): (B, 3, H, W) RGB in 0-255.
            probs (Tensor): (B, K, H, W) softmax of the segmentation logits at input size.
            rois (Tensor): (B, H, W) 1 inside the crop's valid box, 0 on padding.
            labels (Tensor, optional): (B, H, W) pseudo labels; 255 marks the unlabelled region.
        """
        s = self.scale_factor
        if s != 1:
            images = F.interpolate(images, scale_factor=s, mode='nearest')
            probs = F.interpolate(probs, scale_factor=s, mode='bilinear', align_corners=False)
            rois = F.interpolate(rois[:, None].float(), scale_factor=s, mode='nearest')[:, 0]
            if labels is not None:
                labels = F.interpolate(labels[:, None].float(), scale_factor=s, mode='nearest')[:, 0]
        unlabelled = (labels == 255) if labels is not None else torch.zeros_like(rois, dtype=torch.bool)
        energy = _DenseEnergy.apply(images, probs, rois, unlabelled, self.sigma_rgb, self.sigma_xy * s,
                                    self.backend)
        return self.loss_weight * self.weight * energy
