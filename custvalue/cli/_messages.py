"""Messages of the command line: one line per error, in terms of its flags rather than Python arguments."""

from __future__ import annotations

import re
from collections.abc import Iterable

__all__ = ["UsageError", "one_line", "in_cli_terms", "FLAGS"]

# Python arguments of the steps and the flags that set them.
FLAGS = {
    "observation_end": "--observation-end", "date_format": "--date-format", "discount_rate": "--discount-rate",
    "spend_model": "--spend-model", "horizon": "--horizon", "margin": "--margin", "penalizer": "--penalizer",
    "intervals": "--intervals", "interval_draws": "--interval-draws", "unit": "--unit", "grain": "--grain",
    "model": "--model", "method": "--method",
}
COLUMN_FLAGS = "--customer-col, --date-col and --amount-col"


class UsageError(Exception):
    """A mistake in how the command line was used: what is wrong, and how to fix it.

    Examples
    --------
    >>> print(UsageError("the file 'x.csv' does not exist", "check the name"))
    the file 'x.csv' does not exist. How to fix: check the name
    """

    def __init__(self, what: str, fix: str):
        super().__init__(f"{what.rstrip('.')}. How to fix: {fix}")
        self.what = what
        self.fix = fix


def one_line(message: str) -> str:
    """The lines of an error message that matter, on one line: the first line and the "How to fix" line.

    The rows a message shows as examples are left out (``--verbose`` prints the whole message).

    Examples
    --------
    >>> text = "column 'amount' breaks the rule 'numeric' in 2 row(s); for example:\\n    0  x\\n    1  y\\n" \\
    ...        "How to fix: pass --amount-col price"
    >>> one_line(text)
    "column 'amount' breaks the rule 'numeric' in 2 row(s) (--verbose shows them). How to fix: pass --amount-col price"
    """
    lines = [line.strip() for line in message.splitlines() if line.strip()]
    if not lines:
        return "unknown error"
    head = lines[0]
    fix = next((line for line in lines[1:] if line.lower().startswith("how to fix")), None)
    left_out = len(lines) - 1 - (fix is not None)
    head = re.sub(r"[;,:]?\s*(for example|e\.g\.)?:?$", "", head) if left_out else head
    if left_out:
        head += " (--verbose shows them)"
    return f"{head.rstrip('.')}. {fix}" if fix else head


def in_cli_terms(text: str, model_options: Iterable[str] = ()) -> str:
    """``text`` of a step's error with its Python arguments named as the flags that set them.

    ``model_options`` are hyper-parameters of the chosen model, set with ``--model-option NAME=VALUE``.

    Examples
    --------
    >>> in_cli_terms("intervals=1.5 is not valid: it must lie in (0, 1)")
    '--intervals 1.5 is not valid: it must lie in (0, 1)'
    >>> in_cli_terms("the date column holds no readable dates; pass date_format= (e.g. '%d/%m/%Y')")
    "the date column holds no readable dates; pass --date-format (e.g. '%d/%m/%Y')"
    >>> in_cli_terms("FormulaCLV needs one of retention= or lifetime=", ["retention", "lifetime", "margin"])
    'FormulaCLV needs one of --model-option retention= or --model-option lifetime='
    """
    text = re.sub(r"\bcolumns=\{[^}]*\}|\bcolumns=", COLUMN_FLAGS, text)
    text = text.replace("the column mapping and the policies", f"the columns chosen with {COLUMN_FLAGS}")
    text = re.sub(r"\bthe horizon t\b", "--horizon", text)
    text = text.replace("custvalue.clean does so by default", "cleaning does so unless told to --keep them")
    for name, flag in FLAGS.items():
        text = re.sub(rf"(?<![\w.-]){name}=(?=\s|$|[,;)])", flag, text)  # "pass date_format= (...)"
        text = re.sub(rf"(?<![\w.-]){name}=", flag + " ", text)  # "intervals=1.5"
        if "_" in name:  # a bare name such as observation_end can only be the argument
            text = re.sub(rf"(?<![\w.-]){name}\b", flag, text)
        text = re.sub(rf"(?<![\w.-]){name}(?= must\b)", flag, text)  # "margin must be a number >= 0"
    for name in model_options:
        if name not in FLAGS:
            text = re.sub(rf"(?<![\w.-]){name}=", f"--model-option {name}=", text)
    return text
