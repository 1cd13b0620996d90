"""Validating frames: fast numpy checks first, pandera's full report when something is wrong.

pandera (and :mod:`custvalue.schemas`) is imported only when a frame fails
the fast checks or a user validates against a schema, which keeps
``import custvalue`` light.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from custvalue.checks import check_frame, invalid
from custvalue.errors import SchemaError, format_examples

__all__ = ["validate", "validate_summary"]

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


def validate(frame: pd.DataFrame, schema: Any) -> pd.DataFrame:
    """Validate ``frame`` lazily against ``schema`` and return it unchanged.

    Raises
    ------
    custvalue.errors.SchemaError
        Listing every broken rule with its column, the number of offending
        rows, a few of them and how to fix the input.
    """
    import pandera.pandas as pa
    from pandera.errors import SchemaErrors

    if not (isinstance(schema, type) and issubclass(schema, pa.DataFrameModel)):
        raise invalid("schema", schema, "it must be a pandera DataFrameModel such as custvalue.CustomerSummary")
    check_frame(frame, "frame", allow_empty=True)

    try:
        schema.validate(frame, lazy=True, inplace=False)
    except SchemaErrors as exc:
        raise _wrap(schema.__name__, exc, frame) from None
    return frame


def validate_summary(frame: pd.DataFrame) -> pd.DataFrame:
    """Check a customer summary against :class:`custvalue.schemas.CustomerSummary` and return it unchanged:
    a few numpy passes for the frames that meet every rule, pandera's report for the others."""
    if isinstance(frame, pd.DataFrame) and _summary_obviously_valid(frame):
        return frame
    from custvalue.schemas import CustomerSummary

    return validate(frame, CustomerSummary)


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


def _wrap(name: str, exc: Any, frame: pd.DataFrame) -> SchemaError:
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
