"""Formula models: the marketing arithmetic for when there is too little history for a probabilistic fit.

* ``formula`` — CLV = margin × average order value × purchase rate × expected
  (discounted) lifetime, the lifetime given directly or through a retention
  rate, less acquisition and retention costs.
* ``historic`` — value realised to date.
"""

from __future__ import annotations

import copy

import numpy as np
import pandas as pd

from custvalue.checks import check_number
from custvalue.errors import InvalidParameterError, SchemaError
from custvalue.models._base import Ability, BaseModel, Role
from custvalue.models._math import check_horizon
from custvalue.models._scenario import ScaledValue


class FormulaCLV(BaseModel):
    """CLV = margin × AOV × purchase rate × expected discounted lifetime − costs.

    Per unit of time a customer is worth ``v = margin × AOV × rate``, with AOV
    their mean spend per purchase and rate their repeat purchases per unit
    (``frequency / T``), both estimated by :meth:`fit`. With a retention rate
    ``r`` per unit and discount rate ``d`` the classic retention form gives
    ``CLV = v × r / (1 + d − r)``; with a horizon of H units it is
    ``v × Σ_{k=1..H} (r/(1+d))^k``. With a known ``lifetime`` L instead, the
    customer is worth ``v`` for each of L units, discounted.

    Parameters
    ----------
    margin : float, default 1
        Share of revenue that is profit.
    retention : float, optional
        Probability, per unit, that a customer stays; in [0, 1).
    lifetime : float, optional
        Expected lifetime in units (use instead of ``retention``).
    discount_rate : float, default 0
        Per unit.
    acquisition_cost : float, default 0
        Subtracted once per customer.
    retention_cost : float, default 0
        Spent per unit on each retained customer, discounted like the value.

    Notes
    -----
    Through :func:`custvalue.score`, score's ``horizon``, ``discount_rate``
    and ``margin`` are the ones that apply.

    Examples
    --------
    >>> import pandas as pd
    >>> summary = pd.DataFrame({"frequency": [4], "recency": [8.0], "T": [10.0], "monetary_value": [25.0]})
    >>> m = FormulaCLV(retention=0.8, discount_rate=0.1, margin=0.3).fit(summary)
    >>> v = 0.3 * 25.0 * 4 / 10.0        # value per unit: 3.0
    >>> round(v * 0.8 / (1 + 0.1 - 0.8), 4), round(float(m.customer_value(summary).iloc[0]), 4)
    (8.0, 8.0)
    """

    name = "formula"
    role = Role.VALUE
    abilities = frozenset({Ability.VALUE, Ability.CONDITIONAL, Ability.SPEND, Ability.SCENARIOS,
                           Ability.WEIGHTED_ROWS})
    param_names = ("mean_order_value", "purchase_rate")
    columns = ("frequency", "T")
    scenario_knobs = ("purchase_rate", "retention")
    example_hyper_parameters = {"retention": 0.8}

    def __init__(self, margin: float = 1.0, retention: float | None = None, lifetime: float | None = None,
                 discount_rate: float = 0.0, acquisition_cost: float = 0.0, retention_cost: float = 0.0):
        self.margin = margin
        self.retention = retention
        self.lifetime = lifetime
        self.discount_rate = discount_rate
        self.acquisition_cost = acquisition_cost
        self.retention_cost = retention_cost

    def _check_hyper_parameters(self) -> None:
        if (self.retention is None) == (self.lifetime is None):
            raise InvalidParameterError(
                "FormulaCLV needs exactly one of retention= (per-unit probability of staying, e.g. 0.8) or "
                "lifetime= (expected lifetime in units); for a model that learns both use 'bgnbd' or 'paretonbd'"
            )
        if self.retention is not None:
            check_number(self.retention, "retention", low=0, high=1, high_open=True)
        if self.lifetime is not None:
            check_number(self.lifetime, "lifetime", low=0)
        check_number(self.discount_rate, "discount_rate", low=0)
        check_number(self.margin, "margin", low=0)
        check_number(self.acquisition_cost, "acquisition_cost")
        check_number(self.retention_cost, "retention_cost")

    def fit(self, summary: pd.DataFrame, weights: np.ndarray | pd.Series | str | None = None) -> FormulaCLV:
        """Estimate the population mean order value and purchase rate (used where a customer has no history)."""
        self._check_hyper_parameters()
        aov, rate = self._customer_aov_rate(summary, population=None)
        w = np.ones(len(aov)) if weights is None else np.asarray(weights, dtype=float)
        known = np.isfinite(aov)
        population_aov = float(np.average(aov[known], weights=w[known])) if known.any() else 0.0
        x, T = self._summary_arrays(summary)
        population_rate = float(np.dot(w, x) / max(np.dot(w, T), 1e-12))
        self._set_fitted({"mean_order_value": population_aov, "purchase_rate": population_rate},
                         n_customers=float(w.sum()))
        return self

    def fit_columns(self, available: list[str]) -> list[str]:
        """frequency and T, and monetary_value where there is one, else total_value and n_transactions."""
        spend = ["monetary_value"] if "monetary_value" in available else ["total_value", "n_transactions"]
        return [*self.required_columns(), *spend]

    def _customer_aov_rate(
        self, summary: pd.DataFrame, population: tuple[float, float] | None
    ) -> tuple[np.ndarray, np.ndarray]:
        x, T = self._summary_arrays(summary)
        if "monetary_value" in summary.columns:
            aov = np.where(x > 0, summary["monetary_value"].to_numpy(dtype=float), np.nan)
        elif {"total_value", "n_transactions"} <= set(summary.columns):
            aov = summary["total_value"].to_numpy(dtype=float) / summary["n_transactions"].to_numpy(dtype=float)
        else:
            raise SchemaError("FormulaCLV needs monetary_value (or total_value and n_transactions) in the summary")
        with np.errstate(divide="ignore", invalid="ignore"):
            rate = np.where(T > 0, x / T, np.nan)
        if population is not None:
            aov = np.where(np.isfinite(aov), aov, population[0])
            rate = np.where(np.isfinite(rate), rate, population[1])
        return aov, rate

    def _expected_units(self, horizon: float | None, discount: float) -> float:
        """Discounted expected number of units a customer is retained (value counted at each unit's end)."""
        q = 1.0 / (1.0 + discount)
        if self.retention is not None:
            k = self.retention * q
            return k / (1 - k) if horizon is None else k * (1 - k ** horizon) / (1 - k)
        if self.lifetime is None:  # only when the hyper-parameters were changed after fit
            raise InvalidParameterError("FormulaCLV needs exactly one of retention= or lifetime=")
        life = self.lifetime if horizon is None else min(self.lifetime, horizon)
        return life if discount == 0 else (1 - q ** life) / discount

    def expected_spend(self, summary: pd.DataFrame) -> pd.Series:
        """Each customer's mean order value (the population mean for customers without repeat purchases)."""
        aov, _ = self._customer_aov_rate(summary, self._population())
        return pd.Series(aov, index=summary.index, name="expected_spend")

    def expected_purchases(self, summary: pd.DataFrame, t: float) -> pd.Series:
        """Purchase rate × expected number of units retained within t."""
        _, rate = self._customer_aov_rate(summary, self._population())
        value = rate * self._expected_units(check_horizon(t), 0.0)
        return pd.Series(value, index=summary.index, name="expected_purchases")

    def customer_value(self, summary: pd.DataFrame, horizon: float | None = None,
                       discount_rate: float | None = None, margin: float | None = None) -> pd.Series:
        """Net CLV per customer: margin × AOV × rate × discounted expected units − costs."""
        self._check_fitted()
        discount = self.discount_rate if discount_rate is None else discount_rate
        margin = self.margin if margin is None else margin
        aov, rate = self._customer_aov_rate(summary, self._population())
        units = self._expected_units(None if horizon is None else check_horizon(horizon), discount)
        value = margin * aov * rate * units - self.retention_cost * units - self.acquisition_cost
        return pd.Series(value, index=summary.index, name="clv")

    def scenario(self, **knobs: float) -> BaseModel:
        """Value if customers bought ``purchase_rate`` times as often and their retention rate rose by
        ``retention`` (an absolute change, kept below 1); this model is left as it is."""
        k = self._check_knobs(knobs, {"purchase_rate": 1.0, "retention": 0.0})
        changed = copy.deepcopy(self)
        if k["retention"]:
            if self.retention is None:
                raise InvalidParameterError("retention= changes the retention rate of a formula model fitted "
                                            "with retention=; this one uses lifetime=")
            changed.retention = min(max(self.retention + k["retention"], 0.0), 0.999999)
        return ScaledValue(changed, value_scale=k["purchase_rate"])

    def _population(self) -> tuple[float, float]:
        self._check_fitted()
        return float(self.params_["mean_order_value"]), float(self.params_["purchase_rate"])


class HistoricValue(BaseModel):
    """Value realised to date: margin × total value of each customer's purchases.

    Examples
    --------
    >>> import pandas as pd
    >>> summary = pd.DataFrame({"frequency": [1, 0], "recency": [2.0, 0.0], "T": [4.0, 3.0],
    ...                         "total_value": [40.0, 20.0]})
    >>> HistoricValue(margin=0.5).fit(summary).customer_value(summary).tolist()
    [20.0, 10.0]
    """

    name = "historic"
    role = Role.VALUE
    abilities = frozenset({Ability.VALUE, Ability.WEIGHTED_ROWS})
    param_names = ("mean_value",)
    columns = ("total_value",)

    def __init__(self, margin: float = 1.0):
        self.margin = margin

    def fit(self, summary: pd.DataFrame, weights: np.ndarray | pd.Series | str | None = None) -> HistoricValue:
        """Record the mean historic value (nothing else is learned); ``weights`` count customers per row."""
        (total,) = self._summary_arrays(summary)
        w = np.ones(len(total)) if weights is None else np.asarray(weights, dtype=float)
        self._set_fitted({"mean_value": float(np.average(total, weights=w))}, n_customers=float(w.sum()))
        return self

    def customer_value(self, summary: pd.DataFrame, horizon: float | None = None,
                       discount_rate: float | None = None, margin: float | None = None) -> pd.Series:
        """margin × total value to date (horizon and discount do not apply to the past)."""
        self._check_fitted()
        (total,) = self._summary_arrays(summary)
        return pd.Series((self.margin if margin is None else margin) * total, index=summary.index, name="clv")
