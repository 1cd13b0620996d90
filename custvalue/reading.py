"""Reading back what the steps wrote: Parquet keeps every dtype, CSV needs this reader.

Parquet stores dtypes, so ``pd.read_parquet(path)`` returns a step's output as
it was written (dates at microsecond resolution, ordered segment categories,
nullable floats, period cohorts). CSV stores text only; :func:`read_csv` reads
a CSV written by ``DataFrame.to_csv`` from a custvalue frame and gives its
columns the dtypes the steps give them.
"""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from custvalue.checks import invalid
from custvalue.errors import InvalidParameterError, SchemaError
from custvalue.segment import LIFECYCLE_STAGES, OTHER, RFM_SEGMENTS

__all__ = ["read_csv", "DATE_COLUMNS", "INDEX_NAMES"]

#: Index names the steps give their outputs; a CSV whose first column has one of them is read with it as index.
INDEX_NAMES = ("customer_id", "kpi", "group", "model", "segment", "cohort", "frequency_cal", "period_end", "reason")
#: Columns (and index names) that hold dates.
DATE_COLUMNS = ("date", "first_purchase", "last_purchase", "period_end")
#: Columns of text that look like numbers ("545").
TEXT_COLUMNS = ("rfm_score",)
#: Columns of nullable floats, missing where undefined (a mean over no customers, ROMI without a cost).
NULLABLE_FLOAT_COLUMNS = ("mean_value", "value_share", "mean_p_alive", "mean_frequency", "mean_recency",
                          "relative_lift", "romi")
#: The resolution of every date custvalue writes.
DATE_UNIT = "datetime64[us]"


def read_csv(path: str | os.PathLike[str], *, segments: Sequence[str] | None = None, **options: Any) -> pd.DataFrame:
    """Read a CSV written with ``frame.to_csv(path)`` from a custvalue frame, with the steps' dtypes.

    The index comes back (``customer_id`` for customer frames, ``kpi``,
    ``group``, ``model``, ``cohort`` ...; an unnamed index as it was), dates as
    datetime64[us] (time zones as UTC offsets), ``segment`` as an ordered
    Categorical, ``rfm_score`` as text, nullable floats as ``Float64`` and a
    cohort matrix with its periods. Floats round-trip exactly (pandas writes
    and reads the shortest text that gives the same float).

    Parameters
    ----------
    path : str or path-like
        The CSV file.
    segments : list of str, optional
        The segment names in their order, for segments of your own (rules or
        labels). By default the order is that of the method that made them
        (RFM grid, lifecycle stages, low/mid/high, C1..Ck, tier 1..k), else
        the order of first appearance with "Other" last.
    **options
        Passed to ``pandas.read_csv``, e.g. ``dtype={"customer_id": str}``
        to keep ids such as "007" as text (a CSV cannot tell them from numbers).

    Returns
    -------
    DataFrame

    Examples
    --------
    >>> import tempfile, pathlib, custvalue as cv
    >>> scored = cv.segment(cv.score(cv.datasets.load_cdnow_summary(), horizon=39), method="rfm")
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "scored.csv"
    >>> scored.to_csv(path)
    >>> back = read_csv(path)
    >>> back["segment"].dtype == scored["segment"].dtype, back.index.name
    (True, 'customer_id')
    >>> bool((back.dtypes == scored.dtypes).all())
    True
    """
    if not isinstance(path, str | os.PathLike):
        raise invalid("path", path, "it must be a file path (a string or pathlib.Path)")
    if segments is not None and (isinstance(segments, str) or not all(isinstance(s, str) for s in segments)):
        raise invalid("segments", segments, "it must be a list of segment names in their order")
    if "index_col" in options or "parse_dates" in options:
        raise InvalidParameterError("read_csv chooses index_col and parse_dates itself; read with pandas.read_csv "
                                    "to choose them")
    try:
        header = list(pd.read_csv(path, nrows=0, **_header_options(options)).columns)
    except FileNotFoundError:
        raise invalid("path", os.fspath(path), "no such file") from None
    except (pd.errors.EmptyDataError, UnicodeDecodeError) as err:
        raise SchemaError(f"path={os.fspath(path)!r}: not a CSV written from a custvalue frame ({err})") from None
    index = _index_column(header)
    dtype = {c: str for c in (*TEXT_COLUMNS, "segment") if c in header}
    dtype.update(options.pop("dtype", None) or {})
    frame = pd.read_csv(path, index_col=index, dtype=dtype, **options)
    if index is not None and (header[0] == "" or header[0].startswith("Unnamed: ")):
        frame.index.name = None
    for column in frame.columns:
        frame[column] = _restored(frame[column], str(column), segments)
    frame.index = _restored_index(frame.index, segments)
    if isinstance(frame.index, pd.PeriodIndex):  # a cohort matrix: periods since acquisition as columns
        frame.columns = pd.Index([int(c) for c in frame.columns], name="periods_since")
        frame = frame.astype("Float64")
    return frame


def _header_options(options: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in options.items() if k in ("sep", "delimiter", "encoding", "quotechar", "escapechar")}


def _index_column(header: list[str]) -> int | None:
    if not header:
        return None
    first = header[0]
    if first.startswith("Unnamed: ") or first == "":
        return 0  # an unnamed index written by to_csv
    if first == "customer_id" and "date" in header:
        return None  # transactions: customer_id is a column
    return 0 if first in INDEX_NAMES else None


def _restored(values: pd.Series, name: str, segments: Sequence[str] | None) -> pd.Series:
    if name in DATE_COLUMNS:
        return _dates(values)
    if name == "segment":
        return pd.Series(_segments(values.to_numpy(), segments), index=values.index, name=values.name)
    if name in NULLABLE_FLOAT_COLUMNS:
        return values.astype("Float64")
    return values


def _restored_index(index: pd.Index, segments: Sequence[str] | None) -> pd.Index:
    name = index.name
    if name in DATE_COLUMNS:
        return pd.Index(_dates(pd.Series(index)), name=name)
    if name == "segment":
        return pd.CategoricalIndex(_segments(index.to_numpy(), segments), name=name)
    if name == "cohort":
        return pd.PeriodIndex([pd.Period(text, freq=_period_freq(str(text))) for text in index], name=name)
    return index


def _dates(values: pd.Series) -> pd.Series:
    parsed = pd.to_datetime(values, format="ISO8601", errors="coerce", utc=_has_offsets(values))
    if parsed.isna().sum() > values.isna().sum():
        raise SchemaError(f"column {values.name!r} holds values that are not ISO dates, such as "
                          f"{values[parsed.isna() & values.notna()].iloc[0]!r}")
    unit = DATE_UNIT if not isinstance(parsed.dtype, pd.DatetimeTZDtype) else f"datetime64[us, {parsed.dt.tz}]"
    return parsed.astype(unit)


def _has_offsets(values: pd.Series) -> bool:
    text = values.dropna().astype(str)
    return bool(len(text)) and bool(text.str.contains(r"[+-]\d\d:\d\d$|Z$", regex=True).any())


def _segments(labels: np.ndarray, segments: Sequence[str] | None) -> pd.Categorical:
    present = [str(v) for v in pd.unique(labels[pd.notna(labels)])]
    categories = list(segments) if segments is not None else _segment_order(present)
    unknown = sorted(set(present) - set(categories))
    if unknown:
        raise InvalidParameterError(f"segments={list(categories)!r} lacks the segment(s) {unknown} found in the file")
    return pd.Categorical(labels, categories=categories, ordered=True)


def _segment_order(present: list[str]) -> list[str]:
    """The categories of the method that made segments ``present``, or their order of first appearance."""
    for known in ([*RFM_SEGMENTS, OTHER], list(LIFECYCLE_STAGES), ["low", "mid", "high"]):
        if set(present) <= set(known):
            return known
    for pattern in (r"C(\d+)", r"tier (\d+)"):
        numbers = [re.fullmatch(pattern, label) for label in present]
        if present and all(numbers):
            top = max(int(m.group(1)) for m in numbers if m)
            return [pattern.replace(r"(\d+)", str(i)) for i in range(1, top + 1)]
    return [s for s in present if s != OTHER] + ([OTHER] if OTHER in present else [])


def _period_freq(text: str) -> str:
    """The period frequency of a cohort label as pandas writes it: 2024-01 (M), 2024Q1 (Q), 2024 (Y),
    2024-01-05 (D), 2024-01-01/2024-01-07 (W)."""
    if "/" in text:
        return "W"
    if "Q" in text:
        return "Q"
    if re.fullmatch(r"\d{4}", text):
        return "Y"
    if re.fullmatch(r"\d{4}-\d{2}", text):
        return "M"
    return "D"
