"""Gauss–Legendre quadrature of log-concave integrands, in log space.

The Pareto/NBD model's likelihood and predictions hold integrals over a
customer's unobserved dropout time that have no closed form fit for
differentiation or that overflow in closed form. After a change of variable
v = ln u each integrand is e^ℓ(v) with ℓ concave:

* :func:`power_terms`: ℓ(v) = k·v − p₁·ln(c₁ + e^v) − p₂·ln(c₂ + e^v), the
  integrand u^(k−1) (c₁ + u)^(−p₁) (c₂ + u)^(−p₂) du of the likelihood
  (k = 1) and of the purchase probabilities (k = n + 1);
* :func:`discount_terms`: ℓ(v) = k·v − d·e^v, the integrand u^(k−1) e^(−d·u) du
  of discounted purchases.

:func:`rule` places the nodes of an n-point Gauss–Legendre rule on the window
where ℓ lies within :data:`DEPTH` of its maximum: the rest of the interval
holds less than e^−DEPTH of the integral. Each end of the window is found by
Newton steps on ℓ(v) = max ℓ − DEPTH started outside the window, which by
concavity never step inside it. On the window the integrand is smooth and
the rule converges fast (relative errors below 1e-11 with 32 nodes over the
parameter ranges of tests/test_paretonbd.py). Weights come as logarithms, so
an integral is a log-sum-exp that never overflows, and derivatives in the
parameters are sums over the same nodes.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cache
from typing import NamedTuple

import numpy as np
from scipy.special import roots_legendre

#: What a window leaves out, relative to the integrand's peak: e^−37 ≈ 1e-16.
DEPTH = 37.0
#: Most Newton steps for each end of a window (they stop when no end moves; more only tighten it).
WINDOW_STEPS = 12
#: Nodes of a rule unless a caller asks for another number.
NODES = 32

Array = np.ndarray
Coefficient = Array | float


class LogConcave(NamedTuple):
    """A concave log-integrand: ``value_slope(v)`` gives ℓ(v) and ℓ′(v); ``peak`` is where ℓ is largest
    (+inf or −inf when it only rises or only falls)."""

    value_slope: Callable[[Array], tuple[Array, Array]]
    peak: Array


@cache
def legendre(n: int) -> tuple[Array, Array]:
    """Gauss–Legendre nodes on [0, 1] and the logarithms of their weights (which sum to 1)."""
    nodes, weights = roots_legendre(n)
    return (nodes + 1.0) / 2.0, np.log(weights / 2.0)


def power_terms(k: Coefficient, p1: Coefficient, c1: Coefficient, p2: Coefficient, c2: Coefficient) -> LogConcave:
    """ℓ(v) = k·v − p₁·ln(c₁ + e^v) − p₂·ln(c₂ + e^v) with k > 0 and p, c ≥ 0.

    ℓ′(v) = 0 is the quadratic A·y² + B·y + C = 0 in y = e^v with A = k − p₁ − p₂,
    B = k(c₁ + c₂) − p₁c₂ − p₂c₁ and C = k·c₁·c₂ ≥ 0; for A < 0 it has exactly one
    root y ≥ 0, taken in the form that does not cancel.
    """

    def value_slope(v: Array) -> tuple[Array, Array]:
        y = np.exp(v)
        s1, s2 = c1 + y, c2 + y
        return k * v - p1 * np.log(s1) - p2 * np.log(s2), k - p1 * (y / s1) - p2 * (y / s2)

    A = k - p1 - p2
    B = k * (c1 + c2) - p1 * c2 - p2 * c1
    C = k * c1 * c2
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        root = np.sqrt(B * B - 4.0 * A * C)
        y = np.where(B >= 0, (B + root) / (-2.0 * A), 2.0 * C / (root - B))
        peak = np.where(A >= 0, np.inf, np.log(np.maximum(y, 0.0)))
    return LogConcave(value_slope, peak)


def discount_terms(k: Coefficient, d: Coefficient) -> LogConcave:
    """ℓ(v) = k·v − d·e^v with d > 0 (k of any sign): its maximum is at ln(k/d) when k > 0."""

    def value_slope(v: Array) -> tuple[Array, Array]:
        y = d * np.exp(v)
        return k * v - y, k - y

    with np.errstate(divide="ignore", invalid="ignore"):
        peak = np.where(np.asarray(k) > 0, np.log(np.maximum(k, 0.0) / d), -np.inf)
    return LogConcave(value_slope, peak)


def window(f: LogConcave, lo: Array, hi: Array, steps: int = WINDOW_STEPS) -> tuple[Array, Array, Array]:
    """The part [v₀, v₁] of [lo, hi] (lo may be −inf, hi +inf) where ℓ lies within DEPTH of its maximum,
    and where that maximum is."""
    # e^v stays finite within ±700, far beyond any time (in ln units) a model meets.
    floor, ceiling = np.maximum(lo, -700.0), np.minimum(hi, 700.0)
    peak = np.clip(f.peak, floor, ceiling)
    level = f.value_slope(peak)[0] - DEPTH
    ends = []
    for start, side in ((floor, -1.0), (ceiling, 1.0)):
        v = np.where(np.isfinite(np.where(side > 0, hi, lo)), start, peak + side)
        for _ in range(steps):
            value, slope = f.value_slope(v)
            # Left of the peak ℓ rises, right of it ℓ falls: the slope is zero only at the peak.
            slope = -side * np.maximum(-side * slope, 1e-300)
            with np.errstate(over="ignore", invalid="ignore"):
                step = -(value - level) / slope
            # From inside, where ℓ may be nearly flat, move at most twice as far from the peak per step.
            reach = np.maximum(1.0, np.abs(v - peak))
            step = np.clip(step, -reach, reach)
            moved = np.clip(v + step, peak, ceiling) if side > 0 else np.clip(v + step, floor, peak)
            done = np.all(np.abs(moved - v) < 1e-3)
            v = moved
            if done:
                break
        ends.append(v)
    return ends[0], ends[1], peak


def panel(a: Array, length: Array, n: int) -> tuple[Array, Array]:
    """The n-point Gauss–Legendre rule on [a, a + length]: nodes and log-weights of shape (n, rows)."""
    t, log_w = legendre(n)
    with np.errstate(divide="ignore"):
        return a + length * t[:, None], log_w[:, None] + np.log(length)


def rule(f: LogConcave, lo: Array, hi: Array, width: Array | None = None, n: int = NODES) -> tuple[Array, Array]:
    """Nodes v and log-weights, of shape (nodes, rows), for ∫_lo^hi e^g(v) dv ≈ Σ_k exp(log_w_k + g(v_k)).

    The nodes suit g = ℓ of ``f`` and integrands close to it (ℓ plus a slowly
    varying term): an n-point Gauss–Legendre rule on the window of ℓ
    (:func:`window`). A window with the peak inside is split there into two
    n-point rules, so that each holds a monotone integrand whose bend at the
    peak falls where the nodes crowd; when any row is split, the others get a
    2n-point rule. ``width``, when given, is hi − lo computed without
    cancellation (for short intervals). An empty interval gets weights −inf.
    """
    start, end, peak = window(f, lo, hi)
    span = end - start
    if width is not None:
        span = np.where((start == lo) & (end == hi), width, span)
    inside = (start < peak) & (peak < end)
    if not inside.any():
        return panel(start, span, n)
    v, log_w = panel(start, span, 2 * n)
    left = panel(start[inside], (peak - start)[inside], n)
    right = panel(peak[inside], (end - peak)[inside], n)
    v[:, inside] = np.concatenate([left[0], right[0]])
    log_w[:, inside] = np.concatenate([left[1], right[1]])
    return v, log_w
