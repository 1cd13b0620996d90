"""Pick customers: by segment, value, P(alive), rank or a query (accessor: ``df.cv.filter``)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from custvalue.errors import InvalidParameterError, SchemaError
from custvalue.segment import value_column

__all__ = ["filter_customers"]


def filter_customers(
    frame: pd.DataFrame,
    segment: str | Sequence[str] | None = None,
    *,
    min_value: float | None = None,
    max_value: float | None = None,
    value: str | None = None,
    p_alive: tuple[float, float] | None = None,
    top: int | None = None,
    top_share: float | None = None,
    by: str | None = None,
    query: str | None = None,
) -> pd.DataFrame:
    """Keep the customers that meet every condition given; the result still chains.

    Parameters
    ----------
    frame : DataFrame
        Customers (scored and/or segmented). Never modified.
    segment : str or list of str, optional
        Keep these segments (see :func:`custvalue.segment`).
    min_value, max_value : float, optional
        Bounds (inclusive) on ``value`` (default ``clv``, else ``total_value``).
    p_alive : (low, high), optional
        Inclusive range of P(alive).
    top, top_share : optional
        Keep the ``top`` customers, or the top ``top_share`` (0–1) of them,
        ranked by ``by`` (default the value column), after the other conditions.
    query : str, optional
        A ``DataFrame.query`` expression, e.g. ``"frequency >= 2"``.

    Returns
    -------
    DataFrame
        The selected rows, in their original order (ranked order for top /
        top_share), with the fitted models still attached.

    Examples
    --------
    >>> import pandas as pd
    >>> df = pd.DataFrame({"clv": [5.0, 50.0, 500.0, 20.0], "p_alive": [0.1, 0.9, 0.8, 0.5],
    ...                    "segment": ["low", "mid", "high", "low"]})
    >>> filter_customers(df, segment="low").index.tolist()
    [0, 3]
    >>> filter_customers(df, p_alive=(0.5, 1.0), min_value=20).index.tolist()
    [1, 2, 3]
    >>> filter_customers(df, top=2).index.tolist()
    [2, 1]
    """
    if not isinstance(frame, pd.DataFrame):
        raise SchemaError(f"filter needs a DataFrame of customers, got {type(frame).__name__}")
    keep = np.ones(len(frame), dtype=bool)
    if segment is not None:
        keep &= segment_mask(frame, segment)
    if min_value is not None or max_value is not None:
        values = frame[value_column(frame, value)].to_numpy(dtype=float)
        if min_value is not None:
            keep &= values >= min_value
        if max_value is not None:
            keep &= values <= max_value
    if p_alive is not None:
        if "p_alive" not in frame.columns:
            raise SchemaError("filtering by p_alive needs a 'p_alive' column: run custvalue.score first")
        low, high = p_alive
        keep &= frame["p_alive"].between(low, high).to_numpy()
    if query is not None:
        keep &= query_mask(frame, query)
    result = frame.loc[keep]
    if top is not None or top_share is not None:
        if top is not None and top_share is not None:
            raise InvalidParameterError("pass top= or top_share=, not both")
        ranking = by if by is not None else value_column(frame, value)
        if ranking not in frame.columns:
            raise SchemaError(f"cannot rank by {ranking!r}: not a column")
        if top_share is not None:
            if not 0 < top_share <= 1:
                raise InvalidParameterError(f"top_share must be in (0, 1], got {top_share}")
            top = int(np.ceil(top_share * len(result)))
        if not isinstance(top, int | np.integer) or top < 0:
            raise InvalidParameterError(f"top must be a whole number >= 0, got {top!r}")
        result = result.sort_values(ranking, ascending=False, kind="stable").head(top)
    return result


def segment_mask(frame: pd.DataFrame, segment: str | Sequence[str]) -> np.ndarray:
    """True for customers in ``segment`` (a name or names), with clear errors for unknown names."""
    if "segment" not in frame.columns:
        raise SchemaError("choosing customers by segment needs a 'segment' column: run custvalue.segment first")
    wanted = [segment] if isinstance(segment, str) else list(segment)
    column = frame["segment"]
    known = set(column.cat.categories) if isinstance(column.dtype, pd.CategoricalDtype) else set(column.unique())
    unknown = [s for s in wanted if s not in known]
    if unknown:
        raise InvalidParameterError(f"unknown segment(s) {unknown}; the frame has {sorted(map(str, known))}")
    return column.isin(wanted).to_numpy()


def query_mask(frame: pd.DataFrame, query: str) -> np.ndarray:
    """True for customers matching a ``DataFrame.eval`` expression; a failing expression is named."""
    try:
        matched = frame.eval(query)
    except Exception as err:  # a user's expression: say which
        raise InvalidParameterError(f"query {query!r} failed: {err}") from None
    return np.asarray(matched, dtype=bool)
