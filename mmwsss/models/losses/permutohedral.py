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


def _elevation_matrix(d: int, dtype: torch.dtype, device: torch.device) -> torch.Tensor:
    """(d, d + 1) matrix ``E``: ``features @ E`` puts the points on the hyperplane ``sum = 0`` of R^{d+1}, scaled.

    With ``c_k = f_k (d + 1) sqrt(2/3) / sqrt(k (k + 1))`` (k = 1..d), ``E_0 = sum_k c_k`` and
    ``E_i = sum_{k > i} c_k - i c_i``: a linear map, so one matrix product instead of a dozen passes over the points.
    """
    k = torch.arange(1, d + 1, dtype=torch.float64)
    scale = (d + 1) * math.sqrt(2.0 / 3.0) / torch.sqrt(k * (k + 1))
    e = torch.zeros(d, d + 1, dtype=torch.float64)
    for i in range(d):  # c_{i+1} enters E_0 .. E_i with +1 and E_{i+1} with -(i + 1)
        e[i, :i + 1] = scale[i]
        e[i, i + 1] = -(i + 1) * scale[i]
    return e.to(dtype=dtype, device=device)


def _descending_rank(delta: torch.Tensor) -> torch.Tensor:
    """(N, d+1) -> (N, d+1) int64: position of each coordinate in a stable descending sort of its row.

    ``rank_i = #{j < i: delta_j >= delta_i} + #{j > i: delta_j > delta_i}`` (ties: the lower index ranks first), by
    d (d + 1) column comparisons: a sort of N rows of 6 numbers costs about twice as much on the CPU.
    """
    cols = delta.T.contiguous()
    d1 = cols.shape[0]
    rank = torch.zeros_like(cols, dtype=torch.int64)
    for i in range(d1):
        if i > 0:
            rank[i] += (cols[:i] >= cols[i]).sum(0)
        if i < d1 - 1:
            rank[i] += (cols[i + 1:] > cols[i]).sum(0)
    return rank.T


def _lattice_coordinates(elevated: torch.Tensor):
    """Enclosing simplex of each point: its remainder-0 vertex, the rank of each coordinate, barycentric weights.

    Returns ``rem0`` (N, d+1) int64, ``rank`` (N, d+1) int64 in [0, d], ``bary`` (N, d+1) float.
    """
    n, d1 = elevated.shape
    d = d1 - 1
    rem0 = torch.round(elevated / d1) * d1  # nearest multiple of d + 1 in every coordinate
    total = torch.round(rem0.sum(1, keepdim=True) / d1).long()  # how far the rounded point is off the hyperplane
    rank = _descending_rank(elevated - rem0)
    # walk back onto the hyperplane (the lattice's remainder-0 point of the enclosing simplex): the `total`
    # coordinates of highest rank move down by d + 1 (or of lowest rank up, for a negative total); |total| <= d / 2,
    # so rank + total lies in [-(d + 1), 2 (d + 1)) and its floor division by d + 1 is the wrap (-1, 0 or 1)
    shifted = rank + total
    wrap = torch.div(shifted, d1, rounding_mode='floor')
    rank = shifted - d1 * wrap
    rem0 = rem0.long() - d1 * wrap
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
    radix). Because the code is linear in the coordinates, the ``d + 1`` vertices of a simplex and the blur
    neighbours of a vertex are code offsets: no per-vertex key is ever materialised. Points are grouped by their
    enclosing simplex first (one sort of N keys; an image of 50,176 pixels has about 7,000 distinct simplices), so
    the vertex codes are computed and sorted per simplex, not per point. What is built once and reused by every
    :meth:`filter` call (all classes at once, forward and backward alike):

    * ``splat`` (S (d+1), N): CSR matrix of the barycentric weights, row ``(r, s)`` summing the points of simplex
      ``s`` into its corner ``r``; ``corner`` (S (d+1),) the vertex of each row (an ``index_add`` onto the lattice);
    * ``slice`` (N, M+1): CSR matrix of each point's d+1 corner weights (row M of the lattice stays 0);
    * ``neighbours`` (d+1, 2, M+1): the two blur neighbours of each vertex along each lattice direction (``M``, a
      row kept at zero, when a neighbour is not occupied).

    Args:
        features (Tensor): (N, d) point positions, already divided by the kernel's standard deviations.
        batch_index (Tensor, optional): (N,) int, the point set of each point; sets never exchange mass.
    """

    #: bits available to the integer vertex codes
    KEY_BITS = 62
    #: bits available to the joint simplex key (vertex code x coordinate order); beyond, two stable sorts
    SIMPLEX_KEY_BITS = 62

    def __init__(self, features: torch.Tensor, batch_index: Optional[torch.Tensor] = None):
        with torch.no_grad():
            f = features.detach().double()  # float64: rounding to lattice points must not flip between neighbours
            n, d = f.shape
            d1 = d + 1
            dev = f.device
            rem0, rank, bary = _lattice_coordinates(f @ _elevation_matrix(d, f.dtype, dev))
            # mixed radix over the first d coordinates (the last is fixed by sum = 0); a vertex coordinate lies in
            # [rem0 - d1, rem0 + d] and a blur neighbour moves it by at most d: margins keep codes carry-free
            lo = rem0[:, :d].amin(0) - 2 * d1
            base = rem0[:, :d].amax(0) + 2 * d1 - lo + 1
            radix = torch.cat([base, torch.ones(1, dtype=torch.int64, device=dev)])
            if batch_index is not None:
                radix = torch.cat([batch_index.max().to(torch.int64).view(1) + 1, radix])
            code_bits = float(torch.log2(radix.double()).sum())  # the one host sync of the build
            if code_bits > self.KEY_BITS:
                raise ValueError('permutohedral_filter: feature range too large for 64-bit lattice keys; scale the '
                                 'features (they should be divided by the kernel sigmas)')
            stride = torch.flip(torch.cumprod(torch.flip(radix, [0]), 0), [0])[1:]  # stride of each key entry
            coord_stride = torch.cat([stride[-d:], torch.zeros(1, dtype=torch.int64, device=dev)])  # (d+1,), 0: last
            code0 = ((rem0 - torch.cat([lo, lo.new_zeros(1)])) * coord_stride).sum(1)
            if batch_index is not None:
                code0 = code0 + batch_index.to(device=dev, dtype=torch.int64) * stride[0]
            # the simplex of a point: its remainder-0 vertex and the order of its coordinates (the first d ranks
            # in base d + 1); one sort groups the points by simplex
            rank_code = (rank[:, :d] * d1 ** torch.arange(d, device=dev)).sum(1)
            if code_bits + d * math.log2(d1) <= self.SIMPLEX_KEY_BITS:
                order = torch.sort(code0 * d1 ** d + rank_code).indices
            else:  # the same lexicographic order in two stable passes
                by_rank = torch.sort(rank_code, stable=True).indices
                order = by_rank[torch.sort(code0[by_rank], stable=True).indices]
            code0_sorted, rank_sorted = code0[order], rank_code[order]
            is_new = torch.ones_like(order, dtype=torch.bool)
            is_new[1:] = (code0_sorted[1:] != code0_sorted[:-1]) | (rank_sorted[1:] != rank_sorted[:-1])
            simplex_sorted = torch.cumsum(is_new, 0) - 1
            first = order[is_new]  # one point of each simplex
            num_simplices = first.numel()
            simplex = torch.empty_like(order).scatter_(0, order, simplex_sorted)  # (N,) simplex of each point
            # corner r of a simplex = rem0 + r, minus d1 at the r coordinates of highest rank (rank > d - r)
            by_rank = torch.zeros(num_simplices, d1, dtype=torch.int64, device=dev).scatter_(
                1, rank[first], coord_stride.expand(num_simplices, d1))
            wrapped = torch.cat([by_rank.new_zeros(num_simplices, 1), by_rank.flip(1).cumsum(1)[:, :d]], dim=1)
            r = torch.arange(d1, device=dev)
            corner_codes = code0[first, None] + r * coord_stride[:d].sum() - d1 * wrapped  # (S, d+1)
            unique, corner = torch.unique(corner_codes, sorted=True, return_inverse=True)  # vertex ids (S, d+1)
            m = unique.numel()
            # splat: row (r, s) of the CSR matrix lists the points of simplex s (contiguous in `order`) with their
            # weight for corner r; the S (d+1) row sums then go to their vertices with one index_add
            counts = torch.bincount(simplex_sorted, minlength=num_simplices)
            starts = torch.cat([counts.new_zeros(1), torch.cumsum(counts, 0)])
            crow = torch.cat([(r[:, None] * n + starts[None, :-1]).reshape(-1), starts.new_full((1,), n * d1)])
            with warnings.catch_warnings():
                warnings.filterwarnings('ignore', message='Sparse CSR tensor support is in beta')
                self.splat = torch.sparse_csr_tensor(crow, order.repeat(d1), bary[order].T.reshape(-1),
                                                     size=(num_simplices * d1, n), check_invariants=False)
                self.slice = torch.sparse_csr_tensor(torch.arange(0, n * d1 + 1, d1, device=dev),
                                                     corner[simplex].reshape(-1), bary.reshape(-1),
                                                     size=(n, m + 1), check_invariants=False)
            self.corner = corner.T.reshape(-1)  # vertex of splat row (r, s)
            # blur direction j moves every coordinate by +1 except coordinate j by -d (j = d: all of the first d)
            step = coord_stride[:d].sum() - d1 * coord_stride  # (d+1,) code offsets
            target = unique + torch.stack([-step, step], 1)[:, :, None]  # (d+1, 2, M)
            pos = torch.searchsorted(unique, target.reshape(-1)).clamp(max=m - 1).view(d1, 2, m)
            neighbours = torch.full((d1, 2, m + 1), m, dtype=torch.int64, device=dev)
            neighbours[:, :, :m] = torch.where(unique[pos] == target, pos, m)
            self.neighbours, self.dim, self.num_vertices = neighbours, d, m
            self.alpha = 1.0 / (1.0 + 2.0 ** (-d))  # the reference's slice normalisation
            self._by_dtype = {torch.float64: (self.splat, self.slice)}

    def _operators(self, dtype: torch.dtype):
        """The splat and slice matrices in ``dtype`` (the weights are computed in float64, cast once per dtype)."""
        if dtype not in self._by_dtype:
            self._by_dtype[dtype] = (self.splat.to(dtype), self.slice.to(dtype))
        return self._by_dtype[dtype]

    def filter(self, values: torch.Tensor) -> torch.Tensor:
        """(N, K) -> (N, K): splat onto the vertices, blur along each lattice direction, slice back.

        Computed in float64 for float64 values and in float32 otherwise (the dtype of the rloss extension; half
        precision is promoted): the weights are exact in float64 either way, and a float32 energy agrees with the
        float64 one to about 1e-7.
        """
        with torch.no_grad():
            dtype = torch.float64 if values.dtype == torch.float64 else torch.float32
            splat, slice_ = self._operators(dtype)
            vals = values.detach().to(dtype).contiguous()  # CSR @ dense is fast on a row-major dense operand only
            lattice = vals.new_zeros(self.num_vertices + 1, vals.shape[1]).index_add_(0, self.corner, splat @ vals)
            for j in range(self.dim + 1):
                lattice = lattice + 0.5 * (lattice[self.neighbours[j, 0]] + lattice[self.neighbours[j, 1]])
            out = (slice_ @ lattice) * self.alpha
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
