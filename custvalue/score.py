"""Score customers with a CLV model: expected purchases, P(alive), expected spend and CLV."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from custvalue.columns import is_summary
from custvalue.engines import engine_step, not_a_frame_error
from custvalue.errors import AbilityError, InvalidParameterError, SchemaError
from custvalue.evaluation import choose_model
from custvalue.grouping import group_rows
from custvalue.intervals import parameter_draws, prediction_intervals
from custvalue.models import Ability, BaseModel, Role, available, resolve
from custvalue.models._math import check_horizon
from custvalue.provenance import ATTRS_KEY, attach, provenance
from custvalue.summary import summarize
from custvalue.timeunits import days_per_unit

ModelSpec = str | type[BaseModel] | BaseModel

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
    interval_method: str = "asymptotic",
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
    unit : {"D", "W", "M", "Y"}, default "W"
        Time unit of the summary, the horizon and the discount rate.
    discount_rate : float, default 0
        Discount rate per ``unit``; CLV sums each unit's expected value
        discounted to today.
    margin : float, default 1
        Share of spend that is profit.
    intervals : float, optional
        A level such as 0.9: adds ``*_lower`` and ``*_upper`` columns for
        each prediction, from ``interval_draws`` parameter draws (seeded, so
        reproducible) of ``interval_method``: ``"asymptotic"`` (normal on
        the log-parameter scale, from the inverse observed information) or
        ``"bootstrap"`` (refits on data simulated from the fitted models).
    compute : bool, default False
        Dask input only: return a computed pandas frame (keeping the fitted
        models) instead of a lazy Dask DataFrame. See the "Scaling up" page of the documentation.

    Returns
    -------
    DataFrame
        The summary columns plus ``expected_purchases``, ``p_alive``,
        ``expected_spend`` and ``clv`` (columns a model cannot give are left
        out). The fitted models travel with the frame: :func:`fitted_models`.

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
    horizon = check_horizon(horizon)
    days_per_unit(unit)
    if not isinstance(discount_rate, int | float) or discount_rate < 0:
        raise InvalidParameterError(f"discount_rate must be a number >= 0 (per {unit}), got {discount_rate!r}")
    if not isinstance(margin, int | float) or margin < 0:
        raise InvalidParameterError(f"margin must be a number >= 0, got {margin!r}")
    on_engine = engine_step("score", data)
    if on_engine is not None:
        return on_engine(data, model, spend_model, horizon, unit, discount_rate, margin,
                         observation_end=observation_end, grain=grain, columns=columns, intervals=intervals,
                         interval_draws=interval_draws, interval_method=interval_method, compute=compute)
    if not isinstance(data, pd.DataFrame):
        raise not_a_frame_error(data, "score (transactions or a customer summary)")
    if is_summary(data) or {"frequency", "periods"} <= set(data.columns):
        summary = data
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
        model, choice = choose_model(data, unit=unit, observation_end=observation_end, grain=grain, columns=columns)
    count_model, spend = score_models(model, spend_model)
    for candidate in (count_model, spend):
        if candidate is not None:
            require_columns(summary, candidate)
    groups = model_groups(summary, count_model, spend)
    fit_models(summary, groups, count_model, spend)
    scored = score_frame(summary, count_model, spend, horizon, unit, discount_rate, margin, groups,
                         intervals=intervals, interval_draws=interval_draws, interval_method=interval_method)
    return attach(scored, model_choice=choice)


def score_models(model: ModelSpec, spend_model: ModelSpec | None) -> tuple[BaseModel, BaseModel | None]:
    """The purchase (or value) model and the spend model a score uses, checked for their roles.

    Unfitted ones are fresh objects (:func:`custvalue.models.resolve`), so fitting them leaves the
    caller's models as they were. A value model values customers itself: it takes no spend model.
    """
    count_model = resolve(model)
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
    spend = resolve(spend_model)
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
        raise SchemaError(f"the {model.name!r} model needs the column(s) {missing}; the summary has "
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
    return [group_rows(summary[list(m.required_columns())], weights) if m is not None else None
            for m in (count_model, spend_model)]


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
                interval_method: str = "asymptotic") -> pd.DataFrame:
    """``summary`` with the predictions of fitted models; ``groups`` (from :func:`model_groups`) saves regrouping."""
    if intervals is None:
        groups = groups or model_groups(summary, count_model, spend_model)
        out = predict(summary, count_model, spend_model, horizon, discount_rate, margin, groups)
    else:
        # Every draw re-predicts every distinct row: one grouping on the columns of both models.
        rows, _, expand = group_rows(summary[needed_columns(count_model, spend_model)])
        out = predict(rows, count_model, spend_model, horizon, discount_rate, margin)
        out.update(interval_columns(rows, summary, count_model, spend_model, horizon, discount_rate, margin,
                                    intervals, interval_draws, interval_method))
        out = {k: v[expand] for k, v in out.items()}
    # concat rather than assign: assign copies each new 10-million-row column once more
    kept = summary.drop(columns=[c for c in summary.columns if c in out])
    scored = pd.concat([kept, pd.DataFrame(out, index=summary.index, copy=False)], axis=1)
    scored.attrs[ATTRS_KEY] = provenance(summary)
    return attach(scored, model=count_model, spend_model=spend_model, horizon=horizon, unit=unit,
                  discount_rate=discount_rate, margin=margin)


def needed_columns(count_model: BaseModel, spend_model: BaseModel | None) -> list[str]:
    """The summary columns the two models read."""
    needed = [*count_model.required_columns(), *(spend_model.required_columns() if spend_model else ())]
    return list(dict.fromkeys(needed))


def interval_columns(rows: pd.DataFrame, summary: pd.DataFrame, count_model: BaseModel, spend_model: BaseModel | None,
                     horizon: float, discount_rate: float, margin: float, level: float, n_draws: int,
                     method: str) -> dict[str, np.ndarray]:
    """``*_lower`` / ``*_upper`` columns for the predictions of each distinct row."""
    if not isinstance(n_draws, int) or n_draws < 10:
        raise InvalidParameterError(f"interval_draws must be a whole number >= 10, got {n_draws!r}")
    count_draws = parameter_draws(count_model, n_draws, method, summary, seed=0)
    spend_draws = (parameter_draws(spend_model, n_draws, method, summary[summary["frequency"] > 0], seed=1)
                   if spend_model is not None else [None] * n_draws)
    return prediction_intervals(
        rows, lambda part, m, s: predict(part, m, s, horizon, discount_rate, margin), count_draws, spend_draws, level)


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
    rows, expand = (summary, None) if groups is None else (groups[0][0], groups[0][2])

    def per_customer(values: pd.Series | np.ndarray, expand: np.ndarray | None) -> np.ndarray:
        values = np.asarray(values)
        return values if expand is None else values[expand]

    purchases = count_model.expected_purchases(rows, horizon)
    out = {"expected_purchases": per_customer(purchases, expand)}
    if count_model.can(Ability.P_ALIVE):
        out["p_alive"] = per_customer(count_model.p_alive(rows), expand)
    if spend_model is not None:
        spend_rows, spend_expand = (summary, None) if groups is None else (groups[1][0], groups[1][2])
        spend = per_customer(spend_model.expected_spend(spend_rows), spend_expand)
        out["expected_spend"] = spend
        discounted = discounted_purchases(count_model, rows, horizon, discount_rate, purchases)
        out["clv"] = margin * spend * per_customer(discounted, expand)
    return out


def discounted_purchases(model: BaseModel, summary: pd.DataFrame, horizon: float, discount_rate: float,
                         undiscounted: pd.Series) -> np.ndarray:
    """Σ over units k ≤ horizon of (E[X(k)] − E[X(k−1)]) / (1 + d)^k, the last unit possibly partial."""
    if discount_rate == 0:
        return undiscounted.to_numpy()
    return discount_curve(lambda t: model.expected_purchases(summary, t).to_numpy(), horizon, discount_rate)


def discount_curve(cumulative: Any, horizon: float, discount_rate: float) -> np.ndarray:
    """Discounted sum of the increments of ``cumulative(t)`` (expected purchases by t) over unit steps."""
    steps = np.unique(np.append(np.arange(1.0, np.floor(horizon) + 1), horizon))
    total, previous = 0.0, 0.0
    for k in steps[steps > 0]:
        current = cumulative(k)
        total = total + (current - previous) / (1 + discount_rate) ** k
        previous = current
    return np.asarray(total, dtype=float)


def fitted_models(frame: pd.DataFrame) -> dict[str, Any]:
    """The fitted models and settings that scored ``frame`` (they survive filtering and sorting).

    Returns a dict with ``model``, ``spend_model``, ``horizon``, ``unit``,
    ``discount_rate``, ``margin`` and ``model_choice`` (the comparison behind
    ``model="auto"``, else None).
    """
    found = provenance(frame)
    if found.get("model") is None:
        raise InvalidParameterError(
            "this frame carries no fitted model; it was not produced by custvalue.score "
            "(or an operation such as merge dropped pandas' attrs, or it was read back from a file: models are "
            "not written with the frame; save them with model.save()). Run custvalue.score first."
        )
    keys = ("model", "spend_model", "horizon", "unit", "discount_rate", "margin", "model_choice")
    return {key: found.get(key) for key in keys}
