"""Pieces shared by the NBD-based models (BG/NBD, MBG/NBD, Pareto/NBD)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
from scipy.special import gammaln

if TYPE_CHECKING:
    import pandas as pd


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
