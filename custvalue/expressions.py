"""A small, safe expression language for ``query=`` and ``rules=`` strings.

Expressions come from config files and dashboards, so they are data, never
code: a string is parsed with Python's ``ast`` module and evaluated over a whitelist, one
value per row. Nothing reaches ``eval``, ``exec``, pandas' ``eval``/``query``
or attribute access.

What an expression may contain:

* column names: ``clv``, or in backticks when the name is not a Python
  identifier: ```avg spend` > 20``;
* literals: numbers, strings in quotes, ``True`` and ``False``;
* comparisons ``== != < <= > >=``, chained too (``0.2 < p_alive <= 0.8``);
* ``and``, ``or``, ``not``, and ``&``, ``|``, ``~`` (``&`` and ``|`` bind like
  ``and`` and ``or``, as in pandas queries);
* arithmetic ``+ - * / // % **`` and unary minus;
* ``in`` and ``not in`` with a literal list or tuple: ``segment in ['At Risk', 'Hibernating']``;
* the functions ``abs``, ``log``, ``exp``, ``sqrt``, ``isna`` and ``notna``.

The result must be one True/False per row; a comparison with a missing value
is False. Anything else (attribute access, other calls, subscripts, ``@``
references, dunder names, lambdas, comprehensions, f-strings, ``:=``, ...)
raises :class:`~custvalue.errors.InvalidParameterError` naming the offending
token and its position.

Examples
--------
>>> import pandas as pd
>>> df = pd.DataFrame({"clv": [5.0, 50.0, 500.0], "segment": ["low", "mid", "high"],
...                    "avg spend": [1.0, 30.0, 20.0]})
>>> boolean_mask(df, "clv >= 50 & segment != 'high'").tolist()
[False, True, False]
>>> boolean_mask(df, "`avg spend` > 10 and log(clv) < 6").tolist()
[False, True, False]
>>> try:
...     boolean_mask(df, "clv.__class__")
... except InvalidParameterError as err:
...     print(str(err).splitlines()[0])
query='clv.__class__': attribute access '.__class__' at position 3 is not allowed
"""

from __future__ import annotations

import ast
import bisect
import difflib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from custvalue.errors import InvalidParameterError, MissingColumnError

__all__ = ["Expression", "parse_expression", "boolean_mask", "FUNCTIONS", "MAX_LENGTH"]

MAX_LENGTH = 10_000

ALLOWED = (
    "column names (`in backticks` when they have spaces), numbers, 'strings', True/False, comparisons "
    "(== != < <= > >=), and/or/not (& | ~), + - * / // % **, `in [...]` with a literal list, and the "
    "functions abs, log, exp, sqrt, isna, notna"
)


def _isna(values: Any) -> Any:
    return values.isna() if isinstance(values, pd.Series) else bool(pd.isna(values))


def _notna(values: Any) -> Any:
    return values.notna() if isinstance(values, pd.Series) else not pd.isna(values)


#: The functions an expression may call: name -> (function, whether it takes numbers only).
FUNCTIONS: dict[str, tuple[Callable[[Any], Any], bool]] = {
    "abs": (np.abs, True), "log": (np.log, True), "exp": (np.exp, True), "sqrt": (np.sqrt, True),
    "isna": (_isna, False), "notna": (_notna, False),
}

ARITHMETIC: dict[type, Callable[[Any, Any], Any]] = {
    ast.Add: lambda a, b: a + b, ast.Sub: lambda a, b: a - b, ast.Mult: lambda a, b: a * b,
    ast.Div: lambda a, b: a / b, ast.FloorDiv: lambda a, b: a // b, ast.Mod: lambda a, b: a % b,
    ast.Pow: lambda a, b: a**b,
}
COMPARISONS: dict[type, Callable[[Any, Any], Any]] = {
    ast.Eq: lambda a, b: a == b, ast.NotEq: lambda a, b: a != b, ast.Lt: lambda a, b: a < b,
    ast.LtE: lambda a, b: a <= b, ast.Gt: lambda a, b: a > b, ast.GtE: lambda a, b: a >= b,
}
# The token to show for operators and nodes outside the language.
REFUSED_OPERATORS = {ast.MatMult: "@", ast.BitXor: "^", ast.LShift: "<<", ast.RShift: ">>",
                     ast.BitAnd: "&", ast.BitOr: "|", ast.Is: "is", ast.IsNot: "is not"}
REFUSED_NODES = {
    ast.Lambda: "lambda", ast.IfExp: "if/else", ast.Dict: "a dict {...}", ast.Set: "a set {...}",
    ast.ListComp: "a comprehension", ast.SetComp: "a comprehension", ast.DictComp: "a comprehension",
    ast.GeneratorExp: "a generator expression", ast.Await: "await", ast.Yield: "yield", ast.YieldFrom: "yield from",
    ast.JoinedStr: "an f-string", ast.FormattedValue: "an f-string", ast.NamedExpr: "the walrus ':='",
    ast.Starred: "'*' unpacking", ast.Slice: "a slice", ast.Subscript: "a subscript '[...]'",
}


@dataclass(frozen=True)
class Expression:
    """A parsed, checked expression: evaluate it on a frame with :meth:`mask`.

    Attributes
    ----------
    text : str
        The expression as written.
    columns : tuple of str
        The column names it reads.
    """

    text: str
    name: str
    tree: ast.Expression
    columns: tuple[str, ...]
    _placeholders: dict[str, str]
    _source: str
    _moves: tuple[tuple[int, int, int, int], ...]  # (new start, new length, original start, original length)

    def mask(self, frame: pd.DataFrame) -> np.ndarray:
        """One True/False per row of ``frame``.

        Examples
        --------
        >>> parse_expression("x > 1").mask(pd.DataFrame({"x": [0, 2]})).tolist()
        [False, True]
        """
        missing = [c for c in self.columns if c not in frame.columns]
        if missing:
            close = difflib.get_close_matches(missing[0], [str(c) for c in frame.columns], n=3)
            hint = f"; did you mean {close}?" if close else ""
            where = self._column_position(missing[0])
            raise MissingColumnError(
                f"{self.name}={self.text!r}: no column {missing[0]!r} (at position {where}); "
                f"the frame has {list(map(str, frame.columns))}{hint}")
        evaluator = _Evaluator(self, frame)
        try:
            with np.errstate(all="ignore"):
                result = evaluator.value(self.tree.body)
        except RecursionError:
            raise self._refusal(self.tree.body, "nesting this deep") from None
        return evaluator.as_mask(result, self.tree.body)

    # -- positions and errors -------------------------------------------------------------------
    def _position(self, node: ast.AST) -> int:
        """Character position in the text as written where ``node`` starts."""
        lineno, col = getattr(node, "lineno", 1), getattr(node, "col_offset", 0)
        return self._original(_char_index(self._source, lineno, col))

    def _original(self, index: int) -> int:
        starts = [move[0] for move in self._moves]
        k = bisect.bisect_right(starts, index) - 1
        if k < 0:
            return index
        new_start, new_length, old_start, old_length = self._moves[k]
        if index < new_start + new_length:
            return old_start
        return index - (new_start + new_length) + old_start + old_length

    def _column_position(self, column: str) -> int:
        for node in ast.walk(self.tree):
            if isinstance(node, ast.Name) and self._placeholders.get(node.id, node.id) == column:
                return self._position(node)
        return 0

    def _refusal(self, node: ast.AST, what: str, *, position: int | None = None) -> InvalidParameterError:
        at = self._position(node) if position is None else position
        return _refusal(self.name, self.text, what, at)


def _refusal(name: str, text: str, what: str, position: int) -> InvalidParameterError:
    return InvalidParameterError(
        f"{name}={text!r}: {what} at position {position} is not allowed\n"
        f"    {text}\n    {' ' * position}^\nAn expression may use {ALLOWED}.")


def parse_expression(text: object, name: str = "query") -> Expression:
    """Parse and check ``text``; ``name`` (the parameter it came from) is named in errors.

    Examples
    --------
    >>> parse_expression("`avg spend` > 20 and segment in ['a', 'b']").columns
    ('avg spend', 'segment')
    """
    if not isinstance(text, str) or not text.strip():
        raise InvalidParameterError(f"{name}={text!r} is not valid: it must be a non-empty expression string, "
                                    "e.g. 'frequency >= 2 and p_alive > 0.5'")
    if len(text) > MAX_LENGTH:
        raise InvalidParameterError(f"{name}: the expression is {len(text):,} characters long; the limit is "
                                    f"{MAX_LENGTH:,}")
    source, placeholders, moves = _prepare(text, name)
    try:
        tree = ast.parse(source, mode="eval")
    except SyntaxError as err:
        index = _char_index(source, err.lineno or 1, (err.offset or 1) - 1, in_bytes=False)
        draft = Expression(text, name, ast.Expression(body=ast.Constant(0)), (), placeholders, source, moves)
        position = min(draft._original(index), len(text))
        token = _token_at(text, position)
        near = f" near {token!r}" if token else ""
        raise _refusal(name, text, f"a syntax error ({err.msg}){near}", position) from None
    except (ValueError, RecursionError, MemoryError) as err:
        raise InvalidParameterError(f"{name}={text[:80]!r}: cannot be read ({err})") from None
    expression = Expression(text, name, tree, (), placeholders, source, moves)
    try:
        columns = _check(tree.body, expression)
    except RecursionError:
        raise expression._refusal(tree.body, "nesting this deep") from None
    return Expression(text, name, tree, tuple(dict.fromkeys(columns)), placeholders, source, moves)


def boolean_mask(frame: pd.DataFrame, text: object, name: str = "query") -> np.ndarray:
    """The rows of ``frame`` for which expression ``text`` is True, as a boolean array.

    Examples
    --------
    >>> boolean_mask(pd.DataFrame({"f": [0, 3, 5]}), "f in (3, 4) or not f > 0").tolist()
    [True, True, False]
    """
    return parse_expression(text, name).mask(frame)


# -- reading the text -------------------------------------------------------------------------------------


def _prepare(text: str, name: str) -> tuple[str, dict[str, str], tuple[tuple[int, int, int, int], ...]]:
    """The text as Python source: backtick names replaced by placeholder identifiers, ``&``/``|`` by
    ``and``/``or``; ``@`` refused. Returns the source, placeholder → column, and the replacements made."""
    out: list[str] = []
    placeholders: dict[str, str] = {}
    moves: list[tuple[int, int, int, int]] = []
    length = 0
    i = 0

    def emit(piece: str, original_start: int, original_length: int, replaced: bool) -> None:
        nonlocal length
        if replaced:
            moves.append((length, len(piece), original_start, original_length))
        out.append(piece)
        length += len(piece)

    while i < len(text):
        char = text[i]
        if char in "'\"":
            end = _string_end(text, i)
            emit(text[i:end], i, end - i, False)
            i = end
        elif char == "`":
            end = text.find("`", i + 1)
            if end < 0:
                raise _refusal(name, text, "an unclosed backtick '`'", i)
            column = text[i + 1:end]
            if not column:
                raise _refusal(name, text, "an empty column name '``'", i)
            token = f"__cv_column_{len(placeholders)}__"
            while token in text:
                token = "_" + token
            placeholders[token] = column
            emit(token, i, end + 1 - i, True)
            i = end + 1
        elif char in "&|":
            emit(" and " if char == "&" else " or ", i, 1, True)
            i += 1
        elif char == "@":
            raise _refusal(name, text, "'@' (a reference to a Python variable; write the value itself)", i)
        else:
            emit(char, i, 1, False)
            i += 1
    return "".join(out), placeholders, tuple(moves)


def _token_at(text: str, position: int) -> str:
    """The word or symbol of ``text`` that starts at ``position`` ('' at the end)."""
    rest = text[position:].lstrip()
    if not rest:
        return ""
    if rest[0].isalnum() or rest[0] == "_":
        word = rest[0]
        for char in rest[1:]:
            if not (char.isalnum() or char == "_"):
                break
            word += char
        return word
    return rest[0]


def _string_end(text: str, start: int) -> int:
    """Index just past the string literal opening at ``start`` (the end of the text if it is unclosed)."""
    quote = text[start]
    closing = quote * 3 if text.startswith(quote * 3, start) else quote
    i = start + len(closing)
    while i < len(text):
        if text[i] == "\\":
            i += 2
            continue
        if text.startswith(closing, i):
            return i + len(closing)
        i += 1
    return len(text)


def _char_index(source: str, lineno: int, col: int, in_bytes: bool = True) -> int:
    """Character index in ``source`` of line ``lineno`` (1-based), column ``col`` (UTF-8 bytes as ast gives)."""
    lines = source.splitlines(keepends=True) or [""]
    lineno = min(max(lineno, 1), len(lines))
    start = sum(len(line) for line in lines[:lineno - 1])
    line = lines[lineno - 1]
    if in_bytes:
        col = len(line.encode("utf-8")[:max(col, 0)].decode("utf-8", errors="ignore"))
    return start + min(max(col, 0), len(line))


# -- the whitelist ----------------------------------------------------------------------------------------


def _check(node: ast.AST, expr: Expression) -> list[str]:
    """Refuse every node outside the language; return the column names read."""
    if isinstance(node, ast.Name):
        if node.id in expr._placeholders:
            return [expr._placeholders[node.id]]
        if node.id.startswith("__") or node.id.endswith("__"):
            raise expr._refusal(node, f"the name {node.id!r} (names with double underscores)")
        if node.id in FUNCTIONS:
            raise expr._refusal(node, f"the function name {node.id!r} without a call")
        return [node.id]
    if isinstance(node, ast.Constant):
        if isinstance(node.value, bool | int | float | str):
            return []
        raise expr._refusal(node, f"the literal {node.value!r}")
    if isinstance(node, ast.UnaryOp):
        return _check(node.operand, expr)
    if isinstance(node, ast.BinOp):
        if type(node.op) not in ARITHMETIC:
            token = REFUSED_OPERATORS.get(type(node.op), type(node.op).__name__)
            raise expr._refusal(node, f"the operator {token!r}", position=_operator_position(node, expr))
        return _check(node.left, expr) + _check(node.right, expr)
    if isinstance(node, ast.BoolOp):
        return [c for value in node.values for c in _check(value, expr)]
    if isinstance(node, ast.Compare):
        columns = _check(node.left, expr)
        if len(node.ops) > 1 and any(isinstance(op, ast.In | ast.NotIn) for op in node.ops):
            raise expr._refusal(node, "'in' inside a chain of comparisons (use parentheses and and/or)")
        for op, right in zip(node.ops, node.comparators):
            if isinstance(op, ast.In | ast.NotIn):
                _check_literal_list(right, expr)
            elif type(op) in COMPARISONS:
                columns += _check(right, expr)
            else:
                raise expr._refusal(right, f"the comparison {REFUSED_OPERATORS.get(type(op), '?')!r} (use == or !=)",
                                   position=_operator_position(node, expr))
        return columns
    if isinstance(node, ast.Call):
        return _check_call(node, expr)
    if isinstance(node, ast.Attribute):
        _check(node.value, expr)  # report the first offending token, reading from the left
        position = _attribute_position(node, expr)
        raise expr._refusal(node, f"attribute access '.{node.attr}'", position=position)
    if isinstance(node, ast.List | ast.Tuple):
        raise expr._refusal(node, "a list or tuple outside 'in [...]'")
    what = REFUSED_NODES.get(type(node), f"the construct {type(node).__name__!r}")
    raise expr._refusal(node, what)


def _check_call(node: ast.Call, expr: Expression) -> list[str]:
    if not isinstance(node.func, ast.Name):
        _check(node.func, expr)  # refuses attribute access and the like, with its own message
        raise expr._refusal(node, "calling the result of an expression")
    function = node.func.id
    if function not in FUNCTIONS:
        raise expr._refusal(node, f"the call {function}(...) (the functions are {', '.join(FUNCTIONS)})")
    if node.keywords or len(node.args) != 1 or isinstance(node.args[0], ast.Starred):
        raise expr._refusal(node, f"{function}(...) with other than one plain argument")
    return _check(node.args[0], expr)


def _check_literal_list(node: ast.AST, expr: Expression) -> None:
    if not isinstance(node, ast.List | ast.Tuple):
        raise expr._refusal(node, "'in' with something other than a literal list such as ['a', 'b']")
    for item in node.elts:
        if _literal(item) is None:
            raise expr._refusal(item, "an item that is not a number, string or True/False in the list of 'in'")


def _literal(node: ast.AST) -> tuple[Any] | None:
    """(value,) of a literal number, string or boolean (negative numbers too), else None."""
    if isinstance(node, ast.Constant) and isinstance(node.value, bool | int | float | str):
        return (node.value,)
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub | ast.UAdd):
        inner = _literal(node.operand)
        if inner is not None and isinstance(inner[0], int | float) and not isinstance(inner[0], bool):
            return (-inner[0] if isinstance(node.op, ast.USub) else inner[0],)
    return None


def _attribute_position(node: ast.Attribute, expr: Expression) -> int:
    end = expr._position(node.value)  # the dot follows the object
    if node.value.end_col_offset is not None:
        end = expr._original(_char_index(expr._source, node.value.end_lineno or 1, node.value.end_col_offset))
    return end


def _operator_position(node: ast.BinOp | ast.Compare, expr: Expression) -> int:
    left = node.left
    if left.end_col_offset is None:
        return expr._position(node)
    index = _char_index(expr._source, left.end_lineno or 1, left.end_col_offset)
    while index < len(expr._source) and expr._source[index] in " \t\n()":
        index += 1
    return expr._original(index)


# -- evaluation -------------------------------------------------------------------------------------------


class _Evaluator:
    """Evaluates a checked tree on a frame: columns are Series on a fresh 0..n-1 index, literals Python values."""

    def __init__(self, expr: Expression, frame: pd.DataFrame):
        self.expr = expr
        self.frame = frame
        self.index = pd.RangeIndex(len(frame))

    def column(self, name: str) -> pd.Series:
        values = self.frame[name]
        return pd.Series(values.array, index=self.index, name=name, copy=False)

    def value(self, node: ast.AST) -> Any:
        if isinstance(node, ast.Name):
            return self.column(self.expr._placeholders.get(node.id, node.id))
        if isinstance(node, ast.Constant):
            return node.value
        if isinstance(node, ast.UnaryOp):
            return self.unary(node)
        if isinstance(node, ast.BinOp):
            left, right = self.number(node.left), self.number(node.right)
            if not isinstance(left, pd.Series) and not isinstance(right, pd.Series):
                left, right = np.float64(left), np.float64(right)  # no Python big-int arithmetic (2**10**10)
            return ARITHMETIC[type(node.op)](left, right)
        if isinstance(node, ast.BoolOp):
            parts = [self.boolean(value) for value in node.values]
            result = parts[0]
            for part in parts[1:]:
                result = (result & part) if isinstance(node.op, ast.And) else (result | part)
            return result
        if isinstance(node, ast.Compare):
            return self.compare(node)
        if isinstance(node, ast.Call):
            function, numeric = FUNCTIONS[node.func.id]  # type: ignore[attr-defined]
            argument = self.number(node.args[0]) if numeric else self.value(node.args[0])
            if numeric and not isinstance(argument, pd.Series):
                argument = np.float64(argument)
            return function(argument)
        raise self.expr._refusal(node, type(node).__name__)  # unreachable after _check

    def unary(self, node: ast.UnaryOp) -> Any:
        if isinstance(node.op, ast.Not | ast.Invert):
            operand = self.boolean(node.operand)
            return ~operand if isinstance(operand, pd.Series) else not operand
        operand = self.number(node.operand)
        if not isinstance(operand, pd.Series):
            operand = np.float64(operand)
        return -operand if isinstance(node.op, ast.USub) else +operand

    def number(self, node: ast.AST) -> Any:
        """The value of ``node``, which must be numbers (a numeric column or a number)."""
        value = self.value(node)
        if isinstance(value, pd.Series):
            if pd.api.types.is_numeric_dtype(value.dtype) and not pd.api.types.is_bool_dtype(value.dtype):
                return value.astype(float) if not pd.api.types.is_float_dtype(value.dtype) else value
            what = f"column {value.name!r}" if isinstance(node, ast.Name) else "this part"
            raise self.expr._refusal(node, f"arithmetic on {what}, which holds {value.dtype} values, not numbers")
        if isinstance(value, bool) or not isinstance(value, int | float | np.floating):
            raise self.expr._refusal(node, f"arithmetic on {value!r}, which is not a number")
        try:
            return float(value)
        except OverflowError:
            raise self.expr._refusal(node, "a number this large") from None

    def boolean(self, node: ast.AST) -> Any:
        """The value of ``node``, which must be True/False per row (missing values: False)."""
        value = self.value(node)
        if isinstance(value, pd.Series):
            if pd.api.types.is_bool_dtype(value.dtype):
                return value.fillna(False).astype(bool) if value.hasnans else value.astype(bool)
            raise self.expr._refusal(node, f"and/or/not on {value.dtype} values (compare them first, e.g. x > 0)")
        if isinstance(value, bool | np.bool_):
            return bool(value)
        raise self.expr._refusal(node, f"and/or/not on {value!r}, which is not True/False")

    def compare(self, node: ast.Compare) -> Any:
        result: Any = True
        left = self.value(node.left)
        for op, right_node in zip(node.ops, node.comparators):
            if isinstance(op, ast.In | ast.NotIn):
                values = [_literal(item)[0] for item in right_node.elts]  # type: ignore[attr-defined,index]
                found = left.isin(values) if isinstance(left, pd.Series) else left in values
                part = ~found if isinstance(op, ast.NotIn) else found
                right = None
            else:
                right = self.value(right_node)
                try:
                    part = COMPARISONS[type(op)](left, right)
                except (TypeError, ValueError) as err:
                    raise self.expr._refusal(right_node, f"comparing {_kind(left)} with {_kind(right)} ({err})",
                                            position=_operator_position(node, self.expr)) from None
            if isinstance(part, pd.Series):
                part = part.fillna(False).astype(bool) if part.dtype != bool else part
            result = part if result is True else result & part
            left = right
        return result

    def as_mask(self, result: Any, node: ast.AST) -> np.ndarray:
        if isinstance(result, pd.Series):
            if pd.api.types.is_bool_dtype(result.dtype):
                return result.fillna(False).to_numpy(dtype=bool)
            if pd.api.types.is_numeric_dtype(result.dtype):
                raise InvalidParameterError(
                    f"{self.expr.name}={self.expr.text!r} gives numbers, not True/False for each row; compare "
                    f"them with something, e.g. {self.expr.name}='{self.expr.text} > 0'")
            raise InvalidParameterError(f"{self.expr.name}={self.expr.text!r} gives {result.dtype} values, not "
                                        "True/False for each row")
        raise InvalidParameterError(f"{self.expr.name}={self.expr.text!r} does not depend on any column: it is "
                                    f"{result!r} for every row; compare a column, e.g. 'frequency >= 2'")


def _kind(value: Any) -> str:
    if isinstance(value, pd.Series):
        label = value.name
        return f"{value.dtype} values" if label is None else f"column {label!r} ({value.dtype})"
    return repr(value)
