"""Statistics over training seeds: mean ± std of one config's runs, and the paired difference of two configs.

One run of a small from-scratch model is one draw: another seed (data order, views, initialisation) moves its mIoU
by a point or so, so a single-run difference of that size says nothing about the methods. With several seeds per
method the tools report each number as ``mean ± std (n)`` and compare a method with a baseline by the difference on
the *same* seeds (same data order and initial weights for both, so the seed's own effect cancels), with a 95%
interval from the t distribution with n - 1 degrees of freedom (scipy's, nothing hand-rolled here).

Values that were not measured (``None``) or are NaN are left out, so ``n`` counts the runs that have the number.
"""
import math
from typing import Iterable, Mapping, NamedTuple, Optional, Sequence, Union

import numpy as np

Values = Union[Mapping[object, Optional[float]], Sequence[Optional[float]]]


class Summary(NamedTuple):
    mean: Optional[float]
    std: Optional[float]  # sample standard deviation (ddof=1); None for n < 2
    n: int


class PairedDifference(NamedTuple):
    mean: Optional[float]  # mean over seeds of (method - baseline)
    low: Optional[float]  # the interval; None for n < 2
    high: Optional[float]
    n: int  # seeds that both have
    p: Optional[float]  # two-sided paired t-test; None for n < 2 or identical differences on every seed


def _measured(value) -> bool:
    return value is not None and not (isinstance(value, float) and math.isnan(value))


def summarise(values: Iterable[Optional[float]]) -> Summary:
    """``(mean, sample std, n)`` of one number over the seeds of one config.

    The std is the sample standard deviation (``ddof=1``), the spread one more seed would be expected to show; it is
    None for a single run (one run has no spread to estimate), and ``(None, None, 0)`` means nothing was measured.

    Example:
        >>> summarise([74.0, 75.0, 76.0])
        Summary(mean=75.0, std=1.0, n=3)
        >>> summarise([75.5, None])
        Summary(mean=75.5, std=None, n=1)
    """
    xs = np.array([float(v) for v in values if _measured(v)])
    if xs.size == 0:
        return Summary(None, None, 0)
    return Summary(float(xs.mean()), float(xs.std(ddof=1)) if xs.size > 1 else None, int(xs.size))


def _pairs(method_values: Values, baseline_values: Values):
    if isinstance(method_values, Mapping) != isinstance(baseline_values, Mapping):
        raise TypeError('pass both as {seed: value} or both as sequences in the same seed order')
    if isinstance(method_values, Mapping):
        pairs = [(value, baseline_values[k]) for k, value in method_values.items() if k in baseline_values]
    else:
        if len(method_values) != len(baseline_values):
            raise ValueError(f'{len(method_values)} method values vs {len(baseline_values)} baseline values: '
                             'sequences pair by position, so they must list the same seeds')
        pairs = list(zip(method_values, baseline_values))
    return [(float(m), float(b)) for m, b in pairs if _measured(m) and _measured(b)]


def paired_difference(method_values: Values, baseline_values: Values, confidence: float = 0.95) -> PairedDifference:
    """Mean of ``method - baseline`` over the seeds both have, its ``confidence`` interval, n and the paired p-value.

    Pairs by seed: give two ``{seed: value}`` mappings (seeds only one side has are left out) or two sequences in
    the same seed order. The interval is ``mean ± t_{n-1} * sd / sqrt(n)`` (``scipy.stats.ttest_rel`` and its
    ``confidence_interval``): if the methods did not differ, intervals made this way would contain 0 in 95% of
    comparisons, so an interval that contains 0 means the seeds do not show which method is better. It assumes the
    per-seed differences are roughly normal; with 3 seeds it is wide (t_2 = 4.30), which is the honest answer.
    One shared seed gives the difference and no interval (None), not an error; identical differences on every seed
    give a zero-width interval and no p-value (the t statistic is undefined).

    Example:
        >>> d = paired_difference({0: 71.0, 1: 73.0, 2: 75.5}, {0: 70.0, 1: 71.0, 2: 72.5})  # diffs 1, 2, 3
        >>> round(d.mean, 2), round(d.low, 2), round(d.high, 2), d.n, round(d.p, 3)
        (2.0, -0.48, 4.48, 3, 0.074)
        >>> paired_difference([76.0], [75.0])
        PairedDifference(mean=1.0, low=None, high=None, n=1, p=None)
    """
    from scipy import stats

    pairs = _pairs(method_values, baseline_values)
    if not pairs:
        return PairedDifference(None, None, None, 0, None)
    method, baseline = np.array(pairs).T
    diffs = method - baseline
    mean = float(diffs.mean())
    if len(diffs) == 1:
        return PairedDifference(mean, None, None, 1, None)
    if np.allclose(diffs, diffs[0], rtol=0, atol=1e-9):  # zero spread: scipy would warn and return NaN
        return PairedDifference(mean, mean, mean, len(diffs), None)
    test = stats.ttest_rel(method, baseline)
    ci = test.confidence_interval(confidence)
    return PairedDifference(mean, float(ci.low), float(ci.high), len(diffs), float(test.pvalue))


def format_summary(values: Union[Summary, Iterable[Optional[float]]], digits: int = 2) -> str:
    """``'75.00 ± 1.00 (3)'``; ``'75.50 (1)'`` for one run, ``'-'`` for none.

    Example:
        >>> format_summary([74.0, 75.0, 76.0]), format_summary([88.25], digits=1)
        ('75.00 ± 1.00 (3)', '88.2 (1)')
    """
    s = values if isinstance(values, Summary) else summarise(values)
    if s.n == 0:
        return '-'
    spread = f' ± {s.std:.{digits}f}' if s.std is not None else ''
    return f'{s.mean:.{digits}f}{spread} ({s.n})'


def format_difference(d: PairedDifference, digits: int = 2, with_p: bool = True) -> str:
    """``'+2.00 [-0.48, +4.48] (3), p 0.074'``: mean [interval] (n), p; ``'+1.00 (1, no interval)'`` for one seed.

    Example:
        >>> format_difference(PairedDifference(2.0, -0.484, 4.484, 3, 0.0742))
        '+2.00 [-0.48, +4.48] (3), p 0.074'
    """
    if d.n == 0:
        return '-'
    if d.low is None:
        return f'{d.mean:+.{digits}f} ({d.n}, no interval)'
    text = f'{d.mean:+.{digits}f} [{d.low:+.{digits}f}, {d.high:+.{digits}f}] ({d.n})'
    if with_p and d.p is not None:
        text += f', p {d.p:.3f}' if d.p >= 0.001 else ', p < 0.001'
    return text


__all__ = ['Summary', 'PairedDifference', 'summarise', 'paired_difference', 'format_summary', 'format_difference']
