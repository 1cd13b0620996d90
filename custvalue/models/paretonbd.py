"""Pareto/NBD model (Schmittlein, Morrison & Colombo 1987).

While alive a customer buys as a Poisson process with rate λ ~ Gamma(r, α)
and dies after an exponential lifetime with rate μ ~ Gamma(s, β).

**Likelihood.** Averaging λ^x e^(−λτ) over λ and the dropout time's density
μ e^(−μτ) over μ gives (Fader & Hardie 2005, "A Note on Deriving the
Pareto/NBD Model and Related Expressions", http://brucehardie.com/notes/009/,
eq. 22 before its integral is taken)

    L = Γ(r+x) α^r β^s / Γ(r) · [ (α+T)^−(r+x) (β+T)^−s + s·I ],
    I = ∫_{t_x}^{T} (α+τ)^−(r+x) (β+τ)^−(s+1) dτ,

alive at T, or dead at τ in (t_x, T]. For fitting, I is evaluated by
Gauss–Legendre quadrature in log space (:mod:`custvalue.models._quadrature`):
the gradient and Hessian in every parameter, covariate coefficients
included, are sums over the same nodes, so Newton's method converges in a
few steps. For predictions I is the difference of the hypergeometric terms of
the note's eq. (22), taken after Euler's transformation as
``2F1(1, k; m+1; z)``, bounded for any purchase count; for the customers
where scipy's 2F1 fails (purchase counts in the thousands, z near 1) the
quadrature, which agrees with it to better than 1e-9, takes its place.

**Predictions** condition on the history: with probability P(alive at T) the
customer is alive, and then λ ~ Gamma(r+x, α+T) and μ ~ Gamma(s, β+T)
independently, so purchases after T are NBD counts over an exponential
remaining lifetime. Everything is combined in log space, which keeps
customers with thousands of purchases and T ≫ t_x finite.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from typing import Any, NamedTuple, ParamSpec, TypeVar, overload

import numpy as np
import pandas as pd
from scipy.special import digamma, expit, gammaln, hyp2f1, polygamma

from custvalue.checks import check_counts, check_number, invalid
from custvalue.errors import InvalidParameterError
from custvalue.grouping import group_rows
from custvalue.models._base import Ability, BaseModel, MLEModel, Role
from custvalue.models._covariates import CovariateMixin, PerCustomer
from custvalue.models._loglik import weighted_sum
from custvalue.models._math import expm1_ratio, log1mexp
from custvalue.models._nbd import mean_purchase_rate, observation_times, simulate_summary
from custvalue.models._quadrature import NODES, discount_terms, power_terms, rule
from custvalue.models._scenario import ScaledPurchases
from custvalue.models._transactions import log_arguments, transaction_log, with_first_purchases

Array = np.ndarray

#: Quadrature nodes per distinct (x, time) in the likelihood (tests/test_paretonbd.py checks the accuracy).
FIT_NODES = 32
#: Rows evaluated together: their node arrays stay in cache.
CHUNK_ROWS = 4096


Params = ParamSpec("Params")
Result = TypeVar("Result")


def _quiet(method: Callable[Params, Result]) -> Callable[Params, Result]:
    """Run with numpy's floating-point errors off, whatever np.seterr says: in log space underflow to 0 is
    the right answer, and inf or nan never reach a user (tests/test_paretonbd.py checks every prediction)."""

    @functools.wraps(method)
    def run(*args: Params.args, **kwargs: Params.kwargs) -> Result:
        with np.errstate(all="ignore"):
            return method(*args, **kwargs)

    return run


def _chunks(n: int, size: int = CHUNK_ROWS) -> list[slice]:
    return [slice(start, min(start + size, n)) for start in range(0, n, size)]


def _take(value: PerCustomer, rows: slice | Array) -> PerCustomer:
    return np.asarray(value)[rows] if np.ndim(value) else value


# --- the dropout-time integral I -----------------------------------------------------------------


def _integral_nodes(r: float, alpha: PerCustomer, s: float, beta: PerCustomer, x: Array, t_x: Array, T: Array,
                    nodes: int) -> tuple[Array, Array, Array, Array, Array]:
    """The quadrature of I: log-weights plus log-integrand, α+τ, β+τ and their logarithms at the nodes,
    each of shape (nodes, customers).

    With u = τ + min(α, β) the integrand is (c₁+u)^−(r+x) (c₂+u)^−(s+1) with
    c₁, c₂ ≥ 0 (one of them 0): log-concave in ln u.
    """
    low = np.minimum(alpha, beta)
    c1, c2 = alpha - low, beta - low
    with np.errstate(divide="ignore"):
        lo, hi = np.log(low + t_x), np.log(low + T)
    width = np.log1p((T - t_x) / (low + t_x))
    v, log_w = rule(power_terms(1.0, r + x, c1, s + 1.0, c2), lo, hi, width, nodes)
    # The smaller of α+τ and β+τ is u itself, the other u + |α − β|.
    u = np.exp(v)
    far = np.abs(alpha - beta) + u
    log_far = np.log(far)
    alpha_low = alpha <= beta
    if np.ndim(alpha_low) == 0:
        (A, log_A), (B, log_B) = ((u, v), (far, log_far)) if alpha_low else ((far, log_far), (u, v))
    else:
        A, log_A = np.where(alpha_low, u, far), np.where(alpha_low, v, log_far)
        B, log_B = np.where(alpha_low, far, u), np.where(alpha_low, log_far, v)
    f = log_w + v
    f -= (r + x) * log_A
    f -= (s + 1.0) * log_B
    return f, A, B, log_A, log_B


def _log_sum_exp(f: Array) -> tuple[Array, Array, Array]:
    """(ln Σ_k e^f_k, e^(f − max), Σ_k e^(f − max)) over the nodes (axis 0); −inf for a column of −inf."""
    top = f.max(axis=0)
    top = np.where(np.isfinite(top), top, 0.0)
    e = np.exp(f - top)
    total = e.sum(axis=0)
    with np.errstate(divide="ignore"):
        return top + np.log(total), e, total


def _log_integral_quadrature(r: float, alpha: PerCustomer, s: float, beta: PerCustomer, x: Array, t_x: Array,
                             T: Array, nodes: int = NODES) -> Array:
    """ln I by quadrature, in chunks of customers."""
    out = np.empty(len(x))
    for part in _chunks(len(x)):
        f = _integral_nodes(r, _take(alpha, part), s, _take(beta, part), x[part], t_x[part], T[part], nodes)[0]
        out[part] = _log_sum_exp(f)[0]
    return out


def _log_F(u: Array, r: float, alpha: PerCustomer, s: float, beta: PerCustomer, x: Array) -> Array:
    """ln of FHL's (2005, eq. 22) term 2F1(·)/(max(α,β)+u)^(r+s+x) at u, by Euler's transformation.

    Each row takes the branch its own α ≥ β selects; non-finite where scipy's 2F1 fails.
    """
    m = r + s + x
    upper = np.broadcast_to(alpha >= beta, np.shape(u))
    z = np.where(upper, (alpha - beta) / (alpha + u), (beta - alpha) / (beta + u))
    with np.errstate(all="ignore"):
        hyper = np.where(upper, hyp2f1(1.0, r + x, m + 1.0, np.where(upper, z, 0.0)),
                         hyp2f1(1.0, s + 1.0, m + 1.0, np.where(upper, 0.0, z)))
        # 2F1(1, k; m+1; z) ≥ 1 for 0 ≤ z < 1: anything else is scipy failing.
        hyper = np.where(hyper >= 1.0, hyper, np.nan)
        shift = np.where(upper, 0.0, 1.0)
        return -(r + x - shift) * np.log(alpha + u) - (s + shift) * np.log(beta + u) + np.log(hyper)


def _log_integral(r: float, alpha: PerCustomer, s: float, beta: PerCustomer, x: Array, t_x: Array,
                  T: Array) -> Array:
    """ln I = ln[(F(t_x) − F(T)) / (r+s+x)] by the hypergeometric form, by quadrature where 2F1 fails."""
    log_f_tx = _log_F(t_x, r, alpha, s, beta, x)
    log_f_T = _log_F(T, r, alpha, s, beta, x)
    with np.errstate(all="ignore"):
        out = log_f_tx + log1mexp(log_f_T - log_f_tx) - np.log(r + s + x)
    out = np.where(t_x == T, -np.inf, out)  # no time to die in
    failed = ~(np.isfinite(out) | (t_x == T))
    if failed.any():
        out[failed] = _log_integral_quadrature(r, _take(alpha, failed), s, _take(beta, failed), x[failed],
                                               t_x[failed], T[failed])
    return out


def _log_terms(r: float, alpha: PerCustomer, s: float, beta: PerCustomer, x: Array, t_x: Array,
               T: Array) -> tuple[Array, Array]:
    """(ln of the alive-at-T term, ln s·I) of the likelihood's bracket."""
    alive = -(r + x) * np.log(alpha + T) - s * np.log(beta + T)
    return alive, np.log(s) + _log_integral(r, alpha, s, beta, x, t_x, T)


# --- likelihood ------------------------------------------------------------------------------------


def _lifted(j: int, Zp: Array, Zd: Array) -> list[tuple[int, Array | None]]:
    """(index in z, coefficient per row, None for 1) of ∂y_j/∂z, y = (ln r, ln α_i, ln s, ln β_i).

    ln α_i = ln α − z_p′γ_p and ln β_i = ln β − z_d′γ_d are linear in z, so
    derivatives in y map to z with these coefficients and no second-order terms.
    """
    if j == 1:
        return [(1, None), *((4 + c, -Zp[:, c]) for c in range(Zp.shape[1]))]
    if j == 3:
        return [(3, None), *((4 + Zp.shape[1] + c, -Zd[:, c]) for c in range(Zd.shape[1]))]
    return [(j, None)]


def _scaled(weights: Array, coefficient: Array | None) -> Array:
    return weights if coefficient is None else weights * coefficient


def _grad_in_z(weights: Array, grad: Sequence[Array | float], Zp: Array, Zd: Array) -> Array:
    """Σ over rows of weights · Jᵀg for per-row gradients g in y."""
    out = np.zeros(4 + Zp.shape[1] + Zd.shape[1])
    for j, g in enumerate(grad):
        for p, c in _lifted(j, Zp, Zd):
            out[p] += weighted_sum(_scaled(weights, c), g)
    return out


Terms = dict[tuple[int, int], list[tuple[Array, Array | float]]]


def _hess_in_z(terms: Terms, Zp: Array, Zd: Array) -> Array:
    """Σ over rows of Jᵀ M J for symmetric y-space matrices M with entries M_jk = Σ w·value over
    ``terms[(j, k)]``, j ≤ k."""
    P = 4 + Zp.shape[1] + Zd.shape[1]
    out = np.zeros((P, P))
    for (j, k), parts in terms.items():
        for p, cp in _lifted(j, Zp, Zd):
            for q, cq in _lifted(k, Zp, Zd):
                coefficient = cq if cp is None else (cp if cq is None else cp * cq)
                total = sum(weighted_sum(_scaled(w, coefficient), value) for w, value in parts)
                out[p, q] += total
                if j != k:
                    out[q, p] += total
    return out


def _outer(weights: Array, vectors: Sequence[Array], terms: Terms) -> None:
    """Add weights · v vᵀ to ``terms`` for per-row vectors v."""
    for j in range(4):
        for k in range(j, 4):
            terms.setdefault((j, k), []).append((weights, vectors[j] * vectors[k]))


class _Pairs(NamedTuple):
    """The integrals I of a block of customers as differences of integrals computed once each.

    On a day grid I = tail(t_x) − tail(T) with tail(u) = ∫_u^end (α+τ)^−(r+x) (β+τ)^−(s+1) dτ
    and ``end`` the block's largest T: there are far fewer distinct (x, u) than
    customers, and the quadrature runs once per pair. Where the pairs would
    outnumber the customers (continuous times, covariates), each customer gets
    one integral over [t_x, T] and subtracts an empty one.
    """

    x: Array
    u: Array
    end: Array
    Zp: Array
    Zd: Array
    at_recency: Array  # each customer's integral from t_x
    at_age: Array      # and the one subtracted from it, from T


def _pairs(x: Array, t_x: Array, T: Array, Zp: Array, Zd: Array, shared: bool | None = None) -> _Pairs:
    """The integrals of the customers (x, t_x, T) with covariates Zp, Zd; ``shared`` forces differences of
    shared tails (True) or an integral per customer (False) instead of the cheaper."""
    n = len(x)
    columns = {"x": np.concatenate([x, x]), "u": np.concatenate([t_x, T])}
    Z = np.column_stack([Zp, Zd])
    columns.update({f"z{i}": np.concatenate([Z[:, i], Z[:, i]]) for i in range(Z.shape[1])})
    rows, _, inverse = group_rows(pd.DataFrame(columns))
    if shared if shared is not None else len(rows) < n:
        Zr = rows[[f"z{i}" for i in range(Z.shape[1])]].to_numpy(dtype=float).reshape(len(rows), Z.shape[1])
        return _Pairs(rows["x"].to_numpy(), rows["u"].to_numpy(), np.full(len(rows), float(np.max(T))),
                      Zr[:, :Zp.shape[1]], Zr[:, Zp.shape[1]:], inverse[:n], inverse[n:])
    customers = np.arange(n)
    empty = np.zeros((1, Z.shape[1]))
    return _Pairs(np.append(x, 0.0), np.append(t_x, 0.0), np.append(T, 0.0),
                  np.vstack([Zp, empty[:, :Zp.shape[1]]]), np.vstack([Zd, empty[:, Zp.shape[1]:]]),
                  customers, np.where(t_x == T, customers, n))


def _design(data: dict[str, Any]) -> tuple[Array, Array]:
    """The covariate matrices (rows × k) of the likelihood's data (k may be 0)."""
    n = len(data["frequency"])
    out = []
    for prefix in ("zp", "zd"):
        k = sum(1 for key in data if key.startswith(prefix))
        out.append(np.column_stack([data[f"{prefix}{i}"] for i in range(k)]) if k else np.zeros((n, 0)))
    return out[0], out[1]


def _tails(r: float, alpha: PerCustomer, s: float, beta: PerCustomer, x: Array, u: Array, end: Array,
           order: int) -> tuple[Array, list[Array], dict[tuple[int, int], Array]]:
    """ln tail(u) = ln ∫_u^end (α+τ)^−(r+x) (β+τ)^−(s+1) dτ and, in y, ∇ ln tail (order ≥ 1) and
    ∇²tail / tail (order 2), per pair.

    tail = Σ_k w_k e^ℓ_k over the nodes, so ∇ ln tail = E_p[∇ℓ] and
    ∇²tail / tail = E_p[∇²ℓ + ∇ℓ∇ℓᵀ], p the nodes' shares of the sum. In y the
    log-integrand's gradient is −(r·ln(α+τ), (r+x)·α/(α+τ), s·ln(β+τ), (s+1)·β/(β+τ)).
    """
    lt = np.empty(len(x))
    grad: list[Array] = [np.empty(len(x)) for _ in range(4)]
    curvature: dict[tuple[int, int], Array] = {(j, k): np.empty(len(x)) for j in range(4) for k in range(j, 4)}
    scale = (r, 1.0, s, s + 1.0)
    for part in _chunks(len(x)):
        a = r + x[part]
        alpha_p, beta_p = _take(alpha, part), _take(beta, part)
        f, A, B, log_A, log_B = _integral_nodes(r, alpha_p, s, beta_p, x[part], u[part], end[part], FIT_NODES)
        lt[part], e, total = _log_sum_exp(f)
        if order == 0:
            continue
        with np.errstate(divide="ignore"):
            p = e * np.where(total > 0, 1.0 / total, 0.0)  # the nodes' shares; none for an empty tail
        F = [log_A, a * (alpha_p / A), log_B, beta_p / B]
        weighted = [p * feature for feature in F]
        mu = [q.sum(axis=0) for q in weighted]
        for j in range(4):
            grad[j][part] = -scale[j] * mu[j]
        if order == 1:
            continue
        second = {(j, k): np.einsum("ij,ij->j", weighted[j], F[k]) for j in range(4) for k in range(j, 4)}
        mean_hessian = {(0, 0): -r * mu[0], (0, 1): -r * mu[1] / a, (1, 1): second[(1, 1)] / a - mu[1],
                        (2, 2): -s * mu[2], (2, 3): -s * mu[3], (3, 3): (s + 1.0) * (second[(3, 3)] - mu[3])}
        for (j, k), moment in second.items():
            curvature[(j, k)][part] = mean_hessian.get((j, k), 0.0) + scale[j] * scale[k] * moment
    return lt, grad, curvature


def _loglik(r: float, alpha: PerCustomer, s: float, beta: PerCustomer, x: Array, t_x: Array, T: Array,
            weights: Array, order: int, x_index: tuple[Array, Array] | None, Zp: Array, Zd: Array,
            pairs: _Pairs, alpha_pair: PerCustomer, beta_pair: PerCustomer) -> Any:
    """The weighted log-likelihood (order 0), with its gradient (1) and Hessian (2) in z.

    Per customer ln L = lnΓ(r+x) − lnΓ(r) + r ln α + s ln β + log(e^D3 + e^D4)
    with the alive term D3 = −(r+x) ln(α+T) − s ln(β+T) and D4 = ln s + ln I.
    Derivatives are taken in y = (ln r, ln α_i, ln s, ln β_i) and mapped to z
    (:func:`_lifted`). Terms of x alone come once per distinct x, the quadrature
    once per distinct (x, time, covariates) pair, whose α and β are ``alpha_pair``
    and ``beta_pair``.
    """
    ux, inv = x_index if x_index is not None else np.unique(x, return_inverse=True)
    wx = np.bincount(inv, weights=weights, minlength=len(ux))
    lt, g_tail, q_tail = _tails(r, alpha_pair, s, beta_pair, pairs.x, pairs.u, pairs.end, order)
    a = r + x
    alpha_T, beta_T = alpha + T, beta + T
    log_aT, log_bT = np.log(alpha_T), np.log(beta_T)
    D3 = -a * log_aT - s * log_bT
    # I = tail(t_x) − tail(T) = tail(t_x)·(1 − e^gap).
    lt_recency = lt[pairs.at_recency]
    same = pairs.at_recency == pairs.at_age  # t_x = T: I = 0 (and both tails may be empty)
    shrink = np.expm1(np.where(same, 0.0, lt[pairs.at_age] - lt_recency))  # e^gap − 1 in [−1, 0]
    D4 = np.log(s) + lt_recency + np.log(-shrink)
    d = D4 - D3
    e = np.exp(-np.abs(d))
    log_alpha, log_beta = np.log(alpha), np.log(beta)
    ll = weighted_sum(wx, gammaln(r + ux) - gammaln(r))  # the terms of x alone, once per distinct x
    # log(e^D3 + e^D4) = D3 + max(d, 0) + log(1 + e^−|d|)
    ll += weighted_sum(weights, r * log_alpha + s * log_beta + D3 + np.maximum(d, 0.0) + np.log1p(e))
    if order == 0:
        return ll
    w4 = np.where(d >= 0, 1.0, e) / (1.0 + e)  # the share of "died in (t_x, T]"
    # ∇ ln I = c1·∇ ln tail(t_x) − c2·∇ ln tail(T) with c1 = tail(t_x)/I and c2 = c1 − 1.
    died = shrink < 0
    c1 = np.where(died, -1.0 / np.where(died, shrink, -1.0), 0.0)
    c2 = np.where(died, c1 - 1.0, 0.0)
    g_I = [c1 * g[pairs.at_recency] - c2 * g[pairs.at_age] for g in g_tail]
    ratio_a, ratio_b = alpha / alpha_T, beta / beta_T
    g3 = [-r * log_aT, -a * ratio_a, -s * log_bT, -s * ratio_b]
    delta = [g_I[0] - g3[0], g_I[1] - g3[1], g_I[2] + 1.0 - g3[2], g_I[3] - g3[3]]
    gC: list[Array | float] = [r * log_alpha, r, s * log_beta, s]  # of r ln α + s ln β
    gy = [c + d3 + w4 * dd for c, d3, dd in zip(gC, g3, delta)]
    grad = _grad_in_z(weights, gy, Zp, Zd)
    psi = weighted_sum(wx, digamma(r + ux) - digamma(r))
    grad[0] += r * psi
    if order == 1:
        return ll, grad
    # Row by row: the second derivatives of r ln α + s ln β (weight 1) and of the alive term (weight 1 − w4),
    alive = weights * (1.0 - w4)
    terms: Terms = {(0, 0): [(weights, r * log_alpha), (alive, -r * log_aT)],
                    (0, 1): [(weights, r), (alive, -r * ratio_a)],
                    (1, 1): [(alive, -a * ratio_a * (T / alpha_T))],
                    (2, 2): [(weights, s * log_beta), (alive, -s * log_bT)],
                    (2, 3): [(weights, s), (alive, -s * ratio_b)],
                    (3, 3): [(alive, -s * ratio_b * (T / beta_T))]}
    # the log-sum-exp of the two terms, w3·w4·δδᵀ, and the part −∇ ln I ∇ ln Iᵀ of ∇² ln I (weight w4).
    # Each group of terms is summed as soon as it is made, in the order of one sum over all of them: the
    # same Hessian without a block's dozens of per-row products alive at once.
    share = weights * w4
    hess = _hess_in_z(terms, Zp, Zd)
    for weight, vectors in ((share * (1.0 - w4), delta), (-share, g_I)):
        terms = {}
        _outer(weight, vectors, terms)
        hess += _hess_in_z(terms, Zp, Zd)
    del terms
    # The rest of ∇² ln I, c1·∇²tail(t_x)/tail(t_x) − c2·∇²tail(T)/tail(T): sums over pairs of the customers'
    # weights.
    n_pairs = len(pairs.x)
    pair_weight = (np.bincount(pairs.at_recency, weights=share * c1, minlength=n_pairs)
                   - np.bincount(pairs.at_age, weights=share * c2, minlength=n_pairs))
    hess += _hess_in_z({key: [(pair_weight, value)] for key, value in q_tail.items()}, pairs.Zp, pairs.Zd)
    hess[0, 0] += r * r * weighted_sum(wx, polygamma(1, r + ux) - polygamma(1, r)) + r * psi
    return ll, grad, hess


def paretonbd_loglik(log_params: Array, x: Array, t_x: Array, T: Array, weights: Array, order: int = 0,
                     x_index: tuple[Array, Array] | None = None, pairs: _Pairs | None = None) -> Any:
    """Weighted Pareto/NBD log-likelihood (FHL 2005, eq. 22) of ``log_params`` = ln(r, α, s, β).

    ``order`` 0 gives the value, 1 also the gradient, 2 also the Hessian, in the
    log-parameters; ``x_index`` is ``np.unique(x, return_inverse=True)`` and
    ``pairs`` the distinct (x, time) pairs when the caller has them.
    """
    r, alpha, s, beta = np.exp(np.asarray(log_params, dtype=float))
    none = np.zeros((len(x), 0))
    pairs = pairs if pairs is not None else _pairs(x, t_x, T, none, none)
    with np.errstate(all="ignore"):
        return _loglik(r, alpha, s, beta, x, t_x, T, weights, order, x_index, none, none, pairs, alpha, beta)


def paretonbd_covariate_loglik(log_params: Array, data: dict[str, Any], weights: Array, order: int = 0) -> Any:
    """Pareto/NBD log-likelihood with per-customer α_i = α·e^(−γ_p′z_p) and β_i = β·e^(−γ_d′z_d).

    ``log_params`` holds ln(r, α, s, β), then γ_p and γ_d; the gradient and
    Hessian (``order`` 1, 2) are in those coordinates.
    """
    (r, alpha, s, beta), purchase, dropout = ParetoNBD._split(log_params, 4, data)
    Zp, Zd = _design(data)
    pairs = data.get("_pairs")
    if pairs is None:
        pairs = _pairs(data["frequency"], data["recency"], data["T"], Zp, Zd)
    gamma_p, gamma_d = log_params[4:4 + Zp.shape[1]], log_params[4 + Zp.shape[1]:]
    with np.errstate(all="ignore"):
        return _loglik(r, alpha / purchase, s, beta / dropout, data["frequency"], data["recency"], data["T"],
                       weights, order, data.get("_x_index"), Zp, Zd, pairs,
                       alpha * np.exp(-np.einsum("ij,j->i", pairs.Zp, gamma_p)),
                       beta * np.exp(-np.einsum("ij,j->i", pairs.Zd, gamma_d)))


# --- predictions -------------------------------------------------------------------------------------


def _alive_pmf(r: float, alpha: PerCustomer, s: float, beta: PerCustomer, x: PerCustomer, T: PerCustomer,
               counts: Array, t: float) -> Array:
    """P(n purchases in (T, T+t] | alive at T) for each row and each n of ``counts``.

    Alive at T, λ ~ Gamma(r+x, α+T) and μ ~ Gamma(s, β+T): the customer stays
    alive through t with probability ((β+T)/(β+T+t))^s and buys an NBD count
    over t, or dies at τ < t (density s(β+T)^s/(β+T+τ)^(s+1)) and buys an NBD
    count over τ. The integral over τ is taken by quadrature, per (row, n).
    """
    x = np.asarray(x, dtype=float)
    if t == 0:
        return np.broadcast_to((counts == 0).astype(float), (len(x), len(counts))).copy()
    a, A, B = (r + x)[:, None], np.asarray(alpha + T)[:, None], np.asarray(beta + T)[:, None]
    n = counts[None, :].astype(float)
    log_nbd_coefficient = gammaln(a + n) - gammaln(a) - gammaln(n + 1.0) + a * np.log(A)
    through = s * (np.log(B) - np.log(B + t)) - a * np.log(A + t) + n * (np.log(t) - np.log(A + t))
    # ∫_0^t τ^n (A+τ)^−(a+n) (B+τ)^−(s+1) dτ for every (row, n), flattened.
    shape = np.broadcast_shapes(a.shape, n.shape)
    a_f, A_f, B_f, n_f = (np.broadcast_to(q, shape).ravel() for q in (a, A, B, n))
    log_J = np.empty(a_f.size)
    for part in _chunks(a_f.size):
        k, p1, Ap, Bp = n_f[part] + 1.0, a_f[part] + n_f[part], A_f[part], B_f[part]
        v, log_w = rule(power_terms(k, p1, Ap, s + 1.0, Bp), np.full(len(k), -np.inf), np.full(len(k), np.log(t)))
        u = np.exp(v)
        log_J[part] = _log_sum_exp(log_w + k * v - p1 * np.log(Ap + u) - (s + 1.0) * np.log(Bp + u))[0]
    died = np.log(s) + s * np.log(B) + log_J.reshape(shape)
    return np.exp(log_nbd_coefficient + np.logaddexp(through, died))


def _log_discounted_lifetime(s: float, c: Array, delta: float, horizon: float) -> Array:
    """ln ∫_0^H e^(−δu) (c/(c+u))^s du for each c > 0, δ > 0 (H may be inf).

    In w = c + u the integrand is c^s e^(δc) · w^−s e^(−δw): log-concave in ln w,
    so the quadrature of :mod:`custvalue.models._quadrature` takes it. This is
    c·U(1, 2−s, δc) for H = ∞ (Fader, Hardie & Lee 2005, "RFM and CLV", eq. 2),
    whose scipy implementation fails for large s and small δc.
    """
    out = np.empty(len(c))
    for part in _chunks(len(c)):
        cp = c[part]
        lo = np.log(cp)
        if np.isinf(horizon):
            hi, width = np.full(len(cp), np.inf), None
        else:
            hi, width = np.log(cp + horizon), np.log1p(horizon / cp)
        v, log_w = rule(discount_terms(1.0 - s, delta), lo, hi, width)
        grown = cp * np.expm1(v - lo)  # w − c, without cancellation
        out[part] = s * lo + _log_sum_exp(log_w + (1.0 - s) * v - delta * grown)[0]
    return out


def _distinct(*columns: PerCustomer) -> tuple[list[PerCustomer], Array]:
    """The distinct rows of the per-row columns (numbers pass through) and each row's index among them."""
    arrays = {f"c{i}": np.asarray(c, dtype=float) for i, c in enumerate(columns) if np.ndim(c)}
    rows, _, inverse = group_rows(pd.DataFrame(arrays))
    out = [rows[f"c{i}"].to_numpy() if np.ndim(c) else c for i, c in enumerate(columns)]
    return out, inverse


def _example() -> tuple[ParetoNBD, pd.DataFrame]:
    """The published CDNOW model and three customers, for the examples."""
    model = ParetoNBD()
    model._set_fitted(ParetoNBD.example_params)
    customers = pd.DataFrame({"frequency": [0.0, 2.0, 26.0], "recency": [0.0, 30.43, 30.86],
                              "T": [38.86, 38.86, 31.0]}, index=pd.Index([1, 2, 3], name="customer_id"))
    return model, customers


class ParetoNBD(CovariateMixin, MLEModel):
    """Pareto/NBD model; parameters ``r, alpha, s, beta``.

    Parameters
    ----------
    penalizer : float, default 0
        L2 penalty: the fit maximises ``mean log-likelihood − penalizer · Σ θ²``.
    engine : {"native", "lifetimes"}, default "native"
        ``"lifetimes"`` fits with lifetimes' ``ParetoNBDFitter`` (for
        cross-checks); log-likelihood, standard errors and predictions are
        still computed here.
    purchase_covariates, dropout_covariates : list of str, optional
        Summary columns that scale each customer's α_i = α·e^(−γ_p′z_p) and
        β_i = β·e^(−γ_d′z_d) (see :mod:`custvalue.models._covariates`).

    Examples
    --------
    >>> import custvalue as cv
    >>> m = cv.models.get("paretonbd").fit(cv.datasets.load_cdnow_summary())
    >>> m.params_.round(2).tolist(), round(m.log_likelihood_, 2)
    ([0.55, 10.58, 0.61, 11.67], -9594.97)
    """

    name = "paretonbd"
    role = Role.PURCHASE
    abilities = frozenset({Ability.P_ALIVE, Ability.CONDITIONAL, Ability.PURCHASE_PROBABILITY,
                           Ability.DISCOUNTING, Ability.NEW_CUSTOMER, Ability.TRANSACTIONS, Ability.SIMULATION,
                           Ability.SCENARIOS, Ability.INTERVALS, Ability.COVARIATES, Ability.WEIGHTED_ROWS})
    param_names = ("r", "alpha", "s", "beta")
    parameter_meaning = {"r": "the purchase rate", "alpha": "the purchase rate", "s": "the dropout rate",
                         "beta": "the dropout rate"}
    example_params = {"r": 0.5532, "alpha": 10.5763, "s": 0.6062, "beta": 11.6715}  # CDNOW, FHL (2005a)
    scenario_knobs = ("purchase_rate", "dropout")
    lifetimes_fitter = "ParetoNBDFitter"
    derivative_order = 2
    # The dozen Newton steps from the starting values run on a subsample of this many customers; the three
    # or four full-data steps after them hardly depend on its size.
    warm_start_rows = 4_000

    def _order(self) -> int:
        """Exact gradient and Hessian with covariates too."""
        return 2

    def loglik(self, log_params: Array, data: dict[str, Any], weights: Array, order: int = 0) -> Any:
        if "_pairs" not in data:  # the same block of rows comes back at every step of the fit
            data["_pairs"] = _pairs(data["frequency"], data["recency"], data["T"], *_design(data))
        if self.has_covariates():
            return paretonbd_covariate_loglik(log_params, data, weights, order)
        return paretonbd_loglik(log_params, data["frequency"], data["recency"], data["T"], weights, order,
                                data.get("_x_index"), data["_pairs"])

    @overload
    def _p(self) -> tuple[float, float, float, float]: ...
    @overload
    def _p(self, summary: pd.DataFrame | None) -> tuple[float, PerCustomer, float, PerCustomer]: ...

    def _p(self, summary: pd.DataFrame | None = None) -> tuple[float, PerCustomer, float, PerCustomer]:
        """(r, α, s, β), per customer of ``summary`` when the model has covariates."""
        r, alpha, s, beta = super()._p()
        if summary is None or not self.has_covariates():
            return r, alpha, s, beta
        purchase, dropout = self.covariate_effects(summary)
        return r, alpha / purchase, s, beta / dropout

    def start_values(self, data: dict[str, Array]) -> list[Array]:
        starts = [1.0, 1.0 / mean_purchase_rate(data), 1.0, float(np.mean(data["T"]))]
        return [np.log(starts), np.zeros(4), np.log([0.5, 10.0, 0.5, 10.0])]

    def _alive_odds(self, summary: pd.DataFrame) -> tuple[Array, Array, Array, tuple]:
        """(x, T, ln of the odds alive : dead at T, parameters) for the customers of ``summary``."""
        x, t_x, T = self._summary_arrays(summary)
        params = self._p(summary)
        alive, died = _log_terms(*params, x, t_x, T)
        with np.errstate(invalid="ignore"):
            return x, T, np.where(np.isneginf(died), np.inf, alive - died), params

    @_quiet
    def p_alive(self, summary: pd.DataFrame, future_t: float = 0.0) -> pd.Series:
        """P(alive at T + ``future_t`` | x, t_x, T).

        P(alive at T) = 1 / (1 + s·I·(α+T)^(r+x) (β+T)^s) (FHL 2005a, eq. 24);
        alive at T the dropout rate is Gamma(s, β+T), so the customer survives a
        further f units with probability ((β+T)/(β+T+f))^s.

        Examples
        --------
        >>> m, customers = _example()
        >>> m.p_alive(customers).round(4).tolist()
        [0.2952, 0.8691, 0.9979]
        >>> m.p_alive(customers, future_t=52).round(4).tolist()
        [0.1922, 0.566, 0.6156]
        """
        future_t = check_number(future_t, "future_t", low=0)
        x, T, odds, (r, alpha, s, beta) = self._alive_odds(summary)
        log_p = -np.logaddexp(0.0, -odds) - s * np.log1p(future_t / (beta + T))
        return pd.Series(np.exp(log_p), index=summary.index, name="p_alive")

    @_quiet
    def expected_purchases(self, summary: pd.DataFrame, t: float) -> pd.Series:
        """E[purchases in (T, T+t] | x, t_x, T] = P(alive)·(r+x)/(α+T)·(β+T)/(s−1)·[1 − ((β+T)/(β+T+t))^(s−1)].

        (FHL 2005a, eq. 27; the limit s → 1 is (β+T)·ln(1 + t/(β+T)).)

        Examples
        --------
        >>> m, customers = _example()
        >>> m.expected_purchases(customers, 52).round(2).tolist()  # R BTYD walkthrough: 25.46 for the third
        [0.14, 1.85, 25.46]
        """
        t = check_number(t, "t", low=0)
        x, T, odds, (r, alpha, s, beta) = self._alive_odds(summary)
        lifetime = (beta + T) * expm1_ratio(s - 1, np.log1p(t / (beta + T)))
        value = expit(odds) * (r + x) / (alpha + T) * lifetime
        return pd.Series(value, index=summary.index, name="expected_purchases")

    @_quiet
    def purchase_probability(self, summary: pd.DataFrame, n: int | Sequence[int],
                             t: float) -> pd.Series | pd.DataFrame:
        """P(exactly n purchases in (T, T+t] | x, t_x, T): a Series for one n, a frame with a column per n.

        Dead at T the count is 0; alive (probability P(alive)), λ ~ Gamma(r+x, α+T)
        and μ ~ Gamma(s, β+T): the customer survives t with probability
        ((β+T)/(β+T+t))^s and buys an NBD(r+x, α+T) count over t, or dies at
        τ < t and buys one over τ (Fader & Hardie 2014, "Deriving the Conditional
        PMF of the Pareto/NBD Model", http://brucehardie.com/notes/028/). The
        integral over τ is taken by quadrature, once per distinct (x, T).
        ``n = 0`` gives P(no purchase).

        Examples
        --------
        >>> m, customers = _example()
        >>> m.purchase_probability(customers, [0, 1, 2], t=10).round(4)
        n                 0       1       2
        customer_id
        1            0.9729  0.0236  0.0030
        2            0.6898  0.2236  0.0653
        3            0.0266  0.0349  0.0578
        """
        listed, single = check_counts(n)
        counts = np.array(listed, dtype=np.int64)
        t = check_number(t, "t", low=0)
        x, T, odds, (r, alpha, s, beta) = self._alive_odds(summary)
        (xu, Tu, au, bu), inverse = _distinct(x, T, alpha, beta)
        with np.errstate(all="ignore"):
            alive = _alive_pmf(r, au, s, bu, xu, Tu, counts, t)[inverse]
        values = expit(odds)[:, None] * alive + expit(-odds)[:, None] * (counts == 0)
        values = np.clip(values, 0.0, 1.0)
        if single:
            return pd.Series(values[:, 0], index=summary.index, name="purchase_probability")
        return pd.DataFrame(values, index=summary.index, columns=pd.Index(listed, name="n"))

    @_quiet
    def discounted_purchases(self, summary: pd.DataFrame, horizon: float, delta: float) -> pd.Series:
        """∫₀^H e^(−δu) dE[X(T+u) | x, t_x, T] = P(alive)·(r+x)/(α+T)·∫₀^H e^(−δu) ((β+T)/(β+T+u))^s du.

        With H = ∞ this is DERT (Fader, Hardie & Lee 2005, "RFM and CLV: Using
        Iso-Value Curves for Customer Base Analysis", JMR 42(4), eq. 2, there in
        closed form with the confluent hypergeometric function U). The integral
        depends on T alone and is taken by quadrature once per distinct T.
        ``delta`` is a continuous rate per unit (an annual rate d over 52 weeks
        is ln(1+d)/52); ``horizon`` may be ``numpy.inf``.

        Examples
        --------
        >>> import numpy as np
        >>> m, customers = _example()
        >>> m.discounted_purchases(customers, 52, 0.01).round(3).tolist()
        [0.108, 1.47, 20.264]
        >>> m.dert(customers, 0.01).round(3).tolist()
        [0.2, 2.725, 36.853]
        """
        horizon = check_number(horizon, "horizon", low=0, finite=False)
        delta = check_number(delta, "delta", low=0)
        x, T, odds, (r, alpha, s, beta) = self._alive_odds(summary)
        if delta > 0:
            (c,), inverse = _distinct(beta + T)
            lifetime = np.exp(_log_discounted_lifetime(s, np.asarray(c), delta, horizon))[inverse]
        elif np.isfinite(horizon):
            lifetime = (beta + T) * expm1_ratio(s - 1, np.log1p(horizon / (beta + T)))
        elif s > 1:
            lifetime = (beta + T) / (s - 1)
        else:
            raise InvalidParameterError(
                f"undiscounted purchases over an infinite horizon are infinite when s <= 1 (s = {s:.4g}): "
                "give a discount rate (e.g. delta=0.01) or a finite horizon")
        value = expit(odds) * (r + x) / (alpha + T) * lifetime
        return pd.Series(value, index=summary.index, name="discounted_purchases")

    @_quiet
    def expected_purchases_new(self, t: float | Array) -> Array | float:
        """E[X(t)] = rβ/(α(s−1)) [1 − (β/(β+t))^(s−1)] for a new customer (FHL 2005a, eq. 17).

        Examples
        --------
        >>> m, _ = _example()
        >>> m.expected_purchases_new([1.0, 52.0]).round(4).tolist()
        [0.051, 1.4736]
        """
        r, alpha, s, beta = self._p()
        t = _times(t)
        value = r / alpha * beta * expm1_ratio(s - 1, np.log1p(t / beta))
        return value if value.ndim else float(value)

    @_quiet
    def probability_of_purchases(self, n: int | Array, t: float) -> Array | float:
        """P(X(t) = n) for a new customer: the conditional probability at x = 0, T = 0.

        Examples
        --------
        >>> m, _ = _example()
        >>> m.probability_of_purchases([0, 1, 2], 39).round(4).tolist()
        [0.5935, 0.1656, 0.0825]
        """
        listed, single = check_counts(n)
        counts = np.array(listed, dtype=np.int64)
        t = check_number(t, "t", low=0)
        r, alpha, s, beta = self._p()
        with np.errstate(all="ignore"):
            value = _alive_pmf(r, np.array([alpha]), s, np.array([beta]), np.zeros(1), np.zeros(1), counts, t)[0]
        return float(value[0]) if single else value

    @_quiet
    def simulate(self, n_customers: int, T: float | Array, seed: int | None = None,
                 covariates: pd.DataFrame | None = None) -> pd.DataFrame:
        """Draw a customer summary from the model, each customer observed for ``T`` units.

        Besides ``frequency``, ``recency`` and ``T``, the column ``alive`` holds
        each customer's true state at T. With covariates, ``covariates`` holds
        their columns, one row per customer, and is joined to the result.

        Examples
        --------
        >>> m, _ = _example()
        >>> m.simulate(3, 39.0, seed=1).columns.tolist()
        ['frequency', 'recency', 'T', 'alive']
        """
        frame = self._simulation_frame(covariates)
        r, alpha, s, beta = self._p(frame)
        rng = np.random.default_rng(seed)
        T = np.broadcast_to(np.asarray(T, dtype=float), (n_customers,)).copy()
        lam = rng.gamma(r, 1 / np.broadcast_to(alpha, (n_customers,)))
        lifetime = rng.exponential(1 / rng.gamma(s, 1 / np.broadcast_to(beta, (n_customers,))))
        observed = np.minimum(lifetime, T)
        out = simulate_summary(rng, lam, observed, np.full(n_customers, np.iinfo(np.int64).max))
        out = out.assign(T=T, alive=lifetime > T)
        return self._with_covariates(out, covariates)

    @_quiet
    def simulate_transactions(self, n_customers: int, T: float | Array, *, unit: str = "W",
                              observation_end: Any = None, spend_model: BaseModel | None = None,
                              seed: int | None = None) -> pd.DataFrame:
        """A transaction log drawn from the model: ``customer_id``, ``date`` and, with a spend model, ``amount``.

        Customer i buys first at ``observation_end − T_i`` (``T`` in ``unit``;
        ``observation_end`` defaults to 2025-01-01, as for the BG/NBD family), then
        as a Poisson process with rate λ_i ~ Gamma(r, α) until an exponential
        lifetime with rate μ_i ~ Gamma(s, β) ends or observation does. Dates are
        exact times (to the microsecond); :func:`custvalue.summarize` counts
        purchases on the same day once. A model with covariates draws customers
        whose covariates are all 0.

        A fitted Gamma-Gamma ``spend_model`` draws a spend scale per customer
        and then every transaction's amount (the first one's too) from it.

        Examples
        --------
        >>> import custvalue as cv
        >>> m, _ = _example()
        >>> gg = cv.models.GammaGamma.from_params(p=6.25, q=3.74, v=15.44)
        >>> log = m.simulate_transactions(2000, 52.0, observation_end="2024-12-31", spend_model=gg, seed=3)
        >>> log.columns.tolist(), log["customer_id"].nunique()
        (['customer_id', 'date', 'amount'], 2000)
        >>> summary = cv.summarize(log, unit="W", observation_end="2024-12-31")
        >>> round(float(summary["frequency"].mean()), 2), round(float(m.expected_purchases_new(52.0)), 2)
        (1.45, 1.47)
        """
        args = log_arguments(n_customers, T, unit, observation_end, spend_model, seed)
        n, T = args.n_customers, args.T
        r, alpha, s, beta = self._p()
        lam = args.rng.gamma(r, 1 / alpha, n)
        lifetime = args.rng.exponential(1 / args.rng.gamma(s, 1 / beta, n))
        observed = np.minimum(lifetime, T)
        repeats = args.rng.poisson(lam * observed)
        owner = np.repeat(np.arange(n), repeats)
        times = args.rng.uniform(0.0, 1.0, len(owner)) * observed[owner]
        return transaction_log(*with_first_purchases(owner, times, n), args)

    def simulate_like(self, data: pd.DataFrame, seed: int | None = None) -> pd.DataFrame:
        """Customers observed for the same T as those of ``data`` (with their covariates), drawn from the model."""
        covariates = data[self.required_columns()[3:]].reset_index(drop=True) if self.has_covariates() else None
        return self.simulate(len(data), data["T"].to_numpy(dtype=float), seed=seed, covariates=covariates)

    def sample(self, n_customers: int, seed: int | None = None) -> pd.DataFrame:
        """A summary of ``n_customers`` customers acquired over 78 weeks (a day grid), drawn from the model."""
        rng = np.random.default_rng(seed)
        out = self.simulate(n_customers, observation_times(rng, n_customers), seed=int(rng.integers(2**31)))
        return out.assign(recency=np.round(out["recency"] * 7) / 7)

    def scenario(self, **knobs: float) -> BaseModel:
        """Purchases if customers bought ``purchase_rate`` times as fast and dropped out ``dropout`` times
        as fast: lifetimes run in calendar time, so purchase rate × c gives c·E(t) and dropout × k gives
        the expected alive time E(k·t)/k."""
        k = self._check_knobs(knobs, {"purchase_rate": 1.0, "dropout": 1.0})
        return ScaledPurchases(self, time_scale=k["dropout"], value_scale=k["purchase_rate"] / k["dropout"])


def _times(t: object, name: str = "t") -> Array:
    """Times as a float array (or 0-d), finite and ≥ 0, or a clear error."""
    try:
        values = np.asarray(t, dtype=float)
    except (TypeError, ValueError):
        raise invalid(name, t, "it must be a number or an array of numbers >= 0") from None
    if isinstance(t, bool | str) or not np.all(np.isfinite(values)) or np.any(values < 0):
        raise invalid(name, t, "it must be a number or an array of numbers >= 0, all finite")
    return values


