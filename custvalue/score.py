"""Score customers with a CLV model: expected purchases, P(alive), expected spend and CLV."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from custvalue.errors import InvalidParameterError, SchemaError
from custvalue.models import BaseModel, model_class
from custvalue.models._math import check_horizon
from custvalue.models._mle import group_rows
from custvalue.provenance import ATTRS_KEY, attach, is_dask_frame, provenance
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
    if is_dask_frame(data):
        from custvalue.dask_frames import score_dask

        return score_dask(data, model, spend_model, horizon, unit, discount_rate, margin,
                          observation_end=observation_end, grain=grain, columns=columns, intervals=intervals,
                          interval_draws=interval_draws, interval_method=interval_method, compute=compute)
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
    spend = instantiate(spend_model) if spend_model is not None and hasattr(count_model, "p_alive") else None
    groups = model_groups(summary, count_model, spend)
    fit_models(summary, groups, count_model, spend)
    scored = score_frame(summary, count_model, spend, horizon, unit, discount_rate, margin, groups,
                         intervals=intervals, interval_draws=interval_draws, interval_method=interval_method)
    return attach(scored, model_choice=choice)


def model_groups(summary: pd.DataFrame, count_model: BaseModel, spend_model: BaseModel | None) -> list | None:
    """For the likelihood models, the distinct rows of each model's columns (rows, counts, each customer's row).

    Customers with identical summaries get identical fits and predictions, so the models are fitted
    on distinct rows weighted by how many customers share each, and each row is predicted once.
    None for the formula models, which work on the summary as it is.
    """
    if not hasattr(count_model, "p_alive"):
        return None
    weights = summary.get("weights")
    return [group_rows(summary[list(m.required_columns())], weights) if m is not None else None
            for m in (count_model, spend_model)]


def fit_models(summary: pd.DataFrame, groups: list | None, count_model: BaseModel,
               spend_model: BaseModel | None) -> None:
    """Fit the models not fitted yet: on their distinct rows where the model allows
    (``fits_weighted_rows``), else on the whole summary."""
    for i, candidate in enumerate((count_model, spend_model)):
        if candidate is not None and not candidate.is_fitted:
            if groups is not None and candidate.fits_weighted_rows:
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
            discount_rate: float, margin: float, groups: list | None = None) -> dict[str, np.ndarray]:
    """The score columns for each row of ``summary``; with ``groups`` each model predicts its distinct rows once."""
    if not hasattr(count_model, "p_alive"):
        out = {}
        if hasattr(count_model, "expected_purchases"):
            out["expected_purchases"] = count_model.expected_purchases(summary, horizon)
            out["expected_spend"] = count_model.expected_spend(summary)
        out["clv"] = count_model.customer_value(summary, horizon, discount_rate, margin)
        return {k: v.to_numpy() for k, v in out.items()}
    rows, expand = (summary, None) if groups is None else (groups[0][0], groups[0][2])

    def per_customer(values: pd.Series | np.ndarray, expand: np.ndarray | None) -> np.ndarray:
        values = np.asarray(values)
        return values if expand is None else values[expand]

    purchases = count_model.expected_purchases(rows, horizon)
    out = {"expected_purchases": per_customer(purchases, expand),
           "p_alive": per_customer(count_model.p_alive(rows), expand)}
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
