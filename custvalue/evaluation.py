"""How good is a forecast? Holdout evaluation, model comparison and the tracking series."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from custvalue.columns import canonical_columns, customer_codes
from custvalue.errors import InvalidParameterError, SchemaError
from custvalue.models import Ability, BaseModel, resolve
from custvalue.provenance import provenance
from custvalue.summary import calibration_holdout, summarize
from custvalue.timeunits import day_numbers, days_per_unit

__all__ = ["evaluate", "HoldoutEvaluation", "compare_models", "tracking", "calibration_summary", "choose_model"]

AUTO_CANDIDATES = ("bgnbd", "mbgnbd", "paretonbd", "bgcnbd", "mbgcnbd")


def fitted_model(model: str | type[BaseModel] | BaseModel, summary: pd.DataFrame) -> BaseModel:
    """``model`` resolved and, unless it was fitted already, fitted on ``summary`` (never the caller's object)."""
    resolved = resolve(model)
    return resolved if resolved.is_fitted else resolved.fit(summary)

CALHOLD_COLUMNS = ("frequency_cal", "recency_cal", "T_cal", "frequency_holdout", "duration_holdout")


def calibration_summary(calhold: pd.DataFrame) -> pd.DataFrame:
    """The calibration part of a :func:`custvalue.calibration_holdout` frame, with summary column names."""
    missing = [c for c in CALHOLD_COLUMNS if c not in calhold.columns]
    if missing:
        raise SchemaError(f"needs a calibration/holdout frame (custvalue.calibration_holdout); missing {missing}")
    summary = calhold.rename(columns={"frequency_cal": "frequency", "recency_cal": "recency", "T_cal": "T",
                                      "monetary_value_cal": "monetary_value", "litt_cal": "litt"})
    keep = [c for c in ("frequency", "recency", "T", "monetary_value", "litt") if c in summary.columns]
    return summary[keep]


@dataclass(frozen=True)
class HoldoutEvaluation:
    """Forecast errors of a model on the holdout period (see :func:`evaluate`)."""

    model: BaseModel
    metrics: pd.Series
    by_frequency: pd.DataFrame
    per_customer: pd.DataFrame = field(repr=False)
    spend_metrics: pd.Series | None = None

    def __str__(self) -> str:
        text = [f"Holdout evaluation of {self.model.name}", self.metrics.to_string(float_format=lambda v: f"{v:,.4f}"),
                "", "Mean holdout purchases by calibration frequency:",
                self.by_frequency.to_string(float_format=lambda v: f"{v:,.3f}")]
        if self.spend_metrics is not None:
            text += ["", "Spend:", self.spend_metrics.to_string(float_format=lambda v: f"{v:,.4f}")]
        return "\n".join(text)

    def _repr_html_(self) -> str:
        html = f"<p><b>Holdout evaluation of {self.model.name}</b></p>" + self.metrics.to_frame("value").to_html(
            float_format="{:,.4f}".format, border=0)
        return html + self.by_frequency.to_html(float_format="{:,.3f}".format, border=0)

    __repr__ = __str__


def evaluate(model: str | BaseModel, calhold: pd.DataFrame, spend_model: str | BaseModel | None = None,
             max_frequency: int = 7) -> HoldoutEvaluation:
    """Fit (if needed) on the calibration period and measure the holdout forecast.

    Per customer the prediction is the expected number of repeat purchases
    over ``duration_holdout``, compared with ``frequency_holdout``: MAE, RMSE
    and bias (mean of predicted − actual); in aggregate, total predicted vs
    actual purchases and their relative error; and by calibration frequency
    (0, 1, ..., ``max_frequency``+), the table behind the
    calibration-vs-holdout plot. With a spend model, the expected spend of
    customers who bought in the holdout is compared with their mean holdout
    spend the same way.

    Examples
    --------
    >>> import custvalue as cv
    >>> calhold = cv.calibration_holdout(cv.datasets.load_cdnow(sample=True), "1997-09-30", "1998-06-30")
    >>> result = evaluate("bgnbd", calhold)
    >>> round(result.metrics["total_actual"]), round(result.metrics["total_predicted"])
    (1882, 1653)
    """
    summary = calibration_summary(calhold)
    purchase_model = fitted_model(model, summary)
    purchase_model.require(Ability.CONDITIONAL, "holdout evaluation")
    duration = calhold["duration_holdout"].to_numpy(dtype=float)
    if np.ptp(duration) > 1e-9:
        raise SchemaError("duration_holdout must be the same for every customer")
    predicted = purchase_model.expected_purchases(summary, float(duration[0])).to_numpy()
    actual = calhold["frequency_holdout"].to_numpy(dtype=float)
    per_customer = pd.DataFrame({"frequency_cal": summary["frequency"], "actual": actual, "predicted": predicted},
                                index=calhold.index)
    metrics = error_metrics(predicted, actual)
    bucket = np.minimum(summary["frequency"].to_numpy(), max_frequency).astype(int)
    by_frequency = per_customer.groupby(bucket).agg(customers=("actual", "size"), actual=("actual", "mean"),
                                                    predicted=("predicted", "mean"))
    by_frequency.index = [f"{b}+" if b == max_frequency else str(b) for b in by_frequency.index]
    by_frequency.index.name = "frequency_cal"
    spend_metrics = None
    if spend_model is not None:
        spend = fitted_model(spend_model, summary)
        spend.require(Ability.SPEND, "spend evaluation")
        bought = actual > 0
        if "monetary_value_holdout" not in calhold.columns:
            raise SchemaError("spend evaluation needs monetary_value_holdout (from custvalue.calibration_holdout)")
        spend_metrics = error_metrics(spend.expected_spend(summary).to_numpy()[bought],
                                      calhold["monetary_value_holdout"].to_numpy(dtype=float)[bought])
    return HoldoutEvaluation(purchase_model, metrics, by_frequency, per_customer, spend_metrics)


def error_metrics(predicted: np.ndarray, actual: np.ndarray) -> pd.Series:
    """MAE, RMSE, bias and the aggregate error of predictions."""
    error = predicted - actual
    total_actual = float(actual.sum())
    return pd.Series({
        "mae": float(np.mean(np.abs(error))), "rmse": float(np.sqrt(np.mean(error**2))), "bias": float(error.mean()),
        "total_predicted": float(predicted.sum()), "total_actual": total_actual,
        "aggregate_error": float(predicted.sum() / total_actual - 1) if total_actual else np.nan,
    })


def compare_models(calhold: pd.DataFrame, models: Sequence[str | BaseModel] = ("bgnbd", "mbgnbd", "paretonbd"),
                   metric: str = "mae") -> pd.DataFrame:
    """Fit each model on the calibration period and rank them by holdout error.

    Returns one row per model (index: model name) with ``mae``, ``rmse``,
    ``bias``, ``aggregate_error``, ``log_likelihood``, ``aic`` and ``bic``,
    sorted by ``metric`` (lower is better; for bias, closer to zero). The
    fitted models are in ``table.attrs["models"]``.

    Examples
    --------
    >>> import custvalue as cv
    >>> calhold = cv.calibration_holdout(cv.datasets.load_cdnow(sample=True), "1997-09-30", "1998-06-30")
    >>> compare_models(calhold).index.tolist()
    ['paretonbd', 'mbgnbd', 'bgnbd']
    """
    if metric not in ("mae", "rmse", "bias", "aggregate_error", "aic", "bic"):
        raise InvalidParameterError(f"unknown metric {metric!r}; use mae, rmse, bias, aggregate_error, aic or bic")
    rows, fitted = {}, {}
    for candidate in models:
        result = evaluate(candidate, calhold)
        name = result.model.name
        stats = result.model.summary().attrs
        rows[name] = {**result.metrics.to_dict(), "log_likelihood": stats["log_likelihood"], "aic": stats["aic"],
                      "bic": stats["bic"]}
        fitted[name] = result.model
    table = pd.DataFrame.from_dict(rows, orient="index").rename_axis("model")
    key = table[metric].abs() if metric in ("bias", "aggregate_error") else table[metric]
    table = table.loc[key.sort_values(kind="stable").index]
    table.attrs["models"] = fitted
    table.attrs["metric"] = metric
    return table


def tracking(model: BaseModel, transactions: pd.DataFrame, unit: str = "W", *, period: str | None = None,
             columns: Mapping[str, str] | None = None) -> pd.DataFrame:
    """Weekly (per ``unit``) repeat purchases, actual and predicted, cumulative and incremental.

    Actual: purchase occasions (distinct customer-days) after each customer's
    first, per period. Predicted: Σ over customers of E[X(t)] for a new
    customer, t measured from their first purchase, with the fitted model's
    population parameters (as in Fader, Hardie & Lee 2005, figure 2).

    Examples
    --------
    >>> import custvalue as cv
    >>> tx = cv.datasets.load_cdnow(sample=True)
    >>> model = cv.models.BetaGeo.from_params(r=0.2426, alpha=4.4136, a=0.7929, b=2.4259)
    >>> track = tracking(model, tx)
    >>> len(track), int(track["actual_cumulative"].iloc[-1])
    (78, 4339)
    """
    model.require(Ability.NEW_CUSTOMER, "tracking")
    tx = canonical_columns(transactions, columns)
    step = days_per_unit(period or unit)
    days = day_numbers(tx["date"])
    codes, _ = customer_codes(tx["customer_id"])
    first = np.full(codes.max() + 1, np.iinfo(np.int64).max)
    np.minimum.at(first, codes, days)
    occasions = pd.DataFrame({"c": codes, "d": days}).drop_duplicates()
    repeat_days = occasions["d"].to_numpy()[occasions["d"].to_numpy() > first[occasions["c"].to_numpy()]]
    start, end = int(days.min()), int(days.max())
    edges = start + step * np.arange(1, int(np.ceil((end - start + 1) / step)) + 1)
    actual = np.histogram(repeat_days, bins=np.concatenate([[start], edges]))[0]
    first_days, counts = np.unique(first[first < np.iinfo(np.int64).max], return_counts=True)
    elapsed = np.clip(edges[None, :] - first_days[:, None], 0, None) / days_per_unit(unit)
    cumulative = (counts[:, None] * np.asarray(model.expected_purchases_new(elapsed))).sum(axis=0)
    return pd.DataFrame({
        "actual_incremental": actual, "predicted_incremental": np.diff(np.concatenate([[0.0], cumulative])),
        "actual_cumulative": np.cumsum(actual), "predicted_cumulative": cumulative,
    }, index=pd.Index(pd.to_datetime(edges, unit="D"), name="period_end"))


def choose_model(tx: pd.DataFrame, unit: str, observation_end: str | pd.Timestamp | None, grain: str,
                 columns: Mapping[str, str] | None) -> tuple[str, pd.DataFrame]:
    """The candidate with the lowest holdout MAE when the observation window is split in two halves
    (``score(model="auto")``).

    Returns the winner's name and the comparison table, whose ``attrs["reason"]`` says why it won.
    """
    summary = summarize(tx, unit=unit, observation_end=observation_end, grain=grain, columns=columns)
    start, end = summary["first_purchase"].min(), provenance(summary).get("observation_end")
    calibration_end = start + (end - start) / 2
    calhold = calibration_holdout(tx, calibration_end, end, unit, grain=grain, columns=columns)
    present = set(calibration_summary(calhold).columns)  # regularity models need litt
    candidates = [name for name in AUTO_CANDIDATES if set(resolve(name).required_columns()) <= present]
    table = compare_models(calhold, candidates, metric="mae")
    winner = str(table.index[0])
    table.attrs["reason"] = (
        f"{winner} had the lowest holdout MAE ({table['mae'].iloc[0]:.4f} purchases per customer) when fitted "
        f"on {start.date()}..{calibration_end.date()} and checked on the rest, up to {end.date()}; "
        f"then refitted on all data"
    )
    return winner, table
