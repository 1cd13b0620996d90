"""Pieces shared by the NBD-based models (BG/NBD, MBG/NBD, Pareto/NBD)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

import numpy as np
from scipy.special import digamma, gammaln, polygamma

if TYPE_CHECKING:
    import pandas as pd

    from custvalue.models._mle import LogLikValue

#: Gradient entries and Hessian entries {(i, j): ...} of a likelihood term: arrays or plain numbers.
Gradient = Sequence[np.ndarray | float]
Hessian = Mapping[tuple[int, int], np.ndarray | float]


def x_terms(shift: float, unique_x: np.ndarray, order: int = 1) -> tuple[np.ndarray, ...]:
    """lnΓ(shift + x), ψ(shift + x) and, for order 2, ψ'(shift + x), for each distinct x.

    They depend on x alone, so they are computed once per distinct purchase
    count and gathered for every customer.
    """
    values = shift + unique_x
    if order == 2:
        return gammaln(values), digamma(values), polygamma(1, values)
    return gammaln(values), digamma(values)


def nbd_pmf_terms(r: float, alpha: float, n: np.ndarray, t: float) -> tuple[np.ndarray, np.ndarray]:
    """log NBD(n; r, α, t) and the tail P(N(t) ≥ n) = 1 − Σ_{j<n} NBD(j) for the gamma-Poisson count."""
    n = np.asarray(n, dtype=float)
    log_p0 = r * (np.log(alpha) - np.log(alpha + t))
    log_q = np.log(t) - np.log(alpha + t) if t > 0 else -np.inf
    log_nbd = gammaln(r + n) - gammaln(r) - gammaln(n + 1) + log_p0 + np.where(n > 0, n * log_q, 0.0)
    top = int(np.max(n)) if n.size else 0
    j = np.arange(max(top, 1))
    pmf = np.exp(gammaln(r + j) - gammaln(r) - gammaln(j + 1) + log_p0 + np.where(j > 0, j * log_q, 0.0))
    cumulative = np.concatenate([[0.0], np.cumsum(pmf)])  # cumulative[k] = Σ_{j<k}
    tail = 1.0 - cumulative[np.clip(n.astype(int), 0, len(cumulative) - 1)]
    return log_nbd, np.clip(tail, 0.0, 1.0)


def mean_purchase_rate(data: dict[str, np.ndarray]) -> float:
    """Repeat purchases per unit of time across customers: the scale of a sensible starting α."""
    return max(float(np.mean(data["frequency"])) / max(float(np.mean(data["T"])), 1e-9), 1e-3)


def simulate_summary(rng: np.random.Generator, lam: np.ndarray, T: np.ndarray, cap: np.ndarray) -> pd.DataFrame:
    """Summary rows of Poisson(λ) buyers observed on (0, T] who stop after ``cap`` repeat purchases.

    With N purchases of the unstopped process in (0, T], the customer makes
    x = min(N, cap) of them, and the x-th of N uniform arrival times is
    T·Beta(x, N − x + 1).
    """
    import pandas as pd

    n = rng.poisson(lam * T)
    x = np.minimum(n, cap)
    t_x = np.where(x > 0, T * rng.beta(np.maximum(x, 1), np.maximum(n - x + 1, 1)), 0.0)
    return pd.DataFrame({"frequency": x.astype(float), "recency": t_x, "T": np.asarray(T, dtype=float)},
                        index=pd.RangeIndex(len(x), name="customer_id"))


def observation_times(rng: np.random.Generator, n: int) -> np.ndarray:
    """Times from first purchase to observation end of ``n`` customers acquired over a year and a half,
    in weeks on a day grid (the shape of CDNOW): for models' ``sample``."""
    return rng.integers(14, 546, n) / 7.0


def softplus(d: np.ndarray) -> np.ndarray:
    """log(1 + e^d), stable for any d (several times faster than np.logaddexp(0, d))."""
    return np.maximum(d, 0.0) + np.log1p(np.exp(-np.abs(d)))


def two_term_loglik(theta: np.ndarray, x_weights: np.ndarray, C: np.ndarray, grad_C: Gradient, hess_C: Hessian,
                    weights: np.ndarray, D3: np.ndarray, grad_3: Gradient, hess_3: Hessian,
                    D4: np.ndarray, grad_4: Gradient, hess_4: Hessian, order: int) -> LogLikValue:
    """Weighted log-likelihood of rows ``ll_i = C(x_i) + log(e^D3_i + e^D4_i)`` and its log-space derivatives.

    BG/NBD and MBG/NBD share this shape. ``C`` and its derivatives depend on
    the purchase count alone, so they come per distinct x with ``x_weights``
    (the total weight of the rows with that x); the ``D`` terms come per row.
    Each gradient is a list (one entry per parameter) and each Hessian a dict
    {(i, j): ...} for i <= j (missing pairs are zero); entries are arrays or
    plain numbers. With ``w4 = e^D4 / (e^D3 + e^D4)`` and ``w3 = 1 − w4``, the
    Hessian of the log-sum-exp is ``w3 H3 + w4 H4 + w3 w4 (g4 − g3)(g4 − g3)ᵀ``.
    ``order`` is 0 for ll, 1 for (ll, gradient) and 2 for (ll, gradient,
    Hessian), all with respect to log θ.
    """
    # Clipping at ±700 changes nothing representable (e^-700 ~ 1e-304) but keeps exp() off the
    # denormal and infinite inputs it handles many times slower.
    d = np.clip(D4 - D3, -700.0, 700.0)
    with np.errstate(invalid="ignore", over="ignore"):
        ll = float(np.dot(x_weights, C)) + float(np.dot(weights, D3 + softplus(d)))
        if order == 0:
            return ll
        w4 = 1.0 / (1.0 + np.exp(-d))
    n = len(d)
    w_4 = weights * w4

    def rows(entries: Gradient, length: int = n) -> np.ndarray:
        """Entries (arrays or numbers) as a (len(entries), length) matrix."""
        return np.vstack([np.broadcast_to(np.asarray(e, dtype=float), (length,)) for e in entries])

    # w3·g3 + w4·g4 = g3 + w4·(g4 − g3): two matrix-vector products instead of a loop of dot products.
    G3 = rows(grad_3)
    diff = rows(grad_4) - G3
    g = rows(grad_C, len(x_weights)) @ x_weights + G3 @ weights + diff @ w_4
    grad_z = theta * g
    if order == 1:
        return ll, grad_z
    H = (diff * (w_4 * (1.0 - w4))) @ diff.T  # Σ w3·w4 (g4 − g3)(g4 − g3)ᵀ
    for (i, j), value in hess_C.items():
        H[i, j] += float(np.dot(x_weights, np.broadcast_to(value, x_weights.shape)))
    for terms, w in ((hess_3, weights), (hess_4, w_4)):
        for (i, j), value in terms.items():
            H[i, j] += float(np.dot(w, np.broadcast_to(value, w.shape)))
    # hess_3 enters with weight w3 = 1 − w4: subtract its w4 share.
    for (i, j), value in hess_3.items():
        H[i, j] -= float(np.dot(w_4, np.broadcast_to(value, w_4.shape)))
    H = np.triu(H) + np.triu(H, 1).T
    hess_z = np.outer(theta, theta) * H + np.diag(grad_z)
    return ll, grad_z, hess_z
