"""Binomial-proportion statistics for evaluation rates (stdlib only).

Rates on a few hundred examples are noisy, so every rate carries a Wilson score interval
(well behaved at k = 0 and k = n, unlike the normal "Wald" interval). A difference between two
runs is judged by one of two tests:

- ``compare_paired``, when both runs answered the same examples (a run against another on the same
  split, or base vs fine-tuned on the same examples): the exact McNemar test, which looks only at
  the examples the two runs disagree on. Sharing the examples removes their difficulty from the
  noise, so it detects smaller real differences than an unpaired test does.
- ``compare_proportions`` otherwise: a two-sided, pooled two-proportion z-test, which treats the
  two samples as independent (conservative when they overlap).

Both decide ``significant`` from the p-value (< ``alpha``). They also report whether the two
Wilson 95 % intervals overlap, but do not use that for the decision: non-overlap is much stricter
than a 5 % test (roughly a 0.5 % test), so it would hide real improvements.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

Z95 = 1.959963984540054  # two-sided 95 % standard-normal quantile
# how tables name the ``test`` of a comparison, and the rule that picks it
TEST_NAMES = {"z": "z (unpaired)", "mcnemar": "McNemar (paired)"}
TEST_RULE = "McNemar (paired) where both sides answered the same examples, else a two-proportion z-test"
# What "beyond noise" cannot see: two training runs that differ only in their seed can differ by
# more than a paired test calls noise (conf/experiment/toolcalls-long.yaml: 78.8 vs 74.2 %, p 0.013).
NOISE_SCOPE = "it covers the test sample, not training randomness: compare several seeds before trusting a gap"


def wilson_interval(k: int, n: int, z: float = Z95) -> tuple[float, float]:
    """Wilson score interval for ``k`` successes out of ``n``; (0.0, 1.0) when n == 0."""
    if n < 0 or k < 0 or k > n:
        raise ValueError(f"need 0 <= k <= n, got k={k}, n={n}")
    if n == 0:
        return 0.0, 1.0
    p = k / n
    z2 = z * z
    denom = 1.0 + z2 / n
    centre = (p + z2 / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z2 / (4 * n * n)) / denom
    # Pin the ends exactly: rounding would otherwise give -1e-17 at k=0.
    lo = 0.0 if k == 0 else max(0.0, centre - half)
    hi = 1.0 if k == n else min(1.0, centre + half)
    return lo, hi


def rate(k: int, n: int) -> dict[str, Any]:
    """A JSON-ready rate: value (None when n == 0), Wilson 95 % interval, k and n."""
    lo, hi = wilson_interval(k, n)
    return {"value": (k / n) if n else None, "ci95": [lo, hi], "k": k, "n": n}


def two_proportion_z_test(k1: int, n1: int, k2: int, n2: int) -> float | None:
    """Two-sided p-value of H0: p1 == p2 with a pooled standard error; None if a side is empty."""
    if n1 == 0 or n2 == 0:
        return None
    pooled = (k1 + k2) / (n1 + n2)
    se = math.sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n2))
    diff = k1 / n1 - k2 / n2
    if se == 0.0:
        # Both samples all-success or all-failure: the observed rates are identical.
        return 1.0
    z = diff / se
    return math.erfc(abs(z) / math.sqrt(2.0))


def intervals_overlap(a: tuple[float, float], b: tuple[float, float]) -> bool:
    return a[0] <= b[1] and b[0] <= a[1]


def compare_proportions(k1: int, n1: int, k2: int, n2: int, alpha: float = 0.05) -> dict[str, Any]:
    """Compare two rates: delta, z-test p-value, Wilson overlap, and ``significant`` (p < alpha)."""
    p_value = two_proportion_z_test(k1, n1, k2, n2)
    ci1, ci2 = wilson_interval(k1, n1), wilson_interval(k2, n2)
    delta = (k2 / n2 - k1 / n1) if n1 and n2 else None
    return {
        "delta": delta,
        "p_value": p_value,
        "ci_overlap": intervals_overlap(ci1, ci2),
        "significant": p_value is not None and p_value < alpha,
        "test": "z",
    }


def mcnemar_exact_test(only_before: int, only_after: int) -> float:
    """Two-sided exact McNemar p-value from the discordant examples (right before only, right after
    only): under H0 each is equally likely to go either way, so the counts split as Binomial(n, 1/2)."""
    if only_before < 0 or only_after < 0:
        raise ValueError(f"discordant counts must be >= 0, got {only_before}, {only_after}")
    n = only_before + only_after
    if n == 0:
        return 1.0
    tail = sum(math.comb(n, i) for i in range(min(only_before, only_after) + 1))
    return min(1.0, 2 * tail / 2**n)


def compare_paired(before: Sequence[bool], after: Sequence[bool], alpha: float = 0.05) -> dict[str, Any]:
    """Compare two runs' outcomes on the same examples, in the same order (exact McNemar test)."""
    if len(before) != len(after):
        raise ValueError(f"paired outcomes need the same examples: {len(before)} vs {len(after)}")
    n = len(before)
    k1, k2 = sum(map(bool, before)), sum(map(bool, after))
    only_before = sum(1 for b, a in zip(before, after) if b and not a)
    only_after = sum(1 for b, a in zip(before, after) if a and not b)
    p_value = mcnemar_exact_test(only_before, only_after) if n else None
    return {
        "delta": (k2 - k1) / n if n else None,
        "p_value": p_value,
        "ci_overlap": intervals_overlap(wilson_interval(k1, n), wilson_interval(k2, n)),
        "significant": p_value is not None and p_value < alpha,
        "test": "mcnemar",
        "discordant": [only_before, only_after],
    }
