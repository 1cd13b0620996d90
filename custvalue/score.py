"""Score customers with a CLV model: expected purchases, P(alive), expected spend and CLV."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from functools import partial
from typing import Any

import numpy as np
import pandas as pd

from custvalue.checks import (
    check_bool,
    check_choice,
    check_date,
    check_frame,
    check_int,
    check_level,
    check_mapping,
    check_number,
)
from custvalue.columns import COLUMNS_EXAMPLE, is_summary, slices
from custvalue.engines import engine_step
from custvalue.errors import AbilityError, InvalidParameterError, MissingColumnError, SchemaError, invalid_values_error
from custvalue.evaluation import choose_model, resolve_param
from custvalue.grouping import group_rows
from custvalue.intervals import delta_bounds, linearize, parameter_draws, prediction_intervals
from custvalue.models import Ability, BaseModel, Role, available
from custvalue.progress import check_progress
from custvalue.provenance import ATTRS_KEY, attach, provenance
from custvalue.summary import summarize
from custvalue.timeunits import check_grain, check_unit
from custvalue.validation import validate_summary

ModelSpec = str | type[BaseModel] | BaseModel
INTERVAL_METHODS = ["delta", "asymptotic", "bootstrap"]

__all__ = ["score", "fitted_models"]


def score(
    data: pd.DataFrame,
    model: ModelSpec = "bgnbd",
    spend_model: ModelSpec | None = "gammagamma",
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
    interval_method: str = "delta",
    penalizer: float | None = None,
    progress: bool | None = None,
    compute: bool = False,
) -> pd.DataFrame:
    """Fit CLV models and score every customer.

    Parameters
    ----------
    data : DataFrame
        Clean transactions (summarized first with ``unit``, ``observation_end``,
        ``grain`` and ``columns``) or a customer summary.
    model : str, model class or model instance, default "bgnbd"
        The purchase model: a registry name (see ``cv.models.available()``),
        a class, or an instance (fitted instances are used as they are). The
        formula models ``"formula"`` and ``"historic"`` give ``clv`` directly.
        ``"auto"`` (transactions only) splits the observation window in two
        halves, fits BG/NBD, MBG/NBD and Pareto/NBD on the first, keeps the
        one with the lowest holdout MAE and refits it on everything; the
        comparison and the reason are in ``fitted_models(result)["model_choice"]``.
    spend_model : str, class, instance or None, default "gammagamma"
        The spend model; None scores purchases and P(alive) only.
    horizon : float, default 52
        Forecast horizon, in ``unit``.
    unit : {"h", "D", "W", "M", "Y"}, default "W"
        Time unit of the summary, the horizon and the discount rate.
    discount_rate : float, default 0
        Discount rate d per ``unit``: each expected purchase s units from now
        counts (1 + d)^−s, i.e. a continuous rate δ = ln(1 + d) as in DERT
        (Fader, Hardie & Lee 2005; CLVTools). lifetimes instead discounts each
        whole period's purchases at the period's end, which values them about
        half a period's discount lower.
    margin : float, default 1
        Share of spend that is profit, in [0, 1].
    intervals : float, optional
        A level such as 0.9: adds ``*_lower`` and ``*_upper`` columns for
        each prediction, for the uncertainty of the fitted parameters, by
        ``interval_method``: ``"delta"`` (the delta method on the log scale,
        logit for P(alive): one extra prediction per parameter, the fastest),
        ``"asymptotic"`` (quantiles over ``interval_draws`` parameter draws
        from the asymptotic normal of the log-parameters; seeded, so
        reproducible) or ``"bootstrap"`` (``interval_draws`` refits on data
        simulated from the fitted models). See :mod:`custvalue.intervals`.
    penalizer : float, optional
        L2 penalty (a finite number >= 0) for the fits score makes: the
        purchase and spend models that have a ``penalizer`` hyper-parameter
        and are not fitted yet (those of ``model="auto"`` too). Try 0.001 or
        0.01 when a fit does not converge. Refused when it applies to no fit.
    progress : bool, optional
        A progress bar for long work (``model="auto"``, bootstrap or draw
        intervals): None shows one in notebooks and terminals after two
        seconds, False never, True wherever tqdm is installed.
    compute : bool, default False
        Dask input only: return a computed pandas frame (keeping the fitted
        models) instead of a lazy Dask DataFrame. See the "Scaling up" page of the documentation.

    Returns
    -------
    DataFrame
        The summary columns plus ``expected_purchases``, ``p_alive``,
        ``expected_spend`` and ``clv`` (columns a model cannot give are left
        out). The fitted models travel with the frame: :func:`fitted_models`.

    Raises
    ------
    custvalue.errors.InvalidParameterError
        For an argument of the wrong type or value (naming it).
    custvalue.errors.SchemaError
        For a frame the models cannot use: missing columns, a summary whose
        values break its rules (duplicate customer ids included), or
        predictions that are not finite numbers (naming the customers).

    Examples
    --------
    >>> import custvalue as cv
    >>> scored = cv.score(cv.datasets.load_cdnow_summary(), horizon=39)
    >>> scored[["expected_purchases", "p_alive", "expected_spend", "clv"]].head(2).round(2)
                 expected_purchases  p_alive  expected_spend    clv
    customer_id
    1                          1.23     0.73           24.66  30.23
    2                          0.20     0.21           18.91   3.84
    >>> cv.fitted_models(scored)["model"].name
    'bgnbd'
    """
    horizon = check_number(horizon, "horizon", low=0)
    check_unit(unit)
    discount_rate = check_number(discount_rate, "discount_rate", low=0)
    margin = check_number(margin, "margin", low=0, high=1)
    if observation_end is not None:
        check_date(observation_end, "observation_end")
    check_grain(grain)
    check_mapping(columns, "columns", example=COLUMNS_EXAMPLE)
    if intervals is not None:
        intervals = check_level(intervals, "intervals")
    interval_draws = check_int(interval_draws, "interval_draws", low=10)
    interval_method = check_choice(interval_method, "interval_method", INTERVAL_METHODS)
    if penalizer is not None:
        penalizer = check_number(penalizer, "penalizer", low=0)
    progress = check_progress(progress)
    check_bool(compute, "compute")
    on_engine = engine_step("score", data)
    if on_engine is not None:
        return on_engine(data, model, spend_model, horizon, unit, discount_rate, margin,
                         observation_end=observation_end, grain=grain, columns=columns, intervals=intervals,
                         interval_draws=interval_draws, interval_method=interval_method, penalizer=penalizer,
                         compute=compute)
    data = check_frame(data, "data")
    if is_summary(data) or {"frequency", "periods"} <= set(data.columns):
        summary = checked_summary(data)
        summary_unit = provenance(data).get("unit")
        if summary_unit is not None and summary_unit != unit:
            raise InvalidParameterError(
                f"this summary is in unit {summary_unit!r} but score was asked for unit={unit!r}; "
                "pass the same unit or summarize again"
            )
    else:
        summary = summarize(data, unit=unit, observation_end=observation_end, grain=grain, columns=columns)

    choice = None
    if isinstance(model, str) and model == "auto":
        if summary is data:
            raise InvalidParameterError(
                "model='auto' chooses on a calibration/holdout split of the transactions; pass transactions "
                "rather than a summary, or name a model (see custvalue.compare_models)"
            )
        model, choice = choose_model(data, unit=unit, observation_end=observation_end, grain=grain, columns=columns,
                                     penalizer=penalizer, progress=progress)
    count_model, spend = score_models(model, spend_model, penalizer)
    for candidate in (count_model, spend):
        if candidate is not None:
            require_columns(summary, candidate)
    groups = model_groups(summary, count_model, spend)
    fit_models(summary, groups, count_model, spend)
    scored = score_frame(summary, count_model, spend, horizon, unit, discount_rate, margin, groups,
                         intervals=intervals, interval_draws=interval_draws, interval_method=interval_method,
                         progress=progress)
    return attach(scored, model_choice=choice)


def checked_summary(summary: pd.DataFrame) -> pd.DataFrame:
    """A customer summary given to score, checked: its rules (:func:`custvalue.validate`) and one row per
    customer (a duplicated id would be scored twice)."""
    if not summary.index.is_unique:
        dupes = summary.index[summary.index.duplicated()]
        raise SchemaError(
            f"data: the summary has {len(dupes):,} duplicated customer id(s) in its index, e.g. "
            f"{list(dupes.unique()[:5])}; each customer must appear once. How to fix: summarize the transactions "
            "again (custvalue.summarize(tx)), or drop the duplicates: summary[~summary.index.duplicated()]")
    if is_summary(summary):
        validate_summary(summary)
    return summary


def score_models(model: ModelSpec, spend_model: ModelSpec | None,
                 penalizer: float | None = None) -> tuple[BaseModel, BaseModel | None]:
    """The purchase (or value) model and the spend model a score uses, checked for their roles.

    Unfitted ones are fresh objects (:func:`custvalue.models.resolve`), so fitting them leaves the
    caller's models as they were. A value model values customers itself: it takes no spend model.
    ``penalizer`` is set on the unfitted ones that have that hyper-parameter.
    """
    count_model, spend = _roles(model, spend_model)
    if penalizer is not None:
        apply_penalizer([count_model, spend], penalizer)
    return count_model, spend


def apply_penalizer(models: list[BaseModel | None], penalizer: float) -> None:
    """Set ``penalizer`` on the models to be fitted that have it (resolved copies, never the caller's)."""
    targets = [m for m in models if m is not None and not m.is_fitted and "penalizer" in m.get_params()]
    if not targets:
        names = [m.name for m in models if m is not None]
        raise InvalidParameterError(
            f"penalizer={penalizer!r} is not valid here: it applies to the models score fits, and none of {names} "
            "is both unfitted and penalized; leave penalizer out, or pass an unfitted likelihood model "
            f"(e.g. model='bgnbd')")
    for target in targets:
        own = target.get_params()["penalizer"]
        if own not in (0, 0.0, None, penalizer):
            raise InvalidParameterError(
                f"penalizer={penalizer!r} conflicts with the {target.name!r} model's own penalizer={own!r}; set it "
                "in one place")
        target.set_params(penalizer=penalizer)


def _roles(model: ModelSpec, spend_model: ModelSpec | None) -> tuple[BaseModel, BaseModel | None]:
    count_model = resolve_param(model, "model")
    if count_model.role is Role.SPEND:
        raise AbilityError(
            f"model={count_model.name!r} is a spend model; pass it as spend_model= with a purchase model as "
            f"model=, e.g. score(..., model='bgnbd', spend_model={count_model.name!r}) "
            f"(purchase models: {available(role=Role.PURCHASE)})")
    if count_model.role is Role.CONTRACTUAL:
        raise AbilityError(
            f"model={count_model.name!r} is a contractual model fitted on a cohort's survivor counts, not on "
            f"customer summaries; use it directly (custvalue.models.get({count_model.name!r}).fit(counts)) "
            f"or score with a purchase model ({available(role=Role.PURCHASE)})")
    count_model.require(Ability.CONDITIONAL if count_model.role is Role.PURCHASE else Ability.VALUE, "score")
    if spend_model is None or count_model.role is Role.VALUE:
        return count_model, None
    spend = resolve_param(spend_model, "spend_model")
    if spend.role is not Role.SPEND:
        raise AbilityError(
            f"spend_model={spend.name!r} is a {spend.role.value} model, not a spend model; use one of "
            f"{available(role=Role.SPEND)}, or spend_model=None to score purchases and P(alive) only")
    return count_model, spend


def require_columns(summary: pd.DataFrame, model: BaseModel) -> None:
    """A clear error when ``summary`` lacks a column ``model`` reads."""
    missing = [c for c in model.required_columns() if c not in summary.columns]
    if missing:
        hint = (" BG/BB counts transaction opportunities: build a summary with frequency, recency and periods "
                "(see custvalue.datasets.load_donations() for the shape)") if "periods" in missing else \
            " Run custvalue.summarize on your transactions, or score them directly."
        slot = "spend_model" if model.role is Role.SPEND else "model"
        raise MissingColumnError(f"{slot}={model.name!r} needs the column(s) {missing}; the summary has "
                                 f"{list(map(str, summary.columns))}.{hint}")


def model_groups(summary: pd.DataFrame, count_model: BaseModel, spend_model: BaseModel | None) -> list | None:
    """For the likelihood models, the distinct rows of each model's columns (rows, counts, each customer's row).

    Customers with identical summaries get identical fits and predictions, so the models are fitted
    on distinct rows weighted by how many customers share each, and each row is predicted once.
    None for the formula models, which work on the summary as it is.
    """
    if count_model.role is not Role.PURCHASE:
        return None
    weights = summary.get("weights")
    groups: list[tuple[pd.DataFrame, np.ndarray, np.ndarray] | None] = []
    for m in (count_model, spend_model):
        if m is None:
            groups.append(None)
            continue
        rows, counts, key = group_rows(summary[list(m.required_columns())], weights)
        # Each customer's row is kept until the predictions are expanded: in 32 bits it takes half the memory.
        groups.append((rows, counts, key.astype(np.int32) if len(rows) < 2**31 else key))
        del key
    return groups


def fit_models(summary: pd.DataFrame, groups: list | None, count_model: BaseModel,
               spend_model: BaseModel | None) -> None:
    """Fit the models not fitted yet (resolved clones, never the caller's objects): on their distinct rows
    where the model can be fitted so (:attr:`Ability.WEIGHTED_ROWS`), else on the whole summary."""
    for i, candidate in enumerate((count_model, spend_model)):
        if candidate is not None and not candidate.is_fitted:
            if groups is not None and candidate.can(Ability.WEIGHTED_ROWS):
                candidate.fit(groups[i][0], weights=groups[i][1])
            else:
                candidate.fit(summary)


def score_frame(summary: pd.DataFrame, count_model: BaseModel, spend_model: BaseModel | None, horizon: float,
                unit: str, discount_rate: float, margin: float, groups: list | None = None, *,
                intervals: float | None = None, interval_draws: int = 200,
                interval_method: str = "delta", progress: bool | None = None) -> pd.DataFrame:
    """``summary`` with the predictions of fitted models; ``groups`` (from :func:`model_groups`) saves regrouping,
    and is emptied as it is used: the distinct rows go as soon as they are predicted.

    Refuses predictions that are not finite numbers, naming the column and customers."""
    with np.errstate(all="ignore"):  # extreme inputs: the result is checked below
        if intervals is None or interval_method == "delta":
            groups = groups or model_groups(summary, count_model, spend_model)
            if intervals is None:
                out = predict(summary, count_model, spend_model, horizon, discount_rate, margin, groups)
            else:
                out = delta_interval_columns(summary, count_model, spend_model, horizon, discount_rate, margin,
                                             intervals, groups)
        else:
            if groups:
                groups.clear()  # not used here
            # Every draw re-predicts every distinct row: one grouping on the columns of both models.
            rows, _, expand = group_rows(summary[needed_columns(count_model, spend_model)])
            out = predict(rows, count_model, spend_model, horizon, discount_rate, margin)
            out.update(interval_columns(rows, summary, count_model, spend_model, horizon, discount_rate, margin,
                                        intervals, interval_draws, interval_method, progress))
            out = {k: v[expand] for k, v in out.items()}
    refuse_non_finite(out, summary, [count_model, spend_model])
    # concat rather than assign: assign copies each new 10-million-row column once more
    kept = summary.drop(columns=[c for c in summary.columns if c in out])
    scored = pd.concat([kept, pd.DataFrame(out, index=summary.index, copy=False)], axis=1)
    scored.attrs[ATTRS_KEY] = provenance(summary)
    return attach(scored, model=count_model, spend_model=spend_model, horizon=horizon, unit=unit,
                  discount_rate=discount_rate, margin=margin)


def refuse_non_finite(columns: dict[str, np.ndarray], summary: pd.DataFrame,
                      models: Sequence[BaseModel | None]) -> None:
    """A :class:`SchemaError` naming the first score column with a NaN or infinite value, its customers and
    the fitted models' parameters."""
    for name, values in columns.items():
        bad = ~np.isfinite(np.asarray(values, dtype=float))
        if bad.any():
            shown = [c for c in ("frequency", "recency", "T", "monetary_value", "periods") if c in summary.columns]
            fitted = "; ".join(repr(m) for m in models if m is not None)
            raise invalid_values_error(
                name, "finite prediction", summary.loc[bad, shown],
                f"{int(bad.sum()):,} of {len(bad):,} customers get no finite {name} from the fitted models ({fitted}). "
                "Read the models' warnings (Gamma-Gamma with q <= 1, say, gives customers without repeat purchases "
                "an infinite expected spend), try another penalizer, or look for extreme values in these "
                "customers' summaries")


def needed_columns(count_model: BaseModel, spend_model: BaseModel | None) -> list[str]:
    """The summary columns the two models read."""
    needed = [*count_model.required_columns(), *(spend_model.required_columns() if spend_model else ())]
    return list(dict.fromkeys(needed))


def interval_columns(rows: pd.DataFrame, summary: pd.DataFrame, count_model: BaseModel, spend_model: BaseModel | None,
                     horizon: float, discount_rate: float, margin: float, level: float, n_draws: int,
                     method: str, progress: bool | None = None) -> dict[str, np.ndarray]:
    """``*_lower`` / ``*_upper`` columns for the predictions of each distinct row."""
    n_draws = check_int(n_draws, "interval_draws", low=10)
    count_draws = parameter_draws(count_model, n_draws, method, summary, seed=0, show_progress=progress)
    spend_draws = (parameter_draws(spend_model, n_draws, method, summary[summary["frequency"] > 0], seed=1,
                                   show_progress=progress) if spend_model is not None else [None] * n_draws)
    return prediction_intervals(rows, lambda part, m, s: predict(part, m, s, horizon, discount_rate, margin),
                                count_draws, spend_draws, level, show_progress=progress)


def predict(summary: pd.DataFrame, count_model: BaseModel, spend_model: BaseModel | None, horizon: float,
            discount_rate: float, margin: float, groups: list | None = None) -> dict[str, np.ndarray]:
    """The score columns for each row of ``summary``; with ``groups`` each model predicts its distinct rows once."""
    if count_model.role is Role.VALUE:
        out = {}
        if count_model.can(Ability.CONDITIONAL):
            out["expected_purchases"] = count_model.expected_purchases(summary, horizon)
        if count_model.can(Ability.SPEND):
            out["expected_spend"] = count_model.expected_spend(summary)
        out["clv"] = count_model.customer_value(summary, horizon, discount_rate, margin)
        return {k: v.to_numpy() for k, v in out.items()}
    (rows, expand), (spend_rows, spend_expand) = distinct_rows(summary, groups)
    purchases = purchase_columns(rows, count_model, horizon, discount_rate, spend_model is not None)
    del rows
    discounted = purchases.pop(DISCOUNTED, None)
    # Each distinct-row array is dropped as soon as it is expanded: only the answer grows with the customers.
    out = {c: expanded(purchases.pop(c), expand) for c in list(purchases)}
    if spend_model is not None and discounted is not None:
        spend_values = np.asarray(spend_model.expected_spend(spend_rows).to_numpy(), dtype=float)
        del spend_rows
        out["expected_spend"] = expanded(spend_values, spend_expand)
        out["clv"] = clv_column(margin * spend_values, spend_expand, discounted, expand)
    return out


def clv_column(margin_spend: np.ndarray, spend_expand: np.ndarray | None, discounted: np.ndarray,
               expand: np.ndarray | None) -> np.ndarray:
    """margin × spend × discounted purchases per customer, from per-row values of each model's distinct rows,
    multiplied in place slice by slice (no customer-length temporaries); ``margin_spend`` is the caller's
    new array, written over when it is already one value per customer."""
    clv = expanded(margin_spend, spend_expand)
    for part in slices(len(clv), CLV_SLICE):
        clv[part] *= _take(discounted, expand, part)
    return clv


DISCOUNTED = "discounted_purchases"  # the purchases CLV counts, each discounted to today


def distinct_rows(summary: pd.DataFrame, groups: list | None
                  ) -> tuple[tuple[pd.DataFrame, np.ndarray | None], tuple[pd.DataFrame, np.ndarray | None]]:
    """(rows, expand) for the purchase model and for the spend model: their distinct rows (from
    :func:`model_groups`) and each customer's row among them, or the summary itself.

    ``groups`` is emptied: from here on the caller alone holds the distinct rows, and drops each as soon
    as it is predicted (their weights, which only the fits needed, go at once)."""
    if groups is None:
        return (summary, None), (summary, None)
    spend = (groups[1][0], groups[1][2]) if groups[1] is not None else (summary, None)
    count = (groups[0][0], groups[0][2])
    groups.clear()
    return count, spend


def expanded(values: np.ndarray, expand: np.ndarray | None) -> np.ndarray:
    """Per-row ``values`` of distinct rows, as one value per customer."""
    values = np.asarray(values, dtype=float)
    return values if expand is None else values[expand]


def purchase_columns(rows: pd.DataFrame, model: BaseModel, horizon: float, discount_rate: float,
                     discounted: bool) -> dict[str, np.ndarray]:
    """A purchase model's columns for ``rows``: expected purchases, P(alive) when it can, and (``discounted``)
    the discounted purchases of :data:`DISCOUNTED` that CLV multiplies by spend."""
    if discounted and discount_rate != 0 and model.can(Ability.DISCOUNTING):
        return model._scored_purchases(rows, horizon, float(np.log1p(discount_rate)))
    out = {"expected_purchases": model.expected_purchases(rows, horizon).to_numpy(dtype=float)}
    if model.can(Ability.P_ALIVE):
        out["p_alive"] = model.p_alive(rows).to_numpy(dtype=float)
    if discounted:
        out[DISCOUNTED] = discounted_purchases(model, rows, horizon, discount_rate, out["expected_purchases"])
    return out


def discounted_purchases(model: BaseModel, rows: pd.DataFrame, horizon: float, discount_rate: float,
                         undiscounted: np.ndarray) -> np.ndarray:
    """Expected purchases over the horizon, each discounted at its time s by (1 + d)^−s = e^(−δs), δ = ln(1 + d).

    Models with the discounting ability evaluate the integral themselves (closed forms or fast
    quadrature); for any other the integral of E[X(s)] is taken by Gauss–Legendre quadrature.
    """
    if discount_rate == 0:
        return undiscounted
    delta = float(np.log1p(discount_rate))
    if model.can(Ability.DISCOUNTING):
        return model.discounted_purchases(rows, horizon, delta).to_numpy(dtype=float)
    # By parts: e^(−δH) E(H) + δ ∫₀ᴴ e^(−δs) E(s) ds.
    from scipy.special import roots_legendre

    nodes, weights = roots_legendre(32)
    times = (nodes + 1.0) * horizon / 2.0
    integral = sum(w * np.exp(-delta * s) * model.expected_purchases(rows, float(s)).to_numpy(dtype=float)
                   for s, w in zip(times, weights)) * horizon / 2.0
    return np.exp(-delta * horizon) * undiscounted + delta * integral


def delta_interval_columns(summary: pd.DataFrame, count_model: BaseModel, spend_model: BaseModel | None,
                           horizon: float, discount_rate: float, margin: float, level: float,
                           groups: list | None) -> dict[str, np.ndarray]:
    """The score columns and their ``*_lower``/``*_upper`` bounds by the delta method (see
    :mod:`custvalue.intervals`), each model linearised on its own distinct rows.

    CLV is margin × spend × discounted purchases from two independent fits, so its log-variance is
    the sum of the two models' contributions."""
    (rows, expand), (spend_rows, spend_expand) = distinct_rows(summary, groups)
    # Undiscounted, the purchases CLV counts are the expected purchases: linearised once.
    discounted = spend_model is not None and discount_rate != 0
    values, variances = linearize(count_model, partial(purchase_columns, rows, horizon=horizon,
                                                       discount_rate=discount_rate, discounted=discounted))
    del rows
    kept = DISCOUNTED if discounted else "expected_purchases"  # for CLV, below
    out: dict[str, np.ndarray] = {}
    for column in [c for c in values if c != DISCOUNTED]:
        # Each distinct-row array goes as soon as it is expanded.
        value = values[column] if column == kept else values.pop(column)
        variance = variances[column] if column == kept else variances.pop(column)
        low, high = delta_bounds(column, value, variance, level)
        out.update({column: expanded(value, expand), f"{column}_lower": expanded(low, expand),
                    f"{column}_upper": expanded(high, expand)})
        del value, variance, low, high
    if spend_model is None:
        return out
    spend, spend_variance = linearize(spend_model, partial(spend_column, spend_rows))
    del spend_rows
    low, high = delta_bounds("expected_spend", spend["expected_spend"], spend_variance["expected_spend"], level)
    spend_each = expanded(spend["expected_spend"], spend_expand)
    out.update({"expected_spend": spend_each, "expected_spend_lower": expanded(low, spend_expand),
                "expected_spend_upper": expanded(high, spend_expand)})
    del low, high
    # Per customer (the two models group customers differently), in slices: the bounds' temporaries stay small.
    clv, clv_low, clv_high = (np.empty(len(spend_each)) for _ in range(3))
    for part in slices(len(spend_each), CLV_SLICE):
        clv[part] = margin * spend_each[part] * _take(values[kept], expand, part)
        variance = _take(variances[kept], expand, part) + _take(spend_variance["expected_spend"], spend_expand, part)
        clv_low[part], clv_high[part] = delta_bounds("clv", clv[part], variance, level)
    out.update({"clv": clv, "clv_lower": clv_low, "clv_upper": clv_high})
    return out


def spend_column(rows: pd.DataFrame, model: BaseModel) -> dict[str, np.ndarray]:
    """A spend model's expected spend for ``rows``, as the one column :func:`linearize` differentiates."""
    return {"expected_spend": model.expected_spend(rows).to_numpy(dtype=float)}


CLV_SLICE = 65_536  # customers per slice of per-customer work: a slice's temporaries are half a megabyte each


def _take(values: np.ndarray, expand: np.ndarray | None, part: slice) -> np.ndarray:
    """The customers ``part`` of per-row ``values`` of distinct rows (see :func:`expanded`)."""
    return np.asarray(values, dtype=float)[part if expand is None else expand[part]]


def fitted_models(frame: pd.DataFrame) -> dict[str, Any]:
    """The fitted models and settings that scored ``frame`` (they survive filtering and sorting).

    Returns a dict with ``model``, ``spend_model``, ``horizon``, ``unit``,
    ``discount_rate``, ``margin`` and ``model_choice`` (the comparison behind
    ``model="auto"``, else None).

    Examples
    --------
    >>> import custvalue as cv
    >>> scored = cv.score(cv.datasets.load_cdnow_summary(), horizon=39)
    >>> fitted_models(scored.head(10))["spend_model"].name
    'gammagamma'
    """
    if engine_step("attrs", frame) is None:
        check_frame(frame, "frame", allow_empty=True)
    found = provenance(frame)
    if found.get("model") is None:
        raise InvalidParameterError(
            "frame: this frame carries no fitted model; it was not produced by custvalue.score "
            "(or an operation such as merge dropped pandas' attrs, or it was read back from a file: models are "
            "not written with the frame; save them with model.save()). Run custvalue.score first."
        )
    keys = ("model", "spend_model", "horizon", "unit", "discount_rate", "margin", "model_choice")
    return {key: found.get(key) for key in keys}
