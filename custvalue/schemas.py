"""pandera schemas for each stage of the pipeline, public so users can validate their own frames.

* :class:`RawTransactions` — what :func:`custvalue.clean` accepts: the three
  canonical columns exist (values may still be dirty).
* :class:`CleanTransactions` — what :func:`custvalue.summarize` accepts: no
  missing values, datetime dates, finite numeric amounts.
* :class:`CustomerSummary` — the per-customer RFM summary the models fit on.

Use :func:`custvalue.validate` rather than ``Schema.validate`` to get a
:class:`custvalue.errors.SchemaError` that lists every broken rule at once,
with the column, a few offending rows and how to fix them. The steps load
this module (and pandera) only when a frame fails their fast checks.

Examples
--------
>>> import pandas as pd
>>> from custvalue import validate
>>> summary = pd.DataFrame(
...     {"frequency": [2, 0], "recency": [30.4, 0.0], "T": [38.9, 38.9], "monetary_value": [22.4, 0.0]},
...     index=pd.Index([1, 2], name="customer_id"),
... )
>>> validate(summary, CustomerSummary) is summary
True
>>> bad = summary.assign(recency=[40.0, 1.0])
>>> from custvalue.errors import SchemaError
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
from pandera.typing import Index, Series

__all__ = ["RawTransactions", "CleanTransactions", "CustomerSummary"]

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
