"""Sums of beta-geometric survival probabilities, plain and discounted, for any parameter value.

A customer who dies before each period with probability θ ~ Beta(a, b) is
still alive k periods on with probability E[(1−θ)^k] = B(a, b+k)/B(a, b).
BG/BB (expected and discounted transactions) and sBG (residual lifetime)
both need sums of these over k. The textbook closed forms divide by a − 1
(undefined at a = 1) and use 2F1(1, ·; ·; z) at z near 1 (where scipy's
hyp2f1 returns NaN for large arguments); these forms have neither problem.
"""

from __future__ import annotations

import warnings

import numpy as np
from scipy.special import betaln

# Terms summed one by one before Euler-Maclaurin takes over (its remainder is then below 1e-16).
_EXACT_TERMS = 64
# Below this first beta parameter, expectations are taken under Beta(a+1, b) instead (see inverse_shifted_mean).
_SINGULAR = 0.5

def log_survival(a: float, b: np.ndarray | float, k: int) -> np.ndarray:
    """ln E[(1−θ)^k] = ln B(a, b+k) − ln B(a, b) for θ ~ Beta(a, b) and a whole k ≥ 0.

    Taken as −a·Q (see :func:`_mean_gap`) rather than as a difference of
    log-beta functions, which loses ~1e-10 when b is large or a tiny.
    """
    b = np.asarray(b, dtype=float)
    if k == 0:
        return np.zeros_like(b)
    return np.asarray(-a * _mean_gap(b, a, int(k)))


def _log1p_ratio(u: np.ndarray) -> np.ndarray:
    """ln(1+u)/u, 1 at u = 0, accurate for small u."""
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(np.abs(u) < 1e-4, 1 - u / 2 + u * u / 3 - u**3 / 4, np.log1p(u) / np.where(u == 0, 1, u))


def _mean_gap(c: np.ndarray, eps: float, t: int) -> np.ndarray:
    """Q = [h(c+ε) − h(c)]/ε with h(y) = lnΓ(y+t) − lnΓ(y), for a whole t ≥ 1 (Q = ψ(c+t) − ψ(c) at ε = 0).

    Q = Σ_{j<t} f(c+j) with f(y) = ln(1 + ε/y)/ε, a sum of positive terms: the first 64 are added as
    they are, the rest by Euler-Maclaurin with the exact antiderivative L(ε/y) + ln(y+ε), L(u) = ln(1+u)/u.
    Differencing log-gammas instead loses everything when c is large next to t (Q ~ t/c).
    """
    c = np.asarray(c, dtype=float)
    head = min(t, _EXACT_TERMS)
    y = c[..., None] + np.arange(head)
    total = np.sum(_log1p_ratio(eps / y) / y, axis=-1)
    if t <= head:
        return total

    def f(y: np.ndarray) -> np.ndarray:
        return _log1p_ratio(eps / y) / y

    def d1(y: np.ndarray) -> np.ndarray:
        return -1.0 / (y * (y + eps))

    def d3(y: np.ndarray) -> np.ndarray:
        return -2.0 * (3 * y * y + 3 * y * eps + eps * eps) / (y**3 * (y + eps) ** 3)

    lo, hi = c + head, c + (t - 1)
    integral = (_log1p_ratio(eps / hi) - _log1p_ratio(eps / lo)) + np.log1p((hi - lo) / (lo + eps))
    return total + integral + (f(lo) + f(hi)) / 2 + (d1(hi) - d1(lo)) / 12 - (d3(hi) - d3(lo)) / 720


def log_survival_sum(a: float, b: np.ndarray | float, t: float) -> np.ndarray:
    """ln Σ_{k=1}^{t} E[(1−θ)^k] for θ ~ Beta(a, b) and a whole t ≥ 1 (``np.inf`` when a > 1).

    Telescoping gives ``b (1 − e^(−εQ))/ε`` with ε = a − 1 and Q the mean of
    ψ(y+t) − ψ(y) over y in [b+1, b+a] (see :func:`_mean_gap`): at a = 1 it is
    b·Q, the limit of FHS (2010) eq. 7's ``δ/(γ−1)·[1 − ...]``, and every
    factor stays positive.
    """
    b = np.asarray(b, dtype=float)
    eps = float(a) - 1.0
    if np.isinf(t):
        return np.log(b) - np.log(eps)  # only defined for a > 1; callers check
    Q = _mean_gap(b + 1.0, eps, int(t))
    x = eps * Q
    # ln[(1 − e^−x)/x] = max(−x, 0) + ln(1 − e^−|x|) − ln|x|: no overflow for either sign, −x/2 near 0.
    with np.errstate(divide="ignore", invalid="ignore"):
        small = np.abs(x) < 1e-8
        size = np.where(small, 1.0, np.abs(x))
        log_ratio = np.where(small, -x / 2, np.maximum(-x, 0.0) + np.log(-np.expm1(-size)) - np.log(size))
    return np.log(b) + np.log(Q) + log_ratio


def inverse_shifted_mean(a: float, b: float, d: float) -> float:
    """E[1/(d + θ)] for θ ~ Beta(a, b) and d ≥ 0 (inf when d = 0 and a ≤ 1).

    The integral form of the hypergeometric term in FHS (2010) eq. 14 and in
    Fader & Hardie (2010) eq. 6, evaluated by adaptive quadrature with break
    points at the bulk of the beta density (accurate to ~1e-11 relative;
    scipy's 2F1 fails near z = 1 for large parameters).
    """
    from scipy import integrate

    if d == 0:
        return (a + b - 1) / (a - 1) if a > 1 else np.inf
    if a < _SINGULAR:
        # θ^(a−1) puts mass too close to 0 for quadrature; E[1/(d+θ)] = (1 − E[θ/(d+θ)])/d and
        # E[θ/(d+θ)] = a/(a+b)·E[1/(d+θ)] under Beta(a+1, b), whose density is bounded.
        return float((1.0 - a / (a + b) * inverse_shifted_mean(a + 1.0, b, d)) / d)
    log_norm = betaln(a, b)

    def density_over_shift(theta: float) -> float:
        return float(np.exp((a - 1) * np.log(theta) + (b - 1) * np.log1p(-theta) - log_norm) / (d + theta))

    # Break points at the mean ± doubling multiples of the density's scale (its sd, or 1/(a+b) for the
    # exponential-like tail of a small a), so that no stretch of mass hides between two of quad's nodes.
    mean = a / (a + b)
    scale = max(float(np.sqrt(a * b / ((a + b) ** 2 * (a + b + 1)))), 1.0 / (a + b))
    offsets = scale * 2.0 ** np.arange(-2, 64)
    candidates = np.concatenate([[mean, min(d, 0.5)], mean + offsets, mean - offsets])
    points = np.unique(candidates[(candidates > 0) & (candidates < 1)])
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")  # quad reports reaching 1e-12 only approximately; the result is exact enough
        value = integrate.quad(density_over_shift, 0.0, 1.0, points=points, epsabs=0.0, epsrel=1e-12,
                               limit=50 * (len(points) + 1))[0]
    return float(value)


def log_discounted_survival_sum(a: float, b: np.ndarray, delta: float, horizon: float) -> np.ndarray:
    """ln Σ_{k=1}^{horizon} e^(−δk) E[(1−θ)^k] for θ ~ Beta(a, b), δ ≥ 0, a whole horizon or ``np.inf``.

    Infinite: E[(1−θ)/(d+θ)] with d = e^δ − 1, that is b/(a+b)·E[1/(d+θ)] under
    Beta(a, b+1) (FHS 2010, eq. 14, in integral form). Finite: the sum itself,
    term by term, up to 10,000 terms; beyond, the infinite sum less its tail
    from the horizon on. Computed once per distinct b.
    """
    b = np.asarray(b, dtype=float)
    unique, inverse = np.unique(b, return_inverse=True)
    out = np.empty(len(unique))
    for i, bi in enumerate(unique):
        out[i] = _log_discounted_one(a, float(bi), delta, horizon)
    return out[inverse].reshape(b.shape)


def _log_infinite(a: float, b: float, delta: float) -> float:
    d = float(np.expm1(delta))
    return float(np.log(b) - np.log(a + b) + np.log(inverse_shifted_mean(a, b + 1, d)))


def _log_discounted_one(a: float, b: float, delta: float, horizon: float) -> float:
    if delta == 0:
        return float(log_survival_sum(a, b, horizon))
    if np.isinf(horizon):
        return _log_infinite(a, b, delta)
    if horizon <= 10_000:
        k = np.arange(1.0, horizon + 1)
        # ln E[(1−θ)^k] = Σ_{i<k} ln((b+i)/(a+b+i)), accumulated term by term.
        logs = -delta * k + np.cumsum(-np.log1p(a / (b + k - 1)))
        top = float(np.max(logs))
        with np.errstate(under="ignore"):
            return top + float(np.log(np.sum(np.exp(logs - top))))
    # Σ_{k≤H} = Σ_{k≥1} − e^(−δH) S(H) Σ_{k≥1} e^(−δk) S_{b+H}(k), the tail being a fraction of the whole.
    whole = _log_infinite(a, b, delta)
    tail = -delta * horizon + float(log_survival(a, b, int(horizon))) + _log_infinite(a, b + horizon, delta)
    with np.errstate(under="ignore"):
        return whole + float(np.log(-np.expm1(min(tail - whole, 0.0))))
