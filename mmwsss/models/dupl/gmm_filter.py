"""DuPL's adaptive noise filtering: a two-component 1-D Gaussian mixture on each image's per-pixel losses.

DuPL trains two students on each other's pseudo labels. Pseudo-label pixels whose loss is much higher than the rest
of the image are likely wrong, so before the segmentation loss each image's foreground labels are filtered:

1. the candidates are the foreground pixels (label not 0, not ``ignore_index``) whose loss exceeds ``loss_floor``;
   with ``min_pixels`` candidates or fewer the image is left unchanged;
2. a two-component Gaussian mixture is fitted to the candidates' losses, with the rules of scikit-learn's
   ``GaussianMixture(n_components=2, init_params='kmeans', max_iter=10, tol=1e-2, reg_covar=5e-4)`` (what the
   released DuPL code fits on the CPU, one image at a time);
3. if the two means are more than ``mean_gap`` apart, every pixel whose posterior of the larger-mean ("noisy")
   component exceeds ``posterior_thr`` and whose label is not background becomes ``ignore_index``.

The posterior is evaluated on **every** pixel of the image, also on those that were not fitted (loss at or below
``loss_floor``). That is what the released DuPL code does, and it is kept: when the low-loss component is narrow and
the noisy one wide, a loss near 0 lies further from the narrow component (in its own standard deviations) than from
the wide one, so it can be called noisy. With weights (0.6, 0.4), means (0.5, 2.8) and standard deviations
(0.12, 1.3), a pixel with loss 0 has a noisy posterior of 0.973 and is removed.

Here all images (and both students, stacked along the batch) are fitted at once on the device, without a Python loop
over images or pixels. Each image's candidates are sorted and packed to the left first (one host sync, to trim the
padding), so the EM steps only touch the candidates; inside the iterations the only host syncs are the checks whether
every image has converged (one per EM step, one per 8 k-means steps).

Precision: everything is computed in float64 whatever the input dtype. The sums run over up to 448 x 448 values per
image, the stopping rule compares log-likelihood changes against ``tol`` and the posterior is thresholded at 0.95,
so float32 rounding would move results near those boundaries; in float64 the fit reproduces scikit-learn's (given
the same initial labels) to about 1e-14 on float64 data. The cost stays small (a few element-wise passes over the
candidates per step; tools/analysis_tools/benchmark_gmm_filter.py times it against the CPU fits it replaces). When
scikit-learn is handed float32 losses it fits in float32, and the two then also differ by that rounding.

Initialisation: scikit-learn's ``'kmeans'`` rule labels the data with ``KMeans(n_clusters=2, n_init=1)`` (k-means++
seeds, then Lloyd iterations until the labels stop changing or the squared centre shift is at most 1e-4 times the
data variance), turns the labels into one-hot responsibilities and runs one M-step. :func:`fit_gmm_1d` runs the
same Lloyd iterations with the same stopping rule, batched: on sorted values a Lloyd step of a 1-D two-cluster
k-means is one ``searchsorted`` of the threshold (the midpoint of the two centres) and two prefix-sum look-ups.
Only the seeds differ: k-means++ draws them at random (a first seed uniformly, a second with probability
proportional to the squared distance to the first, the better of two such draws), here they are deterministic,
the data mean and the mean weighted by the squared distance to it (where those two draws land on average). For
right-skewed losses the second seed lies in the high tail, as k-means++'s usually does. In 1-D a two-cluster Lloyd
step maps the threshold through a non-decreasing function, so from any seeds the iterations move monotonically to
a fixed point, and the loss distributions the filter sees (a bulk of low losses plus a high mode or a tail) have a
single one in practice. Both seedings head for it; they can only differ where the centre-shift tolerance stops
them (once a step moves the centres by at most 1 % of a standard deviation), which depends on the path. The labels
then agree exactly, or up to the few values between the two stopping thresholds. Measured against scikit-learn on
synthetic losses: identical labels (and parameters equal to rounding) on well separated data, parameter differences
of about 1e-3 on CE-like data with a high-loss mode, up to 1e-2 on strongly overlapping components and up to a few
1e-2 on flat unimodal data, where the k-means objective barely changes along the path. From the same seeds the
Lloyd iterations give scikit-learn's labels exactly, and from the same initial parameters the EM steps give its
parameters and posteriors to about 1e-14.
"""
import math
from typing import Dict, NamedTuple, Tuple

import torch
import torch.nn as nn

from mmseg.registry import MODELS

__all__ = ['GMM1D', 'GMMNoiseFilter', 'fit_gmm_1d', 'gmm_noise_filter', 'gmm_posterior']

_LOG_2PI = math.log(2 * math.pi)
#: what scikit-learn adds to each component's responsibility sum (keeps an empty component finite)
_NK_EPS = 10 * torch.finfo(torch.float64).eps
#: scikit-learn's KMeans defaults: at most 300 Lloyd iterations, stop once the squared centre shift is at most
#: 1e-4 times the data variance
_KMEANS_MAX_ITER = 300
_KMEANS_TOL = 1e-4
#: how often the k-means loop checks whether every image has converged (one host sync per check)
_KMEANS_CHECK_EVERY = 8


class GMM1D(NamedTuple):
    """A batch of fitted two-component 1-D Gaussian mixtures (all float64).

    Attributes:
        weights (Tensor): (B, 2) mixing weights, summing to one per image (to rounding after ``max_iter=0``).
        means (Tensor): (B, 2) component means. Component 0 starts as the low k-means cluster; read the noisy
            component with ``means.argmax(1)`` rather than assuming an order.
        variances (Tensor): (B, 2) component variances, ``reg_covar`` included.
        converged (Tensor): (B,) bool, whether the lower-bound change fell below ``tol`` within ``max_iter``
            steps (scikit-learn's ``converged_``).
        n_iter (Tensor): (B,) long, EM steps run for each image (scikit-learn's ``n_iter_``).
        lower_bound (Tensor): (B,) the last per-sample mean log-likelihood (scikit-learn's ``lower_bound_``).
    """

    weights: torch.Tensor
    means: torch.Tensor
    variances: torch.Tensor
    converged: torch.Tensor
    n_iter: torch.Tensor
    lower_bound: torch.Tensor


def _sorted_values(values: torch.Tensor, mask: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Each row's fitted values sorted ascending, packed to the left and trimmed to the longest row.

    Returns the sorted values (B, M) padded with +inf, the padding mask (B, M) (True on values) and the counts (B,).
    The fit is on the candidates only (a fraction of the image), so packing them makes every EM step several times
    cheaper than masking the whole image; the trim costs the one host sync outside the iterations.
    """
    n = mask.sum(1)
    xs = torch.where(mask, values, math.inf).sort(dim=1).values
    xs = xs[:, :max(int(n.max()), 1) if n.numel() else 1].contiguous()
    valid = torch.arange(xs.shape[1], device=xs.device)[None, :] < n[:, None]
    return xs, valid, n


def _log_joint(x: torch.Tensor, weights: torch.Tensor, means: torch.Tensor, variances: torch.Tensor) -> torch.Tensor:
    """log w_k + log N(x | mu_k, var_k) for each value and component: (B, N, 2)."""
    return (weights.log()[:, None, :]
            - 0.5 * (_LOG_2PI + variances.log()[:, None, :]
                     + (x[:, :, None] - means[:, None, :]).square() / variances[:, None, :]))


def _m_step(x: torch.Tensor, resp: torch.Tensor, reg_covar: float) -> Tuple[torch.Tensor, ...]:
    """Responsibility sums (B, 2), means (B, 2) and variances (B, 2) as scikit-learn estimates them.

    ``resp`` (B, N, 2) is zero on the padding, so the padded values (zeros) contribute nothing.
    """
    nk = resp.sum(1) + _NK_EPS
    means = torch.einsum('bnk,bn->bk', resp, x) / nk
    variances = (resp * (x[:, :, None] - means[:, None, :]).square()).sum(1) / nk + reg_covar
    return nk, means, variances


def _two_means_split(xs: torch.Tensor, valid: torch.Tensor, n: torch.Tensor) -> torch.Tensor:
    """Threshold of a batched 1-D 2-means (Lloyd, scikit-learn's stopping rule), one per row: (B,).

    ``xs`` holds each row's values sorted ascending and padded with +inf (see :func:`_sorted_values`). The low
    cluster is the values at or below the returned threshold. See the module docstring for the seeding.
    """
    x0 = torch.where(valid, xs, 0)
    n_f = n.clamp(min=1).to(xs.dtype)
    # prefix[:, k] is the sum of the k smallest values: a Lloyd step reads both cluster sums from it
    prefix = torch.cat([xs.new_zeros(xs.shape[0], 1), x0.cumsum(1)], dim=1)
    total = prefix[:, -1]
    mean = total / n_f
    weight = torch.where(valid, xs - mean[:, None], 0).square()
    tol = weight.sum(1) / n_f * _KMEANS_TOL  # the data variance times scikit-learn's relative tolerance
    # deterministic k-means++: the data mean (where a uniformly drawn first seed lies on average) and the mean
    # weighted by the squared distance to it (where the second seed, drawn with probability ~ D^2, lies on average)
    far = (weight * x0).sum(1) / weight.sum(1).clamp(min=torch.finfo(xs.dtype).tiny)
    far = torch.where(weight.sum(1) > 0, far, mean)
    lo, hi = torch.minimum(mean, far), torch.maximum(mean, far)
    count_old = torch.full_like(n, -1)
    done = n < 2
    for it in range(_KMEANS_MAX_ITER):
        # labels: a value joins the nearer centre, i.e. the low cluster up to the midpoint
        count = torch.searchsorted(xs, ((lo + hi) / 2)[:, None].contiguous(), right=True)[:, 0].clamp(max=n)
        s_lo = prefix.gather(1, count[:, None])[:, 0]
        # an empty cluster keeps its centre (cannot happen from these seeds, but keeps degenerate rows finite)
        new_lo = torch.where(count > 0, s_lo / count.clamp(min=1).to(xs.dtype), lo)
        new_hi = torch.where(count < n, (total - s_lo) / (n - count).clamp(min=1).to(xs.dtype), hi)
        shift = (new_lo - lo).square() + (new_hi - hi).square()
        active = ~done
        lo = torch.where(active, new_lo, lo)
        hi = torch.where(active, new_hi, hi)
        # scikit-learn stops when the labels did not change, else when the squared centre shift is within tol
        done = done | (count == count_old) | (shift <= tol)
        count_old = torch.where(active, count, count_old)
        if it % _KMEANS_CHECK_EVERY == _KMEANS_CHECK_EVERY - 1 and bool(done.all()):
            break
    # the labels come from the final centres (what scikit-learn re-assigns after a tolerance stop)
    return (lo + hi) / 2


def fit_gmm_1d(values: torch.Tensor, mask: torch.Tensor, max_iter: int = 10, tol: float = 1e-2,
               reg_covar: float = 5e-4) -> GMM1D:
    """Fit a two-component 1-D Gaussian mixture to each row's masked values, all rows at once.

    Follows scikit-learn's ``GaussianMixture(n_components=2, covariance_type='full', init_params='kmeans',
    n_init=1)`` step by step: a k-means labelling turned into one-hot responsibilities and one M-step, then EM steps
    (E-step, M-step) until the change of the per-sample mean log-likelihood, measured at each E-step, is below
    ``tol`` or ``max_iter`` steps have run. Rows stop changing once they have converged, so a row's result does not
    depend on the other rows of the batch. ``reg_covar`` is added to every variance estimate, as scikit-learn adds
    it to the covariance diagonal. Computed in float64 whatever the input dtype; ``max_iter=0`` returns the
    initialisation.

    Rows with fewer than two masked values give finite but meaningless parameters; callers gate them out.

    Args:
        values (Tensor): (B, N) floating values.
        mask (Tensor): (B, N) bool, the values of each row that belong to its fit.
        max_iter (int): most EM steps. Defaults to 10.
        tol (float): convergence threshold on the change of the mean log-likelihood. Defaults to 1e-2.
        reg_covar (float): added to each variance. Defaults to 5e-4.

    Returns:
        GMM1D: weights, means, variances (each (B, 2)), converged (B,), n_iter (B,), lower_bound (B,).

    Example:
        >>> import torch
        >>> g = torch.Generator().manual_seed(0)
        >>> x = torch.cat([torch.randn(1, 3000, generator=g) * 0.2, 3 + torch.randn(1, 1000, generator=g)], 1)
        >>> fit = fit_gmm_1d(x, torch.ones_like(x, dtype=torch.bool))
        >>> fit.weights.round(decimals=2), fit.means.round(decimals=1).abs()
        (tensor([[0.7500, 0.2500]], dtype=torch.float64), tensor([[0., 3.]], dtype=torch.float64))
    """
    if values.dim() != 2 or values.shape != mask.shape:
        raise ValueError(f'values and mask must both be (B, N), got {tuple(values.shape)} and {tuple(mask.shape)}')
    xs, valid, n = _sorted_values(values.detach().to(torch.float64), mask.to(torch.bool))
    threshold = _two_means_split(xs, valid, n)
    batch = xs.shape[0]
    n_f = n.clamp(min=1).to(xs.dtype)
    valid_f = valid.to(xs.dtype)
    x = torch.where(valid, xs, 0)  # the padding is excluded by zero responsibilities; zeros keep the sums finite

    # initialisation: one-hot responsibilities of the 2-means labels, then one M-step; the weights are nk / n (not
    # renormalised, as in scikit-learn's initialisation)
    high = (x > threshold[:, None]).to(x.dtype)
    resp = torch.stack([1 - high, high], dim=2) * valid_f[:, :, None]
    nk, means, variances = _m_step(x, resp, reg_covar)
    weights = nk / n_f[:, None]

    lower_bound = torch.full((batch,), -math.inf, dtype=x.dtype, device=x.device)
    converged = torch.zeros(batch, dtype=torch.bool, device=x.device)
    n_iter = torch.zeros(batch, dtype=torch.long, device=x.device)
    for _ in range(max_iter):
        active = ~converged
        log_joint = _log_joint(x, weights, means, variances)
        log_norm = log_joint.logsumexp(2)
        # the lower bound is measured with the parameters before this step's M-step, as scikit-learn does
        new_bound = (log_norm * valid_f).sum(1) / n_f
        resp = (log_joint - log_norm[:, :, None]).exp() * valid_f[:, :, None]
        nk, new_means, new_variances = _m_step(x, resp, reg_covar)
        keep = active[:, None]
        weights = torch.where(keep, nk / nk.sum(1, keepdim=True), weights)
        means = torch.where(keep, new_means, means)
        variances = torch.where(keep, new_variances, variances)
        converged = converged | (active & ((new_bound - lower_bound).abs() < tol))
        lower_bound = torch.where(active, new_bound, lower_bound)
        n_iter = n_iter + active.long()
        # one host sync per step: stop when every row has converged (the remaining steps would change nothing)
        if bool(converged.all()):
            break
    return GMM1D(weights, means, variances, converged, n_iter, lower_bound)


def gmm_posterior(values: torch.Tensor, weights: torch.Tensor, means: torch.Tensor,
                  variances: torch.Tensor) -> torch.Tensor:
    """Posterior probability of the larger-mean component for every value, batched over the leading dim.

    Args:
        values (Tensor): (B, ...) values; every one is evaluated, whether or not it was fitted.
        weights (Tensor): (B, 2) mixing weights.
        means (Tensor): (B, 2) component means.
        variances (Tensor): (B, 2) component variances.

    Returns:
        Tensor: float64 posteriors, shaped like ``values``.

    Example:
        >>> import torch
        >>> stds = torch.tensor([[0.12, 1.3]])
        >>> gmm_posterior(torch.zeros(1, 1), torch.tensor([[0.6, 0.4]]), torch.tensor([[0.5, 2.8]]), stds.square())
        tensor([[0.9727]], dtype=torch.float64)
    """
    batch = values.shape[0]
    x = values.detach().to(torch.float64).reshape(batch, -1)
    log_joint = _log_joint(x, weights.to(torch.float64), means.to(torch.float64), variances.to(torch.float64))
    # with two components the posterior of one is the logistic function of the log-odds
    log_odds = log_joint[:, :, 1] - log_joint[:, :, 0]
    noisy_is_first = (means[:, 0] > means[:, 1])[:, None]
    return torch.where(noisy_is_first, -log_odds, log_odds).sigmoid().reshape(values.shape)


def gmm_noise_filter(losses: torch.Tensor, labels: torch.Tensor, min_pixels: int = 1000, loss_floor: float = 0.1,
                     mean_gap: float = 1.0, posterior_thr: float = 0.95, ignore_index: int = 255,
                     **em_kwargs) -> Tuple[torch.Tensor, Dict[str, torch.Tensor]]:
    """Relabel each image's likely-noisy foreground pixels as ignored, from a Gaussian mixture on their losses.

    Per image (see the module docstring for the reasoning): fit :func:`fit_gmm_1d` to the losses of the foreground
    pixels above ``loss_floor``; if there are more than ``min_pixels`` of them and the two means are more than
    ``mean_gap`` apart, every non-background pixel whose posterior of the larger-mean component exceeds
    ``posterior_thr`` becomes ``ignore_index``. Otherwise the image is returned unchanged. Background (0) and
    ``ignore_index`` pixels never change. All images are fitted together (stack several students' batches along
    the batch dim to fit them in one call); the result of an image does not depend on the others.

    Args:
        losses (Tensor): (B, H, W) per-pixel losses of the labels (e.g. cross-entropy, ``reduction='none'``);
            detached here. Only the foreground pixels' losses matter: background and ignored pixels are neither
            fitted nor relabelled.
        labels (Tensor): (B, H, W) long labels.
        min_pixels (int): an image needs more candidates than this to be filtered. Defaults to 1000.
        loss_floor (float): a foreground pixel is a candidate when its loss exceeds this. Defaults to 0.1.
        mean_gap (float): the means must be more than this apart. Defaults to 1.0.
        posterior_thr (float): noisy posterior above which a pixel is removed. Defaults to 0.95.
        ignore_index (int): the ignore label. Defaults to 255.
        **em_kwargs: ``max_iter``, ``tol``, ``reg_covar`` of :func:`fit_gmm_1d`.

    Returns:
        tuple[Tensor, dict[str, Tensor]]: the filtered labels (a new tensor) and 0-dim statistics for logging:
        ``fitted`` (fraction of images with enough candidates), ``applied`` (fraction of images filtered, i.e.
        also past the mean gap), ``removed`` (fraction of the batch's foreground pixels set to ``ignore_index``)
        and ``mean_gap`` (mean |mu_a - mu_b| over the fitted images, 0 if none).

    Example:
        >>> import torch
        >>> g = torch.Generator().manual_seed(0)
        >>> losses = torch.cat([torch.rand(1, 60, 40, generator=g) * 0.5, 4 + torch.rand(1, 60, 10, generator=g)], 2)
        >>> labels = torch.ones(1, 60, 50, dtype=torch.long)
        >>> labels[:, :20] = 0  # background: kept whatever its loss
        >>> out, stats = gmm_noise_filter(losses, labels)
        >>> bool((out[:, 20:, 40:] == 255).all()), bool((out[:, :20] == 0).all()), bool((out[:, 20:, :40] == 1).all())
        (True, True, True)
        >>> stats['applied'].item(), round(stats['removed'].item(), 3)
        (1.0, 0.2)
    """
    if losses.shape != labels.shape or losses.dim() != 3:
        raise ValueError(f'losses and labels must both be (B, H, W), got {tuple(losses.shape)} and '
                         f'{tuple(labels.shape)}')
    batch = losses.shape[0]
    flat_loss = losses.detach().reshape(batch, -1).to(torch.float64)
    flat_labels = labels.reshape(batch, -1)
    foreground = (flat_labels != 0) & (flat_labels != ignore_index)
    candidates = foreground & (flat_loss > loss_floor)
    fitted = candidates.sum(1) > min_pixels
    gmm = fit_gmm_1d(flat_loss, candidates, **em_kwargs)
    gap = (gmm.means[:, 0] - gmm.means[:, 1]).abs()
    applied = fitted & (gap > mean_gap)
    noisy = gmm_posterior(flat_loss, gmm.weights, gmm.means, gmm.variances) > posterior_thr
    # background labels are never removed, and ignored pixels stay ignored
    remove = applied[:, None] & noisy & foreground
    filtered = torch.where(remove, torch.full_like(flat_labels, ignore_index), flat_labels).reshape(labels.shape)
    fitted_f = fitted.to(torch.float64)
    stats = dict(
        fitted=fitted_f.mean(),
        applied=applied.to(torch.float64).mean(),
        removed=remove.sum().to(torch.float64) / foreground.sum().clamp(min=1).to(torch.float64),
        mean_gap=(gap * fitted_f).sum() / fitted_f.sum().clamp(min=1))
    return filtered, stats


@MODELS.register_module()
class GMMNoiseFilter(nn.Module):
    """DuPL's adaptive noise filtering as a configurable step: :func:`gmm_noise_filter` from ``start_iter`` on.

    The segmentor calls it with the per-pixel losses of each student's labels (its own segmentation against its
    own labels, as the released code) and the labels, all students' images stacked. Its statistics are logged as
    ``gmm_fitted``, ``gmm_applied``, ``gmm_removed`` and ``gmm_mean_gap``.

    Args:
        start_iter (int): first optimizer step whose labels are filtered (VOC 8000, COCO 32000).
        min_pixels, loss_floor, mean_gap, posterior_thr, ignore_index: see :func:`gmm_noise_filter`.
        **em_kwargs: ``max_iter`` (10), ``tol`` (1e-2), ``reg_covar`` (5e-4) of :func:`fit_gmm_1d`.

    Example:
        >>> f = GMMNoiseFilter(start_iter=8000, min_pixels=46)
        >>> f.start_iter, f.min_pixels
        (8000, 46)
    """

    def __init__(self, start_iter: int = 0, min_pixels: int = 1000, loss_floor: float = 0.1, mean_gap: float = 1.0,
                 posterior_thr: float = 0.95, ignore_index: int = 255, **em_kwargs) -> None:
        super().__init__()
        self.start_iter, self.min_pixels, self.loss_floor = int(start_iter), int(min_pixels), float(loss_floor)
        self.mean_gap, self.posterior_thr, self.ignore_index = float(mean_gap), float(posterior_thr), ignore_index
        self.em_kwargs = em_kwargs

    def forward(self, losses: torch.Tensor, labels: torch.Tensor) -> Tuple[torch.Tensor, Dict[str, torch.Tensor]]:
        filtered, stats = gmm_noise_filter(losses, labels, self.min_pixels, self.loss_floor, self.mean_gap,
                                           self.posterior_thr, self.ignore_index, **self.em_kwargs)
        return filtered, {f'gmm_{k}': v.float() for k, v in stats.items()}
