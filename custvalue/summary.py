"""Per-customer RFM summaries in the BTYD convention, fast.

Definitions (those of lifetimes, CLVTools and pymc-marketing): purchases by a
customer in the same *grain* period (a day by default) form one purchase
occasion, dated at the start of its period.

* ``frequency`` — purchase occasions after the first (repeat purchases);
* ``recency`` — time from the first to the last occasion;
* ``T`` — time from the first occasion to the end of observation;
* ``monetary_value`` — mean value of the repeat occasions (0 without any).

Times are in ``unit`` ("D", "W", "M", "Y"; calendar-exact and fractional),
independently of the grain.

The work is a single sort of one integer key per transaction (customer code ×
period span + period), then bincounts: no Python loop, no groupby, no
``nunique``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd

from custvalue.checks import check_bool, check_date, check_frame, check_mapping
from custvalue.clean import float_id_facts, float_ids_to_int, unusable_ids
from custvalue.columns import (
    COLUMNS_EXAMPLE,
    REQUIRED_COLUMNS,
    canonical_columns,
    customer_codes,
    day_number,
    is_summary,
    missing_columns_error,
    parse_dates,
    slices,
)
from custvalue.engines import engine_step
from custvalue.errors import InvalidParameterError, MissingColumnError, SchemaError, invalid_values_error
from custvalue.provenance import ATTRS_KEY, attach, provenance
from custvalue.timeunits import check_grain, check_unit, day_numbers, days_per_unit, period_start_days
from custvalue.validation import validate_summary

__all__ = ["summarize", "calibration_holdout"]


def summarize(
    tx: pd.DataFrame,
    unit: str = "W",
    observation_end: str | pd.Timestamp | None = None,
    *,
    grain: str = "D",
    columns: Mapping[str, str] | None = None,
    compute: bool = False,
) -> pd.DataFrame:
    """Summarize transactions into one row per customer: frequency, recency, T, monetary value.

    Parameters
    ----------
    tx : DataFrame
        Clean transactions with ``customer_id``, ``date`` and ``amount``
        (see :func:`custvalue.clean`). A frame that is already a summary is
        validated and returned as a copy.
    unit : {"D", "W", "M", "Y"}, default "W"
        Unit of ``recency`` and ``T``: days, weeks, months (365.2425/12 days)
        or years (365.2425 days).
    observation_end : date-like, optional
        End of the observation window; defaults to the last transaction date.
        Transactions after it lie outside the window and are not counted (the
        number is kept in ``summary.attrs``); customers whose first purchase
        is after it do not appear.
    grain : {"D", "W", "M", "Y"}, default "D"
        Purchases by a customer in the same day (week, month, year) count as
        one purchase occasion.
    columns : mapping, optional
        Your column names to canonical ones, as in :func:`custvalue.clean`.
    compute : bool, default False
        Dask input only: return a computed pandas frame (keeping what custvalue records about it)
        instead of a lazy Dask DataFrame. See the "Scaling up" page of the documentation.

    Returns
    -------
    DataFrame
        Indexed by ``customer_id`` (sorted), with ``frequency``, ``recency``,
        ``T``, ``monetary_value``, ``first_purchase``, ``last_purchase``,
        ``n_transactions`` and ``total_value``.

    Raises
    ------
    custvalue.errors.SchemaError
        For missing columns, an empty frame, missing or negative or
        non-finite amounts, missing or unreadable dates, missing customer ids,
        or an ``observation_end`` before the first purchase.
    custvalue.errors.InvalidParameterError
        For an unknown ``unit`` or ``grain``.

    Examples
    --------
    >>> import pandas as pd
    >>> tx = pd.DataFrame({
    ...     "customer_id": [1, 1, 1, 2],
    ...     "date": pd.to_datetime(["2024-01-01", "2024-01-01", "2024-01-15", "2024-01-08"]),
    ...     "amount": [10.0, 5.0, 30.0, 20.0],
    ... })
    >>> summarize(tx, unit="W", observation_end="2024-01-29")[["frequency", "recency", "T", "monetary_value"]]
                 frequency  recency    T  monetary_value
    customer_id
    1                    1      2.0  4.0            30.0
    2                    0      0.0  3.0             0.0
    """
    check_unit(unit)
    check_grain(grain)
    if observation_end is not None:
        check_date(observation_end, "observation_end")
    check_mapping(columns, "columns", example=COLUMNS_EXAMPLE)
    check_bool(compute, "compute")
    on_engine = engine_step("summarize", tx)
    if on_engine is not None:
        return on_engine(tx, unit, observation_end, grain=grain, columns=columns, compute=compute)
    if isinstance(tx, pd.DataFrame) and is_summary(tx) and not columns:
        return validate_summary(check_frame(tx, "tx")).copy()
    data = checked_transactions(tx, columns)
    raw_days = day_numbers(data["date"])
    end_day = _end_day(raw_days, observation_end)

    summary, n_outside = summary_frame(data, raw_days, end_day, unit, grain)
    if len(summary) == 0:
        raise SchemaError(
            f"observation_end ({pd.Timestamp(end_day, unit='D').date()}) is before the first "
            f"purchase ({data['date'].min()}); no customer has been acquired by then"
        )
    summary.attrs[ATTRS_KEY] = provenance(tx)  # keep the cleaning report, if any
    return attach(summary, unit=unit, grain=grain, observation_end=pd.Timestamp(end_day, unit="D"),
                  excluded_after_end=n_outside)


def calibration_holdout(
    tx: pd.DataFrame,
    calibration_end: str | pd.Timestamp,
    observation_end: str | pd.Timestamp | None = None,
    unit: str = "W",
    *,
    grain: str = "D",
    columns: Mapping[str, str] | None = None,
) -> pd.DataFrame:
    """Split transactions into a calibration summary and what each customer did in the holdout.

    Customers are those acquired by ``calibration_end``. Holdout purchases are
    counted in grain periods, like ``frequency``.

    Returns
    -------
    DataFrame
        Indexed by ``customer_id``: ``frequency_cal``, ``recency_cal``,
        ``T_cal``, ``monetary_value_cal``, ``frequency_holdout`` (purchase
        occasions in the holdout), ``monetary_value_holdout`` (their mean
        value, 0 without any) and ``duration_holdout`` (holdout length in ``unit``).

    Examples
    --------
    >>> import pandas as pd
    >>> tx = pd.DataFrame({
    ...     "customer_id": [1, 1, 1, 2],
    ...     "date": pd.to_datetime(["2024-01-01", "2024-01-15", "2024-02-05", "2024-01-08"]),
    ...     "amount": [10.0, 30.0, 12.0, 20.0],
    ... })
    >>> ch = calibration_holdout(tx, "2024-01-29", "2024-02-26", unit="W")
    >>> ch[["frequency_cal", "T_cal", "frequency_holdout", "monetary_value_holdout", "duration_holdout"]]
                 frequency_cal  T_cal  frequency_holdout  monetary_value_holdout  duration_holdout
    customer_id
    1                        1    4.0                  1                    12.0               4.0
    2                        0    3.0                  0                     0.0               4.0
    """
    factor = days_per_unit(unit)
    check_grain(grain)
    check_date(calibration_end, "calibration_end")
    if observation_end is not None:
        check_date(observation_end, "observation_end")
    data = checked_transactions(tx, columns)
    cal_end = day_number(calibration_end, "calibration_end")
    raw_days = day_numbers(data["date"])
    end_day = _end_day(raw_days, observation_end)
    if end_day <= cal_end:
        raise InvalidParameterError(
            f"observation_end={str(pd.Timestamp(end_day, unit='D').date())!r} is not valid: it must be after "
            f"calibration_end ({pd.Timestamp(cal_end, unit='D').date()})"
            + ("" if observation_end is not None else "; by default it is the last purchase date, so pass a "
               "calibration_end before it")
        )
    calibration = summarize(data, unit=unit, observation_end=pd.Timestamp(cal_end, unit="D"), grain=grain)

    codes, ids = customer_codes(data["customer_id"])
    days = period_start_days(raw_days, grain)
    in_holdout = (raw_days > cal_end) & (days <= end_day)
    agg = aggregate(codes[in_holdout], days[in_holdout],
                    data["amount"].to_numpy(dtype=float)[in_holdout], len(ids))
    _refuse_overflow(agg.total, ids, "amount")
    holdout = pd.DataFrame(
        {"frequency_holdout": agg.n_periods, "total": agg.total}, index=pd.Index(ids, name="customer_id")
    ).reindex(calibration.index, fill_value=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean_value = np.where(holdout["frequency_holdout"] > 0,
                              holdout["total"] / holdout["frequency_holdout"].clip(lower=1), 0.0)
    result = pd.DataFrame(
        {
            "frequency_cal": calibration["frequency"],
            "recency_cal": calibration["recency"],
            "T_cal": calibration["T"],
            "monetary_value_cal": calibration["monetary_value"],
            "frequency_holdout": holdout["frequency_holdout"].astype(np.int64),
            "monetary_value_holdout": mean_value,
            "duration_holdout": (end_day - cal_end) / factor,
        }
    )
    return attach(result, unit=unit, grain=grain,
                  calibration_end=pd.Timestamp(cal_end, unit="D"),
                  observation_end=pd.Timestamp(end_day, unit="D"))


def summary_frame(data: pd.DataFrame, raw_days: np.ndarray, end_day: int, unit: str,
                  grain: str) -> tuple[pd.DataFrame, int]:
    """The summary of checked canonical transactions (``raw_days``: their day numbers) up to
    ``end_day``, and the number of transactions after it. Empty when no one was acquired by then."""
    factor = days_per_unit(unit)
    codes, ids = customer_codes(data["customer_id"])
    days = period_start_days(raw_days, grain)
    amounts = data["amount"].to_numpy(dtype=float)
    inside = days <= end_day
    n_outside = int(len(days) - inside.sum())
    if n_outside:
        codes, days, amounts = codes[inside], days[inside], amounts[inside]
    agg = aggregate(codes, days, amounts, len(ids))
    _refuse_overflow(agg.total, ids, "amount")
    present = agg.n_periods > 0
    first = agg.first_day[present]
    last = agg.last_day[present]
    n_periods = agg.n_periods[present]
    frequency = n_periods - 1
    repeat_value = agg.total[present] - agg.first_period_total[present]
    with np.errstate(invalid="ignore", divide="ignore"):
        monetary = np.where(frequency > 0, repeat_value / np.maximum(frequency, 1), 0.0)
    end_period = period_start_days(np.array([end_day]), grain)[0]
    summary = pd.DataFrame(
        {
            "frequency": frequency.astype(np.int64),
            "recency": (last - first) / factor,
            "T": (end_period - first) / factor,
            "monetary_value": np.maximum(monetary, 0.0),
            "first_purchase": _to_dates(first),
            "last_purchase": _to_dates(last),
            "n_transactions": agg.n_transactions[present],
            "total_value": agg.total[present],
        },
        index=pd.Index(ids[present], name="customer_id"),
    )
    return summary, n_outside


@dataclass(frozen=True)
class Aggregates:
    """Per-customer aggregates of transactions, arrays indexed by customer code."""

    n_periods: np.ndarray
    first_day: np.ndarray
    last_day: np.ndarray
    total: np.ndarray
    first_period_total: np.ndarray
    n_transactions: np.ndarray


def aggregate(codes: np.ndarray, days: np.ndarray, amounts: np.ndarray, n_customers: int) -> Aggregates:
    """Aggregate transactions given integer customer codes and period-start day numbers.

    One sort of a combined key ``code << bits | day`` finds the distinct
    purchase periods and each customer's first and last; bincounts give the
    sums. The key is 32-bit whenever it fits, which sorts twice as fast.
    Element-wise work runs in slices of :data:`SLICE_ROWS`, so that its
    temporaries stay small next to the data (100M transactions: gigabytes).
    """
    n_tx = np.bincount(codes, minlength=n_customers)
    total = np.bincount(codes, weights=amounts, minlength=n_customers)
    first = np.zeros(n_customers, dtype=np.int64)
    last = np.zeros(n_customers, dtype=np.int64)
    if len(days) == 0:
        return Aggregates(n_tx, first, last, total, np.zeros(n_customers), n_tx)
    base = int(days.min())
    bits = max(int(days.max()) - base, 1).bit_length()
    key_type: type[np.unsignedinteger] = np.uint32 if (n_customers << bits) < 2**32 else np.uint64
    key = np.empty(len(codes), dtype=key_type)
    for part in slices(len(codes)):
        key[part] = (codes[part].astype(key_type) << key_type(bits)) | (days[part] - base).astype(key_type)
    key.sort()
    is_new = np.empty(len(key), dtype=bool)
    is_new[0] = True
    np.not_equal(key[1:], key[:-1], out=is_new[1:])
    pairs = key[is_new]  # the distinct (customer, period) pairs, sorted
    del key, is_new
    is_start = np.empty(len(pairs), dtype=bool)  # a customer's first period
    is_start[0] = True
    for part in slices(len(pairs) - 1):
        customer = pairs[part.start:part.stop + 1] >> key_type(bits)
        np.not_equal(customer[1:], customer[:-1], out=is_start[part.start + 1:part.stop + 1])
    starts = np.flatnonzero(is_start)
    del is_start
    ends = np.r_[starts[1:], len(pairs)] - 1
    present = (pairs[starts] >> key_type(bits)).astype(np.int64)
    n_periods = np.zeros(n_customers, dtype=np.int64)
    n_periods[present] = ends - starts + 1
    day_mask = key_type((1 << bits) - 1)
    first[present] = (pairs[starts] & day_mask).astype(np.int64) + base
    last[present] = (pairs[ends] & day_mask).astype(np.int64) + base
    del pairs
    in_first = np.empty(len(codes), dtype=bool)
    for part in slices(len(codes)):
        np.equal(days[part], first[codes[part]], out=in_first[part])
    first_total = np.bincount(codes[in_first], weights=amounts[in_first], minlength=n_customers)
    return Aggregates(n_periods, first, last, total, first_total, n_tx)


def _refuse_overflow(totals: np.ndarray, ids: np.ndarray, column: str) -> None:
    """Refuse per-customer sums too large for a float (amounts such as 1e308)."""
    bad = ~np.isfinite(totals)
    if bad.any():
        raise invalid_values_error(
            column, "finite sum per customer", pd.DataFrame({f"total {column}": totals[bad]},
                                                            index=pd.Index(ids[bad], name="customer_id")),
            f"these customers' {column}s add up to more than a float can hold (about 1.8e308); check the "
            f"{column} column for absurd values, or rescale it (e.g. to thousands)")


def checked_transactions(tx: pd.DataFrame, columns: Mapping[str, str] | None, name: str = "tx") -> pd.DataFrame:
    """Canonical transaction columns, checked for what summarize needs (no copies of big data)."""
    tx = check_frame(tx, name, allow_empty=True)
    if not columns and not any(c in tx.columns for c in REQUIRED_COLUMNS) and not is_summary(tx):
        raise MissingColumnError(
            f"summarize needs transactions (customer_id, date, amount) or a customer summary "
            f"(frequency, recency, T); the frame has {list(map(str, tx.columns))}. "
            "How to fix: pass columns={'your_id': 'customer_id', 'your_date': 'date', "
            "'your_amount': 'amount'}"
        )
    try:
        data = canonical_columns(tx, columns)[list(REQUIRED_COLUMNS)]
    except SchemaError as err:
        if "required column" in str(err):
            missing = [c for c in REQUIRED_COLUMNS if c not in tx.rename(columns=dict(columns or {})).columns]
            raise missing_columns_error(missing, list(map(str, tx.columns))) from None
        raise
    if len(data) == 0:
        raise SchemaError("summarize: the transactions frame is empty; there is nothing to summarize")
    fix = "run custvalue.clean(tx) first; it drops such rows and reports them"
    if data["customer_id"].isna().any():
        raise invalid_values_error("customer_id", "not missing", tx[data["customer_id"].isna().to_numpy()], fix)
    bad_ids = unusable_ids(data["customer_id"])
    if bad_ids.any():
        raise invalid_values_error("customer_id", "usable id", tx[bad_ids], fix)
    float_ids_to_int(data["customer_id"].dtype, *float_id_facts(data["customer_id"]))
    dates = data["date"]
    if not (pd.api.types.is_datetime64_dtype(dates.dtype) or isinstance(dates.dtype, pd.DatetimeTZDtype)):
        parsed = parse_dates(dates, None)
        bad = parsed.isna().to_numpy()
        if bad.all():
            raise invalid_values_error("date", "parseable date", tx[bad], "map the date column with columns=, or "
                                       "run custvalue.clean(tx, date_format='%d/%m/%Y') with your dates' format")
        if bad.any():
            raise invalid_values_error("date", "parseable date", tx[bad], fix)
        data = data.assign(date=parsed)
    elif data["date"].isna().any():
        raise invalid_values_error("date", "not missing", tx[data["date"].isna().to_numpy()], fix)
    amount = data["amount"]
    if not pd.api.types.is_numeric_dtype(amount.dtype) or pd.api.types.is_bool_dtype(amount.dtype):
        raise invalid_values_error("amount", "numeric", tx.head(5), fix)
    values = amount.to_numpy(dtype=float, na_value=np.nan)
    if not np.isfinite(values).all():
        raise invalid_values_error("amount", "finite number", tx[~np.isfinite(values)], fix)
    if (values < 0).any():
        raise invalid_values_error(
            "amount", ">= 0", tx[values < 0],
            "returns have negative amounts; net them against their purchase or run custvalue.clean(tx)",
        )
    return data


def _end_day(days: np.ndarray, observation_end: str | pd.Timestamp | None) -> int:
    """Day number of the observation end (default: the last purchase day), checked against the first."""
    if observation_end is None:
        return int(days.max())
    end = day_number(observation_end, "observation_end")
    first = int(days.min())
    if end < first:
        raise SchemaError(
            f"observation_end ({pd.Timestamp(end, unit='D').date()}) is before the first purchase "
            f"({pd.Timestamp(first, unit='D').date()}); no customer has been acquired by then. "
            "How to fix: pass a later observation_end"
        )
    return end


def _to_dates(days: np.ndarray) -> np.ndarray:
    # Microseconds: the resolution pandas gives parsed dates, and one that Parquet keeps (it has no seconds).
    return days.astype("datetime64[D]").astype("datetime64[us]")
