"""Marketing KPIs for a period, and cohort retention."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from custvalue.columns import canonical_columns, is_summary
from custvalue.errors import InvalidParameterError, SchemaError

__all__ = ["kpis", "cohort_retention", "gini", "top_share"]


def gini(values: np.ndarray | pd.Series) -> float:
    """Gini coefficient of non-negative values (0: all equal, → 1: one holds everything).

    Examples
    --------
    >>> gini([1, 1, 1, 1]), round(gini([0, 0, 0, 10]), 4)
    (0.0, 0.75)
    """
    v = np.sort(np.asarray(values, dtype=float))
    n = len(v)
    if n == 0 or v.sum() == 0:
        return 0.0
    ranks = np.arange(1, n + 1)
    return float((2 * np.dot(ranks, v)) / (n * v.sum()) - (n + 1) / n)


def top_share(values: np.ndarray | pd.Series, share: float = 0.2) -> float:
    """Share of the total held by the top ``share`` of customers.

    Examples
    --------
    >>> top_share([1, 1, 1, 1, 6], share=0.2)
    0.6
    """
    v = np.sort(np.asarray(values, dtype=float))[::-1]
    total = v.sum()
    k = int(np.ceil(share * len(v)))
    return float(v[:k].sum() / total) if total else 0.0


def kpis(
    data: pd.DataFrame,
    start: str | pd.Timestamp | None = None,
    end: str | pd.Timestamp | None = None,
    *,
    costs: float | None = None,
    columns: Mapping[str, str] | None = None,
) -> pd.DataFrame:
    """Key customer indicators in one table (index: KPI, column: ``value``).

    From transactions, for the period [start, end] (default: all data):
    customers (acquired by the end), active customers (buying in the
    period), revenue, orders, average order value, purchase frequency
    (orders per customer), repeat purchase rate (share of customers buying on
    two or more days), revenue share of the top 20% of customers and the Gini
    of customer revenue; and retention and churn rate against the previous
    period of the same length, when the data cover it.

    From a scored or segmented customer frame: customers, total and mean CLV,
    CLV share of the top 20%, Gini of CLV, mean P(alive), and the share of
    value per segment.

    With ``costs``, ROMI = (revenue − costs) / costs (CLV in place of
    revenue for a customer frame).

    Examples
    --------
    >>> import pandas as pd
    >>> tx = pd.DataFrame({"customer_id": [1, 1, 2, 3, 3, 3],
    ...                    "date": pd.to_datetime(["2024-01-02", "2024-02-01", "2024-02-03", "2024-01-10",
    ...                                            "2024-02-10", "2024-02-11"]),
    ...                    "amount": [10.0, 20.0, 30.0, 5.0, 15.0, 25.0]})
    >>> k = kpis(tx, "2024-02-01", "2024-02-29", costs=50.0)["value"]
    >>> k[["customers", "active_customers", "revenue", "average_order_value", "retention_rate", "romi"]].tolist()
    [3.0, 3.0, 90.0, 22.5, 1.0, 0.8]
    """
    if not isinstance(data, pd.DataFrame) or len(data) == 0:
        raise SchemaError("kpis needs a non-empty DataFrame of transactions or scored customers")
    rows: dict[str, float] = {}
    if is_summary(data):
        value = "clv" if "clv" in data.columns else "total_value" if "total_value" in data.columns else None
        if value is None:
            raise SchemaError("kpis on customers needs 'clv' (run custvalue.score) or 'total_value'")
        v = data[value].to_numpy(dtype=float)
        rows.update(customers=float(len(data)), **{f"total_{value}": float(v.sum()), f"mean_{value}": float(v.mean()),
                    f"top_20pct_{value}_share": top_share(v), f"gini_{value}": gini(np.clip(v, 0, None))})
        if "p_alive" in data.columns:
            rows["mean_p_alive"] = float(data["p_alive"].mean())
        if "segment" in data.columns:
            shares = data.groupby("segment", observed=True)[value].sum() / v.sum()
            rows.update({f"{value}_share: {name}": float(share) for name, share in shares.items()})
        income = float(v.sum())
    else:
        tx = canonical_columns(data, columns)
        dates = pd.to_datetime(tx["date"])
        low = dates.min() if start is None else pd.Timestamp(start)
        high = dates.max() if end is None else pd.Timestamp(end)
        if high < low:
            raise InvalidParameterError(f"end ({high.date()}) is before start ({low.date()})")
        period = tx[(dates >= low) & (dates <= high)]
        if len(period) == 0:
            raise SchemaError(f"no transactions between {low.date()} and {high.date()}")
        revenue_by_customer = period.groupby("customer_id")["amount"].sum()
        days = pd.to_datetime(period["date"]).dt.normalize()
        occasions = days.groupby(period["customer_id"]).nunique()
        customers = float(len(revenue_by_customer))
        revenue = float(revenue_by_customer.sum())
        rows.update(
            customers=float(tx.loc[dates <= high, "customer_id"].nunique()), active_customers=customers,
            revenue=revenue, orders=float(len(period)),
            average_order_value=revenue / len(period), purchase_frequency=len(period) / customers,
            repeat_purchase_rate=float((occasions >= 2).mean()),
            top_20pct_revenue_share=top_share(revenue_by_customer.to_numpy()),
            gini_revenue=gini(np.clip(revenue_by_customer.to_numpy(), 0, None)),
        )
        length = high - low
        previous_start = low - length - pd.Timedelta(days=1)
        if dates.min() <= previous_start:
            before = set(tx.loc[(dates >= previous_start) & (dates < low), "customer_id"])
            if before:
                retained = len(before & set(revenue_by_customer.index)) / len(before)
                rows.update(retention_rate=retained, churn_rate=1 - retained)
        income = revenue
    if costs is not None:
        if costs <= 0:
            raise InvalidParameterError(f"costs must be > 0 for ROMI, got {costs}")
        rows["romi"] = (income - costs) / costs
    return pd.DataFrame({"value": pd.Series(rows, dtype=float)}).rename_axis("kpi")


def cohort_retention(tx: pd.DataFrame, period: str = "M", *, columns: Mapping[str, str] | None = None) -> pd.DataFrame:
    """Share of each acquisition cohort buying in each later period.

    Rows are cohorts (the period of each customer's first purchase), columns
    the number of periods since acquisition (0, 1, ...), values the share of
    the cohort with a purchase then; ``attrs["cohort_size"]`` has the sizes.

    Examples
    --------
    >>> import pandas as pd
    >>> tx = pd.DataFrame({"customer_id": [1, 1, 2, 3, 3],
    ...                    "date": pd.to_datetime(["2024-01-05", "2024-02-01", "2024-01-20",
    ...                                            "2024-02-03", "2024-03-01"]),
    ...                    "amount": 1.0})
    >>> cohort_retention(tx)
    periods_since  0    1    2
    cohort
    2024-01        1.0  0.5  0.0
    2024-02        1.0  1.0  NaN
    """
    if period not in ("D", "W", "M", "Q", "Y"):
        raise InvalidParameterError(f"period must be one of D, W, M, Q, Y; got {period!r}")
    frame = canonical_columns(tx, columns)
    dates = pd.to_datetime(frame["date"])
    if dates.dt.tz is not None:
        dates = dates.dt.tz_localize(None)
    periods = dates.dt.to_period(period)
    first = periods.groupby(frame["customer_id"]).transform("min")
    since = (periods - first).apply(lambda offset: offset.n)
    active = pd.DataFrame({"cohort": first, "periods_since": since, "customer": frame["customer_id"]}).drop_duplicates()
    last = periods.max()
    counts = active.groupby(["cohort", "periods_since"]).size().unstack(fill_value=0)
    counts = counts.reindex(columns=range((last - counts.index.min()).n + 1), fill_value=0)
    sizes = counts[0]
    matrix = counts.div(sizes, axis=0)
    for cohort in matrix.index:  # periods not yet reached are unknown, not zero
        matrix.loc[cohort, matrix.columns > (last - cohort).n] = np.nan
    matrix.attrs["cohort_size"] = sizes
    return matrix
