"""Guesses about a file that could not be used: its separator, whether its first line is data, which
columns hold customers, dates and amounts, and the layout of its dates.

They only write the "How to fix" part of an error message; nothing is ever read with a guess.
"""

from __future__ import annotations

import re
import shlex
import warnings
from collections.abc import Mapping

import pandas as pd

__all__ = [
    "SEPARATORS", "separator", "separator_flag", "likely_separator", "is_data_line", "role_columns",
    "date_formats", "decimal_commas", "looks_numeric", "ROLES",
]

# --sep names and the separators they stand for; "whitespace" is any run of spaces and tabs.
SEPARATORS = {"comma": ",", "semicolon": ";", "tab": "\t", "pipe": "|", "whitespace": r"\s+"}
# Canonical column, its flag.
ROLES = {"customer_id": "--customer-col", "date": "--date-col", "amount": "--amount-col"}
NUMBER = re.compile(r"[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?")
DATE = re.compile(r"(\d{8}|\d{4}[-/.]\d{1,2}[-/.]\d{1,2}|\d{1,2}[-/.]\d{1,2}[-/.]\d{2,4})([ T]\d.*)?")
DECIMAL_COMMA = re.compile(r"[-+]?\d{1,3}(\.\d{3})*,\d+|[-+]?\d+,\d+")
DATE_FORMATS = (
    "%Y-%m-%d", "%Y%m%d", "%Y/%m/%d", "%d/%m/%Y", "%m/%d/%Y", "%d.%m.%Y", "%d-%m-%Y", "%m-%d-%Y",
    "%d/%m/%y", "%m/%d/%y", "%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M:%S", "%d/%m/%Y %H:%M", "%m/%d/%Y %H:%M",
)
# Words in column names that suggest a role, strongest first.
ROLE_WORDS = {
    "customer_id": ("customer", "cust", "client", "user", "member", "account", "buyer", "id"),
    "date": ("date", "day", "time"),
    "amount": ("amount", "revenue", "sales", "value", "price", "total", "spend", "dollar", "paid", "sum"),
}


def separator(value: str) -> str:
    """The separator a ``--sep`` value stands for: a name, an escape such as ``\\t``, or itself.

    Examples
    --------
    >>> separator("whitespace"), separator("\\\\t"), separator(";")
    ('\\\\s+', '\\t', ';')
    """
    named = SEPARATORS.get(value.lower())
    if named is not None:
        return named
    return "\t" if value == "\\t" else value


def separator_flag(sep: str) -> str:
    """How to write ``sep`` after ``--sep`` on a command line.

    Examples
    --------
    >>> separator_flag("\\t"), separator_flag(";"), separator_flag("\\\\s+")
    ('tab', 'semicolon', 'whitespace')
    """
    for name, value in SEPARATORS.items():
        if sep == value:
            return name
    return shlex.quote(sep)


def likely_separator(line: str, current: str) -> str | None:
    """The ``--sep`` name that splits ``line`` into several fields, other than ``current``; None if none does.

    Examples
    --------
    >>> likely_separator(" 00001 19970101  1   11.77", ",")
    'whitespace'
    >>> likely_separator("id;day;value", ",")
    'semicolon'
    """
    counts = {name: line.count(SEPARATORS[name]) for name in ("semicolon", "tab", "pipe", "comma")}
    for name, count in sorted(counts.items(), key=lambda item: -item[1]):
        if count and SEPARATORS[name] != current:
            return name
    if len(line.split()) > 1 and current != SEPARATORS["whitespace"]:
        return "whitespace"
    return None


def is_data_line(fields: list[str]) -> bool:
    """True when every field is a number or a date: a line of data rather than of column names.

    Examples
    --------
    >>> is_data_line(["00004", "0001", "19970101", "2", "29.33"]), is_data_line(["id", "date", "amount"])
    (True, False)
    """
    values = [str(field).strip() for field in fields]
    return bool(values) and all(NUMBER.fullmatch(v) or DATE.fullmatch(v) for v in values)


def _share(values: pd.Series, pattern: re.Pattern) -> float:
    text = values.dropna().astype(str).str.strip()
    text = text[text != ""]
    return float(text.map(lambda v: bool(pattern.fullmatch(v))).mean()) if len(text) else 0.0


def looks_numeric(values: pd.Series) -> bool:
    """True when nearly every value is a plain number."""
    return _share(values, NUMBER) >= 0.9


def role_columns(sample: pd.DataFrame, known: Mapping[str, object] | None = None) -> dict[str, object]:
    """The column of ``sample`` that most likely holds each role (customer, date, amount).

    Roles in ``known`` keep their columns when ``sample`` has them. The others are found by name
    first, then by content: dates look like dates, the amount is the last numeric column (one with
    decimals first), the customer the first column left. A role left without a column is left out.

    Examples
    --------
    >>> sample = pd.DataFrame([["00004", "0001", "19970101", "2", "29.33"]])
    >>> role_columns(sample)
    {'date': 2, 'amount': 4, 'customer_id': 0}
    >>> role_columns(pd.DataFrame({"client": ["a"], "day": ["2024-01-02"], "revenue": ["3"]}))
    {'customer_id': 'client', 'date': 'day', 'amount': 'revenue'}
    """
    roles = {role: col for role, col in (known or {}).items() if col in sample.columns}
    free = [c for c in sample.columns if c not in roles.values()]
    content = {"date": lambda c: _share(sample[c], DATE) >= 0.5,
               "amount": lambda c: max(_share(sample[c], NUMBER), _share(sample[c], DECIMAL_COMMA)) >= 0.5,
               "customer_id": lambda c: True}
    for role, words in ROLE_WORDS.items():
        if role in roles:
            continue
        for word in words:
            named = [c for c in free if isinstance(c, str) and word in c.lower() and content[role](c)]
            if named:
                roles[role] = named[0]
                free.remove(named[0])
                break
    if "date" not in roles:
        dates = [c for c in free if _share(sample[c], DATE) >= 0.9]
        if dates:
            roles["date"] = dates[0]
            free.remove(dates[0])
    if "amount" not in roles:
        numbers = [c for c in free if looks_numeric(sample[c])]
        decimals = [c for c in numbers if sample[c].astype(str).str.contains(".", regex=False).any()]
        if decimals or numbers:
            roles["amount"] = (decimals or numbers)[-1]
            free.remove(roles["amount"])
    if "customer_id" not in roles and free:
        roles["customer_id"] = free[0]
    return roles


def date_formats(values: pd.Series) -> list[str]:
    """The formats of :data:`DATE_FORMATS` under which every value reads as a date.

    Examples
    --------
    >>> date_formats(pd.Series(["31/12/2024", "01/02/2025"]))
    ['%d/%m/%Y']
    >>> date_formats(pd.Series(["01/02/2025"]))
    ['%d/%m/%Y', '%m/%d/%Y']
    """
    text = values.dropna().astype(str).str.strip()
    text = text[text != ""].head(1000)
    if not len(text):
        return []
    found = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for fmt in DATE_FORMATS:
            if pd.to_datetime(text, format=fmt, errors="coerce").notna().all():
                found.append(fmt)
    return found


def decimal_commas(values: pd.Series) -> bool:
    """True when nearly every value is a number written with a decimal comma, such as 12,50.

    Examples
    --------
    >>> decimal_commas(pd.Series(["12,50", "1.234,00"])), decimal_commas(pd.Series(["12.50"]))
    (True, False)
    """
    return _share(values, DECIMAL_COMMA) >= 0.9
