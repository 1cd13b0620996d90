"""The beta-geometric/NBD family (BG/NBD, MBG/NBD): one likelihood, one set of conditional predictions.

While alive a customer buys as a Poisson process with rate λ ~ Gamma(r, α); after
each repeat purchase they drop out with probability p ~ Beta(a, b). MBG/NBD
(Batislam, Denizel & Filiztekin 2007) also lets them drop out right after the
first purchase. With ``shift`` s = 0 (BG/NBD) or 1 (MBG/NBD) and n = x + s
dropout chances survived by a customer still alive at T, the likelihood of
(x, t_x, T) is (Fader, Hardie & Lee 2005, eq. 6, and its MBG/NBD analogue)

    L = Γ(r+x)α^r/Γ(r) · [B(a, b+n)/B(a,b) (α+T)^−(r+x) + δ(n>0) B(a+1, b+n−1)/B(a,b) (α+t_x)^−(r+x)].

Given alive at T the posterior is λ ~ Gamma(r+x, α+T) and p ~ Beta(a, b+n),
independent, and every prediction is an expectation over it (times P(alive)):
expected purchases, P(alive) later, the distribution of future purchases and
discounted purchases. Customers with covariates have their own α_i = α·e^(−γ_p′z_p),
a_i = a·e^(γ_d′z_d) and b_i = b·e^(γ_d′z_d) (see :mod:`custvalue.models._covariates`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
import pandas as pd
from scipy.special import betainc, betaln, digamma, gammaln, hyp2f1, polygamma, roots_legendre

from custvalue.checks import check_counts, check_int, check_number
from custvalue.columns import slices
from custvalue.errors import InvalidParameterError
from custvalue.models._base import Ability, BaseModel, MLEModel, count_index
from custvalue.models._covariates import CovariateMixin
from custvalue.models._loglik import Accumulator, Lift, Term, Value
from custvalue.models._nbd import mean_purchase_rate, observation_times
from custvalue.models._scenario import ScaledPurchases

# Rows per likelihood block: the thirty-odd temporaries of a block's derivatives then stay in cache
# (blocks of 131,072 rows ran three times slower).
LIKELIHOOD_ROWS = 16_384
R, ALPHA, A, B = range(4)  # per-row log-parameters: log r, log α_i, log a_i, log b_i

# Within this distance of a = 1 the closed forms divide 0 by 0: they are interpolated from a = 1 ± η, 1 ± 2η.
NEAR_ONE = 1e-3


# --- the likelihood ------------------------------------------------------------------------------


@dataclass
class Rows:
    """Customer rows prepared once for many likelihood evaluations: counts indexed, covariates stacked."""

    x: np.ndarray
    t_x: np.ndarray
    T: np.ndarray
    weights: np.ndarray
    unique_x: np.ndarray
    x_index: np.ndarray
    x_weights: np.ndarray  # total weight of the rows with each distinct x
    z_purchase: np.ndarray  # n × k_p
    z_dropout: np.ndarray   # n × k_d
    lift: Lift


def prepare_rows(data: dict[str, np.ndarray], weights: np.ndarray) -> Rows:
    """:class:`Rows` from summary columns ``frequency``, ``recency``, ``T`` and covariates ``zp0``…, ``zd0``…."""
    x = np.asarray(data["frequency"], dtype=float)
    unique_x, x_index = count_index(x)
    n = len(x)
    z_purchase = _stack(data, "zp", n)
    z_dropout = _stack(data, "zd", n)
    k_p = z_purchase.shape[1]
    covariates: dict[int, list[tuple[int, np.ndarray]]] = {
        ALPHA: [(4 + i, -z_purchase[:, i]) for i in range(k_p)],
        A: [(4 + k_p + i, z_dropout[:, i]) for i in range(z_dropout.shape[1])],
        B: [(4 + k_p + i, z_dropout[:, i]) for i in range(z_dropout.shape[1])],
    }
    return Rows(x, np.asarray(data["recency"], dtype=float), np.asarray(data["T"], dtype=float),
                np.asarray(weights, dtype=float), unique_x, x_index,
                np.bincount(x_index, weights=weights, minlength=len(unique_x)), z_purchase, z_dropout,
                Lift(4 + k_p + z_dropout.shape[1], covariates))


def _stack(data: dict[str, np.ndarray], prefix: str, n: int) -> np.ndarray:
    columns = [data[f"{prefix}{i}"] for i in range(sum(1 for key in data if key.startswith(prefix)))]
    return np.column_stack(columns).astype(float) if columns else np.zeros((n, 0))


def _combine(*terms: Term) -> Term:
    """The sum of terms."""
    out = Term(0.0)
    for term in terms:
        out.value = out.value + term.value
        for key, value in term.grad.items():
            out.grad[key] = out.grad[key] + value if key in out.grad else value
        for pair, value in term.hess.items():
            out.hess[pair] = out.hess[pair] + value if pair in out.hess else value
    return out


def _gamma_ratio(r: float, x: np.ndarray, order: int) -> Term:
    """lnΓ(r+x) − lnΓ(r) in log r."""
    term = Term(gammaln(r + x) - gammaln(r))
    if order >= 1:
        g = r * (digamma(r + x) - digamma(r))
        term.grad[R] = g
        if order == 2:
            term.hess[R, R] = g + r * r * (polygamma(1, r + x) - polygamma(1, r))
    return term


def _rate_scale(r: float, log_alpha: Value, order: int) -> Term:
    """r·ln α_i in (log r, log α_i)."""
    term = Term(r * log_alpha)
    if order >= 1:
        term.grad.update({R: r * log_alpha, ALPHA: r})
        if order == 2:
            term.hess.update({(R, R): r * log_alpha, (R, ALPHA): r})
    return term


def _beta_ratio(a: Value, b: Value, n: np.ndarray, order: int) -> Term:
    """ln B(a, b+n) − ln B(a, b) = lnΓ(a+b) − lnΓ(b) + lnΓ(b+n) − lnΓ(a+b+n) in (log a, log b)."""
    term = Term(gammaln(a + b) - gammaln(b) + gammaln(b + n) - gammaln(a + b + n))
    if order >= 1:
        psi_ab = digamma(a + b) - digamma(a + b + n)
        ga, gb = a * psi_ab, b * (psi_ab - digamma(b) + digamma(b + n))
        term.grad.update({A: ga, B: gb})
        if order == 2:
            tri_ab = polygamma(1, a + b) - polygamma(1, a + b + n)
            term.hess.update({(A, A): ga + a * a * tri_ab, (A, B): a * b * tri_ab,
                              (B, B): gb + b * b * (tri_ab - polygamma(1, b) + polygamma(1, b + n))})
    return term


def _waiting(r: float, k: np.ndarray, alpha: Value, t: np.ndarray, order: int) -> Term:
    """−(r+x)·ln(α_i + t) in (log r, log α_i)."""
    at = alpha + t
    log_at = np.log(at)
    term = Term(-k * log_at)
    if order >= 1:
        share = alpha / at
        k_share = k * share
        term.grad.update({R: -r * log_at, ALPHA: -k_share})
        if order == 2:
            term.hess.update({(R, R): term.grad[R], (R, ALPHA): -r * share, (ALPHA, ALPHA): k_share * (share - 1.0)})
    return term


def _died(a: Value, b: Value, n: np.ndarray, order: int) -> Term:
    """ln(a / (b+n−1)) where n > 0, −∞ where n = 0 (no purchase to drop out at), in (log a, log b)."""
    dropped = n > 0
    last = np.where(dropped, b + n - 1.0, 1.0)
    term = Term(np.where(dropped, np.log(a) - np.log(last), -np.inf))
    if order >= 1:
        q = np.where(dropped, b / last, 0.0)
        term.grad.update({A: 1.0, B: -q})
        if order == 2:
            term.hess[B, B] = -q * (1.0 - q)
    return term



def beta_geometric_loglik(log_params: np.ndarray, rows: Rows, order: int = 0, shift: int = 0) -> float | tuple:
    """Weighted log-likelihood of the BG/NBD family with its gradient (order 1) and Hessian (order 2).

    ``log_params`` is (log r, log α, log a, log b, γ_p…, γ_d…). The log-likelihood
    of a row is ``C + log(e^D3 + e^D4)`` with ``C = lnΓ(r+x) − lnΓ(r) + r ln α_i +
    ln B(a_i, b_i+n) − ln B(a_i, b_i)``, ``D3 = −(r+x) ln(α_i+T)`` and
    ``D4 = ln(a_i/(b_i+n−1)) − (r+x) ln(α_i+t_x)`` (n = x + shift; no D4 where
    n = 0). Terms that depend on the purchase count alone are evaluated once per
    distinct count, with the total weight of its rows.
    """
    with np.errstate(all="ignore"):
        return loglik_terms(np.asarray(log_params, dtype=float), rows, order, shift)


def loglik_terms(z: np.ndarray, rows: Rows, order: int, shift: int, ticks: int = 1,
                 waiting_tail: Callable[[float, np.ndarray, Value], Term] | None = None) -> float | tuple:
    """The family's log-likelihood at log-parameters ``z``; with ``ticks`` = k > 1, the BG/CNBD-k one, whose
    purchases are every k-th event of the Poisson process (c = r + kx) and whose ``waiting_tail(r, c, α)``
    adds the chance of fewer than k events since the last purchase to the alive-at-T term."""
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
    if waiting_tail is not None:
        first = _combine(first, waiting_tail(r, c, alpha))
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


@dataclass
class Block:
    """A cache-sized block of customer rows for :func:`plain_loglik`: each row's distinct-count index."""

    t_x: np.ndarray
    T: np.ndarray
    weights: np.ndarray | float  # one number when all rows weigh the same
    x_index: np.ndarray  # into the distinct counts of all blocks
    no_purchase: bool = False  # no row has a repeat purchase


def plain_blocks(data: dict[str, np.ndarray], weights: np.ndarray) -> tuple[np.ndarray, np.ndarray, list[Block]]:
    """(distinct counts, their total weights, blocks of rows) for :func:`plain_loglik`.

    Rows without a repeat purchase get blocks of their own: without a dropout chance (BG/NBD) their
    log-likelihood is a single term. Their recency is 0, as in every customer summary.
    """
    x = np.asarray(data["frequency"], dtype=float)
    unique_x, x_index = count_index(x)
    t_x, T, w = (np.asarray(v, dtype=float) for v in (data["recency"], data["T"], weights))
    # Rows of equal weight (no compression) share one number: no copies of it, sums instead of dot products.
    equal = len(w) > 0 and bool(np.all(w == w[0]))
    x_weights = np.bincount(x_index, minlength=len(unique_x)) * w[0] if equal else \
        np.bincount(x_index, weights=w, minlength=len(unique_x))

    none = x == 0
    bought = None if not none.any() else np.flatnonzero(~none)
    t_x_b, T_b, index_b = (v if bought is None else np.take(v, bought) for v in (t_x, T, x_index))
    w_b = w if equal or bought is None else np.take(w, bought)
    blocks = [Block(t_x_b[part], T_b[part], float(w[0]) if equal else w_b[part], index_b[part])
              for part in slices(len(T_b), LIKELIHOOD_ROWS)]
    if bought is not None:
        idle = np.flatnonzero(none)
        zeros, zero_index = np.zeros(len(idle)), np.zeros(len(idle), dtype=np.int64)
        zero_index += int(np.searchsorted(unique_x, 0.0))
        idle_T = np.take(T, idle)
        idle_w = w if equal else np.take(w, idle)
        blocks += [Block(zeros[part], idle_T[part], float(w[0]) if equal else idle_w[part], zero_index[part], True)
                   for part in slices(len(idle), LIKELIHOOD_ROWS)]
    return unique_x, x_weights, blocks


def plain_loglik(z: np.ndarray, unique_x: np.ndarray, x_weights: np.ndarray, blocks: list[Block], order: int,
                 shift: int) -> float | tuple:
    """:func:`beta_geometric_loglik` without covariates, with the per-row work cut to what it needs.

    A row's log-likelihood is C(x) − k ln(α+T) + softplus(g), with k = r + x and g = D(x) + kΔ the
    log-odds of having dropped out, D(x) = ln(a/(b+n−1)) and Δ = ln((α+T)/(α+t_x)). Only log r and
    log α reach the per-row part; what log a and log b contribute there goes through the share
    s = σ(g): ∂D/∂log a is 1 and ∂D/∂log b is −q(x), q = b/(b+n−1), where a purchase came (and s is
    negligible, e^−700, where none did), so each block returns a few weighted sums of s, s(1−s) and
    their products with q. The gradient and Hessian are assembled from them; the terms in x alone are
    evaluated once per distinct count.
    """
    with np.errstate(all="ignore"):
        r, alpha, a, b = np.exp(np.asarray(z[:4], dtype=float))
        n = unique_x + shift
        acc = Accumulator(4, order)
        per_x = _combine(_gamma_ratio(r, unique_x, order), _rate_scale(r, z[1], order), _beta_ratio(a, b, n, order))
        acc.add(x_weights, per_x, Lift(4))
        died = _died(a, b, n, order)
        died_x = np.asarray(died.value, dtype=float)
        q_x = np.where(n > 0, b / np.where(n > 0, b + n - 1.0, 1.0), 0.0)
        sums = np.zeros(18)
        for block in blocks:
            if block.no_purchase and shift == 0:
                _no_purchase_block(r, alpha, block, order, sums)
            else:
                _plain_block(r, alpha, r + unique_x, died_x, q_x, block, order, sums)
        acc.value += sums[0]
        if order == 0:
            return acc.value
        acc.grad += [r * sums[1], -sums[2], sums[3], -sums[4]]
        if order == 2:
            h = acc.hess
            h[R, R] += r * sums[1] + r * r * sums[5]
            h[R, ALPHA] += -r * (sums[6] + sums[7])
            h[ALPHA, ALPHA] += sums[8] + sums[9]
            # ∂²D/∂(log b)² is −q(1−q).
            h[A, A] += sums[11]
            h[A, B] += -sums[12]
            h[B, B] += sums[10] - sums[4] + sums[13]
            h[R, A] += r * sums[14]
            h[R, B] += -r * sums[15]
            h[ALPHA, A] += -sums[16]
            h[ALPHA, B] += sums[17]
            for i, j in ((R, ALPHA), (A, B), (R, A), (R, B), (ALPHA, A), (ALPHA, B)):
                h[j, i] = h[i, j]
        return acc.result()


def _plain_block(r: float, alpha: float, k_x: np.ndarray, died_x: np.ndarray, q_x: np.ndarray, block: Block,
                 order: int, sums: np.ndarray) -> None:
    """Add one block's weighted sums to ``sums``.

    ``sums``: value; Σw (sΔ − ln(α+T)), Σwk (σ_T + s dσ), Σws, Σws q (order 1); Σwv Δ², Σw (σ_T + s dσ),
    Σwv Δ k dσ, Σwk [σ_T(σ_T−1) + s dσ(σ_t+σ_T−1)], Σwv (k dσ)², Σws q², Σwv, Σwv q, Σwv q², Σwv Δ,
    Σwv Δ q, Σwv k dσ, Σwv k dσ q (order 2), with σ = α/(α+t), dσ = σ_t − σ_T, s the share,
    v = s(1−s) and q = q(x). (σ_t(σ_t−1) − σ_T(σ_T−1) is dσ(σ_t+σ_T−1), which keeps its precision as
    t_x nears T.)
    """
    w, k = block.weights, np.take(k_x, block.x_index)
    at_T, at_t = alpha + block.T, alpha + block.t_x
    log_T = np.log(at_T)
    gap_time = np.log(at_t)
    np.subtract(log_T, gap_time, out=gap_time)
    gap = k * gap_time
    gap += np.take(died_x, block.x_index)
    # e^−|g| with g clipped at ±700: nothing representable changes, and exp() meets no denormal or
    # infinite input (g is −∞ where no purchase came).
    small = np.clip(gap, -700.0, 700.0)
    np.abs(small, out=small)
    np.negative(small, out=small)
    np.exp(small, out=small)
    above = small + 1.0
    row = np.log(above)  # log1p is three times slower; rounding 1 + e^−|g| costs under 1.2e-16 a row
    row += np.maximum(gap, 0.0)
    row -= k * log_T
    dot = _dot
    sums[0] += dot(w, row)
    if order == 0:
        return
    share = np.maximum(small, gap > 0)  # 1 where g > 0 (e^−|g| <= 1), else e^−|g|: np.where is slower here
    share /= above
    ws = w * share
    q = np.take(q_x, block.x_index)
    rate = share * gap_time
    rate -= log_T
    sums[1] += dot(w, rate)
    sigma_T, sigma_t = alpha / at_T, alpha / at_t
    d_sigma = sigma_t - sigma_T
    s_d_sigma = share * d_sigma
    mean_sigma = s_d_sigma + sigma_T
    wk = w * k
    sums[2] += dot(wk, mean_sigma)
    sums[3] += float(np.add.reduce(ws))
    wsq = ws * q
    sums[4] += float(np.add.reduce(wsq))
    if order == 1:
        return
    np.subtract(1.0, share, out=share)
    wv = share
    wv *= ws
    wv_gap = wv * gap_time
    k_d_sigma = k * d_sigma
    sums[5] += dot(wv_gap, gap_time)
    sums[6] += dot(w, mean_sigma)
    sums[7] += dot(wv_gap, k_d_sigma)
    curve = sigma_t + sigma_T
    curve -= 1.0
    curve *= s_d_sigma
    curve_T = sigma_T - 1.0
    curve_T *= sigma_T
    curve += curve_T
    sums[8] += dot(wk, curve)
    wv_rate = wv * k_d_sigma
    sums[9] += dot(wv_rate, k_d_sigma)
    sums[10] += dot(wsq, q)
    wvq = wv * q
    sums[11] += float(np.add.reduce(wv))
    sums[12] += float(np.add.reduce(wvq))
    sums[13] += dot(wvq, q)
    sums[14] += float(np.add.reduce(wv_gap))
    sums[15] += dot(wv_gap, q)
    sums[16] += float(np.add.reduce(wv_rate))
    sums[17] += dot(wv_rate, q)


def _no_purchase_block(r: float, alpha: float, block: Block, order: int, sums: np.ndarray) -> None:
    """:func:`_plain_block` for rows with no repeat purchase and no dropout chance (BG/NBD's x = 0).

    The share is 0 (D = −∞) and k = r: a row's per-row log-likelihood is −r ln(α+T), and of the sums
    only those of ln(α+T), σ_T and σ_T(σ_T−1) remain.
    """
    w = block.weights
    at_T = alpha + block.T
    log_T = np.log(at_T)
    total_log = _dot(w, log_T)
    sums[0] -= r * total_log
    if order == 0:
        return
    sums[1] -= total_log
    sigma_T = alpha / at_T
    total_sigma = _dot(w, sigma_T)
    sums[2] += r * total_sigma
    if order == 1:
        return
    sums[6] += total_sigma
    curve_T = sigma_T - 1.0
    curve_T *= sigma_T
    sums[8] += r * _dot(w, curve_T)


def _dot(u: np.ndarray | float, v: np.ndarray) -> float:
    if isinstance(u, float):  # rows of equal weight
        return u * float(np.add.reduce(v))
    return float(np.einsum("i,i->", u, v))  # not BLAS: its threads stall on a busy machine


# --- predictions: expectations over the posterior given alive ----------------------------------------


@dataclass
class Posterior:
    """Per customer: λ ~ Gamma(k, β) and p ~ Beta(a, m) given alive at T, and the log-odds of having dropped out."""

    k: np.ndarray         # r + x
    beta: np.ndarray      # α_i + T
    a: np.ndarray         # a_i
    m: np.ndarray         # b_i + x + shift
    log_odds: np.ndarray  # log P(dropped out by T) / P(alive at T)

    @property
    def alive(self) -> np.ndarray:
        return np.exp(-np.logaddexp(0.0, self.log_odds))

    @property
    def dead(self) -> np.ndarray:
        return np.exp(-np.logaddexp(0.0, -self.log_odds))


JACOBI_NODES = 200


def beta_expectation(g: Callable[[np.ndarray, np.ndarray], np.ndarray], a: np.ndarray, m: np.ndarray) -> np.ndarray:
    """E[g(p, row)] over p ~ Beta(a_i, m_i) for each row i, by Gauss–Jacobi quadrature (the Beta density is the
    rule's weight, so only g has to be smooth): the fallback where a hypergeometric closed form fails.

    ``g(p, rows)`` takes nodes p (rows × nodes) and the row numbers, and returns rows × nodes values.
    """
    a, m = np.broadcast_arrays(np.asarray(a, dtype=float), np.asarray(m, dtype=float))
    out = np.empty(a.shape)
    pairs, inverse = np.unique(np.column_stack([a, m]), axis=0, return_inverse=True)
    inverse = inverse.ravel()
    for j, (shape_a, shape_m) in enumerate(pairs):
        rows = np.flatnonzero(inverse == j)
        p, weights = gauss_jacobi(JACOBI_NODES, shape_a, shape_m)
        out[rows] = g(np.broadcast_to(p, (len(rows), len(p))), rows) @ weights
    return out


def gauss_jacobi(n: int, a: float, m: float) -> tuple[np.ndarray, np.ndarray]:
    """Nodes in (0, 1) and weights (summing to 1) of the n-point Gauss rule for the Beta(a, m) density.

    Golub & Welsch: the nodes are the eigenvalues of the Jacobi matrix of the monic Jacobi
    polynomials (α = m − 1, β = a − 1 on [−1, 1]) and the weights the squared first components of its
    eigenvectors, which stay accurate where tabulated weights overflow (m in the thousands).
    """
    from scipy.linalg import eigh_tridiagonal

    al, be = m - 1.0, a - 1.0
    j = np.arange(n, dtype=float)
    s = 2.0 * j + al + be
    with np.errstate(all="ignore"):
        diagonal = np.where(np.abs(s * (s + 2.0)) > 0, (be**2 - al**2) / (s * (s + 2.0)), (be - al) / (al + be + 2.0))
        i = j[1:]
        si = 2.0 * i + al + be
        off = np.sqrt(4.0 * i * (i + al) * (i + be) * (i + al + be) / (si**2 * (si + 1.0) * (si - 1.0)))
    nodes, vectors = eigh_tridiagonal(diagonal, off)
    weights = vectors[0] ** 2
    return np.clip((1.0 + nodes) / 2.0, 1e-300, 1.0), weights / np.sum(weights)


def _smooth_at_one(f: Callable[..., np.ndarray], a: np.ndarray, *args: np.ndarray) -> np.ndarray:
    """``f(a, *args)`` where its closed form has a removable singularity at a = 1 (a division by a − 1).

    Within :data:`NEAR_ONE` of 1 the value is the cubic through a = 1 ± η and 1 ± 2η: the
    function is smooth in a, and the closed form loses about 1e-16/|a − 1| of relative accuracy.
    """
    a, *rows = np.broadcast_arrays(np.asarray(a, dtype=float), *(np.asarray(v, dtype=float) for v in args))
    near = np.abs(a - 1.0) < NEAR_ONE
    out = np.asarray(f(a, *rows), dtype=float).copy()
    if np.any(near):
        nodes = 1.0 + NEAR_ONE * np.array([-2.0, -1.0, 1.0, 2.0])
        rest = [v[near] for v in rows]
        at = a[near]
        total = np.zeros(len(at))
        for j, node in enumerate(nodes):
            weight = np.prod([(at - other) / (node - other) for i, other in enumerate(nodes) if i != j], axis=0)
            total += weight * f(np.full(len(at), node), *rest)
        out[near] = total
    return out


def _mean_closed_form(a: np.ndarray, k: np.ndarray, beta: np.ndarray, m: np.ndarray, t: np.ndarray) -> np.ndarray:
    """E[(1 − e^(−λpt))/p] given alive (FHL 2005, eq. 10 without P(alive)), by Euler's transformation:
    (a+m−1)/(a−1) [1 − (β/(β+t))^(a−1) 2F1(a+m−1−k, a−1; a+m−1; t/(β+t))]."""
    z = t / (beta + t)
    tail = np.exp(-(a - 1.0) * np.log1p(t / beta)) * hyp2f1(a + m - 1.0 - k, a - 1.0, a + m - 1.0, z)
    return (a + m - 1.0) / (a - 1.0) * (1.0 - tail)


def mean_given_alive(post: Posterior, t: float | np.ndarray) -> np.ndarray:
    """Expected purchases in (T, T + t] of customers alive at T.

    Where the closed form is not finite or leaves the bounds 1 − (1+t/β)^−k <= value <= k·t/β that
    hold for any p (the hypergeometric function loses its precision at some extreme parameters), the
    expectation E_p[(1 − (1+pt/β)^−k)/p] is taken by quadrature instead.
    """
    t = np.broadcast_to(np.asarray(t, dtype=float), np.shape(post.k))
    value = _smooth_at_one(_mean_closed_form, post.a, post.k, post.beta, post.m, t)
    q = t / post.beta
    lower, upper = -np.expm1(-post.k * np.log1p(q)), post.k * q
    bad = ~(np.isfinite(value) & (value >= lower * (1 - 1e-9)) & (value <= upper * (1 + 1e-9)))
    if np.any(bad):
        k, q_bad = np.broadcast_to(post.k, bad.shape)[bad], q[bad]
        value = value.copy()
        value[bad] = beta_expectation(lambda p, i: -np.expm1(-k[i, None] * np.log1p(p * q_bad[i, None])) / p,
                                      np.broadcast_to(post.a, bad.shape)[bad], np.broadcast_to(post.m, bad.shape)[bad])
    return np.clip(value, lower, upper)


def alive_later(post: Posterior, future_t: float) -> np.ndarray:
    """P(no dropout in (T, T + f] | alive at T) = E[e^(−λpf)] = 2F1(k, a; a+m; −f/β), by Pfaff's transformation
    (1+f/β)^(−a) 2F1(a, a+m−k; a+m; f/(β+f)): dropout comes at purchases, so a customer buying at rate λ
    survives f units with probability e^(−λpf)."""
    if future_t == 0:
        return np.ones(np.shape(post.k))
    f = float(future_t)
    value = np.exp(-post.a * np.log1p(f / post.beta)) * hyp2f1(post.a, post.a + post.m - post.k, post.a + post.m,
                                                                 f / (post.beta + f))
    lower = np.exp(-post.k * np.log1p(f / post.beta))
    bad = ~(np.isfinite(value) & (value >= lower) & (value <= 1.0))
    if np.any(bad):
        k, ratio = post.k[bad], f / post.beta[bad]
        value = value.copy()
        value[bad] = beta_expectation(lambda p, i: np.exp(-k[i, None] * np.log1p(p * ratio[i, None])),
                                      post.a[bad], post.m[bad])
    return np.clip(value, lower, 1.0)


def count_distribution(post: Posterior, n: np.ndarray, t: float) -> np.ndarray:
    """P(exactly n purchases in (T, T + t]) for each customer (rows) and each n (columns).

    A customer alive at T with rate λ and dropout probability p makes n >= 1
    purchases if they survive the first n − 1 and then either drop out at the n-th
    (given at least n Poisson arrivals) or survive it with exactly n arrivals:
    (1−p)^(n−1) [p P(N >= n) + (1−p) P(N = n)], N ~ Poisson(λt). Over the posterior
    the Poisson becomes the NBD(k, β/(β+t)) and the powers of p Beta-function ratios.
    """
    k, beta, a, m = (np.asarray(v, dtype=float)[:, None] for v in (post.k, post.beta, post.a, post.m))
    n = np.asarray(n, dtype=float)[None, :]
    log_keep = -k * np.log1p(t / beta)                  # log P(N = 0)
    log_z = np.log(t / (beta + t)) if t > 0 else np.full_like(beta, -np.inf)
    log_nbd = gammaln(k + n) - gammaln(k) - gammaln(n + 1) + log_keep + np.where(n > 0, n * log_z, 0.0)
    tail = betainc(np.maximum(n, 1.0), k, np.exp(log_z))  # P(N >= n), n >= 1
    survive = np.exp(betaln(a, m + n) - betaln(a, m) + log_nbd)
    drop = np.exp(betaln(a + 1.0, np.maximum(m + n - 1.0, 1e-300)) - betaln(a, m)) * tail
    alive = post.alive[:, None] * np.where(n > 0, survive + drop, survive)
    return np.clip(alive + np.where(n == 0, post.dead[:, None], 0.0), 0.0, 1.0)


def distinct_rows(*columns: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(the first row of each distinct combination of ``columns``, each row's combination): by hashing each
    column in turn, without the sort of ``np.unique(axis=0)`` (several times slower on a million rows)."""
    key = np.zeros(len(columns[0]), dtype=np.int64)
    for column in columns:
        codes, uniques = pd.factorize(np.asarray(column, dtype=float))
        key, _ = pd.factorize(key * len(uniques) + codes)
    first = np.full(int(key.max(initial=-1)) + 1, len(key), dtype=np.int64)
    np.minimum.at(first, key, np.arange(len(key)))
    return first, key


# Gauss-Legendre nodes in log-time: below 1e-9 relative error against a 64-node rule, for discount factors
# down to e^-4 over the horizon with the fewer nodes (a score's horizon), and to e^-40 (an endless horizon).
DISCOUNT_NODES = (16, 32)
FEW_NODES_UP_TO = 4.0
NEGLIGIBLE = 40.0     # e^-40: discount factors below it are dropped
DISCOUNT_ROWS = 32_768


def discounted_given_alive(post: Posterior, horizon: float, delta: float) -> np.ndarray:
    """∫₀ᴴ e^(−δs) dM(s) of customers alive at T, M(s) their expected purchases in (T, T + s].

    By parts it is e^(−δH) M(H) + δ ∫₀ᴴ e^(−δs) M(s) ds, and in log-time s = β(e^w − 1) the
    integrand is analytic in a strip of half-width π around the real axis (M's only
    singularities sit at Im w = ±π), so a Gauss–Legendre rule in w converges geometrically:
    16 closed-form evaluations of M per distinct posterior over a score's horizon, 32 when the
    discount falls far within it. An infinite horizon is cut where e^(−δs) falls below e^−40.
    """
    k, beta, a, m = (np.asarray(v, dtype=float) for v in (post.k, post.beta, post.a, post.m))
    end = np.minimum(float(horizon), NEGLIGIBLE / delta) * np.ones_like(beta)
    n = DISCOUNT_NODES[0] if delta * float(np.max(end, initial=0.0)) <= FEW_NODES_UP_TO else DISCOUNT_NODES[1]
    u, weights = roots_legendre(n)
    out = np.empty(k.size)
    for part in slices(k.size, DISCOUNT_ROWS):  # rows × nodes temporaries stay small
        width = np.log1p(end[part] / beta[part])
        w = (u + 1.0) / 2.0 * width[:, None]
        s = beta[part, None] * np.expm1(w)
        jacobian = beta[part, None] * np.exp(w) * width[:, None] / 2.0
        size = len(width)
        k_n, beta_n, a_n, m_n = (np.repeat(v[part], n) for v in (k, beta, a, m))
        nodes = Posterior(k_n, beta_n, a_n, m_n, np.zeros(size * n))
        inside = mean_given_alive(nodes, s.ravel()).reshape(s.shape)
        at_end = mean_given_alive(Posterior(k[part], beta[part], a[part], m[part], np.zeros(size)), end[part])
        integral = np.einsum("ij,j->i", np.exp(-delta * s) * inside * jacobian, weights)
        out[part] = np.exp(-delta * end[part]) * at_end + delta * integral
    return out


# --- the models ---------------------------------------------------------------------------------------


class BetaGeoFamily(CovariateMixin, MLEModel):
    """What BG/NBD and MBG/NBD share; a subclass sets ``shift`` (dropout chances before the first repeat purchase)."""

    shift: ClassVar[int] = 0
    abilities = frozenset({Ability.P_ALIVE, Ability.CONDITIONAL, Ability.PURCHASE_PROBABILITY, Ability.DISCOUNTING,
                           Ability.NEW_CUSTOMER, Ability.TRANSACTIONS, Ability.SIMULATION, Ability.SCENARIOS,
                           Ability.INTERVALS, Ability.COVARIATES, Ability.WEIGHTED_ROWS})
    param_names = ("r", "alpha", "a", "b")
    parameter_meaning = {"r": "the purchase rate", "alpha": "the purchase rate", "a": "the dropout probability",
                         "b": "the dropout probability"}
    scenario_knobs = ("purchase_rate", "dropout")
    derivative_order = 2

    # -- fitting -----------------------------------------------------------------------------------
    def loglik(self, log_params: np.ndarray, data: dict[str, np.ndarray], weights: np.ndarray,
               order: int = 0) -> float | tuple:
        return beta_geometric_loglik(log_params, prepare_rows(data, weights), order, self.shift)

    def _order(self) -> int:
        return 2  # analytic gradient and Hessian, with or without covariates

    def start_values(self, data: dict[str, np.ndarray]) -> list[np.ndarray]:
        return [np.log([1.0, 1.0 / mean_purchase_rate(data), 1.0, 1.0]), np.zeros(4), np.log([0.5, 5.0, 0.5, 3.0])]

    def _bound_loglik(self, data: dict[str, np.ndarray], weights: np.ndarray,
                      scale: float = 1.0) -> Callable[[np.ndarray, int], Any]:
        """loglik(z, order) on fixed data, divided by ``scale``, on cache-sized blocks of rows prepared once.

        The last evaluation is kept: the optimiser asks again for the value at the point whose
        derivatives it has (the log-likelihood it reports), which then costs nothing.
        """
        size = LIKELIHOOD_ROWS
        plain = set(data) == {"frequency", "recency", "T"}  # no covariates: the lean likelihood
        if plain:
            unique_x, x_weights, plain_rows = plain_blocks(data, weights)
        else:
            blocks = [prepare_rows({key: v[start:start + size] for key, v in data.items()},
                                   weights[start:start + size]) for start in range(0, len(weights), size)]
        last: dict[str, Any] = {}

        def bound(z: np.ndarray, order: int) -> Any:
            key = np.asarray(z, dtype=float).tobytes()
            if last.get("key") != key or last["order"] < order:
                total: list[Any] = [0.0] * (order + 1)
                if plain:
                    parts = plain_loglik(np.asarray(z, dtype=float), unique_x, x_weights, plain_rows, order,
                                         self.shift)
                    total = list(parts if isinstance(parts, tuple) else (parts,))
                for rows in [] if plain else blocks:
                    parts = beta_geometric_loglik(z, rows, order, self.shift)
                    total = [t + part for t, part in zip(total, parts if isinstance(parts, tuple) else (parts,))]
                last.update(key=key, order=order, out=tuple(t / scale for t in total))
            out = last["out"]
            return out[0] if order == 0 else out[:order + 1]

        return bound

    # -- parameters per customer -------------------------------------------------------------------
    def _p(self, summary: pd.DataFrame | None = None) -> tuple:
        """(r, α, a, b), per customer of ``summary`` when the model has covariates."""
        r, alpha, a, b = super()._p()
        if summary is None or not self.has_covariates():
            return r, alpha, a, b
        purchase, dropout = self.covariate_effects(summary)
        return r, alpha / purchase, a * dropout, b * dropout

    def _posterior(self, summary: pd.DataFrame) -> Posterior:
        x, t_x, T = self._summary_arrays(summary)
        return self._posterior_of(x, t_x, T, *self._p(summary))

    def _posterior_of(self, x: np.ndarray, t_x: np.ndarray, T: np.ndarray, r: float, alpha: Any, a: Any,
                      b: Any) -> Posterior:
        n = x + self.shift
        with np.errstate(all="ignore"):
            log_odds = np.where(n > 0, np.log(a) - np.log(np.where(n > 0, b + n - 1.0, 1.0))
                                + (r + x) * np.log1p((T - t_x) / (alpha + t_x)), -np.inf)
        shape = np.shape(x)
        return Posterior(*(np.broadcast_to(np.asarray(v, dtype=float), shape)
                           for v in (r + x, alpha + T, a, b + n, log_odds)))

    def _new_customer(self, size: int) -> Posterior:
        """The posterior of a customer just acquired (no repeat purchase, T = 0), ``size`` times."""
        zeros = np.zeros(size)
        return self._posterior_of(zeros, zeros, zeros, *self._p())

    def _series(self, summary: pd.DataFrame, values: np.ndarray, name: str) -> pd.Series:
        return pd.Series(values, index=summary.index, name=name)

    # -- predictions -------------------------------------------------------------------------------
    def p_alive(self, summary: pd.DataFrame, future_t: float = 0.0) -> pd.Series:
        """P(alive at T + future_t | x, t_x, T).

        At T (FHL 2005, eq. 13): 1 / (1 + δ(n>0) a/(b+n−1) ((α+T)/(α+t_x))^(r+x)); later it is
        multiplied by P(no dropout at the purchases in (T, T + future_t] | alive) = E[e^(−λp·future_t)].
        """
        self._check_fitted()
        f = check_number(future_t, "future_t", low=0)
        post = self._posterior(summary)
        with np.errstate(all="ignore"):
            value = post.alive * alive_later(post, f)
        return self._series(summary, value, "p_alive")

    def expected_purchases(self, summary: pd.DataFrame, t: float) -> pd.Series:
        """E[purchases in (T, T+t] | x, t_x, T] (FHL 2005, eq. 10), evaluated without overflow.

        The hypergeometric term is taken through Euler's transformation, which stays bounded for any x;
        at a = 1, where the closed form divides 0 by 0, its limit.
        """
        self._check_fitted()
        t = check_number(t, "horizon t", low=0)
        post = self._posterior(summary)
        with np.errstate(all="ignore"):
            value = post.alive * mean_given_alive(post, t)
        return self._series(summary, value, "expected_purchases")

    def purchase_probability(self, summary: pd.DataFrame, n: int | Sequence[int],
                             t: float) -> pd.Series | pd.DataFrame:
        """P(exactly n purchases in (T, T + t] | x, t_x, T): a Series for one n, a frame with a column per n."""
        self._check_fitted()
        counts, single = check_counts(n)
        t = check_number(t, "horizon t", low=0)
        with np.errstate(all="ignore"):
            table = count_distribution(self._posterior(summary), np.array(counts, dtype=float), t)
        if single:
            return self._series(summary, table[:, 0], "purchase_probability")
        return pd.DataFrame(table, index=summary.index, columns=pd.Index(counts, name="n"))

    def discounted_purchases(self, summary: pd.DataFrame, horizon: float, delta: float) -> pd.Series:
        """Expected purchases in (T, T + horizon], each discounted by e^(−delta·s) at its time s after T.

        No closed form is published for this family: the integral is evaluated by Gauss–Legendre
        quadrature in log-time (relative error below 1e-9), once per distinct (x, T) and customer parameters.
        ``horizon`` may be ``numpy.inf`` (then ``delta`` must be > 0).
        """
        self._check_fitted()
        horizon = check_number(horizon, "horizon", low=0, finite=False)
        delta = check_number(delta, "delta", low=0)
        if np.isinf(horizon) and delta == 0:
            raise InvalidParameterError("delta=0 is not valid with horizon=inf: undiscounted purchases over an "
                                        "endless horizon need not be finite; pass a discount rate, e.g. delta=0.01")
        post = self._posterior(summary)
        with np.errstate(all="ignore"):
            if delta == 0:
                given_alive = mean_given_alive(post, horizon)
            else:
                first, inverse = distinct_rows(post.k, post.beta, post.a, post.m)
                distinct = Posterior(post.k[first], post.beta[first], post.a[first], post.m[first],
                                     np.zeros(len(first)))
                given_alive = discounted_given_alive(distinct, horizon, delta)[inverse]
            value = post.alive * given_alive
        return self._series(summary, value, "discounted_purchases")

    def expected_purchases_new(self, t: float | np.ndarray) -> np.ndarray | float:
        """E[X(t)] for a customer just acquired: the conditional expectation for an empty history at T = 0."""
        self._check_fitted()
        times = np.asarray(t, dtype=float)
        if not np.all(np.isfinite(times) & (times >= 0)):
            raise InvalidParameterError(f"t={t!r} is not valid: times must be finite numbers >= 0")
        post = self._new_customer(times.size)
        with np.errstate(all="ignore"):
            value = (post.alive * mean_given_alive(post, times.ravel())).reshape(times.shape)
        return value if value.ndim else float(value)

    def probability_of_purchases(self, n: int | np.ndarray, t: float) -> np.ndarray | float:
        """P(X(t) = n) for a customer just acquired (FHL 2005, eq. 8, and its MBG/NBD analogue)."""
        self._check_fitted()
        counts = np.asarray(n, dtype=float)
        if not np.all((counts >= 0) & (counts == np.floor(counts))):
            raise InvalidParameterError(f"n={n!r} is not valid: counts must be whole numbers >= 0")
        t = check_number(t, "horizon t", low=0)
        with np.errstate(all="ignore"):
            value = count_distribution(self._new_customer(1), counts.ravel(), t)[0].reshape(counts.shape)
        return value if value.ndim else float(value)

    # -- simulation --------------------------------------------------------------------------------
    def _draw(self, rng: np.random.Generator, n_customers: int, T: np.ndarray,
              frame: pd.DataFrame | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(rate λ, purchases N of the unstopped process in (0, T], repeat purchase at which they drop out)."""
        r, alpha, a, b = self._p(frame)
        lam = rng.gamma(r, 1 / np.broadcast_to(alpha, (n_customers,)))
        p = rng.beta(np.broadcast_to(a, (n_customers,)), np.broadcast_to(b, (n_customers,)))
        # Dropout follows the j-th dropout chance with probability p(1-p)^(j-1), j >= 1; MBG/NBD's first chance
        # is right after the first purchase, BG/NBD's after the first repeat purchase.
        cap = rng.geometric(p) - self.shift
        return lam, rng.poisson(lam * T), cap

    def simulate(self, n_customers: int, T: float | np.ndarray, seed: int | None = None,
                 covariates: pd.DataFrame | None = None) -> pd.DataFrame:
        """A customer summary drawn from the model, each customer observed for ``T`` units, with the true
        state at T in ``alive``.

        With covariates, ``covariates`` holds their columns, one row per customer, and is joined to the result.
        """
        self._check_fitted()
        n_customers = check_int(n_customers, "n_customers", low=1)
        T = np.broadcast_to(np.asarray(T, dtype=float), (n_customers,)).copy()
        frame = self._simulation_frame(covariates)
        rng = np.random.default_rng(seed)
        _, total, cap = self._draw(rng, n_customers, T, frame)
        x = np.minimum(total, cap)
        # The x-th of N uniform arrival times on (0, T] is T·Beta(x, N − x + 1).
        t_x = np.where(x > 0, T * rng.beta(np.maximum(x, 1), np.maximum(total - x + 1, 1)), 0.0)
        out = pd.DataFrame({"frequency": x.astype(float), "recency": t_x, "T": T, "alive": total < cap},
                           index=pd.RangeIndex(n_customers, name="customer_id"))
        return self._with_covariates(out, covariates)

    def simulate_like(self, data: pd.DataFrame, seed: int | None = None) -> pd.DataFrame:
        """Customers observed for the same T as those of ``data`` (with their covariates), drawn from the model."""
        covariates = data[self.required_columns()[3:]].reset_index(drop=True) if self.has_covariates() else None
        return self.simulate(len(data), data["T"].to_numpy(dtype=float), seed=seed, covariates=covariates)

    def sample(self, n_customers: int, seed: int | None = None) -> pd.DataFrame:
        """A summary of ``n_customers`` customers acquired over 78 weeks (a day grid), drawn from the model."""
        rng = np.random.default_rng(seed)
        out = self.simulate(n_customers, observation_times(rng, n_customers), seed=int(rng.integers(2**31)))
        return out.assign(recency=np.round(out["recency"] * 7) / 7)

    def simulate_transactions(self, n_customers: int, T: float | np.ndarray, *, unit: str = "W",
                              observation_end: Any = None, spend_model: BaseModel | None = None,
                              seed: int | None = None) -> pd.DataFrame:
        """A transaction log drawn from the model: ``customer_id``, ``date`` and, with a fitted spend model,
        ``amount``.

        Customer i buys first at ``observation_end − T_i`` (``T`` in ``unit``; ``observation_end``
        defaults to 2025-01-01), then as the model says until ``observation_end``. Dates are
        timestamps to the microsecond, not rounded to days. A model with covariates draws customers
        whose covariates are all 0. A fitted Gamma-Gamma ``spend_model`` draws a spend scale per
        customer and then every transaction's amount (the first one's too) from it.

        Examples
        --------
        >>> import custvalue as cv
        >>> m = cv.models.BetaGeo.from_params(**cv.models.BetaGeo.example_params)
        >>> gg = cv.models.GammaGamma.from_params(p=6.25, q=3.74, v=15.44)
        >>> log = m.simulate_transactions(3, 52.0, spend_model=gg, seed=0)
        >>> log.columns.tolist(), str(log["date"].min())
        (['customer_id', 'date', 'amount'], '2024-01-03 00:00:00')
        """
        from custvalue.models._transactions import log_arguments, transaction_log, with_first_purchases

        self._check_fitted()
        args = log_arguments(n_customers, T, unit, observation_end, spend_model, seed)
        n, T = args.n_customers, args.T
        _, total, cap = self._draw(args.rng, n, T)
        x = np.minimum(total, cap)
        owner = np.repeat(np.arange(n), total)
        times = args.rng.uniform(0.0, 1.0, len(owner)) * T[owner]
        order = np.lexsort((times, owner))
        owner, times = owner[order], times[order]
        rank = np.arange(len(owner)) - np.repeat(np.cumsum(total) - total, total)
        kept = rank < x[owner]  # purchases before the dropout
        return transaction_log(*with_first_purchases(owner[kept], times[kept], n), args)

    def scenario(self, **knobs: float) -> BaseModel:
        """Purchases if customers bought ``purchase_rate`` times as fast and dropped out with a ``dropout``
        times higher probability after each purchase: E(c·k·t)/k (dropout follows purchases; valid
        while k·p stays below 1)."""
        k = self._check_knobs(knobs, {"purchase_rate": 1.0, "dropout": 1.0})
        return ScaledPurchases(self, time_scale=k["purchase_rate"] * k["dropout"], value_scale=1 / k["dropout"])
