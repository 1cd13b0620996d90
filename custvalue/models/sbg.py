"""Shifted-beta-geometric (sBG) model of contract renewals (Fader & Hardie 2007).

In a contractual or subscription setting each customer renews every period
with probability 1 − θ until they cancel; θ ~ Beta(α, β) across customers.
Fitted to one cohort's survivor counts, it projects survival and retention
and values an active customer by their expected residual lifetime.

Reference: P. S. Fader and B. G. S. Hardie (2007), "How to Project Customer
Retention", Journal of Interactive Marketing 21(1), 76-90; discounted
expected residual lifetime from Fader & Hardie (2010), "Customer-Base
Valuation in a Contractual Setting: The Perils of Ignoring Heterogeneity",
Marketing Science 29(1), 85-93, eq. (6).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from scipy.special import betaln

from custvalue.checks import check_bool, check_int, check_number, invalid
from custvalue.errors import InvalidParameterError, SchemaError
from custvalue.models._base import Ability, MLEModel, Role
from custvalue.models._beta_geometric import log_discounted_survival_sum, log_survival_sum
from custvalue.models._weighted import wdot


def sbg_loglik(log_params: np.ndarray, period: np.ndarray, censored: np.ndarray, weights: np.ndarray) -> float:
    """Weighted sBG log-likelihood (Fader & Hardie 2007, eq. 6).

    A customer who cancels in period t contributes P(T = t) = B(α+1, β+t−1)/B(α, β);
    one still active after period t contributes S(t) = B(α, β+t)/B(α, β).
    """
    alpha, beta = np.exp(log_params)
    churn = betaln(alpha + 1, beta + period - 1)
    survive = betaln(alpha, beta + period)
    return wdot(weights, np.where(censored > 0, survive, churn) - betaln(alpha, beta))


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
    parameter_meaning = {"alpha": "the churn probability", "beta": "the churn probability"}
    example_params = {"alpha": 0.704, "beta": 1.182}  # "regular" cohort, Fader & Hardie (2007)
    columns = ("survivors",)
    derivative_order = 0

    def loglik(self, log_params: np.ndarray, data: dict[str, Any], weights: np.ndarray,
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
        """S(t) = B(α, β+t)/B(α, β): the share of a cohort still active after t periods.

        Examples
        --------
        >>> from custvalue.models import ShiftedBetaGeometric
        >>> ShiftedBetaGeometric.from_params(alpha=0.704, beta=1.182).survival([1, 7]).round(3).tolist()
        [0.627, 0.239]
        """
        alpha, beta = self._p()
        t = np.asarray(t, dtype=float)
        return np.exp(betaln(alpha, beta + t) - betaln(alpha, beta))

    def retention_rate(self, t: int | np.ndarray) -> np.ndarray:
        """r(t) = S(t)/S(t−1) = (β+t−1)/(α+β+t−1): retention in period t, rising with tenure.

        Examples
        --------
        >>> from custvalue.models import ShiftedBetaGeometric
        >>> ShiftedBetaGeometric.from_params(alpha=0.704, beta=1.182).retention_rate([1, 7]).round(3).tolist()
        [0.627, 0.911]
        """
        alpha, beta = self._p()
        t = np.asarray(t, dtype=float)
        return (beta + t - 1) / (alpha + beta + t - 1)

    def project_survivors(self, periods: int, cohort_size: float = 1.0) -> pd.Series:
        """Expected survivors after 0..periods periods of a cohort of ``cohort_size``.

        Examples
        --------
        >>> from custvalue.models import ShiftedBetaGeometric
        >>> m = ShiftedBetaGeometric.from_params(alpha=0.704, beta=1.182)   # "regular", Fader & Hardie (2007)
        >>> m.project_survivors(3, cohort_size=1000).round().tolist()
        [1000.0, 627.0, 474.0, 388.0]
        """
        periods = check_int(periods, "periods", low=0)
        cohort_size = check_number(cohort_size, "cohort_size", low=0)
        t = np.arange(periods + 1)
        return pd.Series(cohort_size * self.survival(t), index=pd.Index(t, name="period"), name="survivors")

    def residual_lifetime(self, periods_survived: int | np.ndarray, discount_rate: float = 0.0, *,
                          discount_first: bool = False) -> np.ndarray | float:
        """Discounted expected residual lifetime (DERL, Fader & Hardie 2010, eq. 6): the expected number of
        further renewals of a customer who has renewed ``periods_survived`` times (is active after that many
        periods; the paper's n − 1), each one k periods after the next discounted by (1 + d)^−k.

        Given the renewals so far, θ ~ Beta(α, β+n), and
        ``DERL = Σ_{k≥0} E[(1−θ)^(k+1)] / (1+d)^k = (β+n)/(α+β+n) · 2F1(1, β+n+1; α+β+n+1; 1/(1+d))``:
        the next renewal, due now, counts in full. ``discount_first=True``
        discounts it by one period too (payments at the end of each period),
        which divides DERL by 1 + d. Without discounting DERL is (β+n)/(α−1),
        infinite when α ≤ 1 (then a discount rate is required). The
        hypergeometric term is evaluated in its integral form (scipy's 2F1
        fails near 1/(1+d) = 1 for large β+n).

        Examples
        --------
        >>> from custvalue.models import ShiftedBetaGeometric
        >>> high_end = ShiftedBetaGeometric.from_params(alpha=0.668, beta=3.806)   # Fader & Hardie (2007)
        >>> round(high_end.residual_lifetime(7, discount_rate=0.1), 2)
        7.53
        >>> round(high_end.residual_lifetime(7, discount_rate=0.1, discount_first=True), 2)
        6.85
        """
        alpha, beta = self._p()
        n = np.asarray(periods_survived, dtype=float)
        if not np.all(np.isfinite(n)) or np.any(n < 0) or np.any(n != np.floor(n)):
            raise invalid("periods_survived", periods_survived, "renewals so far must be whole numbers >= 0")
        d = check_number(discount_rate, "discount_rate", low=0)
        first = check_bool(discount_first, "discount_first")
        if d == 0 and alpha <= 1:
            raise InvalidParameterError(
                f"with alpha = {alpha:.4g} <= 1 the expected residual lifetime is infinite without discounting; "
                "pass a discount rate, e.g. residual_lifetime(n, discount_rate=0.1)")
        if d == 0:
            value = np.exp(log_survival_sum(alpha, beta + n, np.inf))
        else:
            value = (1 + d) * np.exp(log_discounted_survival_sum(alpha, beta + n, float(np.log1p(d)), np.inf))
        value = value / (1 + d) if first else value
        return float(value) if value.ndim == 0 else value

    def simulate(self, n_customers: int, periods: int, seed: int | None = None) -> np.ndarray:
        """Survivor counts of a simulated cohort over ``periods`` periods.

        Examples
        --------
        >>> from custvalue.models import ShiftedBetaGeometric
        >>> counts = ShiftedBetaGeometric.from_params(alpha=0.704, beta=1.182).simulate(1000, 3, seed=0)
        >>> int(counts[0]), bool((counts[1:] <= counts[:-1]).all())
        (1000, True)
        """
        n_customers = check_int(n_customers, "n_customers", low=0)
        periods = check_int(periods, "periods", low=0)
        alpha, beta = self._p()
        rng = np.random.default_rng(None if seed is None else check_int(seed, "seed", low=0))
        lifetimes = rng.geometric(rng.beta(alpha, beta, n_customers))  # the period of cancellation
        return np.array([(lifetimes > t).sum() for t in range(periods + 1)])

    def simulate_like(self, data: Any, seed: int | None = None) -> np.ndarray:
        """Survivor counts of a cohort of the size and length of the counts ``data``, drawn from the model.

        Examples
        --------
        >>> from custvalue.models import ShiftedBetaGeometric
        >>> m = ShiftedBetaGeometric.from_params(alpha=0.704, beta=1.182)
        >>> len(m.simulate_like([1000, 631, 468, 382], seed=0))
        4
        """
        counts = survivor_counts(data)
        return self.simulate(int(counts[0]), len(counts) - 1, seed=seed)

    def sample(self, n_customers: int, seed: int | None = None) -> np.ndarray:
        """Survivor counts over eight periods of a cohort of ``n_customers``, drawn from the model.

        Examples
        --------
        >>> from custvalue.models import ShiftedBetaGeometric
        >>> len(ShiftedBetaGeometric.from_params(alpha=0.704, beta=1.182).sample(1000, seed=0))
        9
        """
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
