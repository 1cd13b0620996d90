"""pandera schemas for each stage of the pipeline, public so users can validate their own frames.

* :class:`RawTransactions` — what :func:`custvalue.clean` accepts: the three
  canonical columns exist (values may still be dirty).
* :class:`CleanTransactions` — what :func:`custvalue.summarize` accepts: no
  missing values, datetime dates, finite numeric amounts.
* :class:`CustomerSummary` — the per-customer RFM summary the models fit on.

Use :func:`validate` rather than ``Schema.validate`` to get a
:class:`custvalue.errors.SchemaError` that lists every broken rule at once,
with the column, a few offending rows and how to fix them.

Examples
--------
>>> import pandas as pd
>>> summary = pd.DataFrame(
...     {"frequency": [2, 0], "recency": [30.4, 0.0], "T": [38.9, 38.9], "monetary_value": [22.4, 0.0]},
...     index=pd.Index([1, 2], name="customer_id"),
... )
>>> validate(summary, CustomerSummary) is summary
True
>>> bad = summary.assign(recency=[40.0, 1.0])
>>> try:
...     validate(bad, CustomerSummary)
... except SchemaError as err:
...     print(str(err).splitlines()[0])
CustomerSummary: 2 rule(s) broken
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pandera.pandas as pa
from pandera.errors import SchemaErrors
from pandera.typing import Index, Series

from custvalue.errors import SchemaError, format_examples

__all__ = ["RawTransactions", "CleanTransactions", "CustomerSummary", "validate"]

# How to fix each rule, keyed by the check name pandera reports.
FIXES: dict[str, str] = {
    "column_in_dataframe": "rename the column or pass columns={'your_name': 'canonical_name'}",
    "not_nullable": "drop or fill the missing values (custvalue.clean drops them and reports them)",
    "field_uniqueness": "aggregate to one row per customer (custvalue.summarize does this)",
    "finite": "remove infinite or missing values",
    "datetime": "parse the column with pandas.to_datetime or run custvalue.clean",
    "numeric": "convert the column to numbers (custvalue.clean drops values that are not numbers)",
    "whole_number": "frequency counts repeat purchase periods and must be a whole number",
    "recency_le_T": "recency (first to last purchase) cannot exceed T (first purchase to observation end)",
    "zero_recency_without_repeat": "a customer without repeat purchases has recency 0",
    "greater_than_or_equal_to(0)": "negative values are invalid here; check the sign and units",
}


class RawTransactions(pa.DataFrameModel):
    """Raw transactions: the canonical columns exist; values may be dirty."""

    customer_id: Series[Any] = pa.Field(nullable=True)
    date: Series[Any] = pa.Field(nullable=True)
    amount: Series[Any] = pa.Field(nullable=True)

    class Config:
        strict = False


class CleanTransactions(pa.DataFrameModel):
    """Clean transactions: one row per purchase with a customer, a date and a finite amount."""

    customer_id: Series[Any] = pa.Field(nullable=False)
    date: Series[Any] = pa.Field(nullable=False)
    amount: Series[Any] = pa.Field(nullable=False)

    @pa.check("date", name="datetime", element_wise=False)
    def _dates_are_datetimes(cls, s: pd.Series) -> bool:
        return isinstance(s.dtype, pd.DatetimeTZDtype) or pd.api.types.is_datetime64_dtype(s.dtype)

    @pa.check("amount", name="numeric", element_wise=False)
    def _amount_is_numeric(cls, s: pd.Series) -> bool:
        return pd.api.types.is_numeric_dtype(s.dtype) and not pd.api.types.is_bool_dtype(s.dtype)

    @pa.check("amount", name="finite")
    def _amount_is_finite(cls, s: pd.Series) -> pd.Series:
        if not pd.api.types.is_numeric_dtype(s.dtype):
            return pd.Series(True, index=s.index)
        return pd.Series(np.isfinite(s.to_numpy(dtype=float)), index=s.index)

    class Config:
        strict = False


class CustomerSummary(pa.DataFrameModel):
    """Per-customer summary in the BTYD convention (lifetimes, CLVTools, pymc-marketing).

    ``frequency`` is the number of repeat purchase periods, ``recency`` the
    time from the first to the last purchase, ``T`` the time from the first
    purchase to the end of observation and ``monetary_value`` the mean value
    of the repeat purchase periods. Customer ids form the unique index.
    """

    customer_id: Index[Any] = pa.Field(unique=True)
    frequency: Series[float] = pa.Field(ge=0, coerce=False)
    recency: Series[float] = pa.Field(ge=0)
    T: Series[float] = pa.Field(ge=0)
    monetary_value: Series[float] | None = pa.Field(ge=0)

    @pa.check("frequency", name="whole_number")
    def _whole_frequency(cls, s: pd.Series) -> pd.Series:
        return s == np.floor(s)

    @pa.check("monetary_value", name="finite")
    def _finite_spend(cls, s: pd.Series) -> pd.Series:
        return pd.Series(np.isfinite(s.to_numpy(dtype=float)), index=s.index)

    @pa.dataframe_check(name="recency_le_T")
    def _recency_le_T(cls, df: pd.DataFrame) -> pd.Series:
        return df["recency"] <= df["T"] * (1 + 1e-12) + 1e-9

    @pa.dataframe_check(name="zero_recency_without_repeat")
    def _zero_recency(cls, df: pd.DataFrame) -> pd.Series:
        return (df["frequency"] > 0) | (df["recency"] == 0)

    class Config:
        strict = False
        coerce = True


def validate(frame: pd.DataFrame, schema: type[pa.DataFrameModel]) -> pd.DataFrame:
    """Validate ``frame`` lazily against ``schema`` and return it unchanged.

    Raises
    ------
    custvalue.errors.SchemaError
        Listing every broken rule with its column, the number of offending
        rows, a few of them and how to fix the input.
    """
    if not isinstance(frame, pd.DataFrame):
        raise SchemaError(
            f"{schema.__name__}: expected a pandas DataFrame, got {type(frame).__name__}"
        )
    if schema is CustomerSummary and _summary_obviously_valid(frame):
        return frame
    try:
        schema.validate(frame, lazy=True, inplace=False)
    except SchemaErrors as exc:
        raise _wrap(schema.__name__, exc, frame) from None
    return frame


def _summary_obviously_valid(frame: pd.DataFrame) -> bool:
    """The CustomerSummary rules checked with a few numpy passes, for million-row summaries.

    True only when every rule visibly holds (numeric columns, no missing values, unique index);
    anything else goes through pandera, which then reports each broken rule in detail.
    """
    columns = ["frequency", "recency", "T"] + (["monetary_value"] if "monetary_value" in frame else [])
    if not all(c in frame.columns and pd.api.types.is_numeric_dtype(frame[c].dtype)
               and not pd.api.types.is_bool_dtype(frame[c].dtype) for c in columns):
        return False
    x, recency, T = (frame[c].to_numpy(dtype=float) for c in ("frequency", "recency", "T"))
    with np.errstate(invalid="ignore"):
        ok = (x >= 0) & (x == np.floor(x)) & (recency >= 0) & (T >= 0)
        ok &= recency <= T * (1 + 1e-12) + 1e-9
        ok &= (x > 0) | (recency == 0)
        if "monetary_value" in frame:
            m = frame["monetary_value"].to_numpy(dtype=float)
            ok &= np.isfinite(m) & (m >= 0)
    return bool(ok.all()) and frame.index.is_unique


def _wrap(name: str, exc: SchemaErrors, frame: pd.DataFrame) -> SchemaError:
    cases = exc.failure_cases[["column", "check", "index", "failure_case"]].copy()
    index_name = frame.index.name or "index"
    cases["column"] = cases["column"].fillna(f"{index_name} (index)")
    by_rule = list(cases.groupby("check", sort=False))
    lines = [f"{name}: {len(by_rule)} rule(s) broken"]
    for check, rows in by_rule:
        columns = ", ".join(f"'{c}'" for c in dict.fromkeys(rows["column"]))
        labels = rows["index"].dropna().unique()
        lines.append(f"- rule '{check}' on {columns}: {max(len(labels), 1):,} row(s)")
        if len(labels):
            lines.append(format_examples(frame.loc[frame.index.isin(labels[:5])]))
        elif check == "column_in_dataframe":
            lines.append(f"    missing: {rows['failure_case'].astype(str).tolist()}")
        fix = next((text for key, text in FIXES.items() if str(check).startswith(key)), None)
        if fix:
            lines.append(f"    How to fix: {fix}")
    return SchemaError("\n".join(lines), cases.reset_index(drop=True))
