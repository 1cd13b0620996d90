"""Argument checks at the boundary of every public function.

Each check takes the value a user passed and the parameter's name, returns the
value in the form the code needs (a float, an int, a list of names) and
otherwise raises :class:`~custvalue.errors.InvalidParameterError` naming the
parameter, the value received and what is allowed. numpy scalars count as the
numbers they hold; booleans and strings never do. Problems of a frame's
columns raise :class:`~custvalue.errors.SchemaError` (a missing column:
:class:`~custvalue.errors.MissingColumnError`, also a ``KeyError``).

Examples
--------
>>> import numpy as np
>>> check_number(np.float32(0.5), "discount_rate", low=0)
0.5
>>> try:
...     check_number("0.9", "intervals", low=0, high=1)
... except InvalidParameterError as err:
...     print(err)
intervals='0.9' is not valid: it must be a number, not a str (e.g. intervals=0.9)
"""

from __future__ import annotations

import datetime
import difflib
import math
import numbers
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, TypeVar

import numpy as np
import pandas as pd

from custvalue.engines import KNOWN_ADAPTERS
from custvalue.errors import InvalidParameterError, MissingColumnError, SchemaError, invalid_values_error

__all__ = [
    "invalid", "check_number", "check_int", "check_level", "check_choice", "check_bool", "check_names",
    "check_column", "check_frame", "check_mapping", "check_date", "check_range", "check_numbers",
    "check_text", "check_labels", "check_seed", "check_callable_or_text", "check_values", "check_counts",
]

T = TypeVar("T")


def invalid(name: str, value: object, rule: str) -> InvalidParameterError:
    """The error for ``name=value`` breaking ``rule`` (what is allowed, and how to fix it).

    Examples
    --------
    >>> print(invalid("top", -1, "it must be a whole number >= 0"))
    top=-1 is not valid: it must be a whole number >= 0
    """
    return InvalidParameterError(f"{name}={_shown(value)} is not valid: {rule}")


def _shown(value: object) -> str:
    if isinstance(value, pd.DataFrame | pd.Series | np.ndarray):
        return f"<{type(value).__name__} of shape {getattr(value, 'shape', '?')}>"
    try:
        shown = repr(value)
    except Exception:  # a user's object whose repr fails: its type is enough
        shown = f"<{type(value).__name__}>"
    return shown if len(shown) <= 80 else shown[:77] + "..."


def _is_real(value: object) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, bool | np.bool_)


def check_number(value: object, name: str, *, low: float | None = None, high: float | None = None,
                 low_open: bool = False, high_open: bool = False, finite: bool = True) -> float:
    """``value`` as a float within [low, high] (open ends with ``low_open``/``high_open``), finite unless
    ``finite=False`` (then +inf may pass a missing ``high``).

    Examples
    --------
    >>> check_number(3, "horizon", low=0, low_open=True)
    3.0
    >>> try:
    ...     check_number(float("nan"), "margin", low=0, high=1)
    ... except InvalidParameterError as err:
    ...     print(err)
    margin=nan is not valid: it must be a finite number
    """
    if not _is_real(value):
        example = f" (e.g. {name}={value.strip()})" if isinstance(value, str) and _parses(value) else ""
        raise invalid(name, value, f"it must be a number, not a {type(value).__name__}{example}")
    try:
        number = float(value)  # type: ignore[arg-type]
    except OverflowError:  # an int too large for a float
        raise invalid(name, value, "it must be a finite number") from None
    if math.isnan(number) or (finite and math.isinf(number)):
        raise invalid(name, value, "it must be a finite number")
    too_low = low is not None and (number <= low if low_open else number < low)
    too_high = high is not None and (number >= high if high_open else number > high)
    if too_low or too_high:
        raise invalid(name, value, f"it must lie in {_span(low, high, low_open, high_open)}")
    return number


def _span(low: float | None, high: float | None, low_open: bool, high_open: bool) -> str:
    left = "(" if low_open or low is None else "["
    right = ")" if high_open or high is None else "]"
    return f"{left}{'-inf' if low is None else _num(low)}, {'inf' if high is None else _num(high)}{right}"


def check_int(value: object, name: str, *, low: int | None = None, high: int | None = None) -> int:
    """``value`` as a whole number (int, or a float or numpy number holding one) within [low, high].

    Examples
    --------
    >>> check_int(np.int64(5), "max_frequency", low=0), check_int(2.0, "k", low=1)
    (5, 2)
    """
    if isinstance(value, numbers.Integral) and not isinstance(value, bool | np.bool_):
        number = int(value)
        if (low is not None and number < low) or (high is not None and number > high):
            raise invalid(name, value, f"it must be a whole number in {_span(low, high, False, False)}")
        return number
    checked = check_number(value, name, low=low, high=high)
    if checked != math.floor(checked):
        raise invalid(name, value, "it must be a whole number")
    return int(checked)


def check_counts(value: object, name: str = "n") -> tuple[list[int], bool]:
    """Whole numbers >= 0 given as one number or as a list, tuple or array of them; and whether one was given.

    Examples
    --------
    >>> check_counts(np.arange(3)), check_counts(np.int64(2)), check_counts((0, 5.0))
    (([0, 1, 2], False), ([2], True), ([0, 5], False))
    """
    if isinstance(value, str | bytes) or np.ndim(value) == 0:  # type: ignore[arg-type]
        return [check_int(value, name, low=0)], True
    values = list(np.ravel(value) if isinstance(value, np.ndarray) else value)  # type: ignore[call-overload]
    if not values:
        raise invalid(name, value, "give at least one count, e.g. n=[0, 1, 2]")
    return [check_int(v, name, low=0) for v in values], False


def check_level(value: object, name: str) -> float:
    """A probability level strictly between 0 and 1, such as 0.9 for a 90% interval.

    Examples
    --------
    >>> check_level(np.float64(0.9), "intervals")
    0.9
    """
    return check_number(value, name, low=0, high=1, low_open=True, high_open=True)


def check_choice(value: object, name: str, choices: Sequence[T]) -> T:
    """``value`` if it is one of ``choices``.

    Examples
    --------
    >>> check_choice("W", "unit", ["D", "W", "M", "Y"])
    'W'
    """
    for choice in choices:
        if isinstance(value, type(choice)) and value == choice:
            return choice
    raise invalid(name, value, f"use one of {list(choices)}")


def check_bool(value: object, name: str) -> bool:
    """True or False (numpy booleans too).

    Examples
    --------
    >>> check_bool(np.bool_(True), "compute")
    True
    """
    if isinstance(value, bool | np.bool_):
        return bool(value)
    raise invalid(name, value, "it must be True or False")


def check_names(value: object, name: str) -> list[str]:
    """One column name or a non-empty list of them, as a list of strings.

    Examples
    --------
    >>> check_names("clv", "features"), check_names(("frequency", "T"), "features")
    (['clv'], ['frequency', 'T'])
    """
    if isinstance(value, str):
        return [value]
    if isinstance(value, Iterable) and not isinstance(value, bytes | Mapping | pd.DataFrame):
        names = list(value)
        if names and all(isinstance(item, str) for item in names):
            return names
    raise invalid(name, value, "it must be a column name or a non-empty list of column names")


def check_text(value: object, name: str, *, example: str = "") -> str:
    """A non-empty string.

    Examples
    --------
    >>> check_text("%d/%m/%Y", "date_format")
    '%d/%m/%Y'
    """
    if isinstance(value, str) and value.strip():
        return value
    hint = f" (e.g. {name}={example!r})" if example else ""
    raise invalid(name, value, f"it must be a non-empty string{hint}")


def check_labels(value: object, name: str, count: int) -> list[str]:
    """``count`` distinct labels (strings), e.g. the names of ``count`` tiers.

    Examples
    --------
    >>> check_labels(["low", "high"], "labels", 2)
    ['low', 'high']
    """
    if isinstance(value, str) or not isinstance(value, Iterable) or isinstance(value, Mapping):
        raise invalid(name, value, f"it must be a list of {count} distinct labels (strings)")
    labels = list(value)
    if len(labels) != count or not all(isinstance(item, str) for item in labels) or len(set(labels)) != count:
        raise invalid(name, value, f"it must be a list of {count} distinct labels (strings), one per tier")
    return labels


def check_seed(value: object, name: str = "seed") -> int | None:
    """None or a whole number >= 0, for a random number generator.

    Examples
    --------
    >>> check_seed(None), check_seed(np.int32(7))
    (None, 7)
    """
    return None if value is None else check_int(value, name, low=0)


def check_numbers(value: object, name: str, *, low: float | None = None, high: float | None = None,
                  low_open: bool = False, high_open: bool = False) -> list[float]:
    """A non-empty list of distinct finite numbers within [low, high], sorted.

    Examples
    --------
    >>> check_numbers([0.8, 0.5], "quantiles", low=0, high=1, low_open=True, high_open=True)
    [0.5, 0.8]
    """
    if isinstance(value, str | bytes | Mapping) or not isinstance(value, Iterable):
        raise invalid(name, value, "it must be a list of numbers")
    items = list(value)
    if not items:
        raise invalid(name, value, "it must hold at least one number")
    numbers_ = sorted(check_number(item, f"{name}[{i}]", low=low, high=high, low_open=low_open,
                                   high_open=high_open) for i, item in enumerate(items))
    if len(set(numbers_)) != len(numbers_):
        raise invalid(name, value, "its numbers must be distinct")
    return numbers_


def check_range(value: object, name: str, *, low: float | None = None,
                high: float | None = None) -> tuple[float, float]:
    """A pair (lower, upper) of finite numbers within [low, high], lower <= upper.

    Examples
    --------
    >>> check_range((0, 0.5), "p_alive", low=0, high=1)
    (0.0, 0.5)
    """
    rule = f"it must be a pair (lower, upper) of numbers in {_span(low, high, False, False)}, e.g. {name}=(0.5, 1.0)"
    if isinstance(value, str | bytes | Mapping) or not isinstance(value, Iterable):
        raise invalid(name, value, rule)
    items = list(value)
    if len(items) != 2 or not all(_is_real(item) for item in items):
        raise invalid(name, value, rule)
    try:
        lower, upper = (check_number(item, name, low=low, high=high) for item in items)
    except InvalidParameterError:
        raise invalid(name, value, rule) from None
    if lower > upper:
        raise invalid(name, value, f"its lower end must not exceed its upper end ({rule})")
    return lower, upper


def check_mapping(value: object, name: str, *, example: str) -> dict[Any, str]:
    """A mapping whose values are strings (None: an empty one), such as ``columns=``.

    Examples
    --------
    >>> check_mapping({"cust": "customer_id"}, "columns", example="{'cust': 'customer_id'}")
    {'cust': 'customer_id'}
    """
    if value is None:
        return {}
    if not isinstance(value, Mapping) or not all(isinstance(v, str) for v in value.values()):
        raise invalid(name, value, f"it must be a dict from your names to ours, e.g. {name}={example}")
    return dict(value)


def check_date(value: object, name: str) -> pd.Timestamp:
    """A date given as a string, ``datetime``, ``date``, ``numpy.datetime64`` or Timestamp.

    Numbers are refused: pandas would read 19970930 as nanoseconds after 1970.

    Examples
    --------
    >>> check_date("1997-09-30", "observation_end")
    Timestamp('1997-09-30 00:00:00')
    >>> try:
    ...     check_date(19970930, "observation_end")
    ... except InvalidParameterError as err:
    ...     print(err)
    observation_end=19970930 is not valid: it must be a date such as '1997-09-30', not a int
    """
    if not isinstance(value, str | datetime.date | np.datetime64):  # Timestamp is a datetime.date
        raise invalid(name, value, f"it must be a date such as '1997-09-30', not a {type(value).__name__}")
    try:
        stamp = pd.Timestamp(value)
    except (ValueError, TypeError, OverflowError):
        raise invalid(name, value, "it cannot be read as a date; write it as 'YYYY-MM-DD', e.g. '1997-09-30'") from None
    if pd.isna(stamp):
        raise invalid(name, value, "it is not a date; pass a date such as '1997-09-30'")
    return stamp


def check_callable_or_text(value: object, name: str) -> Callable[..., Any] | str:
    """A callable, or a non-empty string (an expression).

    Examples
    --------
    >>> check_callable_or_text("clv > 100", "rules['big']")
    'clv > 100'
    """
    if callable(value) or (isinstance(value, str) and value.strip()):
        return value
    raise invalid(name, value, "it must be an expression string such as 'clv > 100' or a function of the frame")


def check_frame(frame: object, name: str, *, allow_empty: bool = False) -> pd.DataFrame:
    """``frame`` if it is a pandas DataFrame with flat, unique column names (and rows, unless allowed).

    Examples
    --------
    >>> try:
    ...     check_frame([1, 2], "tx")
    ... except InvalidParameterError as err:
    ...     print(err)
    tx=[1, 2] is not valid: it must be a pandas DataFrame, not a list
    """
    if not isinstance(frame, pd.DataFrame):
        kind = type(frame)
        shown = kind.__name__ if kind.__module__ == "builtins" else f"{kind.__module__}.{kind.__qualname__}"
        rule = f"it must be a pandas DataFrame, not a {shown}"
        adapter = KNOWN_ADAPTERS.get(kind.__module__.split(".")[0])
        if adapter is not None:
            rule += f". How to fix: `import {adapter}` first; it teaches custvalue this kind of frame"
        raise invalid(name, frame, rule)
    if isinstance(frame.columns, pd.MultiIndex):
        raise SchemaError(f"{name}: the frame has MultiIndex columns {list(frame.columns[:3])}; flatten them "
                          "first, e.g. df.columns = ['_'.join(map(str, c)) for c in df.columns]")
    if frame.columns.duplicated().any():
        dupes = sorted(map(str, set(frame.columns[frame.columns.duplicated()])))
        raise SchemaError(f"{name}: the frame has duplicated column names {dupes}; rename them first, "
                          "e.g. df.columns = [f'{c}_{i}' for i, c in enumerate(df.columns)]")
    if len(frame) == 0 and not allow_empty:
        raise SchemaError(f"{name}: the frame is empty (no rows)")
    return frame


def check_column(frame: pd.DataFrame, column: object, name: str, *, numeric: bool = False) -> str:
    """``column``, a column of ``frame`` (numeric when asked), with the closest names when it is not.

    Examples
    --------
    >>> df = pd.DataFrame({"clv": [1.0], "segment": ["a"]})
    >>> check_column(df, "clv", "value", numeric=True)
    'clv'
    >>> try:
    ...     check_column(df, "cvl", "value")
    ... except KeyError as err:
    ...     print(err)
    value='cvl': no such column; the frame has ['clv', 'segment']; did you mean ['clv']?
    """
    if not isinstance(column, str):
        raise invalid(name, column, "it must be a column name (a string)")
    if column not in frame.columns:
        close = difflib.get_close_matches(column, [str(c) for c in frame.columns], n=3)
        hint = f"; did you mean {close}?" if close else ""
        raise MissingColumnError(f"{name}={column!r}: no such column; the frame has "
                                 f"{list(map(str, frame.columns))}{hint}")
    if numeric and not _numeric_dtype(frame[column].dtype):
        raise SchemaError(f"{name}={column!r}: the column holds {frame[column].dtype} values, not numbers")
    return column


def check_values(frame: pd.DataFrame, column: str, *, low: float | None = None, high: float | None = None,
                 fix: str = "") -> np.ndarray:
    """The values of numeric ``column`` as floats, refused (with the offending rows) unless every one is
    finite and within [low, high].

    Examples
    --------
    >>> check_values(pd.DataFrame({"p_alive": [0.2, 1.0]}), "p_alive", low=0, high=1)
    array([0.2, 1. ])
    >>> try:
    ...     check_values(pd.DataFrame({"p_alive": [0.2, None]}), "p_alive", low=0, high=1)
    ... except SchemaError as err:
    ...     print(str(err).splitlines()[0])
    column 'p_alive' breaks the rule 'finite number in [0, 1]' in 1 row(s); for example:
    """
    if not _numeric_dtype(frame[column].dtype):
        raise SchemaError(f"column {column!r} holds {frame[column].dtype} values, not numbers"
                          + (f". How to fix: {fix}" if fix else ""))
    values = frame[column].to_numpy(dtype=float, na_value=np.nan)
    with np.errstate(invalid="ignore"):
        ok = np.isfinite(values)
        if low is not None:
            ok &= values >= low
        if high is not None:
            ok &= values <= high
    if not ok.all():
        rule = "finite number" + ("" if low is None and high is None else f" in {_span(low, high, False, False)}")
        raise invalid_values_error(column, rule, frame.loc[~ok, [column]],
                                   fix or f"fix or drop these rows of '{column}'")
    return values


def _numeric_dtype(dtype: Any) -> bool:
    return bool(pd.api.types.is_numeric_dtype(dtype)) and not pd.api.types.is_bool_dtype(dtype)


def _parses(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _num(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)
