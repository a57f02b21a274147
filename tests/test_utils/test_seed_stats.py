"""mmwsss.utils.seed_stats: known per-seed values give the known mean, std and interval (computed here another way)."""
import math

import pytest
from scipy import stats

from mmwsss.utils.seed_stats import (PairedDifference, Summary, format_difference, format_summary, paired_difference,
                                     summarise)


def test_summarise_mean_and_sample_std():
    mean, std, n = summarise([74.0, 75.0, 77.0])
    assert (mean, n) == (pytest.approx(226 / 3), 3)
    # sample std by hand: deviations -1.333, -0.333, 1.667 -> sum of squares 4.667, / (n - 1) = 2.333
    assert std == pytest.approx(math.sqrt((16 / 9 + 1 / 9 + 25 / 9) / 2))
    assert summarise([75.0, 77.0]).std == pytest.approx(math.sqrt(2))  # ddof=1, not the population std (1.0)


def test_summarise_skips_missing_and_handles_one_and_none():
    assert summarise([75.5, None, float('nan')]) == Summary(75.5, None, 1)
    assert summarise([]) == Summary(None, None, 0)
    assert format_summary([74.0, 75.0, 76.0]) == '75.00 ± 1.00 (3)'
    assert format_summary([88.25], digits=1) == '88.2 (1)'
    assert format_summary([None]) == '-'


def test_paired_difference_hand_computed_case():
    """Diffs 1, 2, 3: mean 2, sd 1, interval 2 ± t_{0.975, 2} / sqrt(3) = 2 ± 4.303 / 1.732."""
    d = paired_difference({0: 71.0, 1: 73.0, 2: 75.5}, {0: 70.0, 1: 71.0, 2: 72.5})
    assert d.mean == pytest.approx(2.0) and d.n == 3
    half = 4.302652729749464 / math.sqrt(3)  # t quantile from a table; scipy's is checked below
    assert (d.low, d.high) == (pytest.approx(2 - half), pytest.approx(2 + half))
    assert round(d.low, 2) == -0.48 and round(d.high, 2) == 4.48
    assert stats.t.ppf(0.975, 2) == pytest.approx(4.302652729749464)
    # p by the textbook formula: t = mean / (sd / sqrt(n)) = 2 sqrt(3), two-sided, 2 degrees of freedom
    assert d.p == pytest.approx(2 * stats.t.sf(2 * math.sqrt(3), 2))
    assert format_difference(d) == '+2.00 [-0.48, +4.48] (3), p 0.074'


@pytest.mark.parametrize('diffs', [[0.4, -1.1, 2.3, 0.9], [1.5, 1.7], [-3.0, -2.5, -2.8, -3.3, -2.9]])
def test_paired_difference_matches_the_textbook_interval(diffs):
    baseline = [70.0 + i for i in range(len(diffs))]
    method = [b + d for b, d in zip(baseline, diffs)]
    n = len(diffs)
    mean = sum(diffs) / n
    sd = math.sqrt(sum((x - mean)**2 for x in diffs) / (n - 1))
    half = stats.t.ppf(0.975, n - 1) * sd / math.sqrt(n)
    d = paired_difference(method, baseline)
    assert (d.mean, d.low, d.high, d.n) == (pytest.approx(mean), pytest.approx(mean - half),
                                            pytest.approx(mean + half), n)
    wider = paired_difference(method, baseline, confidence=0.99)
    assert wider.low < d.low and wider.high > d.high


def test_pairs_by_seed_not_by_position():
    """Seeds only one side has are left out; the order of the mappings does not matter."""
    method = {2: 75.5, 0: 71.0, 1: 73.0, 7: 99.0}
    baseline = {0: 70.0, 1: 71.0, 2: 72.5, 5: 10.0}
    d = paired_difference(method, baseline)
    assert d.n == 3 and d.mean == pytest.approx(2.0) and d.high == pytest.approx(2 + 4.302652729749464 / 3**0.5)
    with pytest.raises(ValueError, match='same seeds'):
        paired_difference([1.0, 2.0], [1.0])


def test_one_seed_gives_no_interval():
    d = paired_difference({0: 76.0}, {0: 75.0})
    assert d == PairedDifference(1.0, None, None, 1, None)
    assert format_difference(d) == '+1.00 (1, no interval)'
    assert paired_difference({0: 76.0, 1: None}, {0: 75.0, 1: 74.0}).n == 1  # a missing number drops its seed
    assert paired_difference({1: 76.0}, {0: 75.0}) == PairedDifference(None, None, None, 0, None)


def test_identical_differences_give_a_zero_width_interval():
    d = paired_difference([71.0, 72.0, 73.0], [70.0, 71.0, 72.0])
    assert (d.mean, d.low, d.high, d.n, d.p) == (pytest.approx(1.0), pytest.approx(1.0), pytest.approx(1.0), 3, None)
