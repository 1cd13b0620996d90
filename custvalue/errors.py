"""Error and warning classes raised by custvalue.

Every error derives from :class:`CustValueError` and also from the builtin
exception that users already catch for that kind of problem, so
``except ValueError`` keeps working. Every warning custvalue issues on purpose
derives from :class:`CustValueWarning` (a ``UserWarning``), so one filter
covers them all.
"""

from __future__ import annotations

import pandas as pd

__all__ = [
    "CustValueError",
    "SchemaError",
    "NotFittedError",
    "UnknownModelError",
    "InvalidParameterError",
    "ConvergenceError",
    "AbilityError",
    "MissingColumnError",
    "ModelFileError",
    "CustValueWarning",
    "IdentificationWarning",
]


class CustValueError(Exception):
    """Base class of every error raised on purpose by custvalue."""


class SchemaError(CustValueError, ValueError):
    """A frame does not have the columns, types or values a step needs.

    Attributes
    ----------
    failure_cases : pandas.DataFrame
        One row per failed value with the columns ``column``, ``check``,
        ``index`` and ``failure_case`` (the offending value). Empty when the
        problem concerns the frame as a whole (a missing column, say).
    """

    def __init__(self, message: str, failure_cases: pd.DataFrame | None = None):
        super().__init__(message)
        if failure_cases is None:
            failure_cases = pd.DataFrame(columns=["column", "check", "index", "failure_case"])
        self.failure_cases = failure_cases


class NotFittedError(CustValueError, ValueError, AttributeError):
    """A model was asked for predictions before :meth:`fit` was called."""


class UnknownModelError(CustValueError, ValueError):
    """A model name is not in the registry; the message lists the names that are."""


class InvalidParameterError(CustValueError, ValueError, TypeError):
    """An argument has a value or type the function cannot use."""


class ConvergenceError(CustValueError, RuntimeError):
    """Maximum-likelihood fitting did not converge.

    Attributes
    ----------
    optimizer_message : str
        The message of the underlying optimiser.
    """

    def __init__(self, message: str, optimizer_message: str = ""):
        super().__init__(message)
        self.optimizer_message = optimizer_message


class AbilityError(InvalidParameterError):
    """A model was asked for something it does not declare it can do (P(alive) of a formula model,
    say), or was passed where a model of another role belongs (a spend model as the purchase model).

    The message names the model, what was asked and how to find models that can:
    ``custvalue.models.available(ability=...)`` or ``available(role=...)``.
    """


class MissingColumnError(SchemaError, KeyError):
    """A column a step needs, or a parameter names, is not in the frame (a ``KeyError`` too, as in pandas)."""

    def __str__(self) -> str:  # KeyError would show the message quoted, as a repr
        return str(self.args[0]) if self.args else ""


class ModelFileError(CustValueError, ValueError):
    """A saved model (a file, or the dictionary of :meth:`~custvalue.models.BaseModel.to_dict`) is not one
    custvalue can load: not JSON, not UTF-8 text, too large or too deeply nested, or a field with a wrong
    name, type or value.

    Attributes
    ----------
    field : str
        The offending field (``"params.r"``, ``"covariance_log"``, ...), or ``"file"`` for the file as a whole.
    source : str
        The file (or ``"model data"`` for a dictionary).
    """

    def __init__(self, message: str, field: str = "", source: str = ""):
        super().__init__(message)
        self.field = field
        self.source = source


class CustValueWarning(UserWarning):
    """Base class of every warning custvalue issues on purpose (``warnings.simplefilter("error",
    CustValueWarning)`` turns them all into errors)."""


class IdentificationWarning(CustValueWarning):
    """The data do not identify some parameters of a model: the likelihood is highest at an edge of the
    parameter space (parameters running to 0 or infinity) or does not depend on them.

    The model is returned with the estimates of that limit and ``converged_`` False. The message names
    the parameters, gives the facts of the data that explain it, and what to do.

    Attributes
    ----------
    parameters : dict
        Each parameter not identified and how: ``"to 0"``, ``"to infinity"``, ``"to -infinity"`` or
        ``"flat"`` (the likelihood hardly depends on it).
    """

    def __init__(self, message: str, parameters: dict[str, str] | None = None):
        super().__init__(message)
        self.parameters = dict(parameters or {})


def format_examples(frame: pd.DataFrame | pd.Series, limit: int = 5) -> str:
    """Render the first ``limit`` rows of ``frame`` as an indented text block."""
    shown = frame.head(limit)
    text = shown.to_string(max_colwidth=40)
    more = len(frame) - len(shown)
    if more > 0:
        text += f"\n... and {more:,} more"
    return "\n".join("    " + line for line in text.splitlines())


def invalid_values_error(
    column: str, rule: str, offending: pd.Series | pd.DataFrame, fix: str
) -> SchemaError:
    """Build a :class:`SchemaError` for values of ``column`` that break ``rule``.

    ``offending`` holds the offending rows (indexed as in the user's frame);
    the message shows a few of them and ends with how to fix the input.
    """
    n = len(offending)
    values = offending if isinstance(offending, pd.Series) else offending.get(column, offending)
    cases = pd.DataFrame(
        {
            "column": column,
            "check": rule,
            "index": offending.index,
            "failure_case": values.to_numpy() if isinstance(values, pd.Series) else None,
        }
    )
    message = (
        f"column '{column}' breaks the rule '{rule}' in {n:,} row(s); for example:\n"
        f"{format_examples(offending)}\nHow to fix: {fix}"
    )
    return SchemaError(message, cases)
