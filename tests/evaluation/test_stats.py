import math

import pytest

from loralab.evaluation.stats import (
    compare_paired, compare_proportions, mcnemar_exact_test, rate, two_proportion_z_test, wilson_interval,
)


def test_wilson_zero_successes():
    lo, hi = wilson_interval(0, 10)
    assert lo == 0.0
    assert hi == pytest.approx(0.2775, abs=1e-4)


def test_wilson_half():
    lo, hi = wilson_interval(5, 10)
    assert lo == pytest.approx(0.2366, abs=1e-4)
    assert hi == pytest.approx(0.7634, abs=1e-4)


def test_wilson_all_successes_mirrors_zero():
    lo, hi = wilson_interval(10, 10)
    assert hi == 1.0
    assert lo == pytest.approx(1 - 0.2775, abs=1e-4)


def test_wilson_large_sample_known_value():
    # 81/263, a textbook example: Wilson 95 % ~ [0.2553, 0.3662].
    lo, hi = wilson_interval(81, 263)
    assert lo == pytest.approx(0.2553, abs=1e-4)
    assert hi == pytest.approx(0.3662, abs=1e-4)


def test_wilson_empty_and_invalid():
    assert wilson_interval(0, 0) == (0.0, 1.0)
    with pytest.raises(ValueError):
        wilson_interval(3, 2)


def test_rate_shape():
    r = rate(3, 4)
    assert r["value"] == 0.75 and r["k"] == 3 and r["n"] == 4
    assert r["ci95"][0] < 0.75 < r["ci95"][1]
    assert rate(0, 0)["value"] is None


def test_z_test_known_value():
    # 45/100 vs 60/100: pooled p = 0.525, z = -2.1234..., two-sided p ~ 0.0337.
    assert two_proportion_z_test(45, 100, 60, 100) == pytest.approx(0.0337, abs=5e-4)


def test_clear_difference_is_significant():
    res = compare_proportions(90, 100, 10, 100)
    assert res["significant"] is True
    assert res["p_value"] < 1e-10
    assert res["ci_overlap"] is False
    assert res["delta"] == pytest.approx(-0.8)


def test_small_difference_is_not_significant():
    res = compare_proportions(50, 100, 52, 100)
    assert res["significant"] is False
    assert res["p_value"] == pytest.approx(0.777, abs=1e-3)
    assert res["ci_overlap"] is True
    assert res["delta"] == pytest.approx(0.02)


def test_degenerate_comparisons():
    assert compare_proportions(10, 10, 20, 20)["p_value"] == 1.0
    empty = compare_proportions(0, 0, 5, 10)
    assert empty["p_value"] is None and empty["significant"] is False and empty["delta"] is None
    assert not math.isnan(compare_proportions(0, 10, 0, 10)["p_value"])


def test_mcnemar_exact_known_values():
    # all 5 discordant examples favour one side: 2 * 0.5**5
    assert mcnemar_exact_test(0, 5) == pytest.approx(0.0625)
    # 2 vs 8: 2 * (1 + 10 + 45) / 1024
    assert mcnemar_exact_test(2, 8) == pytest.approx(0.109375)
    assert mcnemar_exact_test(8, 2) == mcnemar_exact_test(2, 8)
    assert mcnemar_exact_test(0, 0) == 1.0 and mcnemar_exact_test(7, 7) == 1.0
    with pytest.raises(ValueError):
        mcnemar_exact_test(-1, 3)


def test_paired_test_sees_what_the_unpaired_one_cannot():
    # 100 shared examples: the second run fixes 6 answers and breaks none. Unpaired, 50 % vs 56 %
    # is noise; paired, six changes all in one direction are not (p = 2 / 64).
    before = [True] * 50 + [False] * 50
    after = [True] * 56 + [False] * 44
    paired = compare_paired(before, after)
    assert paired["test"] == "mcnemar" and paired["discordant"] == [0, 6]
    assert paired["delta"] == pytest.approx(0.06)
    assert paired["p_value"] == pytest.approx(0.03125) and paired["significant"] is True
    unpaired = compare_proportions(50, 100, 56, 100)
    assert unpaired["test"] == "z" and unpaired["significant"] is False
    # the same totals with changes both ways (8 fixed, 2 broken) stay within the noise
    mixed = compare_paired([True] * 48 + [False] * 8 + [True] * 2 + [False] * 42,
                           [True] * 48 + [True] * 8 + [False] * 2 + [False] * 42)
    assert mixed["discordant"] == [2, 8] and mixed["significant"] is False


def test_paired_needs_the_same_examples():
    with pytest.raises(ValueError, match="same examples"):
        compare_paired([True, False], [True])
    empty = compare_paired([], [])
    assert empty["p_value"] is None and empty["delta"] is None and empty["significant"] is False
