"""A user's transactions file: read in the layout the flags describe, its columns found, cleaned."""

from __future__ import annotations

import argparse
import shlex
import sys
from dataclasses import replace

import pandas as pd

from custvalue.clean import clean, cleaning_report
from custvalue.cli._files import TextLayout, display_name, is_parquet, read_table
from custvalue.cli._guess import (
    ROLES,
    date_formats,
    decimal_commas,
    is_data_line,
    likely_separator,
    role_columns,
    separator,
    separator_flag,
)
from custvalue.cli._messages import UsageError
from custvalue.columns import is_summary
from custvalue.errors import SchemaError

__all__ = ["read_transactions", "layout_of", "TEXT_OPTIONS", "DROP"]

# Flags that describe a text file, with their argparse names.
TEXT_OPTIONS = {"--sep": "sep", "--no-header": "no_header", "--names": "names", "--encoding": "encoding",
                "--decimal": "decimal"}
SAMPLE_ROWS = 200
ID_SAMPLE_ROWS = 10_000
# --drop REASON: rows clean keeps (and counts in the report) by default are dropped instead.
DROP = ("duplicate", "zero_amount")


def layout_of(args: argparse.Namespace) -> TextLayout:
    """The layout the flags describe (comma-separated with a header line unless told otherwise; tab for .tsv)."""
    if is_parquet(args.input):
        given = [flag for flag, name in TEXT_OPTIONS.items() if getattr(args, name) not in (None, False)]
        if given:
            raise UsageError(f"{' and '.join(given)} {'describes' if len(given) == 1 else 'describe'} text files, "
                             f"but {args.input!r} is read as Parquet "
                             "(its name ends in .parquet or .pq)", f"leave {' and '.join(given)} out")
        return TextLayout()
    default_sep = "\t" if args.input.lower().removesuffix(".gz").endswith(".tsv") else ","
    return TextLayout(
        sep=separator(args.sep) if args.sep is not None else default_sep,
        header=not args.no_header,
        names=args.names,
        encoding=args.encoding or "utf-8",
        decimal=args.decimal or ".",
    )


def roles_of(args: argparse.Namespace) -> dict[str, str]:
    """The file's column for each canonical column."""
    roles = {"customer_id": args.customer_col, "date": args.date_col, "amount": args.amount_col}
    order = list(roles)
    for i, role in enumerate(order):
        for other in order[i + 1:]:
            if roles[other] == roles[role]:
                raise UsageError(f"{ROLES[role]} and {ROLES[other]} both name the column {roles[role]!r}",
                                 "name a different column for each")
    return roles


def read_transactions(args: argparse.Namespace) -> pd.DataFrame:
    """The cleaned transactions of ``args.input``; the cleaning report goes to standard error."""
    roles = roles_of(args)
    layout = layout_of(args)
    if not layout.header and layout.names is None:
        sample = read_table(args.input, layout, nrows=SAMPLE_ROWS, all_text=True)
        raise _names_error(f"--no-header needs --names to name the {len(sample.columns)} columns of "
                           f"{display_name(args.input)}", sample, roles)
    ids = roles["customer_id"]
    as_text = _ids_as_text(args.input, layout, ids)
    raw = read_table(args.input, layout, text_columns=(ids,) if as_text else ())
    _check_columns(raw, roles, args, layout)
    if as_text and pd.api.types.is_string_dtype(raw[ids].dtype):
        raw[ids] = raw[ids].str.strip()
    # A column named like a canonical column it does not fill would collide with the one renamed to it.
    unused = {c: f"original_{c}" for c in raw.columns if c in roles and roles[c] != c}
    mapping = {**unused, **{column: role for role, column in roles.items() if column != role}}
    try:
        drop = set(args.drop or [])
        tx = clean(raw, columns=mapping or None, observation_end=args.observation_end, date_format=args.date_format,
                   duplicates="drop" if "duplicate" in drop else "keep",
                   zero_amounts="drop" if "zero_amount" in drop else "keep",
                   negative_amounts=args.returns, net_by=args.net_by if args.returns == "net" else None)
    except SchemaError as err:
        if args.observation_end is not None and "after_observation_end" in str(err) and not len(err.failure_cases):
            raise UsageError(f"every usable transaction of {display_name(args.input)} is after --observation-end "
                             f"{args.observation_end}", "pass a later date, or leave --observation-end out") from None
        raise _unreadable_column(err, raw, roles, args, layout) or err from None
    print(cleaning_report(tx), file=sys.stderr)
    return tx


def _ids_as_text(path: str, layout: TextLayout, column: str) -> bool:
    """Whether to read the customer ids of a text file as text: unless its first rows show plain integers
    (which pandas reads faster as numbers), so that ids such as 00012 keep their zeros."""
    if is_parquet(path) or path == "-":  # Parquet keeps its types; standard input cannot be read twice
        return not is_parquet(path)
    sample = read_table(path, layout, nrows=ID_SAMPLE_ROWS, all_text=True)
    if column not in sample.columns:
        return True
    return not plain_integers(sample[column])


def plain_integers(text: pd.Series) -> bool:
    """True when every value is an integer written without leading zeros (and short enough to be exact).

    Examples
    --------
    >>> plain_integers(pd.Series([" 7", "12", None])), plain_integers(pd.Series(["0007", "0012"]))
    (True, False)
    """
    values = text.dropna().str.strip()
    return bool(len(values)) and bool(values.str.fullmatch(r"-?[1-9]\d{0,14}|0").all())


def _check_columns(raw: pd.DataFrame, roles: dict[str, str], args: argparse.Namespace, layout: TextLayout) -> None:
    missing = {role: column for role, column in roles.items() if column not in raw.columns}
    if not missing:
        return
    name = display_name(args.input)
    if is_summary(raw):
        raise UsageError(f"{name} holds a customer summary (frequency, recency, T), not transactions",
                         "pass the file of transactions it was made from: one row per purchase with a customer "
                         "id, a date and an amount")
    if not is_parquet(args.input) and layout.names is None:
        if len(raw.columns) == 1:
            likely = likely_separator(str(raw.columns[0]), layout.sep)
            if likely is not None:
                what = (f"{name} was read as one column named {str(raw.columns[0])!r}: its fields are not "
                        f"separated by {separator_flag(layout.sep)}")
                headless = replace(layout, sep=separator(likely), header=False)
                sample = read_table(args.input, headless, nrows=SAMPLE_ROWS, all_text=True)
                if layout.header and is_data_line(list(sample.iloc[0])):
                    raise _names_error(what, sample, roles, f"--sep {likely} --no-header")
                raise UsageError(what, f"pass --sep {likely}")
        if is_data_line([str(c) for c in raw.columns]):
            sample = read_table(args.input, replace(layout, header=False), nrows=SAMPLE_ROWS, all_text=True)
            raise _names_error(f"the first line of {name} looks like data, not column names: "
                               f"{[str(c) for c in raw.columns]}", sample, roles, "--no-header")
    known = {role: column for role, column in roles.items() if role not in missing}
    found = role_columns(raw.head(SAMPLE_ROWS), known)
    what = (f"{name} has no column " + ", ".join(f"{c!r} ({ROLES[r]})" for r, c in missing.items())
            + f"; its columns are {[str(c) for c in raw.columns]}")
    if all(role in found for role in missing):
        fix = "pass " + " ".join(f"{ROLES[r]} {shlex.quote(str(found[r]))}" for r in missing)
    else:
        fix = (f"name the columns that hold the customer ids, dates and amounts with "
               f"{', '.join(ROLES[r] for r in missing)}")
    raise UsageError(what, fix)


def _names_error(what: str, sample: pd.DataFrame, roles: dict[str, str], flags: str = "") -> UsageError:
    """An error whose fix (after ``flags``) names every column of the headerless ``sample`` with --names,
    the ones that look like customer ids, dates and amounts as the other flags expect them."""
    found = role_columns(sample)
    names = [f"col{i + 1}" for i in range(len(sample.columns))]
    for role, position in found.items():
        names[list(sample.columns).index(position)] = roles[role]
    flags = f"{flags} --names".strip()
    if len(found) == len(roles) and len(set(names)) == len(names):
        return UsageError(what, f"pass {flags} {shlex.quote(','.join(names))}")
    return UsageError(what, f"pass {flags} with one name per column ({len(names)} names separated by commas), "
                            f"naming the customer ids, dates and amounts {', '.join(roles.values())}")


def _unreadable_column(err: SchemaError, raw: pd.DataFrame, roles: dict[str, str], args: argparse.Namespace,
                       layout: TextLayout) -> UsageError | None:
    """For a column ``clean`` refused as a whole (no readable date, no number), what to pass instead."""
    cases = err.failure_cases
    if not len(cases):
        return None
    role, rule = cases["column"].iloc[0], cases["check"].iloc[0]
    if (role, rule) not in (("date", "parseable date"), ("amount", "numeric")):
        return None
    column = roles[role]
    values = raw[column].dropna()
    shown = ", ".join(repr(v) for v in values.astype(str).unique()[:3])
    held = "date that can be read" if role == "date" else "number"
    what = f"the column {column!r} ({ROLES[role]}) holds no {held}, e.g. {shown}"
    # Another column for the role: any but this one and the customer ids (the dates and amounts may be swapped).
    others = raw.drop(columns=[column]).head(SAMPLE_ROWS)
    other = role_columns(others, {"customer_id": roles["customer_id"]}).get(role)
    swap = next((r for r, c in roles.items() if c == other and r != role), None)
    if swap is not None:  # the column for the role is the one given for the other role: swap them
        return UsageError(what, f"pass {ROLES[role]} {shlex.quote(str(other))} {ROLES[swap]} {shlex.quote(column)}")
    if role == "date":
        formats = [f for f in date_formats(values) if f != args.date_format]
        if formats:
            also = f" (or --date-format {shlex.quote(formats[1])}, if that is their order)" if len(formats) > 1 else ""
            return UsageError(what, f"pass --date-format {shlex.quote(formats[0])}{also}")
        if other is not None:
            return UsageError(what, f"pass --date-col {shlex.quote(str(other))}")
        return UsageError(what, "give the layout of the dates with --date-format in strftime codes "
                                "(e.g. --date-format %d/%m/%Y for 31/12/2024)")
    if not is_parquet(args.input) and layout.decimal != "," and decimal_commas(values):
        return UsageError(what, "its numbers have decimal commas: pass --decimal ,")
    if other is not None:
        return UsageError(what, f"pass --amount-col {shlex.quote(str(other))}")
    return UsageError(what, "name a column of plain numbers such as 12.50 (no currency signs) with --amount-col")
