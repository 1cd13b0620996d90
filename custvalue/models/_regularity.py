"""The (M)BG/CNBD-k family: BG/NBD and MBG/NBD with Erlang-k times between purchases.

While alive, a customer buys at every k-th event ("stage") of a Poisson process of rate
λ ~ Gamma(r, α): the times between purchases are Erlang-k with mean k/λ, and k = 1 is
BG/NBD's exponential. After each repeat purchase (MBG/CNBD-k: also right after the first)
the customer drops out for good with probability p ~ Beta(a, b). With n = x + shift dropout
chances survived by a customer alive at T, c = r + kx and u = (T − t_x)/(α + T), the
likelihood of the purchase times (Reutterer, Platzer & Schroeder 2021, the (M)BG/CNBD-k
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
#: Nodes of the Gauss rule over the posterior purchase rate (discounting only).
RATE_NODES = 64


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


def _purchase_sum(post: PhasePosterior, t: np.ndarray, weight: str) -> np.ndarray:
    """Σ_{i>=1} w_i P(purchase i by T + t | alive at T), averaged over the phase, with w_i the chance of
    reaching purchase i (``weight="survived"``: expected purchases) or of dropping out right after it
    (``"dropped"``: dropout in (T, T + t]). Rows run until the bound on their rest is below the tolerance."""
    ticks = post.ticks
    rows = len(post.c)
    z = t / (post.beta + t)
    total = np.zeros(rows)
    active = np.flatnonzero(z > 0)
    j = np.arange(ticks)
    weigh = _survived if weight == "survived" else _dropped_at
    start = 1
    while active.size:
        i = np.arange(start, start + BLOCK, dtype=float)
        shapes = post.shapes[active]
        z_a = z[active][:, None]
        stages = i[None, None, :] * ticks - j[None, :, None]                  # 1 × k × block
        tails = _stage_tail(stages, shapes[:, :, None], z_a[:, :, None])     # rows × k × block
        w = weigh(post.a[active], post.m[active], i)                          # rows × block
        phase = post.phase[active]
        total[active] += np.einsum("rj,rjb,rb->r", phase, tails, w)
        # What is left: purchases from start + BLOCK on.
        nxt = float(start + BLOCK) * ticks - j[None, :]
        rest_tail = _stage_tail(nxt, shapes, z_a)
        bound = rest_tail * _tail_bound(nxt, shapes, z_a, ticks)
        w_next = weigh(post.a[active], post.m[active], np.array([float(start + BLOCK)]))[:, 0]
        rest = w_next * np.einsum("rj,rj->r", phase, bound)
        done = rest <= RELATIVE_TOLERANCE * total[active]
        active = active[~done]
        start += BLOCK
    return total


def mean_given_alive(post: PhasePosterior, t: float | np.ndarray) -> np.ndarray:
    """Expected purchases in (T, T + t] of customers alive at T: Σ_i E[(1−p)^(i−1)] P(purchase i by T + t)."""
    t = np.broadcast_to(np.asarray(t, dtype=float), post.c.shape)
    return _purchase_sum(post, t, "survived")


def alive_later(post: PhasePosterior, future_t: float) -> np.ndarray:
    """P(no dropout in (T, T + f] | alive at T) = 1 − Σ_i E[p(1−p)^(i−1)] P(purchase i by T + f)."""
    if future_t == 0:
        return np.ones(post.c.shape)
    t = np.full(post.c.shape, float(future_t))
    return np.clip(1.0 - _purchase_sum(post, t, "dropped"), 0.0, 1.0)


def _stage_window(first: np.ndarray, shapes: np.ndarray, z: np.ndarray, ticks: int) -> np.ndarray:
    """P(first <= N < first + k) for the NBD(shape, z) stage count N, from whichever tails do not cancel."""
    low, high = np.maximum(first, 0.0), first + ticks
    upper = _stage_tail(low, shapes, z) - _stage_tail(high, shapes, z)
    with np.errstate(all="ignore"):
        lower = betainc(shapes, np.maximum(high, 1.0), 1.0 - z) - np.where(low > 0, betainc(shapes, np.maximum(low, 1.0),
                                                                                                 1.0 - z), 0.0)
    tail = _stage_tail(low, shapes, z)
    return np.clip(np.where(tail < 0.5, upper, lower), 0.0, 1.0)


def count_distribution(post: PhasePosterior, n: np.ndarray, t: float) -> np.ndarray:
    """P(exactly n purchases in (T, T + t]) for each customer (rows) and each n (columns).

    Alive at T in phase j, the customer makes N = ⌊(M + j)/k⌋ purchases in (T, T + t] unless they drop
    out, M the stage count; they make n >= 1 if they survive the first n − 1 dropout chances and then
    drop out at the n-th (given N >= n) or survive it with N = n:
    E[p(1−p)^(n−1)] P(N >= n) + E[(1−p)^n] P(N = n).
    """
    ticks = post.ticks
    j = np.arange(ticks)[None, :, None]
    n = np.asarray(n, dtype=float)[None, None, :]
    shapes = post.shapes[:, :, None]
    z = np.full((len(post.c), 1, 1), 0.0) if t == 0 else (t / (post.beta + t))[:, None, None]
    at_least = _stage_tail(n * ticks - j, shapes, z)
    exactly = _stage_window(n * ticks - j, shapes, z, ticks)
    phase = post.phase[:, :, None]
    at_least = np.sum(phase * at_least, axis=1)
    exactly = np.sum(phase * exactly, axis=1)
    counts = n[0]
    survive = np.exp(betaln(post.a[:, None], post.m[:, None] + counts) - betaln(post.a, post.m)[:, None])
    drop = np.exp(betaln(post.a[:, None] + 1.0, np.maximum(post.m[:, None] + counts - 1.0, 1e-300))
                  - betaln(post.a, post.m)[:, None])
    given_alive = np.where(counts > 0, drop * at_least + survive * exactly, exactly)
    out = post.alive[:, None] * given_alive + np.where(counts == 0, post.dead[:, None], 0.0)
    return np.clip(out, 0.0, 1.0)


# --- discounting ------------------------------------------------------------------------------------


def gauss_gamma(n: int, shape: float) -> tuple[np.ndarray, np.ndarray]:
    """Nodes and weights (summing to 1) of the n-point Gauss rule for the Gamma(shape, 1) density.

    Golub & Welsch on the generalized Laguerre recurrence (diagonal 2i + shape, off-diagonal
    √(i(i + shape − 1))): the weights come from eigenvectors, so no Γ(shape) overflows for large shapes.
    """
    from scipy.linalg import eigh_tridiagonal

    i = np.arange(n, dtype=float)
    diagonal = 2.0 * i + shape
    off = np.sqrt(i[1:] * (i[1:] + shape - 1.0))
    nodes, vectors = eigh_tridiagonal(diagonal, off)
    weights = vectors[0] ** 2
    return np.maximum(nodes, 1e-300), weights / np.sum(weights)


def _discounted_given_rate(lam: np.ndarray, j: np.ndarray, a: np.ndarray, m: np.ndarray, horizon: np.ndarray,
                           delta: float, ticks: int) -> np.ndarray:
    """Σ_i E[(1−p)^(i−1)] E[e^(−δS_i) 1(S_i <= H) | λ] for S_i ~ Gamma(ik − j, λ), the i-th purchase's time.

    E[e^(−δS) 1(S <= H) | λ] = ρ^s P(s, (λ+δ)H) with ρ = λ/(λ+δ), s = ik − j stages and P the regularized
    lower incomplete gamma function. Over an endless horizon the sum is ρ^(k−j) 2F1(1, m; a+m; ρ^k)
    (E[(1−p)^i] = (m)_i/(a+m)_i); over a finite one the terms are summed until the bound on the rest,
    ρ^s P(s, x) / (1 − ρ^k min(1, x/(s+1))^k), is below the tolerance.
    """
    rho = lam / (lam + delta)
    first = ticks - j
    if np.all(np.isinf(horizon)):
        return rho ** first * hyp2f1(1.0, m, a + m, rho ** ticks)
    x = (lam + delta) * horizon
    total = np.zeros(lam.shape)
    active = np.flatnonzero(np.ones(lam.shape, dtype=bool))
    start = 1
    log_rho = np.log(rho)
    while active.size:
        i = np.arange(start, start + BLOCK, dtype=float)
        stages = i[None, :] * ticks - j[active, None]
        x_a = x[active, None]
        terms = np.exp(stages * log_rho[active, None]) * gammainc(stages, x_a)
        w = _survived(a[active], m[active], i)
        total[active] += np.sum(w * terms, axis=1)
        nxt = float(start + BLOCK) * ticks - j[active]
        ratio = rho[active] ** ticks * np.minimum(1.0, x[active] / (nxt + 1.0)) ** ticks
        rest = np.exp(nxt * log_rho[active]) * gammainc(nxt, x[active]) / (1.0 - ratio) \
            * _survived(a[active], m[active], np.array([float(start + BLOCK)]))[:, 0]
        done = rest <= RELATIVE_TOLERANCE * total[active]
        active = active[~done]
        start += BLOCK
    return total


def discounted_given_alive(post: PhasePosterior, horizon: float, delta: float) -> np.ndarray:
    """∫₀ᴴ e^(−δs) dE[X(T+s)] of customers alive at T, for δ > 0.

    Given λ and the phase the discounted sum over purchases is closed or a bounded series
    (:func:`_discounted_given_rate`); over λ ~ Gamma(c + j, β) it is taken by the Gauss rule with
    the Gamma density as weight (:func:`gauss_gamma`), whose integrand is smooth in λ.
    """
    rows, ticks = post.phase.shape
    shapes = post.shapes.ravel()
    row = np.repeat(np.arange(rows), ticks)
    j = np.tile(np.arange(ticks, dtype=float), rows)
    keep = post.phase.ravel() > 0
    shapes, row, j = shapes[keep], row[keep], j[keep]
    out = np.zeros(rows)
    distinct, which = np.unique(shapes, return_inverse=True)
    values = np.empty(len(shapes))
    for s, shape in enumerate(distinct):
        members = np.flatnonzero(which.ravel() == s)
        nodes, weights = gauss_gamma(RATE_NODES, shape)
        r_idx = row[members]
        lam = (nodes[None, :] / post.beta[r_idx, None]).ravel()
        count = len(nodes)
        given = _discounted_given_rate(lam, np.repeat(j[members], count), np.repeat(post.a[r_idx], count),
                                       np.repeat(post.m[r_idx], count), np.full(lam.shape, float(horizon)),
                                       delta, ticks)
        values[members] = given.reshape(len(members), count) @ weights
    np.add.at(out, row, post.phase.ravel()[keep] * values)
    return out
