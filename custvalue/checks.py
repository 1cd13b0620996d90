"""Argument checks at the boundary of every public function.

Each check takes the value a user passed and the parameter's name, returns the
value in the form the code needs (a float, an int, a list of names) and
otherwise raises :class:`~custvalue.errors.InvalidParameterError` naming the
parameter, the value received and what is allowed. numpy scalars count as the
numbers they hold; booleans and strings never do.

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

import math
import numbers
from collections.abc import Iterable, Sequence
from typing import Any, TypeVar

import numpy as np
import pandas as pd

from custvalue.errors import InvalidParameterError, SchemaError

__all__ = [
    "invalid", "check_number", "check_int", "check_level", "check_choice", "check_bool", "check_names",
    "check_column", "check_frame",
]

T = TypeVar("T")


def invalid(name: str, value: object, rule: str) -> InvalidParameterError:
    """The error for ``name=value`` breaking ``rule`` (what is allowed, and how to fix it)."""
    shown = repr(value)
    if len(shown) > 80:
        shown = shown[:77] + "..."
    return InvalidParameterError(f"{name}={shown} is not valid: {rule}")


def _is_real(value: object) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, bool | np.bool_)


def check_number(value: object, name: str, *, low: float | None = None, high: float | None = None,
                 low_open: bool = False, high_open: bool = False, finite: bool = True) -> float:
    """``value`` as a float within [low, high] (open ends with ``low_open``/``high_open``), finite unless
    ``finite=False`` (then +inf may pass a missing ``high``)."""
    if not _is_real(value):
        example = f" (e.g. {name}={value.strip()})" if isinstance(value, str) and _parses(value) else ""
        raise invalid(name, value, f"it must be a number, not a {type(value).__name__}{example}")
    number = float(value)  # type: ignore[arg-type]
    if math.isnan(number) or (finite and math.isinf(number)):
        raise invalid(name, value, "it must be a finite number")
    too_low = low is not None and (number <= low if low_open else number < low)
    too_high = high is not None and (number >= high if high_open else number > high)
    if too_low or too_high:
        left = "(" if low_open else "["
        right = ")" if high_open else "]"
        span = f"{left}{'-inf' if low is None else _num(low)}, {'inf' if high is None else _num(high)}{right}"
        raise invalid(name, value, f"it must lie in {span}")
    return number


def check_int(value: object, name: str, *, low: int | None = None, high: int | None = None) -> int:
    """``value`` as a whole number (int, or a float or numpy number holding one) within [low, high]."""
    number = check_number(value, name, low=low, high=high)
    if number != math.floor(number):
        raise invalid(name, value, "it must be a whole number")
    return int(number)


def check_level(value: object, name: str) -> float:
    """A probability level strictly between 0 and 1, such as 0.9 for a 90% interval."""
    return check_number(value, name, low=0, high=1, low_open=True, high_open=True)


def check_choice(value: object, name: str, choices: Sequence[T]) -> T:
    """``value`` if it is one of ``choices``."""
    for choice in choices:
        if isinstance(value, type(choice)) and value == choice:
            return choice
    raise invalid(name, value, f"use one of {list(choices)}")


def check_bool(value: object, name: str) -> bool:
    """True or False (numpy booleans too)."""
    if isinstance(value, bool | np.bool_):
        return bool(value)
    raise invalid(name, value, "it must be True or False")


def check_names(value: object, name: str) -> list[str]:
    """One column name or a list of them, as a list of strings."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, Iterable) and not isinstance(value, bytes | dict | pd.DataFrame):
        names = list(value)
        if names and all(isinstance(item, str) for item in names):
            return names
    raise invalid(name, value, "it must be a column name or a list of column names")


def check_column(frame: pd.DataFrame, column: object, name: str, *, numeric: bool = False) -> str:
    """``column``, a column of ``frame`` (numeric when asked), with the closest names when it is not."""
    import difflib

    if not isinstance(column, str):
        raise invalid(name, column, "it must be a column name (a string)")
    if column not in frame.columns:
        close = difflib.get_close_matches(column, [str(c) for c in frame.columns], n=3)
        hint = f"; did you mean {close}?" if close else ""
        raise SchemaError(f"{name}={column!r}: no such column; the frame has {list(map(str, frame.columns))}{hint}")
    if numeric and not _numeric_dtype(frame[column].dtype):
        raise SchemaError(f"{name}={column!r}: the column holds {frame[column].dtype} values, not numbers")
    return column


def check_frame(frame: object, what: str, *, allow_empty: bool = False) -> pd.DataFrame:
    """``frame`` if it is a pandas DataFrame with flat, unique column names (and rows, unless allowed)."""
    if not isinstance(frame, pd.DataFrame):
        raise SchemaError(f"{what} needs a pandas DataFrame, got {type(frame).__module__}.{type(frame).__name__}")
    if isinstance(frame.columns, pd.MultiIndex):
        raise SchemaError(f"{what}: the frame has MultiIndex columns {list(frame.columns[:3])}...; flatten them "
                          "first, e.g. df.columns = ['_'.join(map(str, c)) for c in df.columns]")
    if frame.columns.duplicated().any():
        dupes = sorted(map(str, set(frame.columns[frame.columns.duplicated()])))
        raise SchemaError(f"{what}: the frame has duplicated column names {dupes}; rename them first")
    if len(frame) == 0 and not allow_empty:
        raise SchemaError(f"{what}: the frame is empty")
    return frame


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
