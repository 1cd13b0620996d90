"""Marketing KPIs for a period, and cohort retention."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from custvalue.checks import (
    check_choice,
    check_column,
    check_date,
    check_frame,
    check_number,
    check_values,
    invalid,
)
from custvalue.columns import as_timestamp, is_summary
from custvalue.errors import InvalidParameterError, MissingColumnError, SchemaError
from custvalue.summary import checked_transactions

__all__ = ["kpis", "cohort_retention", "gini", "top_share"]


def gini(values: np.ndarray | pd.Series) -> float:
    """Gini coefficient of non-negative values (0: all equal, → 1: one holds everything).

    Examples
    --------
    >>> gini([1, 1, 1, 1]), round(gini([0, 0, 0, 10]), 4)
    (0.0, 0.75)
    """
    v = np.sort(_finite_values(values, "values"))
    if (v < 0).any():
        raise invalid("values", values, "the Gini coefficient needs values >= 0; clip them: np.clip(values, 0, None)")
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
    share = check_number(share, "share", low=0, high=1, low_open=True)
    v = np.sort(_finite_values(values, "values"))[::-1]
    total = v.sum()
    k = int(np.ceil(share * len(v)))
    return float(v[:k].sum() / total) if total else 0.0


def _finite_values(values: object, name: str) -> np.ndarray:
    try:
        array = np.asarray(values, dtype=float)
    except (TypeError, ValueError):
        raise invalid(name, values, "it must be a list or array of numbers") from None
    if array.ndim != 1 or not np.isfinite(array).all():
        raise invalid(name, values, "it must be a one-dimensional list or array of finite numbers")
    return array


def kpis(
    data: pd.DataFrame,
    start: str | pd.Timestamp | None = None,
    end: str | pd.Timestamp | None = None,
    *,
    costs: float | None = None,
    columns: Mapping[str, str] | None = None,
    order_id: str | None = None,
) -> pd.DataFrame:
    """Key customer indicators in one table (index: KPI, column: ``value``).

    From transactions, for the period [start, end] (default: all data; an end
    given as a date includes the whole of that day, as in :func:`custvalue.summarize`):
    customers (acquired by the end), active customers (buying in the
    period), revenue, orders, average order value, purchase frequency
    (orders per customer), repeat purchase rate (share of customers buying on
    two or more days), revenue share of the top 20% of customers and the Gini
    of customer revenue; and retention and churn rate against the previous
    period of the same length, when the data cover it. Each row is an order,
    unless ``order_id`` names the column that says which order a row belongs
    to (an invoice number, for an export of line items): then an order is a
    customer's distinct value of it.

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

    Line items of two invoices are two orders:

    >>> lines = pd.DataFrame({"customer_id": [1, 1, 1], "invoice": ["A", "A", "B"], "amount": [5.0, 7.0, 3.0],
    ...                       "date": pd.to_datetime(["2024-03-01", "2024-03-01", "2024-03-09"])})
    >>> kpis(lines, order_id="invoice").loc[["orders", "average_order_value"], "value"].tolist()
    [2.0, 7.5]
    """
    data = check_frame(data, "data")
    for name, when in (("start", start), ("end", end)):
        if when is not None:
            check_date(when, name)
    if costs is not None:
        costs = check_number(costs, "costs", low=0, low_open=True)
    rows: dict[str, float] = {}
    if is_summary(data):
        value = "clv" if "clv" in data.columns else "total_value" if "total_value" in data.columns else None
        if value is None:
            raise MissingColumnError("kpis on customers needs 'clv' (run custvalue.score) or 'total_value'")
        if start is not None or end is not None or columns is not None or order_id is not None:
            raise InvalidParameterError("start=, end=, columns= and order_id= apply to transactions; this frame holds "
                                        "customers (a summary or scores): leave them out")
        v = check_values(data, value)
        total = float(v.sum())
        if not np.isfinite(total):
            raise SchemaError(f"column {value!r}: the values add up to more than a float can hold")
        rows.update(customers=float(len(data)), **{f"total_{value}": total, f"mean_{value}": float(v.mean()),
                    f"top_20pct_{value}_share": top_share(v), f"gini_{value}": gini(np.clip(v, 0, None))})
        if "p_alive" in data.columns:
            rows["mean_p_alive"] = float(check_values(data, "p_alive", low=0, high=1).mean())
        if "segment" in data.columns and total > 0:
            shares = pd.Series(v, index=data.index).groupby(data["segment"], observed=True).sum() / total
            rows.update({f"{value}_share: {name}": float(share) for name, share in shares.items()})
        income = total
    else:
        tx = checked_transactions(data, columns, "data")
        if order_id is not None:
            order_id = check_column(data, order_id, "order_id")
            tx = tx.assign(order_id=data[order_id].to_numpy())
        dates = tx["date"]
        low = dates.min() if start is None else as_timestamp(start, "start", dates.dt.tz)
        high = dates.max() if end is None else as_timestamp(end, "end", dates.dt.tz)
        if high < low:
            raise InvalidParameterError(f"end={str(high.date())!r} is not valid: it is before start ({low.date()})")
        # An end at midnight names a day: the whole of it is in the period, as in summarize.
        by_end = dates.dt.normalize() if end is not None and high == high.normalize() else dates
        in_period = ((dates >= low) & (by_end <= high)).to_numpy()
        period = tx[in_period]
        if len(period) == 0:
            raise SchemaError(f"no transactions between {low.date()} and {high.date()}; the data run from "
                              f"{dates.min().date()} to {dates.max().date()}")
        revenue_by_customer = period.groupby("customer_id")["amount"].sum()
        days = period["date"].dt.normalize()
        occasions = days.groupby(period["customer_id"]).nunique()
        customers = float(len(revenue_by_customer))
        revenue = float(revenue_by_customer.sum())
        if not np.isfinite(revenue):
            raise SchemaError("column 'amount': the revenue adds up to more than a float can hold")
        orders = len(period) if order_id is None else len(period[["customer_id", "order_id"]].drop_duplicates())
        rows.update(
            customers=float(tx.loc[(by_end <= high).to_numpy(), "customer_id"].nunique()), active_customers=customers,
            revenue=revenue, orders=float(orders),
            average_order_value=revenue / orders, purchase_frequency=orders / customers,
            repeat_purchase_rate=float((occasions >= 2).mean()),
            top_20pct_revenue_share=top_share(revenue_by_customer.to_numpy()),
            gini_revenue=gini(np.clip(revenue_by_customer.to_numpy(), 0, None)),
        )
        length = high - low
        previous_start = low - length - pd.Timedelta(days=1)
        if dates.min() <= previous_start:
            before = set(tx.loc[((dates >= previous_start) & (dates < low)).to_numpy(), "customer_id"])
            if before:
                retained = len(before & set(revenue_by_customer.index)) / len(before)
                rows.update(retention_rate=retained, churn_rate=1 - retained)
        income = revenue
    if costs is not None:
        rows["romi"] = (income - costs) / costs
    return pd.DataFrame({"value": pd.Series(rows, dtype=float)}).rename_axis("kpi")


def cohort_retention(tx: pd.DataFrame, period: str = "M", *, columns: Mapping[str, str] | None = None) -> pd.DataFrame:
    """Share of each acquisition cohort buying in each later period.

    Rows are cohorts (the period of each customer's first purchase), columns
    the number of periods since acquisition (0, 1, ...), values the share of
    the cohort with a purchase then (``<NA>`` for periods a cohort has not
    reached yet: unknown rather than zero); ``attrs["cohort_size"]``
    maps each cohort (as text, e.g. "2024-01") to its size.

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
    2024-02        1.0  1.0  <NA>
    """
    period = check_choice(period, "period", ["D", "W", "M", "Q", "Y"])
    frame = checked_transactions(tx, columns, "tx")
    dates = frame["date"]
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
    matrix = matrix.astype("Float64")
    for cohort in matrix.index:  # periods not yet reached are unknown (<NA>), not zero
        matrix.loc[cohort, matrix.columns > (last - cohort).n] = pd.NA
    matrix.attrs["cohort_size"] = {str(cohort): int(size) for cohort, size in sizes.items()}  # JSON: Parquet keeps it
    return matrix
