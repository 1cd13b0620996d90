"""Per-customer RFM summaries in the BTYD convention, fast.

Definitions (those of lifetimes, CLVTools and pymc-marketing): purchases by a
customer in the same *grain* period (a day by default) form one purchase
occasion, dated at the start of its period.

* ``frequency`` — purchase occasions after the first (repeat purchases), $0
  ones included: a free purchase is still a purchase;
* ``recency`` — time from the first to the last occasion;
* ``T`` — time from the first occasion to the end of observation;
* ``monetary_value`` — mean value of the repeat occasions of positive value
  (0 without any), the spend a spend model fits on;
* ``mean_log_value`` — mean natural log of the value of those same occasions
  (0 without any), for ``gammagamma_individual``;
* ``litt`` — the sum of the logs of the times between consecutive occasions
  (0 without repeat occasions), which the regularity models (BG/CNBD-k,
  MBG/CNBD-k) need to choose their k.

Times are in ``unit`` ("h", "D", "W", "M", "Y"; calendar-exact and
fractional), independently of the grain.

The work is a single sort of one integer key per transaction (customer code ×
period span + period), then bincounts: no Python loop, no groupby, no
``nunique``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
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
    is_summary,
    parse_dates,
    slices,
)
from custvalue.engines import engine_step
from custvalue.errors import InvalidParameterError, MissingColumnError, SchemaError, invalid_values_error
from custvalue.provenance import ATTRS_KEY, attach, provenance
from custvalue.timeunits import (
    check_grain,
    check_unit,
    days_per_unit,
    period_start_ticks,
    tick_numbers,
    tick_of,
    ticks_per_day,
    ticks_to_dates,
)
from custvalue.validation import validate_summary

__all__ = ["summarize", "calibration_holdout"]

# Rows per slice of the steps whose results do not depend on the slicing (the distinct pairs, the per-period
# spends): their temporaries (up to about 40 bytes a row) stay small next to the data.
SMALL_SLICE_ROWS = 1 << 20


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
    unit : {"h", "D", "W", "M", "Y"}, default "W"
        Unit of ``recency`` and ``T``: hours (1/24 day), days, weeks, months
        (365.2425/12 days) or years (365.2425 days).
    observation_end : date-like, optional
        End of the observation window; defaults to the last transaction date.
        Its grain period is observed in full: with the default daily grain
        "1997-09-30" includes every purchase of that day; with ``grain="h"``
        it is the hour starting at 1997-09-30 00:00 (pass "1997-09-30 23:00"
        for the whole day). Transactions after that period lie outside the
        window and are not counted (the number is kept in ``summary.attrs``);
        customers whose first purchase is after it do not appear.
    grain : {"h", "D", "W", "M", "Y"}, default "D"
        Purchases by a customer in the same hour (day, week, month, year)
        count as one purchase occasion; times are measured between the starts
        of the periods.
    columns : mapping, optional
        Your column names to canonical ones, as in :func:`custvalue.clean`.
    compute : bool, default False
        Dask input only: return a computed pandas frame (keeping what custvalue records about it)
        instead of a lazy Dask DataFrame. See the "Scaling up" page of the documentation.

    Returns
    -------
    DataFrame
        Indexed by ``customer_id`` (sorted), with ``frequency``, ``recency``,
        ``T``, ``monetary_value``, ``mean_log_value``, ``first_purchase``,
        ``last_purchase``, ``n_transactions``, ``total_value`` and ``litt``.
        ``frequency`` counts every repeat occasion, $0 ones included;
        ``monetary_value`` and ``mean_log_value`` are the mean value and the
        mean natural log of the value of the repeat occasions whose value is
        positive (0 without any), so that a spend model fits on positive
        spends only. ``n_transactions`` and ``total_value`` count every row.
        ``litt`` is the sum of the logs of the ``frequency`` times between
        consecutive purchase occasions, in ``unit`` (0 without repeat purchases).

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
    ...     "customer_id": [1, 1, 1, 1, 2],
    ...     "date": pd.to_datetime(["2024-01-01", "2024-01-01", "2024-01-15", "2024-01-22", "2024-01-08"]),
    ...     "amount": [10.0, 5.0, 30.0, 0.0, 20.0],
    ... })
    >>> summarize(tx, unit="W", observation_end="2024-01-29")[["frequency", "recency", "T", "monetary_value"]]
                 frequency  recency    T  monetary_value
    customer_id
    1                    2      3.0  4.0            30.0
    2                    0      0.0  3.0             0.0

    Hours are exact: purchases at 8:26 and 14:05 are two occasions 6 hours apart.

    >>> hourly = pd.DataFrame({"customer_id": [7, 7], "amount": [3.0, 4.0],
    ...                        "date": pd.to_datetime(["2024-01-01 08:26", "2024-01-01 14:05"])})
    >>> summarize(hourly, unit="h", grain="h", observation_end="2024-01-02")[["frequency", "recency", "T"]]
                 frequency  recency     T
    customer_id
    7                    1      6.0  16.0
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
    raw_ticks = tick_numbers(data["date"], grain)
    end = end_tick(raw_ticks, observation_end, grain)

    summary, n_outside = summary_frame(data, raw_ticks, end, unit, grain)
    if len(summary) == 0:
        raise SchemaError(
            f"observation_end ({tick_date(end, grain)}) is before the first "
            f"purchase ({data['date'].min()}); no customer has been acquired by then"
        )
    summary.attrs[ATTRS_KEY] = provenance(tx)  # keep the cleaning report, if any
    return attach(summary, unit=unit, grain=grain, observation_end=tick_date(end, grain),
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

    Customers are those acquired by ``calibration_end``. The calibration is
    :func:`summarize` at ``calibration_end``: its grain period is observed in
    full. The holdout is every later grain period up to that of
    ``observation_end``; its purchases are counted in grain periods, like
    ``frequency``, and its length is measured as T is: between the starts of
    the two periods. So ``duration_holdout`` is what every customer's T grows
    by from ``calibration_end`` to ``observation_end``: whole weeks with
    ``grain="W"`` and ``unit="W"`` (as lifetimes and pymc-marketing count
    them), days / 7 with the default daily grain.

    Parameters
    ----------
    tx : DataFrame
        Clean transactions (see :func:`summarize`).
    calibration_end, observation_end : date-like
        The end of the calibration and of the holdout (default: the last transaction).
    unit, grain, columns
        As in :func:`summarize`.

    Returns
    -------
    DataFrame
        Indexed by ``customer_id``: ``frequency_cal``, ``recency_cal``,
        ``T_cal``, ``monetary_value_cal``, ``frequency_holdout`` (purchase
        occasions in the holdout, $0 ones included), ``monetary_value_holdout``
        (the mean value of those of positive value, 0 without any) and
        ``duration_holdout`` (holdout length in ``unit``) and ``litt_cal`` (the
        calibration summary's ``litt``).

    Raises
    ------
    custvalue.errors.InvalidParameterError
        For an ``observation_end`` that is not in a later grain period than ``calibration_end``.

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

    A six-day holdout is 6/7 week on the daily grain, and no whole week on the weekly grain (Monday
    2024-02-19 to Sunday 2024-02-25 is one week period), which is refused:

    >>> float(calibration_holdout(tx, "2024-02-19", "2024-02-25", unit="W")["duration_holdout"].iloc[0])
    0.8571428571428571
    >>> from custvalue.errors import InvalidParameterError
    >>> try:
    ...     calibration_holdout(tx, "2024-02-19", "2024-02-25", unit="W", grain="W")
    ... except InvalidParameterError as err:
    ...     print(str(err)[:84])
    observation_end='2024-02-25' is not valid: it is in the same grain period (W) as cal
    """
    factor = days_per_unit(unit) * ticks_per_day(check_grain(grain))
    check_date(calibration_end, "calibration_end")
    if observation_end is not None:
        check_date(observation_end, "observation_end")
    data = checked_transactions(tx, columns)
    cal_end = tick_of(calibration_end, "calibration_end", grain)
    raw_ticks = tick_numbers(data["date"], grain)
    end = end_tick(raw_ticks, observation_end, grain)
    ticks = period_start_ticks(raw_ticks, grain)
    cal_period, end_period = period_start_ticks(np.array([cal_end, end]), grain)
    if end_period <= cal_period:
        same = end_period == cal_period and end > cal_end
        rule = (f"it is in the same grain period ({grain}) as calibration_end, so the holdout holds no whole "
                f"period; pass an observation_end in a later {grain} period, or a finer grain"
                if same else f"it must be after calibration_end ({tick_date(cal_end, grain)})")
        raise InvalidParameterError(
            f"observation_end={str(tick_date(end, grain)) if observation_end is None else str(observation_end)!r} "
            f"is not valid: {rule}"
            + ("" if observation_end is not None else "; by default it is the last purchase date, so pass a "
               "calibration_end before it")
        )
    calibration = summarize(data, unit=unit, observation_end=tick_date(cal_end, grain), grain=grain)

    codes, ids = customer_codes(data["customer_id"])
    in_holdout = (ticks > cal_period) & (ticks <= end_period)
    agg = aggregate(codes[in_holdout], ticks[in_holdout], data["amount"].to_numpy(dtype=float)[in_holdout],
                    len(ids), spend=True)
    _refuse_overflow(agg.total, ids, "amount")
    # Every holdout period is a "repeat" one: add the first period's positive value back.
    first_value = np.where(agg.first_period_total > 0, agg.first_period_total, 0.0)
    n_spends = agg.n_spends + (agg.first_period_total > 0)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean_value = np.where(n_spends > 0, (agg.spend_total + first_value) / np.maximum(n_spends, 1), 0.0)
    holdout = pd.DataFrame(
        {"frequency_holdout": agg.n_periods, "monetary_value_holdout": mean_value},
        index=pd.Index(ids, name="customer_id"),
    ).reindex(calibration.index, fill_value=0)
    result = pd.DataFrame(
        {
            "frequency_cal": calibration["frequency"],
            "recency_cal": calibration["recency"],
            "T_cal": calibration["T"],
            "monetary_value_cal": calibration["monetary_value"],
            "frequency_holdout": holdout["frequency_holdout"].astype(np.int64),
            "monetary_value_holdout": holdout["monetary_value_holdout"].astype(float),
            "duration_holdout": float(end_period - cal_period) / factor,
            "litt_cal": calibration["litt"],
        }
    )
    return attach(result, unit=unit, grain=grain, calibration_end=tick_date(cal_end, grain),
                  observation_end=tick_date(end, grain))


def tick_date(tick: int, grain: str) -> pd.Timestamp:
    """The date (the hour, on the hourly grain) of a tick."""
    return pd.Timestamp(ticks_to_dates(np.array([tick]), grain)[0])


def summary_frame(data: pd.DataFrame, raw_ticks: np.ndarray, end_tick: int, unit: str,
                  grain: str) -> tuple[pd.DataFrame, int]:
    """The summary of checked canonical transactions (``raw_ticks``: their :func:`~custvalue.timeunits.tick_numbers`
    on the clock of ``grain``) up to the grain period of ``end_tick``, and the number of transactions after it.
    Empty when no one was acquired by then."""
    factor = days_per_unit(unit) * ticks_per_day(grain)  # ticks per unit
    codes, ids = customer_codes(data["customer_id"])
    ticks = period_start_ticks(raw_ticks, grain)
    amounts = data["amount"].to_numpy(dtype=float)
    n_outside = sum(int(np.count_nonzero(ticks[part] > end_tick)) for part in slices(len(ticks)))
    if n_outside:
        inside = ticks <= end_tick
        codes, ticks, amounts = codes[inside], ticks[inside], amounts[inside]
        del inside
    agg = aggregate(codes, ticks, amounts, len(ids), spend=True)
    del codes, ticks, amounts
    _refuse_overflow(agg.total, ids, "amount")
    present = agg.n_periods > 0
    everyone = bool(present.all())
    arrays = dict(vars(agg))  # each aggregate freed once used; they are ours to change in place
    del agg, arrays["first_period_total"]

    def take(name: str) -> np.ndarray:
        values = arrays.pop(name)
        return values if everyone else values[present]  # no copy when every customer is present

    frequency = take("n_periods")
    frequency -= 1
    n_spends = take("n_spends")
    no_spends = n_spends == 0
    divisor = np.maximum(n_spends, 1)
    del n_spends
    monetary = take("spend_total")
    monetary /= divisor
    monetary[no_spends] = 0.0
    mean_log = take("spend_log_total")
    mean_log /= divisor
    mean_log[no_spends] = 0.0
    del divisor, no_spends
    litt = take("log_gaps")  # Σ ln(gap in ticks) → Σ ln(gap in units)
    litt -= frequency * np.log(factor)
    first = take("first_day")
    last = take("last_day")
    first_purchase, last_purchase = ticks_to_dates(first, grain), ticks_to_dates(last, grain)
    last -= first
    recency = last / factor
    del last
    end_period = period_start_ticks(np.array([end_tick]), grain)[0]
    np.subtract(end_period, first, out=first)
    columns = {
        "frequency": frequency,
        "recency": recency,
        "T": first / factor,
        "monetary_value": monetary,
        "mean_log_value": mean_log,
        "first_purchase": first_purchase,
        "last_purchase": last_purchase,
        "n_transactions": take("n_transactions"),
        "total_value": take("total"),
        "litt": litt,
    }
    del first, frequency, recency, monetary, mean_log, first_purchase, last_purchase, litt
    # Columns kept as they are (no copy into one block per dtype): the frame owns these fresh arrays.
    summary = pd.DataFrame(columns, index=pd.Index(ids[present], name="customer_id"), copy=False)
    return summary, n_outside


@dataclass(frozen=True)
class Aggregates:
    """Per-customer aggregates of transactions, arrays indexed by customer code.

    ``first_day`` and ``last_day`` are the ticks of the first and last purchase periods. ``n_spends``,
    ``spend_total`` and ``spend_log_total`` are the number, the summed value and the summed log value of the
    repeat purchase periods whose value is positive (zeros unless asked for with ``spend=True``).
    """

    n_periods: np.ndarray
    first_day: np.ndarray
    last_day: np.ndarray
    total: np.ndarray
    first_period_total: np.ndarray
    n_transactions: np.ndarray
    n_spends: np.ndarray
    spend_total: np.ndarray
    spend_log_total: np.ndarray
    log_gaps: np.ndarray  # Σ ln(ticks between consecutive periods): the regularity models' litt


def aggregate(codes: np.ndarray, days: np.ndarray, amounts: np.ndarray, n_customers: int,
              spend: bool = False) -> Aggregates:
    """Aggregate transactions given integer customer codes and period-start ticks (``days``).

    One sort of a combined key ``code << bits | tick`` finds the distinct
    purchase periods and each customer's first and last; bincounts give the
    sums. The key is 32-bit whenever it fits, which sorts twice as fast. The
    same pass over the distinct pairs sums the logs of the gaps between each
    customer's consecutive periods (a table lookup: gaps are whole ticks).
    Element-wise work runs in slices of :data:`SLICE_ROWS`, so that its
    temporaries stay small next to the data (100M transactions: gigabytes).

    With ``spend``, also the statistics of the repeat periods of positive value
    (see :class:`Aggregates`): a customer whose periods each hold one
    transaction needs no period totals (each transaction is its period); only
    the transactions of the other customers are sorted with their amounts.
    """
    n_tx = np.bincount(codes, minlength=n_customers)
    total = np.bincount(codes, weights=amounts, minlength=n_customers)
    first = np.zeros(n_customers, dtype=np.int64)
    last = np.zeros(n_customers, dtype=np.int64)
    if len(days) == 0:
        zeros = np.zeros(n_customers)
        return Aggregates(n_tx, first, last, total, zeros, n_tx, np.zeros(n_customers, dtype=np.int64), zeros, zeros,
                          zeros)
    base = int(days.min())
    bits = max(int(days.max()) - base, 1).bit_length()
    key_type: type[np.unsignedinteger] = np.uint32 if (n_customers << bits) < 2**32 else np.uint64

    def keys_of(part: slice | np.ndarray) -> np.ndarray:
        return (codes[part].astype(key_type) << key_type(bits)) | (days[part] - base).astype(key_type)

    key = np.empty(len(codes), dtype=key_type)
    for part in slices(len(codes)):
        key[part] = keys_of(part)
    key.sort()
    pairs = _distinct_in_place(key)  # the distinct (customer, period) pairs, sorted
    del key
    day_mask = key_type((1 << bits) - 1)
    log_gaps, starts = _log_gaps_and_starts(pairs, bits, n_customers)
    ends = np.r_[starts[1:], len(pairs)] - 1
    present = (pairs[starts] >> key_type(bits)).astype(np.int64)
    n_periods = np.zeros(n_customers, dtype=np.int64)
    n_periods[present] = ends - starts + 1
    first[present] = (pairs[starts] & day_mask).astype(np.int64) + base
    last[present] = (pairs[ends] & day_mask).astype(np.int64) + base
    del pairs, starts, ends, present
    in_first = np.empty(len(codes), dtype=bool)
    for part in slices(len(codes)):
        np.equal(days[part], first[codes[part]], out=in_first[part])
    first_total = np.bincount(codes[in_first], weights=amounts[in_first], minlength=n_customers)
    if not spend:
        zeros = np.zeros(n_customers)
        return Aggregates(n_periods, first, last, total, first_total, n_tx, np.zeros(n_customers, dtype=np.int64),
                          zeros, zeros, log_gaps)
    n_spends, spend_total, spend_log = _single_spends(codes, amounts, in_first, n_periods, total, first_total)
    del in_first
    pooled_customers = n_tx > n_periods
    if pooled_customers.any():  # customers with a period of several transactions: sum each period first
        _pooled_spends(codes, amounts, first, pooled_customers, keys_of, n_customers << bits, bits, base,
                       (n_spends, spend_total, spend_log))
    return Aggregates(n_periods, first, last, total, first_total, n_tx, n_spends, spend_total, spend_log, log_gaps)


def _distinct_in_place(key: np.ndarray) -> np.ndarray:
    """The distinct values of sorted ``key``, moved to its front (no second full-size array): a view of it."""
    n_distinct = 0
    previous = None
    for part in slices(len(key), SMALL_SLICE_ROWS):
        chunk = key[part]
        is_new = np.empty(len(chunk), dtype=bool)
        is_new[0] = previous is None or chunk[0] != previous
        np.not_equal(chunk[1:], chunk[:-1], out=is_new[1:])
        previous = chunk[-1]
        distinct = chunk[is_new]  # a copy: writing it to the front cannot overwrite values still to be read
        key[n_distinct:n_distinct + len(distinct)] = distinct
        n_distinct += len(distinct)
    return key[:n_distinct]


def _log_gaps_and_starts(pairs: np.ndarray, bits: int, n_customers: int) -> tuple[np.ndarray, np.ndarray]:
    """Per customer code, the sum of the logs of the gaps between consecutive periods of the sorted distinct
    ``pairs`` (keys ``code << bits | period``); and the positions in ``pairs`` of each customer's first period.

    A function of its own so that the slice views of ``pairs`` end with it and ``pairs`` can be freed after.
    """
    key_type = pairs.dtype.type
    is_start = np.empty(len(pairs), dtype=bool)  # a customer's first period
    is_start[0] = True
    log_days = np.log(np.maximum(np.arange(1 << bits, dtype=float), 1.0))  # ln(gap) by table lookup; 0 at 0
    log_gaps = np.zeros(n_customers)
    for part in slices(len(pairs) - 1, 1 << 18):  # small slices: the gaps' temporaries stay in cache
        window = pairs[part.start:part.stop + 1]
        customer = window >> key_type(bits)
        np.not_equal(customer[1:], customer[:-1], out=is_start[part.start + 1:part.stop + 1])
        # Within a customer the key difference is the gap in days; across customers it is zeroed (ln → 0).
        gap = window[1:] - window[:-1]
        np.multiply(gap, customer[1:] == customer[:-1], out=gap)
        low = customer[1]
        owner = customer[1:] - low  # pairs are sorted by customer: the slice covers codes low..low + owner[-1]
        log_gaps[int(low):int(low) + int(owner[-1]) + 1] += np.bincount(owner, weights=np.take(log_days, gap))
    return log_gaps, np.flatnonzero(is_start)


def _pooled_spends(codes: np.ndarray, amounts: np.ndarray, first: np.ndarray, pooled_customers: np.ndarray,
                   keys_of: Callable[[np.ndarray], np.ndarray], key_bound: int, bits: int, base: int,
                   spends: tuple[np.ndarray, np.ndarray, np.ndarray]) -> None:
    """Fill ``spends`` (``n_spends``, ``spend_total``, ``spend_log``) for ``pooled_customers``: their periods
    hold several transactions, so each period's total is summed first.

    The keys ``code << bits | period`` (all below ``key_bound``) of their transactions are sorted with their
    positions, equal keys in input order (so that sums over them are taken in the same order whatever else is
    in the data). When a key and a position fit in 64 bits together, the position goes in the low bits of
    one number that sorts in place: several times faster than a stable argsort, and 12 bytes per pooled
    transaction are alive at once. The sorted transactions are then summed in slices that end between
    customers, so that each customer's sums are those of one pass over its periods in order.
    """
    rows = _positions(pooled_customers, codes)
    position_bits = max(len(rows) - 1, 1).bit_length()
    if (key_bound - 1).bit_length() + position_bits <= 64:
        position_mask = np.uint64((1 << position_bits) - 1)
        packed = np.empty(len(rows), dtype=np.uint64)
        for part in slices(len(rows), SMALL_SLICE_ROWS):
            np.left_shift(keys_of(rows[part]), np.uint64(position_bits), out=packed[part], dtype=np.uint64)
            packed[part] |= np.arange(part.start, part.stop, dtype=np.uint64)
        packed.sort()

        def sorted_part(start: int, stop: int) -> tuple[np.ndarray, np.ndarray]:
            chunk = packed[start:stop]
            return chunk >> np.uint64(position_bits), rows[(chunk & position_mask).astype(np.int64)]
    else:
        key = np.empty(len(rows), dtype=np.uint64)
        for part in slices(len(rows), SMALL_SLICE_ROWS):
            key[part] = keys_of(rows[part])
        order = np.argsort(key, kind="stable")
        key = key[order]
        rows = rows[order]
        del order

        def sorted_part(start: int, stop: int) -> tuple[np.ndarray, np.ndarray]:
            return key[start:stop], rows[start:stop]

    n_spends, spend_total, spend_log = spends
    day_mask = np.uint64((1 << bits) - 1)
    start = 0
    while start < len(rows):
        stop = min(start + SMALL_SLICE_ROWS, len(rows))
        if stop < len(rows):  # end the slice after its last customer's last transaction
            last_customer = int(sorted_part(stop - 1, stop)[0][0]) >> bits
            stop = _first_position_at_or_above(sorted_part, (last_customer + 1) << bits, stop, len(rows))
        key_part, row_part = sorted_part(start, stop)
        starts = np.flatnonzero(np.r_[True, key_part[1:] != key_part[:-1]])
        with np.errstate(over="ignore", invalid="ignore"):  # sums beyond a float are refused after aggregate
            period_value = np.add.reduceat(amounts[row_part], starts)
        period_key = key_part[starts]
        del key_part, row_part, starts
        owner = (period_key >> np.uint64(bits)).astype(np.int64)
        low, high = int(owner[0]), int(owner[-1]) + 1
        wanted = ((period_key & day_mask).astype(np.int64) + base != first[owner]) & (period_value > 0)
        owner, period_value = owner[wanted] - low, period_value[wanted]
        here = pooled_customers[low:high]
        width = high - low
        n_spends[low:high][here] = np.bincount(owner, minlength=width)[here]
        spend_total[low:high][here] = np.bincount(owner, period_value, minlength=width)[here]
        spend_log[low:high][here] = np.bincount(owner, np.log(period_value), minlength=width)[here]
        start = stop


def _first_position_at_or_above(sorted_part: Callable[[int, int], tuple[np.ndarray, np.ndarray]], bound: int,
                                low: int, high: int) -> int:
    """The first position in ``low..high`` whose sorted key is at least ``bound`` (``high`` if none): a
    bisection that reads one key at a time."""
    while low < high:
        middle = (low + high) // 2
        if int(sorted_part(middle, middle + 1)[0][0]) < bound:
            low = middle + 1
        else:
            high = middle
    return low


def _positions(customer_mask: np.ndarray, codes: np.ndarray) -> np.ndarray:
    """The positions of the transactions of the customers in ``customer_mask``, in input order (32-bit when
    they fit: half the memory), found in slices."""
    position_type = np.int32 if len(codes) < 2**31 else np.int64
    parts = [(np.flatnonzero(customer_mask[codes[part]]) + part.start).astype(position_type)
             for part in slices(len(codes), SMALL_SLICE_ROWS)]
    return np.concatenate(parts) if parts else np.empty(0, dtype=position_type)


def _single_spends(codes: np.ndarray, amounts: np.ndarray, in_first: np.ndarray, n_periods: np.ndarray,
                   total: np.ndarray, first_total: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The spend statistics of customers whose every period holds one transaction (each transaction is then
    its period): the positive repeat amounts are those after the first, less the $0 ones."""
    n_customers = len(total)
    log_total = np.zeros(n_customers)
    for part in slices(len(codes)):
        value = amounts[part]
        with np.errstate(divide="ignore"):
            logs = np.log(value, out=np.zeros(len(value)), where=value > 0)
        log_total += np.bincount(codes[part], weights=logs, minlength=n_customers)
    free = np.flatnonzero(amounts <= 0)
    free = free[~in_first[free]]
    n_free = np.bincount(codes[free], minlength=n_customers)
    with np.errstate(divide="ignore"):
        first_log = np.log(first_total, out=np.zeros(n_customers), where=first_total > 0)
    n_spends = n_periods - 1  # in place from here: these arrays are as long as the customers are many
    np.maximum(n_spends, 0, out=n_spends)
    n_spends -= n_free
    del n_free
    log_total -= first_log
    del first_log
    with np.errstate(invalid="ignore"):  # infinite totals are refused after aggregate
        return n_spends, total - first_total, log_total


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
    data = canonical_columns(tx, columns, name)[list(REQUIRED_COLUMNS)]
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
            "returns have negative amounts: net each against the customer's earlier purchases with "
            "custvalue.clean(tx, negative_amounts='net'), or drop them with custvalue.clean(tx)",
        )
    return data


def end_tick(ticks: np.ndarray, observation_end: str | pd.Timestamp | None, grain: str) -> int:
    """Tick of the observation end on the clock of ``grain`` (default: the last purchase), checked against the
    first purchase."""
    if observation_end is None:
        return int(ticks.max())
    end = tick_of(observation_end, "observation_end", grain)
    first = int(ticks.min())
    if end < first:
        raise SchemaError(
            f"observation_end ({tick_date(end, grain)}) is before the first purchase "
            f"({tick_date(first, grain)}); no customer has been acquired by then. "
            "How to fix: pass a later observation_end"
        )
    return end
