"""The ``df.cv`` accessor: one namespace on every DataFrame, each method one call to a plain function.

The methods are generated from one table, :data:`STEPS` (method name → function);
each calls its function with the frame as the first argument and shows that
function's signature and full docstring, so ``help(df.cv.score)`` and
Shift-Tab in a notebook read like ``help(custvalue.score)``. The accessor keeps
no state (pandas 3 builds a new one on every attribute access): whatever a
step needs from an earlier one travels in ``DataFrame.attrs``.
"""

from __future__ import annotations

import functools
import types
from collections.abc import Callable, Mapping
from typing import Any

import pandas as pd

from custvalue.clean import CleanReport, clean, cleaning_report
from custvalue.filtering import filter_customers
from custvalue.kpis import cohort_retention, kpis
from custvalue.plotting import PlotAccessor
from custvalue.score import fitted_models, score
from custvalue.segment import segment, segment_summary
from custvalue.summary import calibration_holdout, summarize
from custvalue.uplift import UpliftSummary, measure_uplift, uplift, uplift_summary

__all__ = ["CustValueAccessor", "STEPS", "Step"]

#: ``df.cv.<name>(...)`` is ``<function>(df, ...)``.
STEPS: Mapping[str, Callable[..., Any]] = {
    "clean": clean,
    "summarize": summarize,
    "calibration_holdout": calibration_holdout,
    "score": score,
    "segment": segment,
    "segment_summary": segment_summary,
    "filter": filter_customers,
    "kpis": kpis,
    "cohort_retention": cohort_retention,
    "uplift": uplift,
    "measure_uplift": measure_uplift,
}


class Step:
    """An accessor method made from a plain function: called on the accessor's frame, with the
    function's name, signature and docstring (through ``functools.wraps``)."""

    def __init__(self, function: Callable[..., Any]):
        self.function = function

        @functools.wraps(function)
        def method(accessor: Any, *args: Any, **kwargs: Any) -> Any:
            return function(accessor._frame, *args, **kwargs)

        self.method = method

    def __get__(self, accessor: Any, owner: type | None = None) -> Any:
        return self if accessor is None else types.MethodType(self.method, accessor)


@pd.api.extensions.register_dataframe_accessor("cv")
class CustValueAccessor:
    """Customer-value steps on a DataFrame: ``tx.cv.clean().cv.summarize()``.

    Examples
    --------
    >>> import custvalue as cv
    >>> tx = cv.datasets.load_cdnow(sample=True)
    >>> summary = tx.cv.clean().cv.summarize(unit="W", observation_end="1997-09-30")
    >>> len(summary), summary.cv.report.rows_kept
    (2357, 6919)
    """

    def __init__(self, frame: pd.DataFrame):
        self._frame = frame

    locals().update({name: Step(function) for name, function in STEPS.items()})

    @property
    def report(self) -> CleanReport:
        """The cleaning report of this frame (see :func:`custvalue.cleaning_report`)."""
        return cleaning_report(self._frame)

    @property
    def models(self) -> dict:
        """The fitted models and settings that scored this frame (see :func:`custvalue.fitted_models`)."""
        return fitted_models(self._frame)

    @property
    def uplift_summary(self) -> UpliftSummary:
        """The totals of the scenario that produced this frame (see :func:`custvalue.uplift_summary`)."""
        return uplift_summary(self._frame)

    @property
    def plot(self) -> PlotAccessor:
        """Plots of this frame: ``df.cv.plot.lorenz()``, ``df.cv.plot.segments()``, ... (:mod:`custvalue.plotting`)."""
        return PlotAccessor(self._frame)
