"""Shifted-beta-geometric (sBG) model of contract renewals (Fader & Hardie 2007).

In a contractual or subscription setting each customer renews every period
with probability 1 − θ until they cancel; θ ~ Beta(α, β) across customers.
Fitted to one cohort's survivor counts, it projects survival and retention
and values an active customer by their expected residual lifetime.

Reference: P. S. Fader and B. G. S. Hardie (2007), "How to Project Customer
Retention", Journal of Interactive Marketing 21(1), 76-90; residual lifetime
from Fader & Hardie (2010), "Customer-Base Valuation in a Contractual Setting:
The Perils of Ignoring Heterogeneity", Marketing Science 29(1), 85-93.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from scipy.special import betaln, hyp2f1

from custvalue.errors import InvalidParameterError, SchemaError
from custvalue.models._base import Ability, MLEModel, Role


def sbg_loglik(log_params: np.ndarray, period: np.ndarray, censored: np.ndarray, weights: np.ndarray) -> float:
    """Weighted sBG log-likelihood (Fader & Hardie 2007, eq. 6).

    A customer who cancels in period t contributes P(T = t) = B(α+1, β+t−1)/B(α, β);
    one still active after period t contributes S(t) = B(α, β+t)/B(α, β).
    """
    alpha, beta = np.exp(log_params)
    churn = betaln(alpha + 1, beta + period - 1)
    survive = betaln(alpha, beta + period)
    return float(np.dot(weights, np.where(censored > 0, survive, churn) - betaln(alpha, beta)))


class ShiftedBetaGeometric(MLEModel):
    """sBG model of renewals; parameters ``alpha, beta``.

    Fit it on one cohort's survivors: the number of customers still active at
    the start (period 0) and after each period.

    Examples
    --------
    >>> import custvalue as cv
    >>> regular = [1000, 631, 468, 382, 326, 289, 262, 241]   # Fader & Hardie (2007)
    >>> m = cv.models.get("sbg").fit(regular)
    >>> m.params_.round(3).tolist(), round(m.log_likelihood_, 2)
    ([0.704, 1.182], -1680.27)
    >>> m.project_survivors(12, cohort_size=1000).loc[8:12].round().tolist()
    [220.0, 204.0, 191.0, 180.0, 170.0]
    """

    name = "sbg"
    role = Role.CONTRACTUAL
    abilities = frozenset({Ability.SIMULATION, Ability.INTERVALS})
    param_names = ("alpha", "beta")
    example_params = {"alpha": 0.704, "beta": 1.182}  # "regular" cohort, Fader & Hardie (2007)
    columns = ("survivors",)
    derivative_order = 0

    def loglik(self, log_params: np.ndarray, data: dict[str, np.ndarray], weights: np.ndarray,
               order: int = 0) -> float:
        return sbg_loglik(log_params, data["period"], data["censored"], weights)

    def start_values(self, data: dict[str, np.ndarray]) -> list[np.ndarray]:
        return [np.zeros(2), np.log([0.5, 2.0]), np.log([2.0, 5.0])]

    def _fit_data(
        self, summary: pd.DataFrame, weights: np.ndarray | None
    ) -> tuple[dict[str, np.ndarray], np.ndarray | None]:
        survivors = survivor_counts(summary)
        periods = np.arange(1, len(survivors))
        churned = survivors[:-1] - survivors[1:]
        data = {"period": np.append(periods, periods[-1]).astype(float),
                "censored": np.append(np.zeros(len(periods)), 1.0)}
        return data, np.append(churned, survivors[-1]).astype(float)

    def fit(self, summary: Any, weights: np.ndarray | pd.Series | str | None = None) -> ShiftedBetaGeometric:
        """Fit on one cohort's survivor counts (a list, array, Series, or a frame with ``survivors``)."""
        if weights is not None:
            raise InvalidParameterError("sBG takes survivor counts; weights do not apply")
        super().fit(summary if isinstance(summary, pd.DataFrame) else
                    pd.DataFrame({"survivors": survivor_counts(summary)}))
        return self

    def survival(self, t: int | np.ndarray) -> np.ndarray:
        """S(t) = B(α, β+t)/B(α, β): the share of a cohort still active after t periods."""
        alpha, beta = self._p()
        t = np.asarray(t, dtype=float)
        return np.exp(betaln(alpha, beta + t) - betaln(alpha, beta))

    def retention_rate(self, t: int | np.ndarray) -> np.ndarray:
        """r(t) = S(t)/S(t−1) = (β+t−1)/(α+β+t−1): retention in period t, rising with tenure."""
        alpha, beta = self._p()
        t = np.asarray(t, dtype=float)
        return (beta + t - 1) / (alpha + beta + t - 1)

    def project_survivors(self, periods: int, cohort_size: float = 1.0) -> pd.Series:
        """Expected survivors after 0..periods periods of a cohort of ``cohort_size``."""
        t = np.arange(periods + 1)
        return pd.Series(cohort_size * self.survival(t), index=pd.Index(t, name="period"), name="survivors")

    def residual_lifetime(self, periods_survived: int | np.ndarray, discount_rate: float = 0.0) -> np.ndarray:
        """Expected number of further renewals of a customer active after ``periods_survived`` periods.

        Given survival through n periods, θ ~ Beta(α, β+n); each further
        renewal counts (1+d)^−k at its k-th period ahead:
        ``q·(β+n)/(α+β+n) · 2F1(1, β+n+1; α+β+n+1; q)`` with q = 1/(1+d)
        (Fader & Hardie 2010). Undiscounted it is (β+n)/(α−1), infinite when α ≤ 1.
        """
        alpha, beta = self._p()
        n = np.asarray(periods_survived, dtype=float)
        if discount_rate < 0:
            raise InvalidParameterError(f"discount_rate must be >= 0, got {discount_rate}")
        if discount_rate == 0:
            return np.where(alpha > 1, (beta + n) / max(alpha - 1, 1e-300), np.inf)
        q = 1.0 / (1.0 + discount_rate)
        return q * (beta + n) / (alpha + beta + n) * hyp2f1(1.0, beta + n + 1, alpha + beta + n + 1, q)

    def simulate(self, n_customers: int, periods: int, seed: int | None = None) -> np.ndarray:
        """Survivor counts of a simulated cohort over ``periods`` periods."""
        alpha, beta = self._p()
        rng = np.random.default_rng(seed)
        lifetimes = rng.geometric(rng.beta(alpha, beta, n_customers))  # the period of cancellation
        return np.array([(lifetimes > t).sum() for t in range(periods + 1)])

    def simulate_like(self, data: Any, seed: int | None = None) -> np.ndarray:
        """Survivor counts of a cohort of the size and length of the counts ``data``, drawn from the model."""
        counts = survivor_counts(data)
        return self.simulate(int(counts[0]), len(counts) - 1, seed=seed)

    def sample(self, n_customers: int, seed: int | None = None) -> np.ndarray:
        """Survivor counts over eight periods of a cohort of ``n_customers``, drawn from the model."""
        return self.simulate(n_customers, 8, seed=seed)


def survivor_counts(data: Any) -> np.ndarray:
    """Survivor counts as whole, non-increasing, non-negative numbers, or a clear error."""
    if isinstance(data, pd.DataFrame):
        if "survivors" not in data.columns:
            raise SchemaError("sBG needs a 'survivors' column (customers active at the start and after each period)")
        data = data["survivors"]
    counts = np.asarray(data, dtype=float)
    if counts.ndim != 1 or len(counts) < 2:
        raise SchemaError("sBG needs at least two survivor counts: the cohort size and after period 1")
    if np.any(~np.isfinite(counts)) or np.any(counts < 0) or np.any(counts != np.floor(counts)):
        raise SchemaError(f"survivor counts must be whole numbers >= 0, got {counts.tolist()}")
    if np.any(np.diff(counts) > 0):
        raise SchemaError(f"survivor counts cannot increase over time, got {counts.tolist()}")
    return counts
