"""How good is a forecast? Holdout evaluation, model comparison and the tracking series."""

from __future__ import annotations

import warnings
from collections.abc import ItemsView, Iterable, Iterator, KeysView, Mapping, Sequence, ValuesView
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from custvalue.checks import check_choice, check_frame, check_int, check_values, invalid
from custvalue.columns import customer_codes
from custvalue.errors import (
    AbilityError,
    ConvergenceError,
    CustValueWarning,
    InvalidParameterError,
    MissingColumnError,
    SchemaError,
    UnknownModelError,
)
from custvalue.models import Ability, BaseModel, Role, available, resolve
from custvalue.progress import check_progress
from custvalue.progress import progress as progress_bar
from custvalue.provenance import provenance
from custvalue.summary import calibration_holdout, checked_transactions, summarize
from custvalue.timeunits import check_unit, days_per_unit, tick_numbers, ticks_per_day

__all__ = ["evaluate", "HoldoutEvaluation", "compare_models", "tracking", "calibration_summary", "choose_model",
           "FittedModels", "resolve_param"]

AUTO_CANDIDATES = ("bgnbd", "mbgnbd", "paretonbd", "bgcnbd", "mbgcnbd")


def resolve_param(spec: object, name: str, role: Role | None = None, **hyper_parameters: Any) -> BaseModel:
    """:func:`custvalue.models.resolve` for the argument ``name``, whose errors then name it; ``role``: the one
    the model must have."""
    try:
        model = resolve(spec, **hyper_parameters)  # type: ignore[arg-type]
    except UnknownModelError as err:
        raise UnknownModelError(f"{name}={spec!r}: {err}") from None
    except InvalidParameterError as err:
        raise InvalidParameterError(f"{name}={_short(spec)}: {err}") from None
    if role is not None and model.role is not role:
        raise AbilityError(f"{name}={model.name!r} is a {model.role.value} model; {name} takes a {role.value} model: "
                           f"one of {available(role=role)}")
    return model


def _short(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def fitted_model(model: str | type[BaseModel] | BaseModel, summary: pd.DataFrame, name: str = "model",
                 role: Role | None = None) -> BaseModel:
    """``model`` resolved and, unless it was fitted already, fitted on ``summary`` (never the caller's object)."""
    resolved = resolve_param(model, name, role)
    return resolved if resolved.is_fitted else resolved.fit(summary)


CALHOLD_COLUMNS = ("frequency_cal", "recency_cal", "T_cal", "frequency_holdout", "duration_holdout")


def calibration_summary(calhold: pd.DataFrame, name: str = "calhold") -> pd.DataFrame:
    """The calibration part of a :func:`custvalue.calibration_holdout` frame, with summary column names;
    the holdout columns are checked (finite, whole purchase counts >= 0, one positive duration).

    Examples
    --------
    >>> ch = pd.DataFrame({"frequency_cal": [1], "recency_cal": [2.0], "T_cal": [4.0], "frequency_holdout": [0],
    ...                    "duration_holdout": [4.0]})
    >>> list(calibration_summary(ch).columns)
    ['frequency', 'recency', 'T']
    """
    calhold = check_frame(calhold, name)
    missing = [c for c in CALHOLD_COLUMNS if c not in calhold.columns]
    if missing:
        raise MissingColumnError(f"{name} needs a calibration/holdout frame (custvalue.calibration_holdout); "
                                 f"missing {missing}")
    fix = "build the frame with custvalue.calibration_holdout(tx, calibration_end, observation_end)"
    holdout = check_values(calhold, "frequency_holdout", low=0, fix=fix)
    if (holdout != np.floor(holdout)).any():
        raise SchemaError(f"{name}: column 'frequency_holdout' must hold whole purchase counts. How to fix: {fix}")
    duration = check_values(calhold, "duration_holdout", low=0, fix=fix)
    if np.ptp(duration) > 1e-9 or duration[0] <= 0:
        raise SchemaError(f"{name}: duration_holdout must be the same positive length for every customer. "
                          f"How to fix: {fix}")
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
    max_frequency = check_int(max_frequency, "max_frequency", low=0)
    summary = calibration_summary(calhold)
    spend = None if spend_model is None else resolve_param(spend_model, "spend_model", Role.SPEND)
    if spend is not None and "monetary_value_holdout" not in calhold.columns:
        raise MissingColumnError("spend evaluation needs the column monetary_value_holdout (from "
                                 "custvalue.calibration_holdout)")
    purchase_model = resolve_param(model, "model")
    purchase_model.require(Ability.CONDITIONAL, "holdout evaluation")
    if not purchase_model.is_fitted:
        purchase_model.fit(summary)
    duration = calhold["duration_holdout"].to_numpy(dtype=float)
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
    if spend is not None:
        if not spend.is_fitted:
            spend.fit(summary)
        bought = actual > 0
        spend_actual = check_values(calhold, "monetary_value_holdout", low=0)[bought]
        spend_metrics = error_metrics(spend.expected_spend(summary).to_numpy()[bought], spend_actual, "spend")
    return HoldoutEvaluation(purchase_model, metrics, by_frequency, per_customer, spend_metrics)


def error_metrics(predicted: np.ndarray, actual: np.ndarray, what: str = "purchases") -> pd.Series:
    """MAE, RMSE, bias and the aggregate error of predictions; refused when nothing happened in the holdout
    (the aggregate error would divide by zero)."""
    total_actual = float(actual.sum())
    if not total_actual > 0:
        raise SchemaError(f"calhold: no {what} in the holdout period, so a forecast of them cannot be judged. "
                          "How to fix: choose a longer holdout (a later observation_end in calibration_holdout)")
    error = predicted - actual
    return pd.Series({
        "mae": float(np.mean(np.abs(error))), "rmse": float(np.sqrt(np.mean(error**2))), "bias": float(error.mean()),
        "total_predicted": float(predicted.sum()), "total_actual": total_actual,
        "aggregate_error": float(predicted.sum() / total_actual - 1),
    })


def compare_models(calhold: pd.DataFrame, models: Sequence[str | BaseModel] = ("bgnbd", "mbgnbd", "paretonbd"),
                   metric: str = "mae", *, progress: bool | None = None) -> pd.DataFrame:
    """Fit each model on the calibration period and rank them by holdout error.

    Returns one row per model (index: model name) with ``mae``, ``rmse``,
    ``bias``, ``aggregate_error``, ``log_likelihood``, ``aic`` and ``bic``,
    sorted by ``metric`` (lower is better; for bias, closer to zero). The
    fitted models are in ``table.attrs["models"]``.

    A model whose fit fails (:class:`~custvalue.errors.ConvergenceError`) is
    left out of the table with a :class:`~custvalue.errors.CustValueWarning`;
    ``table.attrs["failed"]`` maps its name to the reason. When every model
    fails, the first failure is raised.

    ``progress``: a bar over the models when the fits take more than two
    seconds, in a notebook or a terminal (None, the default); False never
    shows one, True shows one wherever tqdm is installed (see ``custvalue.progress``).

    Examples
    --------
    >>> import custvalue as cv
    >>> calhold = cv.calibration_holdout(cv.datasets.load_cdnow(sample=True), "1997-09-30", "1998-06-30")
    >>> compare_models(calhold).index.tolist()
    ['paretonbd', 'mbgnbd', 'bgnbd']
    """
    metric = check_choice(metric, "metric", ["mae", "rmse", "bias", "aggregate_error", "aic", "bic"])
    show = check_progress(progress)
    if isinstance(models, str | BaseModel | type) or not isinstance(models, Iterable):
        raise invalid("models", models, "it must be a list of models (names, classes or instances), e.g. "
                      "models=['bgnbd', 'paretonbd']")
    candidates = list(models)
    if not candidates:
        raise invalid("models", models, "it must name at least one model, e.g. models=['bgnbd', 'paretonbd']")
    resolved = [resolve_param(candidate, f"models[{i}]", Role.PURCHASE) for i, candidate in enumerate(candidates)]
    calibration_summary(calhold)
    rows, fitted, failed = {}, {}, {}
    for candidate in progress_bar(resolved, "fitting and checking models", enabled=show):
        name, k = candidate.name, 2
        while name in rows or name in failed:  # the same model twice (other hyper-parameters): number the later
            name, k = f"{candidate.name} ({k})", k + 1
        try:
            result = evaluate(candidate, calhold)
        except ConvergenceError as err:
            failed[name] = err
            continue
        stats = result.model.summary().attrs
        rows[name] = {**result.metrics.to_dict(), "log_likelihood": stats["log_likelihood"], "aic": stats["aic"],
                      "bic": stats["bic"]}
        fitted[name] = result.model
    if not rows:
        raise next(iter(failed.values()))
    if failed:
        warnings.warn(f"compare_models: left out {', '.join(failed)}, whose fit failed: "
                      + "; ".join(f"{name}: {reason}" for name, reason in failed.items())
                      + ". The reasons are in table.attrs['failed']", CustValueWarning, stacklevel=2)
    table = pd.DataFrame.from_dict(rows, orient="index").rename_axis("model")
    key = table[metric].abs() if metric in ("bias", "aggregate_error") else table[metric]
    table = table.loc[key.sort_values(kind="stable").index]
    table.attrs["models"] = FittedModels(fitted)
    table.attrs["metric"] = metric
    table.attrs["failed"] = {name: str(err) for name, err in failed.items()}
    return table


class FittedModels(str):
    """The fitted models of a comparison (name → model), kept in ``table.attrs["models"]``.

    A mapping that is also a short text naming the models: pandas writes ``attrs`` as JSON when a
    frame is saved to Parquet, and models are not JSON; only the text is written.

    Examples
    --------
    >>> from custvalue.models import BetaGeo
    >>> models = FittedModels({"bgnbd": BetaGeo()})
    >>> list(models), str(models)
    (['bgnbd'], 'fitted models: bgnbd')
    """

    _models: dict[str, BaseModel]

    def __new__(cls, models: Mapping[str, BaseModel]) -> FittedModels:
        self = super().__new__(cls, "fitted models: " + ", ".join(models))
        self._models = dict(models)
        return self

    def __reduce__(self) -> tuple[type[FittedModels], tuple[dict[str, BaseModel]]]:
        return FittedModels, (self._models,)

    def __deepcopy__(self, memo: dict) -> FittedModels:
        return self

    def __getitem__(self, name: object) -> BaseModel:  # type: ignore[override]
        return self._models[str(name)]

    def __iter__(self) -> Iterator[str]:
        return iter(self._models)

    def __len__(self) -> int:
        return len(self._models)

    def __contains__(self, name: object) -> bool:
        return name in self._models

    def __eq__(self, other: object) -> bool:
        return self is other

    def __ne__(self, other: object) -> bool:
        return self is not other

    __hash__ = object.__hash__

    def keys(self) -> KeysView[str]:
        return self._models.keys()

    def values(self) -> ValuesView[BaseModel]:
        return self._models.values()

    def items(self) -> ItemsView[str, BaseModel]:
        return self._models.items()

    def get(self, name: str, default: Any = None) -> Any:
        return self._models.get(name, default)


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
    if not isinstance(model, BaseModel):
        raise invalid("model", model, "it must be a fitted model, e.g. custvalue.models.get('bgnbd').fit(summary)")
    model.require(Ability.NEW_CUSTOMER, "tracking")
    model._check_fitted()
    check_unit(unit)
    tx = checked_transactions(transactions, columns, "transactions")
    # Hourly units count purchase occasions by the hour, the others by the day.
    clock = "h" if "h" in (unit, period) else "D"
    per_tick = ticks_per_day(clock)
    step = days_per_unit(period or unit, "period" if period is not None else "unit") * per_tick
    days = tick_numbers(tx["date"], clock)
    codes, _ = customer_codes(tx["customer_id"])
    first = np.full(codes.max() + 1, np.iinfo(np.int64).max)
    np.minimum.at(first, codes, days)
    occasions = pd.DataFrame({"c": codes, "d": days}).drop_duplicates()
    repeat_days = occasions["d"].to_numpy()[occasions["d"].to_numpy() > first[occasions["c"].to_numpy()]]
    start, end = int(days.min()), int(days.max())
    edges = start + step * np.arange(1, int(np.ceil((end - start + 1) / step)) + 1)
    actual = np.histogram(repeat_days, bins=np.concatenate([[start], edges]))[0]
    first_days, counts = np.unique(first[first < np.iinfo(np.int64).max], return_counts=True)
    elapsed = np.clip(edges[None, :] - first_days[:, None], 0, None) / (days_per_unit(unit) * per_tick)
    cumulative = (counts[:, None] * np.asarray(model.expected_purchases_new(elapsed))).sum(axis=0)
    return pd.DataFrame({
        "actual_incremental": actual, "predicted_incremental": np.diff(np.concatenate([[0.0], cumulative])),
        "actual_cumulative": np.cumsum(actual), "predicted_cumulative": cumulative,
    }, index=pd.Index(period_ends(edges, clock), name="period_end"))


def period_ends(edges: np.ndarray, clock: str) -> pd.DatetimeIndex:
    """The last whole day (hour) before each period boundary, given in fractional ticks since 1970: the last
    day a period's purchases can fall on (months of 365.2425/12 days end within a day)."""
    last = np.ceil(edges - 1e-9) - 1
    return pd.DatetimeIndex(pd.to_datetime(last / ticks_per_day(clock), unit="D").round("s")).astype("datetime64[us]")


def choose_model(tx: pd.DataFrame, unit: str, observation_end: str | pd.Timestamp | None, grain: str,
                 columns: Mapping[str, str] | None, penalizer: float | None = None,
                 progress: bool | None = None) -> tuple[str, pd.DataFrame]:
    """The candidate with the lowest holdout MAE when the observation window is split in two halves
    (``score(model="auto")``; ``progress`` as in :func:`compare_models`).

    Returns the winner's name and the comparison table, whose ``attrs["reason"]`` says why it won.
    """
    summary = summarize(tx, unit=unit, observation_end=observation_end, grain=grain, columns=columns)
    start, end = summary["first_purchase"].min(), provenance(summary).get("observation_end")
    calibration_end = start + (end - start) / 2
    calhold = calibration_holdout(tx, calibration_end, end, unit, grain=grain, columns=columns)
    hyper = {} if penalizer is None else {"penalizer": penalizer}
    present = set(calibration_summary(calhold).columns)  # the regularity models need litt
    candidates = [model for model in (resolve(name, **hyper) for name in AUTO_CANDIDATES)
                  if set(model.required_columns()) <= present]
    table = compare_models(calhold, candidates, metric="mae", progress=progress)
    winner = str(table.index[0])
    table.attrs["reason"] = (
        f"{winner} had the lowest holdout MAE ({table['mae'].iloc[0]:.4f} purchases per customer) when fitted "
        f"on {start.date()}..{calibration_end.date()} and checked on the rest, up to {end.date()}; "
        f"then refitted on all data"
    )
    return winner, table
