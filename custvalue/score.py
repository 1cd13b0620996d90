"""Score customers with a CLV model: expected purchases, P(alive), expected spend and CLV."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from custvalue.errors import InvalidParameterError, SchemaError
from custvalue.models import BaseModel, model_class
from custvalue.models._math import check_horizon
from custvalue.models._mle import SAMPLE_ROWS
from custvalue.provenance import ATTRS_KEY, attach, provenance
from custvalue.summary import is_summary, summarize
from custvalue.timeunits import days_per_unit

__all__ = ["score", "fitted_models", "resolve_model"]


def resolve_model(model: str | type[BaseModel] | BaseModel, summary: pd.DataFrame) -> BaseModel:
    """A fitted model from a registry name, a class or an instance (fitted instances are used as they are)."""
    if isinstance(model, str):
        model = model_class(model)()
    elif isinstance(model, type) and issubclass(model, BaseModel):
        model = model()
    if not isinstance(model, BaseModel):
        raise InvalidParameterError(
            f"model must be a registry name, a model class or a model instance, got {type(model).__name__}"
        )
    return model if model.is_fitted else model.fit(summary)


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

    count_model = resolve_model(model, summary)
    fitted_spend = None
    rows, expand = summary, np.arange(len(summary))
    if hasattr(count_model, "p_alive"):
        fitted_spend = None if spend_model is None else resolve_model(spend_model, summary)
        # Customers with identical summaries get identical predictions: predict each distinct row once.
        needed = [*count_model.columns, *(fitted_spend.columns if fitted_spend else ())]
        rows, expand = distinct_rows(summary, list(dict.fromkeys(needed)))
    out = predict(rows, count_model, fitted_spend, horizon, discount_rate, margin)
    scored = summary.assign(**{k: v.to_numpy()[expand] for k, v in out.items()})
    scored.attrs[ATTRS_KEY] = provenance(summary)
    return attach(scored, model=count_model, spend_model=fitted_spend, horizon=horizon, unit=unit,
                  discount_rate=discount_rate, margin=margin)


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
    n = len(summary)
    keys = summary[columns]
    if n > 4 * SAMPLE_ROWS:
        sample = np.random.default_rng(0).choice(n, SAMPLE_ROWS, replace=False)
        if keys.iloc[sample].duplicated().mean() < 0.01:
            return keys, np.arange(n)
    codes = keys.groupby(columns, sort=False, dropna=False).ngroup().to_numpy()
    first = np.unique(codes, return_index=True)[1]
    return keys.iloc[first], codes


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
    ``discount_rate`` and ``margin``.
    """
    found = provenance(frame)
    if found.get("model") is None:
        raise InvalidParameterError(
            "this frame carries no fitted model; it was not produced by custvalue.score "
            "(or an operation such as merge dropped pandas' attrs). Run custvalue.score first."
        )
    return {key: found.get(key) for key in ("model", "spend_model", "horizon", "unit", "discount_rate", "margin")}
