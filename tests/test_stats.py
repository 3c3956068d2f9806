"""Spreads, paired intervals and verdicts, against values worked out by hand and by textbook tables."""

from __future__ import annotations

import math

import numpy as np
import pytest

from scaler.stats import binomial_halfwidth, compare, kendall, spearman, spread, t95


def test_t_quantiles_are_the_textbook_ones() -> None:
    assert t95(1) == 12.706 and t95(2) == 4.303 and t95(4) == 2.776 and t95(30) == 2.042 and t95(200) == 1.96


def test_spread_is_mean_and_sample_std() -> None:
    s = spread([0.80, 0.82, 0.84])
    assert s.mean == pytest.approx(0.82) and s.std == pytest.approx(0.02) and s.n == 3
    assert str(s) == "0.8200 ± 0.0200" and spread([0.5]).std == 0.0


def test_a_paired_difference_inside_the_noise_is_not_distinguishable() -> None:
    # differences 0.01, -0.005, 0.008: mean 0.00433, sd 0.00814, half-width 4.303 * sd / sqrt(3)
    c = compare([0.81, 0.795, 0.818], [0.80, 0.80, 0.81])
    half = 4.303 * np.std([0.01, -0.005, 0.008], ddof=1) / math.sqrt(3)
    assert c.diff == pytest.approx(0.013 / 3) and c.high - c.diff == pytest.approx(half)
    assert c.verdict == "not distinguishable" and c.low < 0 < c.high


def test_consistent_differences_are_better_or_worse() -> None:
    assert compare([0.85, 0.86, 0.84], [0.80, 0.81, 0.80]).verdict == "better"
    assert compare([0.80, 0.81, 0.80], [0.85, 0.86, 0.84]).verdict == "worse"
    one = compare([0.9], [0.5])
    assert one.verdict == "not distinguishable" and "one seed" in str(one)
    with pytest.raises(ValueError):
        compare([0.1, 0.2], [0.1])


def test_the_binomial_halfwidth_of_an_accuracy() -> None:
    # 0.8 on 5,000 images: sqrt(0.16 / 5000) = 0.005657, times 1.96
    assert binomial_halfwidth(0.8, 5000) == pytest.approx(0.011087, abs=1e-6)
    assert binomial_halfwidth(1.0, 100) == 0.0
    with pytest.raises(ValueError):
        binomial_halfwidth(0.5, 0)


def test_rank_correlations() -> None:
    a = np.array([1, 2, 3, 4, 5.0])
    assert spearman(a, a) == pytest.approx(1) and spearman(a, -a) == pytest.approx(-1)
    assert kendall(a, np.array([1, 3, 2, 4, 5.0])) == pytest.approx(0.8)  # one discordant pair of 10
