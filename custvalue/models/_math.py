"""Small numerically careful helpers shared by the models."""

from __future__ import annotations

import numpy as np

from custvalue.errors import InvalidParameterError


def logistic_neg(log_odds: np.ndarray) -> np.ndarray:
    """1 / (1 + exp(log_odds)) without overflow."""
    return np.exp(-np.logaddexp(0.0, log_odds))


def log1mexp(d: np.ndarray) -> np.ndarray:
    """log(1 − exp(d)) for d ≤ 0, accurate near 0 and for very negative d."""
    d = np.minimum(d, 0.0)
    with np.errstate(divide="ignore"):
        return np.where(d > -0.6931, np.log(-np.expm1(d)), np.log1p(-np.exp(d)))


def expm1_ratio(k: float, L: np.ndarray) -> np.ndarray:
    """(1 − exp(−k L)) / k, which tends to L as k → 0 (used where a model parameter minus one can be 0)."""
    if abs(k) < 1e-10:
        return np.asarray(L, dtype=float)
    return -np.expm1(-k * L) / k


def check_horizon(t: float) -> float:
    """A prediction horizon as a float ≥ 0, or a clear error."""
    try:
        value = float(t)
    except (TypeError, ValueError):
        raise InvalidParameterError(f"the horizon t must be a number, got {t!r}") from None
    if not np.isfinite(value) or value < 0:
        raise InvalidParameterError(f"the horizon t must be a finite number >= 0, got {t!r}")
    return value
