"""Pixel-Adaptive Refinement (PAR): propagate soft masks along image-colour affinities (docs/methods/toco.md, PAR).

Every pixel ``i`` has ``8 * len(dilations)`` neighbours ``j``: the 3x3 ring around it (centre excluded) at each
dilation, with replicate padding (coordinates clamped to the image). The affinity is

* image term, per colour channel ``-( |I_j - I_i| / (sigma_i + 1e-8) / w1 )^2`` with ``sigma_i`` the (unbiased) std
  of the neighbours' values in that channel, averaged over channels, softmax over the neighbours;
* positional term, ``-( dist_j / std(dist) / w1 )^2`` with ``dist_j = d`` for axial and ``d * sqrt(2)`` for diagonal
  neighbours, softmax over the neighbours, weighted by ``w2`` and added to the image term;

and ``num_iter`` times ``mask_i <- sum_j aff_ij mask_j``.

Normalisation: the two softmaxes sum to ``1 + w2`` per pixel; this module divides the affinity by ``1 + w2`` so that
propagation is a convex combination (a probability map stays a probability map). The reference does not, so its
output is exactly ``(1 + w2) ** num_iter`` times this one at every pixel and channel; every consumer takes an argmax
(possibly after a linear resize), which that constant does not change.

The image term is invariant to a per-channel affine change of the image (``|I_j - I_i| / sigma_i``), so images in
[0, 1], [0, 255] or mean/std-normalised give the same affinity.
"""
import math
from typing import Sequence

import torch
import torch.nn as nn


class PAR(nn.Module):
    """Pixel-Adaptive Refinement of soft masks (ToCo's ``PAR``).

    Not registered: it has no parameters and is built by the code that makes pseudo labels.

    Args:
        num_iter (int): propagation steps. Defaults to 10.
        dilations (sequence[int]): dilations of the 3x3 neighbourhood. Defaults to (1, 2, 4, 8, 12, 24).
        w1 (float): temperature of the image and positional terms. Defaults to 0.3.
        w2 (float): weight of the positional term. Defaults to 0.01.

    Example:
        >>> import torch
        >>> par = PAR(num_iter=2, dilations=(1, 2))
        >>> img = torch.rand(1, 3, 16, 16)
        >>> masks = torch.rand(1, 4, 16, 16).softmax(dim=1)
        >>> out = par(img, masks)
        >>> out.shape, torch.allclose(out.sum(dim=1), torch.ones(1, 16, 16))
        (torch.Size([1, 4, 16, 16]), True)
    """

    def __init__(self, num_iter: int = 10, dilations: Sequence[int] = (1, 2, 4, 8, 12, 24), w1: float = 0.3,
                 w2: float = 0.01) -> None:
        super().__init__()
        if not dilations or any(int(d) < 1 for d in dilations):
            raise ValueError(f'dilations must be positive integers, got {dilations}')
        self.num_iter = int(num_iter)
        self.dilations = tuple(int(d) for d in dilations)
        self.w1 = float(w1)
        self.w2 = float(w2)
        offsets, dists = [], []
        for d in self.dilations:
            for dy in (-1, 0, 1):
                for dx in (-1, 0, 1):
                    if dy == 0 and dx == 0:
                        continue
                    offsets.append((dy * d, dx * d))
                    dists.append(d * math.sqrt(2.0) if dy != 0 and dx != 0 else float(d))
        # offsets of the neighbours, (num_neighbours, 2) as (dy, dx); not persistent: they derive from the arguments
        self.register_buffer('offsets', torch.tensor(offsets, dtype=torch.long), persistent=False)
        dist = torch.tensor(dists, dtype=torch.float64)
        pos_logits = -(dist / (dist.std() + 1e-8) / self.w1) ** 2
        # the positional term is the same for every pixel, so it is computed once
        self.register_buffer('pos_affinity', pos_logits.softmax(dim=0).float(), persistent=False)

    @property
    def num_neighbours(self) -> int:
        return self.offsets.shape[0]

    def neighbours(self, x: torch.Tensor) -> torch.Tensor:
        """Gather the neighbours of every pixel: (B, C, H, W) -> (B, C, num_neighbours, H, W).

        One advanced-indexing gather with clamped coordinates, which is what replicate padding amounts to (for any
        dilation, even one larger than the image).
        """
        h, w = x.shape[-2:]
        offsets = self.offsets.to(x.device)
        rows = (torch.arange(h, device=x.device)[None, :] + offsets[:, :1]).clamp_(0, h - 1)  # (N, H)
        cols = (torch.arange(w, device=x.device)[None, :] + offsets[:, 1:]).clamp_(0, w - 1)  # (N, W)
        return x[:, :, rows[:, :, None], cols[:, None, :]]

    def affinity(self, img: torch.Tensor) -> torch.Tensor:
        """Affinity of every pixel to its neighbours, (B, 3, H, W) -> (B, num_neighbours, H, W), summing to 1."""
        img = img.float()
        nbrs = self.neighbours(img)  # (B, C, N, H, W)
        diff = (nbrs - img.unsqueeze(2)).abs()
        sigma = nbrs.std(dim=2, keepdim=True)
        logits = -((diff / (sigma + 1e-8) / self.w1) ** 2).mean(dim=1)
        # A pixel unlike all its (identical) neighbours has sigma = 0 and logits that can overflow to -inf for
        # images in [0, 255]; clamping keeps the softmax defined (uniform over those equal logits) instead of NaN.
        logits = logits.clamp(min=torch.finfo(logits.dtype).min)
        aff = logits.softmax(dim=1) + self.w2 * self.pos_affinity.to(logits.device).view(1, -1, 1, 1)
        return aff / (1.0 + self.w2)

    def propagate(self, masks: torch.Tensor, aff: torch.Tensor) -> torch.Tensor:
        """``num_iter`` steps of ``mask_i <- sum_j aff_ij mask_j``; masks (B, C, H, W), aff from :meth:`affinity`."""
        masks = masks.float()
        aff = aff.unsqueeze(1)
        for _ in range(self.num_iter):
            masks = (self.neighbours(masks) * aff).sum(dim=2)
        return masks

    def forward(self, img: torch.Tensor, masks: torch.Tensor) -> torch.Tensor:
        """Refine ``masks`` (B, C, H, W) along the edges of ``img`` (B, 3, H, W); returns float32 (B, C, H, W)."""
        if img.shape[0] != masks.shape[0] or img.shape[-2:] != masks.shape[-2:]:
            raise ValueError(f'img {tuple(img.shape)} and masks {tuple(masks.shape)} must share batch and size')
        return self.propagate(masks, self.affinity(img))

    def extra_repr(self) -> str:
        return f'num_iter={self.num_iter}, dilations={self.dilations}, w1={self.w1}, w2={self.w2}'

