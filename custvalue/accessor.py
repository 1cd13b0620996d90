"""The ``df.cv`` accessor: one namespace on every DataFrame, each method one call to a plain function.

It keeps no state (pandas 3 builds a new accessor on every attribute access):
whatever a step needs from an earlier one travels in ``DataFrame.attrs``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd

from custvalue.clean import CleanReport, DropOrRaise, Policy, clean, cleaning_report
from custvalue.filtering import filter_customers
from custvalue.kpis import cohort_retention, kpis
from custvalue.models import BaseModel
from custvalue.plotting import PlotAccessor
from custvalue.score import fitted_models, score
from custvalue.segment import segment, segment_summary
from custvalue.summary import calibration_holdout, summarize
from custvalue.uplift import UpliftSummary, measure_uplift, uplift, uplift_summary


@pd.api.extensions.register_dataframe_accessor("cv")
class CustValueAccessor:
    """Customer-value steps on a DataFrame: ``tx.cv.clean().cv.summarize()``.

    Examples
    --------
    >>> import custvalue as cv
    >>> tx = cv.datasets.load_cdnow(sample=True)
    >>> summary = tx.cv.clean().cv.summarize(unit="W", observation_end="1997-09-30")
    >>> len(summary), summary.cv.report.rows_kept
    (2349, 6890)
    """

    def __init__(self, frame: pd.DataFrame):
        self._frame = frame

    @property
    def report(self) -> CleanReport:
        """The cleaning report of this frame (see :func:`custvalue.cleaning_report`)."""
        return cleaning_report(self._frame)

    @property
    def plot(self) -> PlotAccessor:
        """Plots of this frame: ``df.cv.plot.lorenz()``, ``df.cv.plot.segments()``, ... (:mod:`custvalue.plotting`)."""
        return PlotAccessor(self._frame)

    @property
    def models(self) -> dict:
        """The fitted models and settings that scored this frame (see :func:`custvalue.fitted_models`)."""
        return fitted_models(self._frame)

    def clean(
        self,
        *,
        columns: Mapping[str, str] | None = None,
        observation_end: str | pd.Timestamp | None = None,
        date_format: str | None = None,
        missing: DropOrRaise = "drop",
        invalid: DropOrRaise = "drop",
        duplicates: Policy = "drop",
        zero_amounts: Policy = "drop",
        negative_amounts: Policy = "drop",
        after_end: Policy = "drop",
        compute: bool = False,
    ) -> pd.DataFrame:
        """See :func:`custvalue.clean`."""
        return clean(
            self._frame, columns=columns, observation_end=observation_end, date_format=date_format,
            missing=missing, invalid=invalid, duplicates=duplicates, zero_amounts=zero_amounts,
            negative_amounts=negative_amounts, after_end=after_end, compute=compute,
        )

    def summarize(
        self,
        unit: str = "W",
        observation_end: str | pd.Timestamp | None = None,
        *,
        grain: str = "D",
        columns: Mapping[str, str] | None = None,
        compute: bool = False,
    ) -> pd.DataFrame:
        """See :func:`custvalue.summarize`."""
        return summarize(self._frame, unit, observation_end, grain=grain, columns=columns, compute=compute)

    def calibration_holdout(
        self,
        calibration_end: str | pd.Timestamp,
        observation_end: str | pd.Timestamp | None = None,
        unit: str = "W",
        *,
        grain: str = "D",
        columns: Mapping[str, str] | None = None,
    ) -> pd.DataFrame:
        """See :func:`custvalue.calibration_holdout`."""
        return calibration_holdout(
            self._frame, calibration_end, observation_end, unit, grain=grain, columns=columns
        )

    def score(
        self,
        model: str | type[BaseModel] | BaseModel = "bgnbd",
        spend_model: str | type[BaseModel] | BaseModel | None = "gammagamma",
        horizon: float = 52,
        unit: str = "W",
        discount_rate: float = 0.0,
        margin: float = 1.0,
        *,
        observation_end: str | pd.Timestamp | None = None,
        grain: str = "D",
        columns: Mapping[str, str] | None = None,
        intervals: float | None = None,
        interval_draws: int = 200,
        interval_method: str = "asymptotic",
        compute: bool = False,
    ) -> pd.DataFrame:
        """See :func:`custvalue.score`."""
        return score(
            self._frame, model, spend_model, horizon, unit, discount_rate, margin,
            observation_end=observation_end, grain=grain, columns=columns, intervals=intervals,
            interval_draws=interval_draws, interval_method=interval_method, compute=compute,
        )

    def segment(self, method: str = "rfm", **options: Any) -> pd.DataFrame:
        """See :func:`custvalue.segment`."""
        return segment(self._frame, method, **options)

    def segment_summary(self, value: str | None = None) -> pd.DataFrame:
        """See :func:`custvalue.segment_summary`."""
        return segment_summary(self._frame, value)

    def filter(
        self,
        segment: str | Sequence[str] | None = None,
        *,
        min_value: float | None = None,
        max_value: float | None = None,
        value: str | None = None,
        p_alive: tuple[float, float] | None = None,
        top: int | None = None,
        top_share: float | None = None,
        by: str | None = None,
        query: str | None = None,
    ) -> pd.DataFrame:
        """See :func:`custvalue.filter_customers`."""
        return filter_customers(
            self._frame, segment, min_value=min_value, max_value=max_value, value=value, p_alive=p_alive,
            top=top, top_share=top_share, by=by, query=query,
        )

    def kpis(
        self,
        start: str | pd.Timestamp | None = None,
        end: str | pd.Timestamp | None = None,
        *,
        costs: float | None = None,
        columns: Mapping[str, str] | None = None,
    ) -> pd.DataFrame:
        """See :func:`custvalue.kpis`."""
        return kpis(self._frame, start, end, costs=costs, columns=columns)

    def cohort_retention(self, period: str = "M", *, columns: Mapping[str, str] | None = None) -> pd.DataFrame:
        """See :func:`custvalue.cohort_retention`."""
        return cohort_retention(self._frame, period, columns=columns)

    def uplift(
        self,
        *,
        segment: str | Sequence[str] | None = None,
        query: str | None = None,
        factor: float | None = None,
        column: str = "clv",
        purchase_rate: float = 1.0,
        spend: float = 1.0,
        dropout: float = 1.0,
        retention: float = 0.0,
        cost_per_customer: float = 0.0,
        fixed_cost: float = 0.0,
    ) -> pd.DataFrame:
        """See :func:`custvalue.uplift`."""
        return uplift(
            self._frame, segment=segment, query=query, factor=factor, column=column, purchase_rate=purchase_rate,
            spend=spend, dropout=dropout, retention=retention, cost_per_customer=cost_per_customer,
            fixed_cost=fixed_cost,
        )

    @property
    def uplift_summary(self) -> UpliftSummary:
        """The totals of the scenario that produced this frame (see :func:`custvalue.uplift_summary`)."""
        return uplift_summary(self._frame)

    def measure_uplift(
        self,
        treatment: str = "treated",
        outcome: str = "revenue",
        segment: str | None = None,
        *,
        cost_per_customer: float = 0.0,
        fixed_cost: float = 0.0,
        confidence: float = 0.95,
        n_boot: int = 2000,
        seed: int = 0,
    ) -> pd.DataFrame:
        """See :func:`custvalue.measure_uplift`."""
        return measure_uplift(
            self._frame, treatment, outcome, segment, cost_per_customer=cost_per_customer, fixed_cost=fixed_cost,
            confidence=confidence, n_boot=n_boot, seed=seed,
        )
