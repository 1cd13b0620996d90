"""Column names, dates and customer ids: the helpers every step shares.

Canonical transaction columns are ``customer_id``, ``date`` and ``amount``
(plus the optional ``quantity``); a user maps their own names onto them with
``columns={"their_name": "customer_id", ...}``. A customer summary has at
least ``frequency``, ``recency`` and ``T``.
"""

from __future__ import annotations

import difflib
import warnings
from collections.abc import Iterator, Mapping

import numpy as np
import pandas as pd

from custvalue.engines import not_a_frame_error
from custvalue.errors import InvalidParameterError, SchemaError

__all__ = [
    "REQUIRED_COLUMNS", "SUMMARY_COLUMNS", "canonical_columns", "missing_columns_error", "parse_dates",
    "as_timestamp", "day_number", "is_summary", "customer_codes", "slices",
]

REQUIRED_COLUMNS = ("customer_id", "date", "amount")
SUMMARY_COLUMNS = ("frequency", "recency", "T")
SLICE_ROWS = 1 << 22


def is_summary(frame: pd.DataFrame) -> bool:
    """True when ``frame`` looks like a customer summary rather than transactions."""
    return all(c in frame.columns for c in SUMMARY_COLUMNS) and "date" not in frame.columns


def canonical_columns(tx: pd.DataFrame, columns: Mapping[str, str] | None) -> pd.DataFrame:
    """Return ``tx`` renamed to canonical names, canonical columns first; checks they exist.

    Examples
    --------
    >>> tx = pd.DataFrame({"cust": [1], "day": ["2024-01-02"], "value": [3.0], "store": ["x"]})
    >>> list(canonical_columns(tx, {"cust": "customer_id", "day": "date", "value": "amount"}).columns)
    ['customer_id', 'date', 'amount', 'store']
    """
    if not isinstance(tx, pd.DataFrame):
        raise not_a_frame_error(tx, "transactions")
    mapping = dict(columns or {})
    unknown = [c for c in mapping if c not in tx.columns]
    if unknown:
        raise SchemaError(
            f"columns= names {unknown} that are not in the frame; its columns are {list(tx.columns)}"
        )
    renamed = tx.rename(columns=mapping) if mapping else tx
    missing = [c for c in REQUIRED_COLUMNS if c not in renamed.columns]
    if missing:
        raise missing_columns_error(missing, list(map(str, renamed.columns)))
    if renamed.columns.duplicated().any():
        dupes = sorted(set(renamed.columns[renamed.columns.duplicated()]))
        raise SchemaError(f"the frame has duplicated column names {dupes}; rename them first")
    order = [c for c in (*REQUIRED_COLUMNS, "quantity") if c in renamed.columns]
    rest = [c for c in renamed.columns if c not in order]
    return renamed[order + rest]


def missing_columns_error(missing: list[str], available: list[str]) -> SchemaError:
    """A :class:`SchemaError` for required columns absent from a frame, suggesting close names."""
    hints = []
    lowered = {c.lower(): c for c in available}
    for name in missing:
        close = difflib.get_close_matches(name.lower(), list(lowered), n=1, cutoff=0.5)
        if close:
            hints.append(f"'{name}' (did you mean '{lowered[close[0]]}'?)")
        else:
            hints.append(f"'{name}'")
    example = ", ".join(f"'your_{m}': '{m}'" for m in missing)
    return SchemaError(
        f"required column(s) {', '.join(hints)} missing; the frame has {available}.\n"
        f"How to fix: rename them or pass columns={{{example}}}",
        pd.DataFrame({"column": missing, "check": "column_in_dataframe", "index": None,
                      "failure_case": missing}),
    )


def parse_dates(values: pd.Series, date_format: str | None) -> pd.Series:
    """Dates as datetime64; what cannot be read becomes NaT.

    Integers of eight digits are YYYYMMDD (the form of CDNOW and many exports);
    strings are read with ``date_format`` or pandas' inference.
    """
    if isinstance(values.dtype, pd.DatetimeTZDtype) or pd.api.types.is_datetime64_dtype(values.dtype):
        return values
    if pd.api.types.is_integer_dtype(values.dtype) or pd.api.types.is_float_dtype(values.dtype):
        as_text = values.astype("Int64").astype(str).replace("<NA>", None)
        return pd.to_datetime(as_text, format=date_format or "%Y%m%d", errors="coerce")
    with warnings.catch_warnings():
        # pandas warns when it falls back to parsing element by element; that is expected here.
        warnings.filterwarnings("ignore", "Could not infer format", UserWarning)
        try:
            parsed = pd.to_datetime(values, format=date_format, errors="coerce")
        except (ValueError, TypeError):  # mixed time-zone offsets
            parsed = pd.to_datetime(values, format=date_format, errors="coerce", utc=True)
    retry = parsed.isna() & values.notna()
    if date_format is None and retry.any() and not retry.all():
        # Inference took the first value's format; read the rest one by one.
        again = pd.to_datetime(values[retry], format="mixed", errors="coerce",
                               utc=isinstance(parsed.dtype, pd.DatetimeTZDtype))
        parsed = parsed.copy()
        parsed[retry] = again
    return parsed


def as_timestamp(value: object, name: str, tz: object = None) -> pd.Timestamp:
    """``value`` as a Timestamp in the time zone ``tz`` of the data (naive when the data are naive)."""
    try:
        stamp = pd.Timestamp(value)
    except (ValueError, TypeError):
        raise InvalidParameterError(f"{name}={value!r} is not a date") from None
    if pd.isna(stamp):
        raise InvalidParameterError(f"{name} is missing (got {value!r}); pass a date such as '1997-09-30'")
    if tz is not None and stamp.tzinfo is None:
        stamp = stamp.tz_localize(tz)
    elif tz is None and stamp.tzinfo is not None:
        stamp = stamp.tz_localize(None)
    return stamp


def day_number(value: object, name: str) -> int:
    """Whole days since 1970-01-01 of a date given by the user (wall-clock day for tz-aware dates)."""
    stamp = as_timestamp(value, name)
    return int(np.datetime64(stamp.to_datetime64(), "D").astype(np.int64))


def slices(n: int, size: int = SLICE_ROWS) -> Iterator[slice]:
    """Consecutive slices of ``size`` rows covering ``n`` rows: element-wise work on 100M rows in
    slices keeps its temporaries small next to the data."""
    return (slice(start, min(start + size, n)) for start in range(0, n, size))


def customer_codes(ids: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """Integer codes 0..k-1 for customer ids, and the ids of each code (sorted where possible).

    Dense integer ids map by offset (no hashing); other ids are factorized.

    Examples
    --------
    >>> codes, ids = customer_codes(pd.Series(["b", "a", "b"]))
    >>> codes.tolist(), ids.tolist()
    ([1, 0, 1], ['a', 'b'])
    """
    values = ids.to_numpy()
    if pd.api.types.is_integer_dtype(ids.dtype) and len(values):
        low, high = int(values.min()), int(values.max())
        if high - low < min(max(4 * len(values), 1024), 2**31):
            codes = np.empty(len(values), dtype=np.int32)  # half the memory of int64 at 100M rows
            for part in slices(len(values)):
                np.subtract(values[part], low, out=codes[part], casting="unsafe")
            return codes, np.arange(low, high + 1, dtype=values.dtype)
    if isinstance(ids.dtype, pd.CategoricalDtype):
        return ids.cat.codes.to_numpy().astype(np.int64), np.asarray(ids.cat.categories)
    # Hash first, then sort only the distinct ids: cheaper than factorize(sort=True).
    codes, uniques = pd.factorize(ids)
    try:
        order = np.asarray(uniques.argsort())
    except TypeError:  # ids of mixed, unorderable types keep their order of appearance
        return codes.astype(np.int64), np.asarray(uniques)
    rank = np.empty_like(order)
    rank[order] = np.arange(len(order))
    return rank[codes], np.asarray(uniques)[order]
