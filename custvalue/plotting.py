"""Diagnostic and decision plots (matplotlib, imported only when a plot is drawn).

Every function takes ``ax=None`` (a new figure when None) and returns the
Axes, titled and labelled with units. ``df.cv.plot.<name>(...)`` calls them
on a frame with the fitted models it carries.

Examples
--------
>>> import matplotlib
>>> matplotlib.use("Agg")
>>> matplotlib.rcParams["figure.max_open_warning"] = 0  # the examples draw many figures
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

from custvalue.checks import (
    check_bool,
    check_column,
    check_frame,
    check_int,
    check_number,
    check_seed,
    check_values,
    invalid,
)
from custvalue.errors import InvalidParameterError, MissingColumnError, SchemaError
from custvalue.models import Ability, BaseModel
from custvalue.provenance import provenance

if TYPE_CHECKING:
    from custvalue.evaluation import HoldoutEvaluation

MAX_BUCKETS = 1_000  # frequency columns of a plot

__all__ = [
    "frequency_recency_matrix", "p_alive_matrix", "calibration_vs_holdout", "tracking", "period_transactions",
    "clv_distribution", "lorenz", "segments", "rfm_heatmap", "cohort_retention", "uplift_by_segment", "alive_path",
]


def _axes(ax: Any) -> Any:
    try:
        import matplotlib.pyplot as plt
        from matplotlib.axes import Axes
    except ImportError:  # pragma: no cover - depends on the environment
        raise ImportError("plots need matplotlib: pip install 'custvalue[plot]'") from None
    if ax is not None:
        if not isinstance(ax, Axes):
            raise invalid("ax", ax, "it must be a matplotlib Axes (e.g. from plt.subplots()) or None for a new figure")
        return ax
    return plt.subplots(figsize=(7, 4.5))[1]


def _require(frame: object, columns: list[str], how: str, name: str = "frame") -> pd.DataFrame:
    checked = check_frame(frame, name)
    missing = [c for c in columns if c not in checked.columns]
    if missing:
        raise MissingColumnError(f"{name}: this plot needs the column(s) {missing}: {how}")
    return checked


def _fitted(model: object, ability: Ability, purpose: str) -> BaseModel:
    if not isinstance(model, BaseModel):
        raise invalid("model", model, "it must be a fitted custvalue model, e.g. custvalue.models.get('bgnbd')"
                      ".fit(summary), or scored.cv.models['model']")
    model.require(ability, purpose)
    model._check_fitted()
    return model


def _horizon(T: object) -> float:
    return 52.0 if T is None else check_number(T, "T", low=0, low_open=True)


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
    """Expected purchases in the next ``t`` units by frequency and recency, for customers observed for T.

    Examples
    --------
    >>> import custvalue as cv
    >>> model = cv.models.BetaGeo.from_params(r=0.24, alpha=4.41, a=0.79, b=2.43)
    >>> frequency_recency_matrix(model, T=39, t=10).get_title()
    'Expected purchases in the next 10 units (T = 39)'
    """
    model = _fitted(model, Ability.CONDITIONAL, "the frequency/recency matrix")
    T = _horizon(T)
    t = check_number(t, "t", low=0, low_open=True)
    max_frequency = check_int(max_frequency, "max_frequency", low=1, high=MAX_BUCKETS)
    grid = _grid(model, max_frequency, T, T)
    values = model.expected_purchases(grid, t).to_numpy()
    return _matrix_plot(values, max_frequency, T, f"Expected purchases in the next {t:g} units (T = {T:g})",
                        "expected purchases", ax)


def p_alive_matrix(model: BaseModel, T: float | None = None, max_frequency: int = 20, ax: Any = None) -> Any:
    """P(alive) by frequency and recency, for customers observed for T.

    Examples
    --------
    >>> import custvalue as cv
    >>> model = cv.models.BetaGeo.from_params(r=0.24, alpha=4.41, a=0.79, b=2.43)
    >>> p_alive_matrix(model, T=39).get_title()
    'Probability alive (T = 39)'
    """
    model = _fitted(model, Ability.P_ALIVE, "the P(alive) matrix")
    T = _horizon(T)
    max_frequency = check_int(max_frequency, "max_frequency", low=1, high=MAX_BUCKETS)
    grid = _grid(model, max_frequency, T, T)
    return _matrix_plot(model.p_alive(grid).to_numpy(), max_frequency, T, f"Probability alive (T = {T:g})",
                        "P(alive)", ax)


def calibration_vs_holdout(evaluation: HoldoutEvaluation, ax: Any = None) -> Any:
    """Mean holdout purchases, actual and predicted, by calibration frequency (from :func:`custvalue.evaluate`).

    Examples
    --------
    >>> import custvalue as cv
    >>> calhold = cv.calibration_holdout(cv.datasets.load_cdnow(sample=True), "1997-09-30", "1998-06-30")
    >>> calibration_vs_holdout(cv.evaluate("bgnbd", calhold)).get_title()
    'Calibration vs holdout purchases'
    """
    from custvalue.evaluation import HoldoutEvaluation

    if not isinstance(evaluation, HoldoutEvaluation):
        raise invalid("evaluation", evaluation, "it must be the result of custvalue.evaluate(model, calhold)")
    table = evaluation.by_frequency
    ax = _axes(ax)
    ax.plot(table.index, table["actual"], marker="o", label="actual")
    ax.plot(table.index, table["predicted"], marker="s", linestyle="--", label=f"predicted ({evaluation.model.name})")
    ax.set(title="Calibration vs holdout purchases", xlabel="purchases in the calibration period",
           ylabel="mean purchases in the holdout")
    ax.legend()
    return ax


def tracking(track: pd.DataFrame, cumulative: bool = True, ax: Any = None) -> Any:
    """Repeat purchases per period, actual vs predicted (from :func:`custvalue.tracking`).

    Examples
    --------
    >>> import custvalue as cv
    >>> model = cv.models.BetaGeo.from_params(r=0.2426, alpha=4.4136, a=0.7929, b=2.4259)
    >>> tracking(cv.tracking(model, cv.datasets.load_cdnow(sample=True)), cumulative=False).get_title()
    'Tracking: incremental repeat purchases'
    """
    kind = "cumulative" if check_bool(cumulative, "cumulative") else "incremental"
    track = _require(track, [f"actual_{kind}", f"predicted_{kind}"], "run custvalue.tracking first", "track")
    ax = _axes(ax)
    ax.plot(track.index, track[f"actual_{kind}"], label="actual")
    ax.plot(track.index, track[f"predicted_{kind}"], linestyle="--", label="predicted")
    ax.set(title=f"Tracking: {kind} repeat purchases", xlabel="period end", ylabel="repeat purchases")
    _concise_dates(ax)
    ax.legend()
    return ax


def _concise_dates(ax: Any) -> None:
    """Date ticks that never overlap: as few labels as fit, each saying only what changed (1997, Feb, ...)."""
    from matplotlib.dates import AutoDateLocator, ConciseDateFormatter

    locator = AutoDateLocator(minticks=3, maxticks=8)
    ax.xaxis.set_major_locator(locator)
    ax.xaxis.set_major_formatter(ConciseDateFormatter(locator))


def period_transactions(model: BaseModel, summary: pd.DataFrame, max_frequency: int = 7, seed: int = 0,
                        ax: Any = None) -> Any:
    """Customers by number of repeat purchases: actual vs simulated from the fitted model with the same T.

    Examples
    --------
    >>> import custvalue as cv
    >>> summary = cv.datasets.load_cdnow_summary()
    >>> period_transactions(cv.models.get("bgnbd").fit(summary), summary).get_xlabel()
    'repeat purchases'
    """
    model = _fitted(model, Ability.SIMULATION, "the period transactions plot")
    summary = _require(summary, ["frequency", *model.required_columns()],
                       "pass the customer summary the model was fitted on", "summary")
    check_values(summary, "frequency", low=0)
    max_frequency = check_int(max_frequency, "max_frequency", low=1, high=MAX_BUCKETS)
    simulated = model.simulate_like(summary, seed=check_seed(seed))
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
    """Histogram of customer value (values above the ``clip_quantile`` quantile are shown in the last bin).

    Examples
    --------
    >>> import custvalue as cv
    >>> clv_distribution(cv.score(cv.datasets.load_cdnow_summary(), horizon=39), bins=30).get_title()
    'Distribution of clv'
    """
    scored = _require(scored, [], "", "scored")
    values = check_values(scored, check_column(scored, column, "column", numeric=True))
    bins = check_int(bins, "bins", low=1, high=10_000)
    clip_quantile = check_number(clip_quantile, "clip_quantile", low=0, high=1, low_open=True)
    ax = _axes(ax)
    ax.hist(np.minimum(values, np.quantile(values, clip_quantile)), bins=bins)
    ax.set(title=f"Distribution of {column}", xlabel=f"{column} ($)", ylabel="customers")
    return ax


def lorenz(scored: pd.DataFrame, column: str = "clv", ax: Any = None) -> Any:
    """Lorenz curve of value concentration, with the Gini coefficient in the title.

    Examples
    --------
    >>> import custvalue as cv
    >>> lorenz(cv.summarize(cv.datasets.load_cdnow(sample=True)), column="total_value").get_xlabel()
    'share of customers (lowest first)'
    """
    from custvalue.kpis import gini

    scored = _require(scored, [], "", "scored")
    if isinstance(column, str) and column not in scored.columns:
        raise MissingColumnError(f"column={column!r}: no such column; run custvalue.score first, or pass "
                                 "column='total_value'")
    values = np.sort(np.clip(check_values(scored, check_column(scored, column, "column", numeric=True)), 0, None))
    if not values.sum() > 0:
        raise SchemaError(f"column={column!r}: every value is 0 or less, so there is no concentration to show")
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
    """Share of customers and share of value per segment, side by side (segments without customers left out).

    Examples
    --------
    >>> import custvalue as cv
    >>> scored = cv.score(cv.datasets.load_cdnow_summary(), horizon=39)
    >>> segments(cv.segment(scored, method="value_tiers")).get_title()
    'Customers and value by segment'
    """
    from matplotlib.ticker import PercentFormatter

    from custvalue.segment import segment_summary

    table = segment_summary(_require(segmented, ["segment"], "run custvalue.segment first", "segmented"))
    ax = _axes(ax)
    positions = np.arange(len(table))
    value_share = table["value_share"].to_numpy(dtype=float, na_value=0.0)
    ax.barh(positions - 0.2, table["customer_share"], height=0.4, label="share of customers")
    ax.barh(positions + 0.2, value_share, height=0.4, label=f"share of {table.attrs['value_column']}")
    ax.set_yticks(positions, [str(s) for s in table.index])
    ax.invert_yaxis()
    ax.xaxis.set_major_formatter(PercentFormatter(1.0))
    ax.set(title="Customers and value by segment", xlabel="share", ylabel="segment")
    ax.legend()
    return ax


def rfm_heatmap(segmented: pd.DataFrame, value: str | None = None, ax: Any = None) -> Any:
    """R score × F score grid; cells count customers, or average ``value`` when given, and show the number.

    Scores are those of ``segment(method="rfm")``: by rank, every score used when the data allow
    (see :func:`custvalue.segment.rank_scores`); an empty cell is blank.

    Examples
    --------
    >>> import custvalue as cv
    >>> scored = cv.score(cv.datasets.load_cdnow_summary(), horizon=39)
    >>> rfm_heatmap(cv.segment(scored, method="rfm"), value="clv").get_title()
    'RFM grid: mean clv'
    """
    segmented = _require(segmented, ["r_score", "f_score"], "run custvalue.segment(method='rfm') first", "segmented")
    scores = [pd.Series(check_values(segmented, f"{letter}_score", low=1, high=5,
                                     fix="score the customers with custvalue.segment(method='rfm')"),
                        index=segmented.index) for letter in ("r", "f")]
    if value is None:
        grid = scores[0].groupby(scores).size().unstack(fill_value=0)
        label, form = "customers", "{:,.0f}"
    else:
        values = pd.Series(check_values(segmented, check_column(segmented, value, "value", numeric=True)),
                           index=segmented.index)
        grid = values.groupby(scores).mean().unstack()
        label, form = f"mean {value}", "{:,.2f}"
    cells = grid.reindex(index=range(1, 6), columns=range(1, 6)).to_numpy(dtype=float)
    if value is None:
        cells = np.nan_to_num(cells, nan=0.0)
    ax = _axes(ax)
    image = ax.imshow(cells, origin="lower", cmap="viridis", extent=(0.5, 5.5, 0.5, 5.5))
    ax.figure.colorbar(image, ax=ax, label=label)
    finite = cells[np.isfinite(cells)]
    middle = (finite.min() + finite.max()) / 2 if len(finite) else 0.0  # dark text on the light half of viridis
    for (r, f), cell in np.ndenumerate(cells):
        if np.isfinite(cell):
            ax.text(f + 1, r + 1, form.format(cell), ha="center", va="center", fontsize=8,
                    color="black" if cell > middle else "white")
    ax.set_xticks(range(1, 6))
    ax.set_yticks(range(1, 6))
    ax.set(title=f"RFM grid: {label}", xlabel="F score (frequency, 5 = most)",
           ylabel="R score (recency, 5 = most recent)")
    return ax


def cohort_retention(matrix: pd.DataFrame, ax: Any = None) -> Any:
    """Heat map of the cohort retention matrix (from :func:`custvalue.cohort_retention`).

    Examples
    --------
    >>> import custvalue as cv
    >>> cohort_retention(cv.cohort_retention(cv.datasets.load_cdnow(sample=True))).get_title()
    'Cohort retention'
    """
    matrix = _require(matrix, [], "", "matrix")
    try:
        shares = matrix.to_numpy(dtype=float, na_value=np.nan)
    except (TypeError, ValueError):
        raise invalid("matrix", matrix, "it must be the matrix of custvalue.cohort_retention(tx)") from None
    ax = _axes(ax)
    image = ax.imshow(shares, aspect="auto", cmap="viridis", vmin=0, vmax=1)
    ax.figure.colorbar(image, ax=ax, label="share of cohort buying")
    ax.set_yticks(np.arange(len(matrix)), [str(c) for c in matrix.index])
    ax.set(title="Cohort retention", xlabel="periods since first purchase", ylabel="cohort (first purchase)")
    return ax


def uplift_by_segment(measured: pd.DataFrame, ax: Any = None) -> Any:
    """Measured lift per group with its confidence interval (from :func:`custvalue.measure_uplift`).

    Examples
    --------
    >>> import custvalue as cv
    >>> uplift_by_segment(cv.measure_uplift(cv.simulate_campaign(2000, seed=1), n_boot=100)).get_xlabel()
    'group'
    """
    measured = _require(measured, ["lift", "ci_low", "ci_high"], "run custvalue.measure_uplift first", "measured")
    lift, low, high = (check_values(measured, c) for c in ("lift", "ci_low", "ci_high"))
    ax = _axes(ax)
    positions = np.arange(len(measured))
    ax.errorbar(positions, lift, yerr=np.vstack([lift - low, high - lift]), fmt="o", capsize=4)
    ax.axhline(0, color="grey", linestyle=":")
    ax.set_xticks(positions, [str(g) for g in measured.index])
    ax.set(title="Measured uplift with confidence intervals", xlabel="group", ylabel="lift in outcome per customer")
    return ax


def alive_path(path: pd.DataFrame, ax: Any = None) -> Any:
    """P(alive) of one customer through their history, periods with a purchase marked (from
    :func:`custvalue.alive_path`).

    Examples
    --------
    >>> import custvalue as cv
    >>> model = cv.models.BetaGeo.from_params(r=0.2426, alpha=4.4136, a=0.7929, b=2.4259)
    >>> path = cv.alive_path(model, cv.datasets.load_cdnow(sample=True), customer_id=1)
    >>> alive_path(path).get_title()
    'P(alive) of customer 1 (bgnbd)'
    """
    path = _require(path, ["purchases", "p_alive"], "run custvalue.alive_path(model, transactions, customer_id) "
                    "first", "path")
    if not isinstance(path.index, pd.DatetimeIndex):
        raise invalid("path", path, "it must be the frame of custvalue.alive_path(model, transactions, customer_id), "
                      "indexed by date")
    alive = check_values(path, "p_alive", low=0, high=1, fix="run custvalue.alive_path again")
    bought = check_values(path, "purchases", low=0, fix="run custvalue.alive_path again") > 0
    made = provenance(path)
    model, customer = made.get("model"), made.get("customer_id")
    ax = _axes(ax)
    ax.plot(path.index, alive, label="P(alive)")
    ax.plot(path.index[bought], alive[bought], linestyle="none", marker="o", label="purchase in the period")
    ax.set_ylim(0, 1.05)
    who = "one customer" if customer is None else f"customer {customer}"
    ax.set(title=f"P(alive) of {who}" + (f" ({model.name})" if isinstance(model, BaseModel) else ""),
           xlabel="date", ylabel="P(alive)")
    _concise_dates(ax)
    ax.legend(loc="lower left")
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
        """See :func:`custvalue.plotting.frequency_recency_matrix` (the frame's fitted model).

        Examples
        --------
        >>> import custvalue as cv
        >>> scored = cv.score(cv.datasets.load_cdnow_summary(), horizon=39)
        >>> scored.cv.plot.frequency_recency_matrix(T=39, t=10).get_title()
        'Expected purchases in the next 10 units (T = 39)'
        """
        return frequency_recency_matrix(self._model(), T, t, max_frequency, ax)

    def p_alive_matrix(self, T: float | None = None, max_frequency: int = 20, ax: Any = None) -> Any:
        """See :func:`custvalue.plotting.p_alive_matrix` (the frame's fitted model).

        Examples
        --------
        >>> import custvalue as cv
        >>> scored = cv.score(cv.datasets.load_cdnow_summary(), horizon=39)
        >>> scored.cv.plot.p_alive_matrix(T=39).get_title()
        'Probability alive (T = 39)'
        """
        return p_alive_matrix(self._model(), T, max_frequency, ax)

    def period_transactions(self, max_frequency: int = 7, seed: int = 0, ax: Any = None) -> Any:
        """See :func:`custvalue.plotting.period_transactions` (the frame's fitted model and summary).

        Examples
        --------
        >>> import custvalue as cv
        >>> scored = cv.score(cv.datasets.load_cdnow_summary(), horizon=39)
        >>> scored.cv.plot.period_transactions().get_ylabel()
        'customers'
        """
        return period_transactions(self._model(), self._frame, max_frequency, seed, ax)

    def tracking(self, cumulative: bool = True, ax: Any = None) -> Any:
        """See :func:`custvalue.plotting.tracking` (on a frame from :func:`custvalue.tracking`).

        Examples
        --------
        >>> import custvalue as cv
        >>> scored = cv.score(cv.datasets.load_cdnow_summary(), horizon=39)
        >>> cv.tracking(scored.cv.models["model"], cv.datasets.load_cdnow(sample=True)).cv.plot.tracking().get_ylabel()
        'repeat purchases'
        """
        _require(self._frame, ["actual_cumulative", "predicted_cumulative"], "run custvalue.tracking first")
        return tracking(self._frame, cumulative, ax)

    def clv_distribution(self, column: str = "clv", bins: int = 50, clip_quantile: float = 0.99, ax: Any = None) -> Any:
        """See :func:`custvalue.plotting.clv_distribution`.

        Examples
        --------
        >>> import custvalue as cv
        >>> scored = cv.score(cv.datasets.load_cdnow_summary(), horizon=39)
        >>> scored.cv.plot.clv_distribution(bins=20).get_ylabel()
        'customers'
        """
        return clv_distribution(self._frame, column, bins, clip_quantile, ax)

    def lorenz(self, column: str = "clv", ax: Any = None) -> Any:
        """See :func:`custvalue.plotting.lorenz`.

        Examples
        --------
        >>> import custvalue as cv
        >>> scored = cv.score(cv.datasets.load_cdnow_summary(), horizon=39)
        >>> scored.cv.plot.lorenz().get_title()
        'Value concentration (Gini 0.62)'
        """
        return lorenz(self._frame, column, ax)

    def segments(self, ax: Any = None) -> Any:
        """See :func:`custvalue.plotting.segments`.

        Examples
        --------
        >>> import custvalue as cv
        >>> scored = cv.score(cv.datasets.load_cdnow_summary(), horizon=39)
        >>> scored.cv.segment(method="value_tiers").cv.plot.segments().get_ylabel()
        'segment'
        """
        return segments(self._frame, ax)

    def rfm_heatmap(self, value: str | None = None, ax: Any = None) -> Any:
        """See :func:`custvalue.plotting.rfm_heatmap`.

        Examples
        --------
        >>> import custvalue as cv
        >>> scored = cv.score(cv.datasets.load_cdnow_summary(), horizon=39)
        >>> scored.cv.segment(method="rfm").cv.plot.rfm_heatmap().get_title()
        'RFM grid: customers'
        """
        return rfm_heatmap(self._frame, value, ax)

    def cohort_retention(self, ax: Any = None) -> Any:
        """See :func:`custvalue.plotting.cohort_retention` (on a frame from :func:`custvalue.cohort_retention`).

        Examples
        --------
        >>> import custvalue as cv
        >>> scored = cv.score(cv.datasets.load_cdnow_summary(), horizon=39)
        >>> cv.cohort_retention(cv.datasets.load_cdnow(sample=True)).cv.plot.cohort_retention().get_title()
        'Cohort retention'
        """
        if "segment" in self._frame.columns or "frequency" in self._frame.columns:
            raise InvalidParameterError("cohort_retention plots a matrix from custvalue.cohort_retention(tx)")
        return cohort_retention(self._frame, ax)

    def uplift_by_segment(self, ax: Any = None) -> Any:
        """See :func:`custvalue.plotting.uplift_by_segment` (on a frame from :func:`custvalue.measure_uplift`).

        Examples
        --------
        >>> import custvalue as cv
        >>> scored = cv.score(cv.datasets.load_cdnow_summary(), horizon=39)
        >>> cv.measure_uplift(cv.simulate_campaign(2000, seed=1), n_boot=100).cv.plot.uplift_by_segment().get_xlabel()
        'group'
        """
        return uplift_by_segment(self._frame, ax)

    def alive_path(self, ax: Any = None) -> Any:
        """See :func:`custvalue.plotting.alive_path` (on a frame from :func:`custvalue.alive_path`).

        Examples
        --------
        >>> import custvalue as cv
        >>> model = cv.models.get("paretonbd").fit(cv.datasets.load_cdnow_summary())
        >>> path = cv.alive_path(model, cv.datasets.load_cdnow(sample=True), customer_id=6)
        >>> path.cv.plot.alive_path().get_ylabel()
        'P(alive)'
        """
        return alive_path(self._frame, ax)
