"""Score customers with a CLV model: expected purchases, P(alive), expected spend and CLV."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from custvalue.errors import InvalidParameterError, SchemaError
from custvalue.models import BaseModel, MLEModel, model_class
from custvalue.models._math import check_horizon
from custvalue.models._mle import distinct
from custvalue.provenance import ATTRS_KEY, attach, provenance
from custvalue.summary import is_summary, summarize
from custvalue.timeunits import days_per_unit

__all__ = ["score", "fitted_models", "resolve_model"]


def resolve_model(model: str | type[BaseModel] | BaseModel, summary: pd.DataFrame) -> BaseModel:
    """A fitted model from a registry name, a class or an instance (fitted instances are used as they are)."""
    model = instantiate(model)
    return model if model.is_fitted else model.fit(summary)


def instantiate(model: str | type[BaseModel] | BaseModel) -> BaseModel:
    """A model instance from a registry name, a class or an instance."""
    if isinstance(model, str):
        model = model_class(model)()
    elif isinstance(model, type) and issubclass(model, BaseModel):
        model = model()
    if not isinstance(model, BaseModel):
        raise InvalidParameterError(
            f"model must be a registry name, a model class or a model instance, got {type(model).__name__}"
        )
    return model


def score(
    data: pd.DataFrame,
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
    if not isinstance(data, pd.DataFrame):
        raise SchemaError(f"score needs a DataFrame of transactions or a customer summary, got {type(data).__name__}")
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
    count_model = instantiate(model)
    fitted_spend = None
    rows, expand = summary, np.arange(len(summary))
    if hasattr(count_model, "p_alive"):
        fitted_spend = None if spend_model is None else instantiate(spend_model)
        # Customers with identical summaries get identical predictions: group them once, fit the
        # likelihood models on the distinct rows with their counts as weights, predict each row once.
        needed = [*count_model.required_columns(), *(fitted_spend.required_columns() if fitted_spend else ())]
        rows, expand = distinct_rows(summary, list(dict.fromkeys(needed)))
        counts = np.bincount(expand, weights=summary.get("weights"))
        for candidate in (count_model, fitted_spend):
            if candidate is not None and not candidate.is_fitted:
                candidate.fit(rows, weights=counts) if isinstance(candidate, MLEModel) else candidate.fit(summary)
    elif not count_model.is_fitted:
        count_model.fit(summary)
    out = {k: v.to_numpy() for k, v in predict(rows, count_model, fitted_spend, horizon, discount_rate, margin).items()}
    if intervals is not None:
        out.update(interval_columns(rows, summary, count_model, fitted_spend, horizon, discount_rate, margin,
                                    intervals, interval_draws, interval_method))
    scored = summary.assign(**{k: v[expand] for k, v in out.items()})
    scored.attrs[ATTRS_KEY] = provenance(summary)
    return attach(scored, model=count_model, spend_model=fitted_spend, horizon=horizon, unit=unit,
                  discount_rate=discount_rate, margin=margin, model_choice=choice)


def interval_columns(rows, summary, count_model, spend_model, horizon, discount_rate, margin, level, n_draws,
                     method) -> dict[str, np.ndarray]:
    """``*_lower`` / ``*_upper`` columns for the predictions of each distinct row."""
    from custvalue.intervals import parameter_draws, prediction_intervals

    if not hasattr(count_model, "p_alive"):
        raise InvalidParameterError(f"intervals need a probabilistic model; {count_model.name!r} has no likelihood")
    if not isinstance(n_draws, int) or n_draws < 10:
        raise InvalidParameterError(f"interval_draws must be a whole number >= 10, got {n_draws!r}")
    count_draws = parameter_draws(count_model, n_draws, method, summary, seed=0)
    spend_draws = (parameter_draws(spend_model, n_draws, method, summary[summary["frequency"] > 0], seed=1)
                   if spend_model is not None else [None] * n_draws)
    return prediction_intervals(
        rows, lambda part, m, s: predict(part, m, s, horizon, discount_rate, margin), count_draws, spend_draws, level)


AUTO_CANDIDATES = ("bgnbd", "mbgnbd", "paretonbd")


def choose_model(tx: pd.DataFrame, unit: str, observation_end, grain: str, columns) -> tuple[str, pd.DataFrame]:
    """The candidate with the lowest holdout MAE when the observation window is split in two halves.

    Returns the winner's name and the comparison table, whose ``attrs["reason"]`` says why it won.
    """
    from custvalue.evaluation import compare_models
    from custvalue.summary import calibration_holdout

    summary = summarize(tx, unit=unit, observation_end=observation_end, grain=grain, columns=columns)
    start, end = summary["first_purchase"].min(), provenance(summary).get("observation_end")
    calibration_end = start + (end - start) / 2
    calhold = calibration_holdout(tx, calibration_end, end, unit, grain=grain, columns=columns)
    table = compare_models(calhold, AUTO_CANDIDATES, metric="mae")
    winner = str(table.index[0])
    table.attrs["reason"] = (
        f"{winner} had the lowest holdout MAE ({table['mae'].iloc[0]:.4f} purchases per customer) when fitted "
        f"on {start.date()}..{calibration_end.date()} and checked on the rest, up to {end.date()}; "
        f"then refitted on all data"
    )
    return winner, table


def predict(summary: pd.DataFrame, count_model: BaseModel, spend_model: BaseModel | None, horizon: float,
            discount_rate: float, margin: float) -> dict[str, pd.Series]:
    """The score columns for each row of ``summary``."""
    out: dict[str, Any] = {}
    if not hasattr(count_model, "p_alive"):
        if hasattr(count_model, "expected_purchases"):
            out["expected_purchases"] = count_model.expected_purchases(summary, horizon)
            out["expected_spend"] = count_model.expected_spend(summary)
        out["clv"] = count_model.customer_value(summary, horizon, discount_rate, margin)
        return out
    out["expected_purchases"] = count_model.expected_purchases(summary, horizon)
    out["p_alive"] = count_model.p_alive(summary)
    if spend_model is not None:
        spend = spend_model.expected_spend(summary)
        out["expected_spend"] = spend
        out["clv"] = margin * spend * discounted_purchases(count_model, summary, horizon, discount_rate,
                                                           out["expected_purchases"])
    return out


def distinct_rows(summary: pd.DataFrame, columns: list[str]) -> tuple[pd.DataFrame, np.ndarray]:
    """The distinct rows of ``summary[columns]`` and, per customer, the position of its row among them.

    Real summaries live on a day grid and repeat a lot; when a sample shows
    almost no repeats (continuous times), the summary is used as it is.
    """
    keys = summary[columns]
    groups = distinct(keys)
    if groups is None:
        return keys, np.arange(len(summary))
    first, inverse = groups
    return keys.iloc[first], inverse


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
            "(or an operation such as merge dropped pandas' attrs). Run custvalue.score first."
        )
    keys = ("model", "spend_model", "horizon", "unit", "discount_rate", "margin", "model_choice")
    return {key: found.get(key) for key in keys}
