"""Pick customers: by segment, value, P(alive), rank or a query (accessor: ``df.cv.filter``)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

import numpy as np
import pandas as pd

from custvalue.checks import check_column, check_frame, check_int, check_number, check_range, check_values, invalid
from custvalue.errors import InvalidParameterError, MissingColumnError
from custvalue.expressions import boolean_mask, parse_expression
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
        A condition in custvalue's safe expression language, e.g.
        ``"frequency >= 2 and segment in ['At Risk', 'Hibernating']"``: column
        names (```in backticks``` when they have spaces), numbers, strings,
        comparisons, and/or/not, arithmetic, ``in [...]`` and the functions
        abs, log, exp, sqrt, isna and notna (see :mod:`custvalue.expressions`).
        It is never run as Python code.

    Returns
    -------
    DataFrame
        The selected rows, in their original order (ranked order for top /
        top_share), with the fitted models still attached.

    Raises
    ------
    custvalue.errors.InvalidParameterError
        For an argument of the wrong type or value (naming it), an unknown
        segment, or a query outside the expression language.
    custvalue.errors.SchemaError
        For a column a condition needs that is missing (a ``KeyError`` too) or
        holds missing or infinite values.

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
    frame = check_frame(frame, "frame", allow_empty=True)
    if min_value is not None:
        min_value = check_number(min_value, "min_value")
    if max_value is not None:
        max_value = check_number(max_value, "max_value")
    if min_value is not None and max_value is not None and min_value > max_value:
        raise invalid("max_value", max_value, f"it must not be below min_value={min_value!r}")
    if p_alive is not None:
        p_alive = check_range(p_alive, "p_alive", low=0, high=1)
    if top is not None and top_share is not None:
        raise InvalidParameterError(f"top={top!r} and top_share={top_share!r}: pass one of them, not both")
    if top is not None:
        top = check_int(top, "top", low=0)
    if top_share is not None:
        top_share = check_number(top_share, "top_share", low=0, high=1, low_open=True)
    if value is not None:
        value_column(frame, value)
    if by is not None:
        if top is None and top_share is None:
            raise invalid("by", by, "it ranks customers for top= or top_share=; pass one of them too")
        check_column(frame, by, "by", numeric=True)
    parsed = None if query is None else parse_expression(query, "query")
    keep = np.ones(len(frame), dtype=bool)
    if segment is not None:
        keep &= segment_mask(frame, segment)
    if min_value is not None or max_value is not None:
        values = check_values(frame, value_column(frame, value))
        if min_value is not None:
            keep &= values >= min_value
        if max_value is not None:
            keep &= values <= max_value
    if p_alive is not None:
        if "p_alive" not in frame.columns:
            raise MissingColumnError("p_alive=: filtering by P(alive) needs a 'p_alive' column: run custvalue.score "
                                     "first")
        alive = check_values(frame, "p_alive", low=0, high=1)
        keep &= (alive >= p_alive[0]) & (alive <= p_alive[1])
    if parsed is not None:
        keep &= parsed.mask(frame)
    result = frame.loc[keep]
    if top is not None or top_share is not None:
        ranking = check_column(frame, by, "by", numeric=True) if by is not None else value_column(frame, value)
        check_values(frame, ranking)
        if top_share is not None:
            top = int(np.ceil(top_share * len(result)))
        result = result.sort_values(ranking, ascending=False, kind="stable").head(top)
    return result


def segment_mask(frame: pd.DataFrame, segment: object, name: str = "segment") -> np.ndarray:
    """True for customers in ``segment`` (a name or names), with clear errors for unknown names."""
    if "segment" not in frame.columns:
        raise MissingColumnError(f"{name}=: choosing customers by segment needs a 'segment' column: run "
                                 "custvalue.segment first")
    if isinstance(segment, str):
        wanted = [segment]
    elif isinstance(segment, Iterable) and not isinstance(segment, bytes | Mapping):
        wanted = list(segment)
    else:
        raise invalid(name, segment, "it must be a segment name or a list of them, e.g. segment=['At Risk']")
    if not wanted:
        raise invalid(name, segment, "it must name at least one segment")
    column = frame["segment"]
    known = list(column.cat.categories) if isinstance(column.dtype, pd.CategoricalDtype) else list(column.unique())
    unknown = [s for s in wanted if s not in known]
    if unknown:
        raise invalid(name, segment, f"unknown segment(s) {unknown}; the frame has {sorted(map(str, known))}")
    return column.isin(wanted).to_numpy()


def query_mask(frame: pd.DataFrame, query: object, name: str = "query") -> np.ndarray:
    """True for customers matching ``query``, an expression of :mod:`custvalue.expressions`."""
    return boolean_mask(frame, query, name)
