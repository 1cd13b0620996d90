"""Diagnostic and decision plots (matplotlib, imported only when a plot is drawn).

Every function takes ``ax=None`` (a new figure when None) and returns the
Axes, titled and labelled with units. ``df.cv.plot.<name>(...)`` calls them
on a frame with the fitted models it carries.

Examples
--------
>>> import matplotlib
>>> matplotlib.use("Agg")
>>> import custvalue as cv
>>> scored = cv.score(cv.datasets.load_cdnow_summary(), horizon=39)
>>> ax = scored.cv.plot.lorenz()
>>> ax.get_title()
'Value concentration (Gini 0.62)'
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from custvalue.errors import InvalidParameterError, SchemaError
from custvalue.models import Ability, BaseModel

if TYPE_CHECKING:
    from custvalue.evaluation import HoldoutEvaluation

__all__ = [
    "frequency_recency_matrix", "p_alive_matrix", "calibration_vs_holdout", "tracking", "period_transactions",
    "clv_distribution", "lorenz", "segments", "rfm_heatmap", "cohort_retention", "uplift_by_segment",
]


def _axes(ax: Any) -> Any:
    if ax is not None:
        return ax
    try:
        import matplotlib.pyplot as plt
    except ImportError:  # pragma: no cover - depends on the environment
        raise ImportError("plots need matplotlib: pip install 'custvalue[plot]'") from None
    return plt.subplots(figsize=(7, 4.5))[1]


def _require(frame: pd.DataFrame, columns: list[str], how: str) -> None:
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise SchemaError(f"this plot needs the column(s) {missing}: {how}")


def _grid(model: BaseModel, max_frequency: int, max_recency: float, T: float) -> pd.DataFrame:
    freq, rec = np.meshgrid(np.arange(max_frequency + 1), np.linspace(0, max_recency, 40))
    x, t_x = freq.ravel().astype(float), rec.ravel()
    t_x = np.where(x == 0, 0.0, np.maximum(t_x, 1e-9))
    return pd.DataFrame({"frequency": x, "recency": t_x, "T": np.full(len(x), T)})


def _matrix_plot(values: np.ndarray, max_frequency: int, max_recency: float, title: str, label: str, ax: Any) -> Any:
    ax = _axes(ax)
    image = ax.imshow(values.reshape(40, max_frequency + 1), origin="lower", aspect="auto", cmap="viridis",
                      extent=(-0.5, max_frequency + 0.5, 0, max_recency))
    ax.figure.colorbar(image, ax=ax, label=label)
    ax.set(title=title, xlabel="frequency (repeat purchases)", ylabel="recency (time of last purchase)")
    return ax


def frequency_recency_matrix(model: BaseModel, T: float | None = None, t: float = 1.0, max_frequency: int = 20,
                             ax: Any = None) -> Any:
    """Expected purchases in the next ``t`` units by frequency and recency, for customers observed for T."""
    model.require(Ability.CONDITIONAL, "the frequency/recency matrix")
    T = float(T if T is not None else 52.0)
    grid = _grid(model, max_frequency, T, T)
    values = model.expected_purchases(grid, t).to_numpy()
    return _matrix_plot(values, max_frequency, T, f"Expected purchases in the next {t:g} units (T = {T:g})",
                        "expected purchases", ax)


def p_alive_matrix(model: BaseModel, T: float | None = None, max_frequency: int = 20, ax: Any = None) -> Any:
    """P(alive) by frequency and recency, for customers observed for T."""
    model.require(Ability.P_ALIVE, "the P(alive) matrix")
    T = float(T if T is not None else 52.0)
    grid = _grid(model, max_frequency, T, T)
    return _matrix_plot(model.p_alive(grid).to_numpy(), max_frequency, T, f"Probability alive (T = {T:g})",
                        "P(alive)", ax)


def calibration_vs_holdout(evaluation: HoldoutEvaluation, ax: Any = None) -> Any:
    """Mean holdout purchases, actual and predicted, by calibration frequency (from :func:`custvalue.evaluate`)."""
    table = evaluation.by_frequency
    ax = _axes(ax)
    ax.plot(table.index, table["actual"], marker="o", label="actual")
    ax.plot(table.index, table["predicted"], marker="s", linestyle="--", label=f"predicted ({evaluation.model.name})")
    ax.set(title="Calibration vs holdout purchases", xlabel="purchases in the calibration period",
           ylabel="mean purchases in the holdout")
    ax.legend()
    return ax


def tracking(track: pd.DataFrame, cumulative: bool = True, ax: Any = None) -> Any:
    """Repeat purchases per period, actual vs predicted (from :func:`custvalue.tracking`)."""
    kind = "cumulative" if cumulative else "incremental"
    ax = _axes(ax)
    ax.plot(track.index, track[f"actual_{kind}"], label="actual")
    ax.plot(track.index, track[f"predicted_{kind}"], linestyle="--", label="predicted")
    ax.set(title=f"Tracking: {kind} repeat purchases", xlabel="period end", ylabel="repeat purchases")
    ax.legend()
    return ax


def period_transactions(model: BaseModel, summary: pd.DataFrame, max_frequency: int = 7, seed: int = 0,
                        ax: Any = None) -> Any:
    """Customers by number of repeat purchases: actual vs simulated from the fitted model with the same T."""
    model.require(Ability.SIMULATION, "the period transactions plot")
    _require(summary, ["frequency", *model.required_columns()], "pass the customer summary the model was fitted on")
    simulated = model.simulate_like(summary, seed=seed)
    buckets = [str(i) for i in range(max_frequency)] + [f"{max_frequency}+"]

    def counts(x: pd.Series | np.ndarray) -> np.ndarray:
        return np.bincount(np.minimum(np.asarray(x, dtype=int), max_frequency), minlength=max_frequency + 1)

    ax = _axes(ax)
    positions = np.arange(len(buckets))
    ax.bar(positions - 0.2, counts(summary["frequency"]), width=0.4, label="actual")
    ax.bar(positions + 0.2, counts(simulated["frequency"]), width=0.4, label=f"simulated ({model.name})")
    ax.set_xticks(positions, buckets)
    ax.set(title="Customers by number of repeat purchases", xlabel="repeat purchases", ylabel="customers")
    ax.legend()
    return ax


def clv_distribution(scored: pd.DataFrame, column: str = "clv", bins: int = 50, clip_quantile: float = 0.99,
                     ax: Any = None) -> Any:
    """Histogram of customer value (values above the ``clip_quantile`` quantile are shown in the last bin)."""
    _require(scored, [column], "run custvalue.score first")
    values = scored[column].to_numpy(dtype=float)
    ax = _axes(ax)
    ax.hist(np.minimum(values, np.quantile(values, clip_quantile)), bins=bins)
    ax.set(title=f"Distribution of {column}", xlabel=f"{column} ($)", ylabel="customers")
    return ax


def lorenz(scored: pd.DataFrame, column: str = "clv", ax: Any = None) -> Any:
    """Lorenz curve of value concentration, with the Gini coefficient in the title."""
    from custvalue.kpis import gini

    _require(scored, [column], "run custvalue.score first, or pass column='total_value'")
    values = np.sort(np.clip(scored[column].to_numpy(dtype=float), 0, None))
    share = np.concatenate([[0.0], np.cumsum(values) / values.sum()])
    customers = np.linspace(0, 1, len(share))
    ax = _axes(ax)
    ax.plot(customers, share, label=column)
    ax.plot([0, 1], [0, 1], linestyle=":", color="grey", label="equal value")
    ax.set(title=f"Value concentration (Gini {gini(values):.2f})", xlabel="share of customers (lowest first)",
           ylabel=f"share of {column}")
    ax.legend()
    return ax


def segments(segmented: pd.DataFrame, ax: Any = None) -> Any:
    """Share of customers and share of value per segment, side by side."""
    from custvalue.segment import segment_summary

    table = segment_summary(segmented)
    ax = _axes(ax)
    positions = np.arange(len(table))
    ax.barh(positions - 0.2, table["customer_share"], height=0.4, label="share of customers")
    ax.barh(positions + 0.2, table["value_share"], height=0.4, label=f"share of {table.attrs['value_column']}")
    ax.set_yticks(positions, [str(s) for s in table.index])
    ax.invert_yaxis()
    ax.set(title="Customers and value by segment", xlabel="share", ylabel="segment")
    ax.legend()
    return ax


def rfm_heatmap(segmented: pd.DataFrame, value: str | None = None, ax: Any = None) -> Any:
    """R score × F score grid; cells count customers, or average ``value`` when given."""
    _require(segmented, ["r_score", "f_score"], "run custvalue.segment(method='rfm') first")
    if value is None:
        grid = segmented.groupby(["r_score", "f_score"]).size().unstack(fill_value=0)
        label = "customers"
    else:
        _require(segmented, [value], "choose a value column of the frame")
        grid = segmented.groupby(["r_score", "f_score"])[value].mean().unstack()
        label = f"mean {value}"
    grid = grid.reindex(index=range(1, 6), columns=range(1, 6))
    ax = _axes(ax)
    image = ax.imshow(grid.to_numpy(dtype=float), origin="lower", cmap="viridis", extent=(0.5, 5.5, 0.5, 5.5))
    ax.figure.colorbar(image, ax=ax, label=label)
    ax.set(title=f"RFM grid: {label}", xlabel="F score (frequency, 5 = most)",
           ylabel="R score (recency, 5 = most recent)")
    return ax


def cohort_retention(matrix: pd.DataFrame, ax: Any = None) -> Any:
    """Heat map of the cohort retention matrix (from :func:`custvalue.cohort_retention`)."""
    ax = _axes(ax)
    image = ax.imshow(matrix.to_numpy(dtype=float), aspect="auto", cmap="viridis", vmin=0, vmax=1)
    ax.figure.colorbar(image, ax=ax, label="share of cohort buying")
    ax.set_yticks(np.arange(len(matrix)), [str(c) for c in matrix.index])
    ax.set(title="Cohort retention", xlabel="periods since first purchase", ylabel="cohort (first purchase)")
    return ax


def uplift_by_segment(measured: pd.DataFrame, ax: Any = None) -> Any:
    """Measured lift per group with its confidence interval (from :func:`custvalue.measure_uplift`)."""
    _require(measured, ["lift", "ci_low", "ci_high"], "run custvalue.measure_uplift first")
    ax = _axes(ax)
    positions = np.arange(len(measured))
    lift, low, high = (measured[c].to_numpy(dtype=float) for c in ("lift", "ci_low", "ci_high"))
    ax.errorbar(positions, lift, yerr=np.vstack([lift - low, high - lift]), fmt="o", capsize=4)
    ax.axhline(0, color="grey", linestyle=":")
    ax.set_xticks(positions, [str(g) for g in measured.index])
    ax.set(title="Measured uplift with confidence intervals", xlabel="group", ylabel="lift in outcome per customer")
    return ax


class PlotAccessor:
    """``df.cv.plot``: the plots, on this frame and the models it carries."""

    def __init__(self, frame: pd.DataFrame):
        self._frame = frame

    def _model(self) -> BaseModel:
        from custvalue.score import fitted_models

        return fitted_models(self._frame)["model"]

    def frequency_recency_matrix(self, T: float | None = None, t: float = 1.0, max_frequency: int = 20,
                                 ax: Any = None) -> Any:
        """See :func:`custvalue.plotting.frequency_recency_matrix` (the frame's fitted model)."""
        return frequency_recency_matrix(self._model(), T, t, max_frequency, ax)

    def p_alive_matrix(self, T: float | None = None, max_frequency: int = 20, ax: Any = None) -> Any:
        """See :func:`custvalue.plotting.p_alive_matrix` (the frame's fitted model)."""
        return p_alive_matrix(self._model(), T, max_frequency, ax)

    def period_transactions(self, max_frequency: int = 7, seed: int = 0, ax: Any = None) -> Any:
        """See :func:`custvalue.plotting.period_transactions` (the frame's fitted model and summary)."""
        return period_transactions(self._model(), self._frame, max_frequency, seed, ax)

    def tracking(self, cumulative: bool = True, ax: Any = None) -> Any:
        """See :func:`custvalue.plotting.tracking` (on a frame from :func:`custvalue.tracking`)."""
        _require(self._frame, ["actual_cumulative", "predicted_cumulative"], "run custvalue.tracking first")
        return tracking(self._frame, cumulative, ax)

    def clv_distribution(self, column: str = "clv", bins: int = 50, clip_quantile: float = 0.99, ax: Any = None) -> Any:
        """See :func:`custvalue.plotting.clv_distribution`."""
        return clv_distribution(self._frame, column, bins, clip_quantile, ax)

    def lorenz(self, column: str = "clv", ax: Any = None) -> Any:
        """See :func:`custvalue.plotting.lorenz`."""
        return lorenz(self._frame, column, ax)

    def segments(self, ax: Any = None) -> Any:
        """See :func:`custvalue.plotting.segments`."""
        return segments(self._frame, ax)

    def rfm_heatmap(self, value: str | None = None, ax: Any = None) -> Any:
        """See :func:`custvalue.plotting.rfm_heatmap`."""
        return rfm_heatmap(self._frame, value, ax)

    def cohort_retention(self, ax: Any = None) -> Any:
        """See :func:`custvalue.plotting.cohort_retention` (on a frame from :func:`custvalue.cohort_retention`)."""
        if "segment" in self._frame.columns or "frequency" in self._frame.columns:
            raise InvalidParameterError("cohort_retention plots a matrix from custvalue.cohort_retention(tx)")
        return cohort_retention(self._frame, ax)

    def uplift_by_segment(self, ax: Any = None) -> Any:
        """See :func:`custvalue.plotting.uplift_by_segment` (on a frame from :func:`custvalue.measure_uplift`)."""
        return uplift_by_segment(self._frame, ax)
