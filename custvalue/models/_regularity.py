"""The (M)BG/CNBD-k family: BG/NBD and MBG/NBD with Erlang-k times between purchases.

While alive, a customer buys at every k-th event ("stage") of a Poisson process of rate
λ ~ Gamma(r, α): the times between purchases are Erlang-k with mean k/λ, and k = 1 is
BG/NBD's exponential. After each repeat purchase (MBG/CNBD-k: also right after the first)
the customer drops out for good with probability p ~ Beta(a, b). With n = x + shift dropout
chances survived by a customer alive at T, c = r + kx and u = (T − t_x)/(α + T), the
likelihood of the purchase times (Reutterer, Platzer & Schröder 2021, the (M)BG/CNBD-k
likelihood) is

    L = e^((k−1)·litt) / Γ(k)^x · Γ(c) α^r / Γ(r) · [B(a, b+n)/B(a, b) · (α+T)^−c · S(c, u)
                                                      + δ(n>0) B(a+1, b+n−1)/B(a, b) · (α+t_x)^−c],
    S(c, u) = Σ_{j<k} (c)_j u^j / j!,

where litt is the sum of the logs of the x times between purchases: (α+T)^−c Γ(c) S is the
mixture over λ of the chance that fewer than k stages fell in (t_x, T]. The litt term does
not involve the parameters; it matters only when k is chosen.

Given alive at T, the customer is j < k stages into the current wait with posterior probability
proportional to (c)_j u^j / j!, and then λ ~ Gamma(c + j, α + T); p ~ Beta(a, b + n)
independently. Their i-th purchase after T is their (ik − j)-th stage, whose count by T + t is
NBD(c + j, t/(α + T + t)), and they make it if they survived the i − 1 dropout chances before
it. Every prediction is a sum over i of such terms; each sum runs until a bound on what is left
(the stage count's tail falls geometrically past its mode) is below :data:`RELATIVE_TOLERANCE`
of the sum.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from scipy.special import betainc, betaln, gammainc, gammaln, hyp2f1

from custvalue.models._betageo import (
    ALPHA,
    R,
    Rows,
    _beta_ratio,
    _combine,
    _died,
    _gamma_ratio,
    _rate_scale,
    _waiting,
)
from custvalue.models._loglik import Accumulator, Lift, Term, Value

#: Sums over future purchases stop once a bound on the rest is below this share of the sum.
RELATIVE_TOLERANCE = 1e-13
#: Purchases added to the sums per round (rows still short of the tolerance go on).
BLOCK = 16


# --- the likelihood ------------------------------------------------------------------------------


def _erlang_tail(r: float, c: np.ndarray, alpha: Value, T: np.ndarray, t_x: np.ndarray, ticks: int,
                 order: int) -> Term:
    """ln S(c, u) with S = Σ_{j<k} (c)_j u^j / j!, c = r + kx, u = (T − t_x)/(α_i + T), in (log r, log α_i).

    With the shares π_j of the terms, h_j = Σ_{l<j} 1/(c+l) = ∂ln((c)_j)/∂c and v = α/(α+T):
    ∂/∂log r = r E_π[h], ∂/∂log α = −v E_π[j], and the Hessian adds the variances and covariance of
    r·h and −v·j to the second derivatives of the terms (r E_π[h] − r² E_π[Σ 1/(c+l)²] and −v(1−v) E_π[j]).
    """
    total = alpha + T
    u = (T - t_x) / total
    v = alpha / total
    term = np.ones_like(c)
    s, sh, sj = np.ones_like(c), np.zeros_like(c), np.zeros_like(c)
    shh, shj, sjj = np.zeros_like(c), np.zeros_like(c), np.zeros_like(c)
    h, h2 = np.zeros_like(c), np.zeros_like(c)
    for j in range(1, ticks):
        inverse = 1.0 / (c + j - 1)
        h = h + inverse
        h2 = h2 + inverse * inverse
        term = term * (c + j - 1) * u / j
        s += term
        if order >= 1:
            sh += term * h
            sj += term * j
            if order == 2:
                shh += term * (h * h - h2)
                shj += term * (h * j)
                sjj += term * (j * j)
    out = Term(np.log(s))
    if order >= 1:
        mean_h, mean_j = sh / s, sj / s
        out.grad.update({R: r * mean_h, ALPHA: -v * mean_j})
        if order == 2:
            out.hess.update({
                (R, R): r * mean_h + r * r * (shh / s - mean_h * mean_h),
                (R, ALPHA): -r * v * (shj / s - mean_h * mean_j),
                (ALPHA, ALPHA): -v * (1.0 - v) * mean_j + v * v * (sjj / s - mean_j * mean_j),
            })
    return out


def regular_loglik(log_params: np.ndarray, rows: Rows, order: int = 0, shift: int = 0,
                   ticks: int = 1) -> float | tuple:
    """Weighted (M)BG/CNBD-k log-likelihood without its litt term, with gradient (order 1) and Hessian (order 2).

    ``log_params`` is (log r, log α, log a, log b, γ_p…, γ_d…) as for
    :func:`~custvalue.models._betageo.beta_geometric_loglik`, which this equals at ``ticks`` = 1.
    A row's log-likelihood is ``C + log(e^D3 + e^D4)`` with ``C = lnΓ(c) − lnΓ(r) + r ln α_i +
    ln B(a_i, b_i+n) − ln B(a_i, b_i)``, ``D3 = −c ln(α_i+T) + ln S(c, u)`` and
    ``D4 = ln(a_i/(b_i+n−1)) − c ln(α_i+t_x)`` (c = r + kx, n = x + shift; no D4 where n = 0).
    """
    with np.errstate(all="ignore"):
        return _loglik(np.asarray(log_params, dtype=float), rows, order, shift, ticks)


def _loglik(z: np.ndarray, rows: Rows, order: int, shift: int, ticks: int) -> float | tuple:
    k_p, k_d = rows.z_purchase.shape[1], rows.z_dropout.shape[1]
    r, alpha, a, b = np.exp(z[:4])
    identity = Lift(len(z))
    acc = Accumulator(len(z), order)
    ux, xi = rows.unique_x, rows.x_index
    per_x = [_gamma_ratio(r, ticks * ux, order)]
    per_row = []
    if k_p:
        log_alpha = z[1] - rows.z_purchase @ z[4:4 + k_p]
        alpha = np.exp(log_alpha)
        per_row.append(_rate_scale(r, log_alpha, order))
    else:
        per_x.append(_rate_scale(r, z[1], order))
    c = r + ticks * rows.x
    first = _waiting(r, c, alpha, rows.T, order)
    if ticks > 1:
        first = _combine(first, _erlang_tail(r, c, alpha, rows.T, rows.t_x, ticks, order))
    second = _waiting(r, c, alpha, rows.t_x, order)
    if k_d:
        dropout = rows.z_dropout @ z[4 + k_p:]
        a_i, b_i = a * np.exp(dropout), b * np.exp(dropout)
        n = rows.x + shift
        per_row.append(_beta_ratio(a_i, b_i, n, order))
        died = _died(a_i, b_i, n, order)
    else:
        per_x.append(_beta_ratio(a, b, ux + shift, order))
        on_x = _died(a, b, ux + shift, order)
        died = Term(np.asarray(on_x.value)[xi],
                    {key: v if np.ndim(v) == 0 else np.asarray(v)[xi] for key, v in on_x.grad.items()},
                    {key: np.asarray(v)[xi] for key, v in on_x.hess.items()})
    acc.add(rows.x_weights, _combine(*per_x), identity)
    if per_row:
        acc.add(rows.weights, _combine(*per_row), rows.lift)
    acc.add_log_sum_exp(rows.weights, first, _combine(second, died), rows.lift)
    return acc.result()


def litt_term(ticks: int, litt_total: float, x_total: float) -> float:
    """(k−1)·Σ litt − ln Γ(k)·Σ x: the part of the log-likelihood that only the inter-purchase times carry."""
    return float((ticks - 1) * litt_total - gammaln(ticks) * x_total)


# --- the posterior given alive ----------------------------------------------------------------------


@dataclass
class PhasePosterior:
    """Per customer (rows) alive at T: the phase j (stages done towards the next purchase, columns) with its
    probabilities ``phase``, λ | j ~ Gamma(c + j, β), p ~ Beta(a, m), and the log-odds of having dropped out."""

    c: np.ndarray         # r + kx
    beta: np.ndarray      # α_i + T
    a: np.ndarray         # a_i
    m: np.ndarray         # b_i + n
    phase: np.ndarray     # rows × k, rows sum to 1
    log_odds: np.ndarray  # log P(dropped out by T) / P(alive at T)

    @property
    def ticks(self) -> int:
        return int(self.phase.shape[1])

    @property
    def shapes(self) -> np.ndarray:
        """c + j, rows × k."""
        return self.c[:, None] + np.arange(self.ticks)

    @property
    def alive(self) -> np.ndarray:
        return np.exp(-np.logaddexp(0.0, self.log_odds))

    @property
    def dead(self) -> np.ndarray:
        return np.exp(-np.logaddexp(0.0, -self.log_odds))


def phase_posterior(x: np.ndarray, t_x: np.ndarray, T: np.ndarray, r: float, alpha: np.ndarray, a: np.ndarray,
                    b: np.ndarray, ticks: int, shift: int) -> PhasePosterior:
    """The posterior of customers with histories (x, t_x, T) given alive at T, and their log-odds of being dead:
    ln(a/(b+n−1)) − c ln(1−u) − ln S(c, u) where n > 0 (the ratio of the likelihood's two terms)."""
    n = x + shift
    c = r + ticks * x
    beta = alpha + T
    u = (T - t_x) / beta
    j = np.arange(ticks)
    log_u = np.log(np.where(u > 0, u, 1.0))
    log_terms = gammaln(c[:, None] + j) - gammaln(c)[:, None] - gammaln(j + 1.0) \
        + np.where(j > 0, j * log_u[:, None], 0.0)
    log_terms = np.where((u[:, None] > 0) | (j == 0), log_terms, -np.inf)
    log_s = np.logaddexp.reduce(log_terms, axis=1)
    phase = np.exp(log_terms - log_s[:, None])
    dropped = n > 0
    log_odds = np.where(dropped, np.log(a) - np.log(np.where(dropped, b + n - 1.0, 1.0))
                        - c * np.log1p(-u) - log_s, -np.inf)
    return PhasePosterior(c, beta, a, b + n, phase, log_odds)


# --- sums over future purchases ----------------------------------------------------------------------------


@dataclass
class Phases:
    """The distinct (λ-shape c + j, β, a, m, j) of customers' phases: what every prediction given the phase
    depends on (not on t_x, which only weighs the phases)."""

    shape: np.ndarray
    beta: np.ndarray
    a: np.ndarray
    m: np.ndarray
    j: np.ndarray
    extra: np.ndarray  # a per-row quantity carried along (a horizon), part of the key


def per_phase(post: PhasePosterior, fn: Callable[[Phases], np.ndarray],
              extra: float | np.ndarray | None = None) -> np.ndarray:
    """Σ_j P(phase j) fn(phase j) for each customer, with ``fn`` called once on the distinct phases; fn
    returns one value per phase, or a row of values (then the result has a column per value)."""
    rows, ticks = post.phase.shape
    row = np.repeat(np.arange(rows), ticks)
    j = np.tile(np.arange(ticks, dtype=float), rows)
    weight = post.phase.ravel()
    keep = weight > 0
    row, j, weight = row[keep], j[keep], weight[keep]
    carried = np.zeros(rows) if extra is None else np.broadcast_to(np.asarray(extra, dtype=float), (rows,))
    keys = np.column_stack([post.c[row] + j, post.beta[row], post.a[row], post.m[row], j, carried[row]])
    unique, inverse = np.unique(keys, axis=0, return_inverse=True)
    values = np.asarray(fn(Phases(*unique.T)))[inverse.ravel()]
    out = np.zeros((rows, *values.shape[1:]))
    np.add.at(out, row, weight.reshape(-1, *([1] * (values.ndim - 1))) * values)
    return out


def _survived(a: np.ndarray, m: np.ndarray, i: np.ndarray) -> np.ndarray:
    """E[(1−p)^(i−1)] = B(a, m+i−1)/B(a, m) for p ~ Beta(a, m): reaching purchase i (rows × block)."""
    return np.exp(betaln(a[:, None], m[:, None] + i - 1.0) - betaln(a, m)[:, None])


def _dropped_at(a: np.ndarray, m: np.ndarray, i: np.ndarray) -> np.ndarray:
    """E[p(1−p)^(i−1)] = B(a+1, m+i−1)/B(a, m): dropping out right after purchase i (rows × block)."""
    return np.exp(betaln(a[:, None] + 1.0, m[:, None] + i - 1.0) - betaln(a, m)[:, None])


def _stage_tail(stages: np.ndarray, shapes: np.ndarray, z: np.ndarray) -> np.ndarray:
    """P(NBD(shape, z) >= stages) = I_z(stages, shape), 1 where stages <= 0."""
    return np.where(stages > 0, betainc(np.maximum(stages, 1.0), shapes, z), 1.0)


def _tail_bound(stages: np.ndarray, shapes: np.ndarray, z: np.ndarray, ticks: int) -> np.ndarray:
    """A bound on Σ_{i'>=i} P(N >= stages + (i'−i)k) / P(N >= stages) for the NBD(shape, z) stage count N.

    The ratio of successive NBD probabilities, z(shape + s)/(s + 1), is at most
    ρ = z·max(1, (shape + stages)/(stages + 1)) from ``stages`` on, so each k more stages cut the
    tail by ρ^k at least and the sum is at most 1/(1 − ρ^k) (infinite while ρ >= 1).
    """
    rho = z * np.maximum(1.0, (shapes + stages) / (stages + 1.0))
    return np.where(rho < 1.0, 1.0 / -np.expm1(ticks * np.log(np.where(rho < 1.0, rho, 0.5))), np.inf)


def _purchase_sum(ph: Phases, ticks: int, weigh: Callable[..., np.ndarray]) -> np.ndarray:
    """Σ_{i>=1} w_i P(purchase i by T + t | phase) with t = ``ph.extra`` and w_i = ``weigh(a, m, i)``: the
    chance of reaching purchase i (expected purchases) or of dropping out right after it (dropout).
    Each phase runs until the bound on its rest is below the tolerance of its sum."""
    z = ph.extra / (ph.beta + ph.extra)
    total = np.zeros(len(z))
    active = np.flatnonzero(z > 0)
    start = 1
    while active.size:
        i = np.arange(start, start + BLOCK, dtype=float)
        shapes, z_a, j = ph.shape[active], z[active], ph.j[active]
        stages = i[None, :] * ticks - j[:, None]
        tails = _stage_tail(stages, shapes[:, None], z_a[:, None])
        total[active] += np.sum(weigh(ph.a[active], ph.m[active], i) * tails, axis=1)
        nxt = float(start + BLOCK) * ticks - j  # what is left: purchases from start + BLOCK on
        rest = _stage_tail(nxt, shapes, z_a) * _tail_bound(nxt, shapes, z_a, ticks) \
            * weigh(ph.a[active], ph.m[active], np.array([float(start + BLOCK)]))[:, 0]
        active = active[rest > RELATIVE_TOLERANCE * total[active]]
        start += BLOCK
    return total


def mean_given_alive(post: PhasePosterior, t: float | np.ndarray) -> np.ndarray:
    """Expected purchases in (T, T + t] of customers alive at T: Σ_i E[(1−p)^(i−1)] P(purchase i by T + t)."""
    return per_phase(post, lambda ph: _purchase_sum(ph, post.ticks, _survived), extra=t)


def alive_later(post: PhasePosterior, future_t: float) -> np.ndarray:
    """P(no dropout in (T, T + f] | alive at T) = 1 − Σ_i E[p(1−p)^(i−1)] P(purchase i by T + f)."""
    if future_t == 0:
        return np.ones(post.c.shape)
    dropped = per_phase(post, lambda ph: _purchase_sum(ph, post.ticks, _dropped_at), extra=future_t)
    return np.clip(1.0 - dropped, 0.0, 1.0)


def _stage_window(first: np.ndarray, shapes: np.ndarray, z: np.ndarray, ticks: int) -> np.ndarray:
    """P(first <= N < first + k) for the NBD(shape, z) stage count N, from whichever tails do not cancel."""
    low, high = np.maximum(first, 0.0), first + ticks
    tail = _stage_tail(low, shapes, z)
    upper = tail - _stage_tail(high, shapes, z)
    lower = betainc(shapes, np.maximum(high, 1.0), 1.0 - z) \
        - np.where(low > 0, betainc(shapes, np.maximum(low, 1.0), 1.0 - z), 0.0)
    return np.clip(np.where(tail < 0.5, upper, lower), 0.0, 1.0)


def count_distribution(post: PhasePosterior, n: np.ndarray, t: float) -> np.ndarray:
    """P(exactly n purchases in (T, T + t]) for each customer (rows) and each n (columns).

    Alive at T in phase j, the customer makes N = ⌊(M + j)/k⌋ purchases in (T, T + t] unless they drop
    out, M the stage count; they make n >= 1 if they survive the first n − 1 dropout chances and then
    drop out at the n-th (given N >= n) or survive it with N = n:
    E[p(1−p)^(n−1)] P(N >= n) + E[(1−p)^n] P(N = n).
    """
    ticks = post.ticks
    counts = np.asarray(n, dtype=float)[None, :]

    def given_phase(ph: Phases) -> np.ndarray:
        z = (t / (ph.beta + t))[:, None]
        first = counts * ticks - ph.j[:, None]
        at_least = _stage_tail(first, ph.shape[:, None], z)
        exactly = _stage_window(first, ph.shape[:, None], z, ticks)
        survive = np.exp(betaln(ph.a[:, None], ph.m[:, None] + counts) - betaln(ph.a, ph.m)[:, None])
        drop = np.exp(betaln(ph.a[:, None] + 1.0, np.maximum(ph.m[:, None] + counts - 1.0, 1e-300))
                      - betaln(ph.a, ph.m)[:, None])
        return np.where(counts > 0, drop * at_least + survive * exactly, exactly)

    given_alive = per_phase(post, given_phase)
    out = post.alive[:, None] * given_alive + np.where(counts == 0, post.dead[:, None], 0.0)
    return np.clip(out, 0.0, 1.0)


# --- discounting ------------------------------------------------------------------------------------


LOG_RATE_STEP = 0.25  # trapezoid step in log λ (see discounted_given_alive)
CHUNK_CELLS = 1_000_000


def _reaching_sum(a: np.ndarray, m: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Σ_{n>=0} E[(1−p)^n] y^n = 2F1(1, m; a+m; y) for p ~ Beta(a, m) and 0 <= y < 1.

    Through Euler's transformation (1−y)^(a−1) 2F1(a+m−1, a; a+m; y), which scipy evaluates accurately
    near y = 1 for moderate m; where that fails (large m near y = 1) or leaves the bounds
    1/(1 − y m/(a+m)) (Jensen) and 1/(1−y), the series itself, U_{n+1} = U_n (m+n)/(a+m+n), until
    the bound U_N y^N/(1−y) on the rest is below the tolerance.
    """
    value = np.exp((a - 1.0) * np.log1p(-y)) * hyp2f1(a + m - 1.0, a, a + m, y)
    low, high = 1.0 / (1.0 - y * m / (a + m)), 1.0 / (1.0 - y)
    bad = np.flatnonzero(~(np.isfinite(value) & (value >= low * (1 - 1e-9)) & (value <= high * (1 + 1e-9))))
    if bad.size:
        value = np.array(value, dtype=float)
        a_b, m_b, y_b = a.ravel()[bad], m.ravel()[bad], y.ravel()[bad]
        term, total, n = np.ones(bad.size), np.zeros(bad.size), 0.0
        active = np.arange(bad.size)
        while active.size:
            steps = n + np.arange(4096.0)
            ratios = (m_b[active, None] + steps) / (a_b[active, None] + m_b[active, None] + steps) * y_b[active, None]
            terms = term[active, None] * np.cumprod(np.concatenate([np.ones((active.size, 1)), ratios[:, :-1]],
                                                                   axis=1), axis=1)
            total[active] += terms.sum(axis=1)
            term[active] = terms[:, -1] * ratios[:, -1]
            n += 4096.0
            active = active[term[active] / (1.0 - y_b[active]) > RELATIVE_TOLERANCE * total[active]]
        flat = value.reshape(-1)
        flat[bad] = total
    return np.clip(value, low, high)


def _discounted_given_rate(lam: np.ndarray, j: np.ndarray, a: np.ndarray, m: np.ndarray, horizon: float,
                           delta: float, ticks: int) -> np.ndarray:
    """Σ_i E[(1−p)^(i−1)] E[e^(−δS_i) 1(S_i <= H) | λ] for S_i ~ Gamma(ik − j, λ), the i-th purchase's time,
    at rates ``lam`` (phases × nodes) of phases (j, a, m).

    E[e^(−δS) 1(S <= H) | λ] = ρ^s P(s, (λ+δ)H) with ρ = λ/(λ+δ), s = ik − j stages and P the regularized
    lower incomplete gamma function. Over an endless horizon the sum is ρ^(k−j) 2F1(1, m; a+m; ρ^k)
    (E[(1−p)^i] = (m)_i/(a+m)_i; :func:`_reaching_sum`); over a finite
    horizon the terms are summed until the bound on the rest, ρ^s P(s, x) / (1 − ρ^k min(1, x/(s+1))^k),
    is below the tolerance.
    """
    rho = lam / (lam + delta)
    j, a, m = j[:, None], a[:, None], m[:, None]
    if np.isinf(horizon):
        y = rho ** ticks
        return rho ** (ticks - j) * _reaching_sum(np.broadcast_to(a, y.shape), np.broadcast_to(m, y.shape), y)
    x = (lam + delta) * horizon
    log_rho = np.log(rho)
    total = np.zeros(lam.shape)
    active = np.arange(len(lam))
    start = 1
    while active.size:
        i = np.arange(start, start + BLOCK, dtype=float)
        reach = _survived(a[active, 0], m[active, 0], np.arange(start, start + BLOCK + 1, dtype=float))
        for step, number in enumerate(i):
            stages = number * ticks - j[active]
            total[active] += reach[:, step, None] * np.exp(stages * log_rho[active]) * gammainc(stages, x[active])
        nxt = float(start + BLOCK) * ticks - j[active]
        ratio = np.exp(ticks * (log_rho[active] + np.minimum(0.0, np.log(x[active] / (nxt + 1.0)))))
        rest = reach[:, -1, None] * np.exp(nxt * log_rho[active]) * gammainc(nxt, x[active]) / (1.0 - ratio)
        active = active[np.any(rest > RELATIVE_TOLERANCE * total[active], axis=1)]
        start += BLOCK
    return total


def _solve_increasing(g: Callable[[np.ndarray], np.ndarray], level: float, size: int) -> np.ndarray:
    """t >= 0 with g(t) = level for increasing g with g(0) <= level, by bisection (a little above the root)."""
    low, high = np.zeros(size), np.ones(size)
    while np.any(g(high) < level):
        high = np.where(g(high) < level, 2.0 * high, high)
    for _ in range(40):
        middle = (low + high) / 2.0
        below = g(middle) < level
        low, high = np.where(below, middle, low), np.where(below, high, middle)
    return high


def discounted_given_alive(post: PhasePosterior, horizon: float, delta: float) -> np.ndarray:
    """∫₀ᴴ e^(−δs) dE[X(T+s)] of customers alive at T, for δ > 0.

    Given λ and the phase the discounted sum over purchases is closed or a bounded series
    (:func:`_discounted_given_rate`). Over λ ~ Gamma(c + j, β) it is integrated by the trapezoid rule
    in v = log λ: the integrand is analytic in a strip of half-width π/2 around the real line (its
    singularities are at λ = −δ and where ρ^k = 1) and decays exponentially at both ends, so the rule
    with step h is accurate to about e^(−π²/h), 3e−9 at h = 0.5; where the posterior is narrow (width
    1/√c' in log λ) the step is 0.8/√c', which keeps the error of a Gaussian peak near e^(−2π²/0.64).
    """
    ticks = post.ticks

    def given_phase(ph: Phases) -> np.ndarray:
        # In v = log λ the Gamma(c', β) weight peaks at log(c'/β) with width 1/√c'; beyond the cuts it holds
        # less than e^−40 of its mass (its log falls by c'(e^∓t − 1 ± t)), and below log δ the integrand also
        # falls as λ^(c'+k−j).
        peak = np.log(ph.shape / ph.beta)
        below = _solve_increasing(lambda t: ph.shape * (np.expm1(-t) + t), 40.0, len(ph.shape))
        above = _solve_increasing(lambda t: ph.shape * (np.expm1(t) - t) - t, 45.0, len(ph.shape))
        v_low = np.maximum(peak - below, np.minimum(peak, np.log(delta)) - 40.0 / (ph.shape + ticks - ph.j))
        v_high = peak + above
        spacing = np.minimum(LOG_RATE_STEP, 0.8 / np.sqrt(ph.shape))
        if np.isfinite(horizon):
            spacing = np.minimum(spacing, 0.8 / ticks)  # the steps of the first purchases by H, width ≥ 1/k
        n_nodes = int(np.ceil(np.max((v_high - v_low) / spacing))) + 1
        grid = np.linspace(0.0, 1.0, n_nodes)
        values = np.empty(len(ph.shape))
        per_chunk = max(1, CHUNK_CELLS // n_nodes)
        for begin in range(0, len(values), per_chunk):
            part = slice(begin, begin + per_chunk)
            step = (v_high[part] - v_low[part]) / (n_nodes - 1)
            v = v_low[part, None] + (v_high[part] - v_low[part])[:, None] * grid
            lam = np.exp(v)
            # The Gamma(c', β) density of λ times dλ/dv = λ.
            log_weight = ph.shape[part, None] * (v + np.log(ph.beta[part, None])) - ph.beta[part, None] * lam \
                - gammaln(ph.shape[part])[:, None]
            given = _discounted_given_rate(lam, ph.j[part], ph.a[part], ph.m[part], float(horizon), delta, ticks)
            values[part] = step * np.sum(np.exp(log_weight) * given, axis=1)
        return values

    return per_phase(post, given_phase)
