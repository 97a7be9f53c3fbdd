"""Binomial-proportion statistics for evaluation rates (stdlib only).

Rates on a few hundred examples are noisy, so every rate carries a Wilson score interval
(well behaved at k = 0 and k = n, unlike the normal "Wald" interval), and differences
between two runs are judged by a two-sided, pooled two-proportion z-test.

``compare_proportions`` decides ``significant`` from the z-test p-value (< ``alpha``).
It also reports whether the two Wilson 95 % intervals overlap, but does not use that for
the decision: non-overlap is much stricter than a 5 % test (roughly a 0.5 % test), so it
would hide real improvements. Both treat examples as independent Bernoulli trials; the
test is unpaired, so it is conservative when the two runs share the same examples.
"""

from __future__ import annotations

import math
from typing import Any

Z95 = 1.959963984540054  # two-sided 95 % standard-normal quantile


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
    }
