"""High-dimensional Gaussian filtering on the permutohedral lattice, in PyTorch (any device, no extension).

``permutohedral_filter(features, values)`` returns, for every point ``i``, an approximation of
``sum_j k(f_i, f_j) * v_j`` with a Gaussian kernel ``k`` of unit standard deviation in the (pre-scaled) feature
space; features are divided by their sigmas beforehand (bilateral: ``(x/sxy, y/sxy, r/srgb, g/srgb, b/srgb)``).

The lattice is the one of Adams, Baek and Davis, "Fast High-Dimensional Filtering Using the Permutohedral
Lattice" (Eurographics 2010), with the conventions of the DenseCRF implementation that the reference rloss
extension uses: the elevation scale ``(d + 1) * sqrt(2 / 3)``, a ``[0.5, 1, 0.5]`` blur along each of the
``d + 1`` lattice directions, and the slice factor ``1 / (1 + 2 ** -d)``. The output is therefore on the same
(unnormalised) scale as the reference's ``bilateralfilter``; :func:`dense_gaussian_filter` is the exact
``O(N^2)`` computation of the Gaussian it approximates, for tests and small inputs.

Every step is a batched tensor operation, with no Python loop over points or vertices. :class:`PermutohedralLattice`
builds what depends on the features once: the simplex of every point from a closed form (its remainder-0 vertex,
the coordinates' ranks, barycentric weights), each vertex as an integer code that is *linear* in its lattice
coordinates (so the d + 1 corners of a simplex and the blur neighbours of a vertex are code offsets), one sort of the
corner codes for the vertex ids, ``searchsorted`` for the blur neighbours, and the splat and slice operators as CSR
sparse matrices. :meth:`~PermutohedralLattice.filter` is then two sparse products and 2 (d + 1) gathers for all
value channels at once. Several independent point sets (a batch of images) can share one lattice through
``batch_index``: it is part of the vertex code, so sets never exchange mass.
"""
import math
import warnings
from typing import Optional

import torch

__all__ = ['PermutohedralLattice', 'permutohedral_filter', 'dense_gaussian_filter']


def _elevate(f: torch.Tensor) -> torch.Tensor:
    """(N, d) features -> (N, d + 1) positions on the hyperplane ``sum = 0`` of R^{d+1}, scaled for the lattice."""
    n, d = f.shape
    i = torch.arange(1, d + 1, dtype=f.dtype, device=f.device)
    c = f * ((d + 1) * math.sqrt(2.0 / 3.0) / torch.sqrt(i * (i + 1)))  # c_k for k = 1..d
    # E_0 = sum_k c_k;  E_i = sum_{k > i} c_k - i * c_i  (i = 1..d)
    suffix = c.flip(1).cumsum(1).flip(1)  # suffix[:, k-1] = sum_{m >= k} c_m
    after = torch.cat([suffix[:, 1:], c.new_zeros(n, 1)], dim=1)  # sum_{m > k} c_m
    return torch.cat([suffix[:, :1], after - i * c], dim=1)


def _lattice_coordinates(elevated: torch.Tensor):
    """Enclosing simplex of each point: its remainder-0 vertex, the rank of each coordinate, barycentric weights.

    Returns ``rem0`` (N, d+1) int64, ``rank`` (N, d+1) int64 in [0, d], ``bary`` (N, d+1) float.
    """
    n, d1 = elevated.shape
    d = d1 - 1
    v = elevated / d1
    up, down = torch.ceil(v) * d1, torch.floor(v) * d1
    rem0 = torch.where(up - elevated < elevated - down, up, down)
    total = torch.round(rem0.sum(1) / d1).long()  # how far the rounded point is off the hyperplane
    delta = elevated - rem0
    # rank_i = number of coordinates with a larger delta, ties: the lower index counts as larger, i.e. the position
    # of coordinate i in a stable descending sort
    order = torch.sort(delta, dim=1, descending=True, stable=True).indices
    rank = torch.empty_like(order).scatter_(1, order, torch.arange(d1, device=elevated.device).expand(n, d1))
    rem0 = rem0.long()
    s = total[:, None]
    # walk back onto the hyperplane (the lattice's remainder-0 point of the enclosing simplex)
    pos_wrap = (s > 0) & (rank >= d1 - s)
    neg_wrap = (s < 0) & (rank < -s)
    rem0 = rem0 - d1 * pos_wrap.long() + d1 * neg_wrap.long()
    rank = rank + s - d1 * pos_wrap.long() + d1 * neg_wrap.long()
    # barycentric weights: each coordinate's offset is added at d - rank and subtracted at d + 1 - rank
    offset = (elevated - rem0.to(elevated.dtype)) / d1
    bary = elevated.new_zeros(n, d + 2)
    bary.scatter_add_(1, d - rank, offset)
    bary.scatter_add_(1, d + 1 - rank, -offset)
    bary[:, 0] += 1.0 + bary[:, d + 1]
    return rem0, rank, bary[:, :d1]


class PermutohedralLattice:
    """The lattice of a point set, built once; :meth:`filter` applies its Gaussian to any number of value maps.

    Vertices are identified by an integer code (their first ``d`` lattice coordinates, and the point set, in mixed
    radix). Because the code is linear in the coordinates, the ``d + 1`` vertices of a point's simplex and the
    blur neighbours of a vertex are code offsets: no per-vertex key is ever materialised. What is built once and
    reused by every :meth:`filter` call (all classes at once, forward and backward alike):

    * ``splat`` (M+1, N) and ``slice`` (N, M+1): CSR matrices of the barycentric weights of each point's d+1
      simplex corners (row M of the lattice stays 0);
    * ``neighbours`` (d+1, 2, M+1): the two blur neighbours of each vertex along each lattice direction (``M``, a
      row kept at zero, when a neighbour is not occupied).

    Args:
        features (Tensor): (N, d) point positions, already divided by the kernel's standard deviations.
        batch_index (Tensor, optional): (N,) int, the point set of each point; sets never exchange mass.
    """

    def __init__(self, features: torch.Tensor, batch_index: Optional[torch.Tensor] = None):
        with torch.no_grad():
            f = features.detach().double()  # float64: rounding to lattice points must not flip between neighbours
            n, d = f.shape
            d1 = d + 1
            dev = f.device
            rem0, rank, bary = _lattice_coordinates(_elevate(f))
            # mixed radix over the first d coordinates (the last is fixed by sum = 0); a vertex coordinate lies in
            # [rem0 - d1, rem0 + d] and a blur neighbour moves it by at most d: margins keep codes carry-free
            lo = rem0[:, :d].amin(0) - 2 * d1
            base = rem0[:, :d].amax(0) + 2 * d1 - lo + 1
            radix = torch.cat([base, torch.ones(1, dtype=torch.int64, device=dev)])
            if batch_index is not None:
                radix = torch.cat([batch_index.max().to(torch.int64).view(1) + 1, radix])
            if float(torch.log2(radix.double()).sum()) > 62:
                raise ValueError('permutohedral_filter: feature range too large for 64-bit lattice keys; scale the '
                                 'features (they should be divided by the kernel sigmas)')
            stride = torch.flip(torch.cumprod(torch.flip(radix, [0]), 0), [0])[1:]  # stride of each key entry
            coord_stride = torch.cat([stride[-d:], torch.zeros(1, dtype=torch.int64, device=dev)])  # (d+1,), 0: last
            code0 = ((rem0 - torch.cat([lo, lo.new_zeros(1)])) * coord_stride).sum(1)
            if batch_index is not None:
                code0 = code0 + batch_index.to(device=dev, dtype=torch.int64) * stride[0]
            # vertex r = rem0 + r, minus d1 at the r coordinates of highest rank (rank > d - r)
            by_rank = torch.zeros_like(rem0).scatter_(1, rank, coord_stride.expand(n, d1))
            wrapped = torch.cat([rem0.new_zeros(n, 1), by_rank.flip(1).cumsum(1)[:, :d]], dim=1)  # (N, r)
            r = torch.arange(d1, device=dev)
            codes = code0[:, None] + r * coord_stride[:d].sum() - d1 * wrapped  # (N, d+1)
            # the occupied vertices: one sort of the N (d+1) corner codes gives the vertex ids and, in the same
            # order, the splat matrix's rows
            sorted_codes, perm = torch.sort(codes.reshape(-1))
            is_new = torch.ones_like(sorted_codes, dtype=torch.bool)
            is_new[1:] = sorted_codes[1:] != sorted_codes[:-1]
            ids = torch.cumsum(is_new, 0) - 1
            unique = sorted_codes[is_new]
            m = unique.numel()
            vertex = torch.empty_like(ids).scatter_(0, perm, ids).view(n, d1)
            # splat (M+1, N) and slice (N, M+1) as CSR matrices: one sparse product each per filtering (row M of
            # the lattice stays 0: the missing blur neighbours point there)
            weights = bary.reshape(-1)
            crow = torch.zeros(m + 2, dtype=torch.int64, device=dev)
            crow[1:m + 1] = torch.cumsum(torch.bincount(ids, minlength=m), 0)
            crow[m + 1] = crow[m]
            with warnings.catch_warnings():
                warnings.filterwarnings('ignore', message='Sparse CSR tensor support is in beta')
                self.splat = torch.sparse_csr_tensor(crow, perm // d1, weights[perm], size=(m + 1, n),
                                                     check_invariants=False)
                self.slice = torch.sparse_csr_tensor(torch.arange(0, n * d1 + 1, d1, device=dev), vertex.reshape(-1),
                                                     weights, size=(n, m + 1), check_invariants=False)
            # blur direction j moves every coordinate by +1 except coordinate j by -d (j = d: all of the first d)
            step = coord_stride[:d].sum() - d1 * coord_stride  # (d+1,) code offsets
            neighbours = torch.full((d1, 2, m + 1), m, dtype=torch.int64, device=dev)
            for j in range(d1):
                for side, sign in enumerate((-1, 1)):
                    target = unique + sign * step[j]
                    pos = torch.searchsorted(unique, target).clamp(max=m - 1)
                    neighbours[j, side, :m] = torch.where(unique[pos] == target, pos, m)
            self.neighbours, self.dim = neighbours, d
            self.alpha = 1.0 / (1.0 + 2.0 ** (-d))  # the reference's slice normalisation

    def filter(self, values: torch.Tensor) -> torch.Tensor:
        """(N, K) -> (N, K): splat onto the vertices, blur along each lattice direction, slice back."""
        with torch.no_grad():
            vals = values.detach().to(self.splat.dtype)
            lattice = self.splat @ vals  # (M + 1, K)
            for j in range(self.dim + 1):
                lattice = lattice + 0.5 * (lattice[self.neighbours[j, 0]] + lattice[self.neighbours[j, 1]])
            out = (self.slice @ lattice) * self.alpha
        return out.to(values.dtype)


def permutohedral_filter(features: torch.Tensor, values: torch.Tensor,
                         batch_index: Optional[torch.Tensor] = None) -> torch.Tensor:
    """Gaussian-filter ``values`` over the points ``features`` with the permutohedral lattice.

    Args:
        features (Tensor): (N, d) point positions, already divided by the kernel's standard deviations.
        values (Tensor): (N, K) values to filter.
        batch_index (Tensor, optional): (N,) int, the point set of each point; sets are filtered independently.

    Returns:
        Tensor: (N, K), ``~ sum_j k(f_i, f_j) v_j`` on the reference lattice's scale (see the module docstring).
        No gradient flows through it (it is a linear operator; losses apply it under ``no_grad``).

    Example:
        >>> f = torch.rand(500, 5) * 3
        >>> out = permutohedral_filter(f, torch.ones(500, 1))
        >>> out.shape
        torch.Size([500, 1])
    """
    if features.dim() != 2 or values.dim() != 2 or features.shape[0] != values.shape[0]:
        raise ValueError(f'features (N, d) and values (N, K) must have the same N, got {tuple(features.shape)} '
                         f'and {tuple(values.shape)}')
    return PermutohedralLattice(features, batch_index).filter(values)


def dense_gaussian_filter(features: torch.Tensor, values: torch.Tensor, chunk: int = 4096) -> torch.Tensor:
    """Exact ``out_i = sum_j exp(-|f_i - f_j|^2 / 2) v_j`` (O(N^2) time, O(chunk * N) memory), float64."""
    f = features.detach().double()
    v = values.detach().double()
    sq = (f * f).sum(1)
    out = []
    for start in range(0, f.shape[0], chunk):
        fi = f[start:start + chunk]
        dist = (sq[start:start + chunk, None] + sq[None, :] - 2.0 * fi @ f.T).clamp(min=0)
        out.append(torch.exp(-0.5 * dist) @ v)
    return torch.cat(out).to(values.dtype)
