"""Command line: ``custvalue demo|compare`` on the bundled CDNOW data and ``custvalue summarize|score|segment
FILE`` on your own transactions (also ``python -m custvalue ...``).

A user's mistake is one line on standard error saying what is wrong and how to fix it, in terms of the
command's flags, with exit status 2 (130 when interrupted); ``--verbose`` prints whole messages.
"""

from __future__ import annotations

import argparse
import codecs
import difflib
import math
import re
import sys
import traceback
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any, NoReturn

import pandas as pd

from custvalue.cli._commands import (
    AUTO,
    NO_SPEND_MODEL,
    compare,
    demo,
    score_file,
    segment_file,
    summarize_file,
)
from custvalue.cli._messages import UsageError, in_cli_terms, one_line
from custvalue.cli._transactions import DROP
from custvalue.errors import CustValueError
from custvalue.models import Ability, Role, available, resolve
from custvalue.segment import METHODS
from custvalue.summary import summarize
from custvalue.timeunits import DAYS_PER_UNIT

__all__ = ["main", "build_parser"]

USER_ERROR = 2
INTERRUPTED = 130
PACKAGE = Path(__file__).resolve().parents[1]
FLOATING_POINT = re.compile(r"(overflow|underflow|invalid value|divide by zero) encountered")


class Parser(argparse.ArgumentParser):
    """An argument parser whose mistakes are :class:`UsageError` (one line, exit status 2) rather than exits.

    Examples
    --------
    >>> try:
    ...     build_parser().parse_args(["score", "orders.csv", "--unit", "Q"])
    ... except UsageError as err:
    ...     print(err)
    argument --unit: 'Q' is not one of h, D, W, M, Y (hours, days, weeks, months, years).
    How to fix: custvalue score --help lists the commands and options
    """

    commands: dict[str, Parser]

    def error(self, message: str) -> NoReturn:
        raise UsageError(message, f"{self.prog} --help lists the commands and options")


def _number(text: str) -> float:
    """A finite number."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number (write it like 52 or 0.1)") from None
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"{text!r} is not a finite number")
    return value


def _whole_number(text: str) -> int:
    """A whole number."""
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number (write it like 200)") from None


def _date(text: str) -> str:
    """A date pandas can read, such as 1998-06-30."""
    try:
        stamp = pd.Timestamp(text)
    except (ValueError, TypeError):
        stamp = pd.NaT
    if pd.isna(stamp):
        raise argparse.ArgumentTypeError(f"{text!r} is not a date (write it like 1998-06-30)")
    return text


def _time_unit(text: str) -> str:
    """h, D, W, M or Y, in either case."""
    unit = "h" if text.lower() == "h" else text.upper()
    if unit not in DAYS_PER_UNIT:
        raise argparse.ArgumentTypeError(f"{text!r} is not one of h, D, W, M, Y (hours, days, weeks, months, years)")
    return unit


def _encoding(text: str) -> str:
    """The name of a text encoding Python knows."""
    try:
        codecs.lookup(text)
    except LookupError:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not an encoding (use one such as utf-8, latin-1, cp1252 or utf-16)") from None
    return text


def _names(text: str) -> tuple[str, ...]:
    """Comma-separated column names, each given once."""
    found = tuple(name.strip() for name in text.split(","))
    if not all(found):
        raise argparse.ArgumentTypeError(f"{text!r} has an empty name (write names like customer_id,date,amount)")
    twice = sorted({name for name in found if found.count(name) > 1})
    if twice:
        raise argparse.ArgumentTypeError(f"{text!r} names {twice} more than once")
    return found


def _decimal(text: str) -> str:
    """One character marking decimals."""
    if len(text) != 1:
        raise argparse.ArgumentTypeError(f"{text!r} is not one character (use . or ,)")
    return text


def _model_option(text: str) -> tuple[str, object]:
    """NAME=VALUE, the value a number when it reads as one."""
    key, equals, value = text.partition("=")
    if not equals or not key.strip():
        raise argparse.ArgumentTypeError(f"{text!r} is not NAME=VALUE (e.g. retention=0.8)")
    try:
        return key.strip(), float(value)
    except ValueError:
        return key.strip(), value.strip()


def _score_models() -> list[str]:
    """Models that can score a summary of transactions: purchase models that predict from a customer's
    history and value models, whose columns a summary has."""
    one_purchase = pd.DataFrame({"customer_id": [1], "date": [pd.Timestamp("2024-01-01")], "amount": [1.0]})
    summary_columns = set(summarize(one_purchase).columns)
    names = [name for name in available(role=Role.PURCHASE, ability=Ability.CONDITIONAL)
             if set(resolve(name).required_columns()) <= summary_columns]
    return [*names, *available(role=Role.VALUE), AUTO]


def build_parser() -> Parser:
    """The argument parser of ``custvalue``; ``parser.commands`` holds the parser of each command.

    Examples
    --------
    >>> args = build_parser().parse_args(["score", "orders.csv", "--unit", "m", "--sep", "whitespace"])
    >>> args.unit, args.model, args.horizon, args.sep
    ('M', 'bgnbd', 52.0, 'whitespace')
    """
    parser = Parser(prog="custvalue", description="Customer-value analytics: clean, summarize, score and segment "
                    "the customers of a file of transactions.")
    parser.add_argument("-v", "--verbose", action="store_true", help="print whole error messages and warnings")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    common = Parser(add_help=False)
    common.add_argument("-v", "--verbose", action="store_true", default=argparse.SUPPRESS,
                        help="print whole error messages and warnings")
    parser.commands = {
        "demo": commands.add_parser("demo", parents=[common], help="clean, summarize, score and segment the "
                                    "bundled CDNOW data"),
        "compare": commands.add_parser("compare", parents=[common], help="compare the purchase models on CDNOW's "
                                       "holdout period"),
    }
    parser.commands["demo"].set_defaults(run=demo)
    parser.commands["compare"].set_defaults(run=compare)

    reading = Parser(add_help=False)
    source = reading.add_argument_group("input file")
    source.add_argument("input", help="transactions: a text file (CSV; .gz, .zip, .bz2, .xz read as compressed) "
                        "or Parquet (.parquet, .pq); - reads standard input")
    source.add_argument("--sep", help=r"field separator of a text file: a character, comma, semicolon, tab, pipe, "
                        r"whitespace (runs of spaces and tabs) or a regular expression such as '\s+' "
                        "(default: comma; tab for .tsv)")
    source.add_argument("--no-header", action="store_true", help="the file has no line of column names; "
                        "name the columns with --names")
    source.add_argument("--names", type=_names, help="column names, separated by commas, one per column (they "
                        "replace the header line, if any)")
    source.add_argument("--encoding", type=_encoding, help="text encoding (default utf-8), e.g. latin-1, cp1252")
    source.add_argument("--decimal", type=_decimal, metavar="CHAR",
                        help="decimal mark of the numbers (default .), e.g. ,")
    columns = reading.add_argument_group("columns and dates")
    columns.add_argument("--customer-col", default="customer_id", metavar="NAME", help="column of customer ids "
                         "(default customer_id)")
    columns.add_argument("--date-col", default="date", metavar="NAME", help="column of dates (default date)")
    columns.add_argument("--amount-col", default="amount", metavar="NAME", help="column of amounts (default amount)")
    columns.add_argument("--drop", action="append", choices=list(DROP), metavar="REASON",
                         help=f"drop the rows cleaning keeps and counts by default for REASON ({', '.join(DROP)}): "
                         "exact copies of a line, $0 purchases; repeatable")
    columns.add_argument("--returns", choices=["drop", "net"], default="drop", help="negative amounts (returns): "
                         "drop them (default) or net them against the customer's earlier purchases")
    columns.add_argument("--net-by", action="append", metavar="NAME", help="with --returns net: a column a return "
                         "shares with its purchase (an order id, a product); repeatable")
    columns.add_argument("--date-format", metavar="FORMAT", help="strftime layout of the dates, e.g. %%d/%%m/%%Y "
                         "(default: YYYYMMDD for 8-digit numbers, inferred for text)")
    columns.add_argument("--observation-end", type=_date, metavar="DATE", help="end of the observation period, "
                         "e.g. 1998-06-30; later transactions are dropped (default: the last date)")
    columns.add_argument("--unit", type=_time_unit, default="W", help="time unit of recency, T, the horizon and "
                         "the discount rate: h, D, W, M or Y (default W)")
    columns.add_argument("--grain", type=_time_unit, default="D", help="purchases in the same h, D, W, M or Y count "
                         "as one (default D)")
    target = reading.add_argument_group("output")
    target.add_argument("-o", "--output", metavar="FILE", help="output file, CSV or Parquet by its extension (.csv, "
                        ".tsv, .txt, .parquet, .pq); default: CSV on standard output")

    scoring = Parser(add_help=False)
    model = scoring.add_argument_group("models")
    models = _score_models()
    model.add_argument("--model", default="bgnbd", choices=models, metavar="MODEL",
                       help=f"purchase or value model: {', '.join(models)} (default bgnbd; auto chooses on a "
                       "holdout split)")
    model.add_argument("--model-option", type=_model_option, action="append", metavar="NAME=VALUE",
                       help="a hyper-parameter of the model, e.g. retention=0.8 for the formula model; repeatable")
    spend = [*available(role=Role.SPEND), NO_SPEND_MODEL]
    model.add_argument("--spend-model", default="gammagamma", choices=spend, metavar="MODEL",
                       help=f"spend model: {', '.join(spend)} (default gammagamma; none scores purchases only)")
    model.add_argument("--horizon", type=_number, default=52.0, help="forecast horizon in --unit (default 52)")
    model.add_argument("--discount-rate", type=_number, default=0.0, help="discount rate per --unit (default 0)")
    model.add_argument("--margin", type=_number, default=1.0, help="share of spend that is profit (default 1)")
    model.add_argument("--penalizer", type=_number, help="L2 penalty on the model parameters (default: none)")
    model.add_argument("--intervals", type=_number, metavar="LEVEL", help="add *_lower and *_upper columns "
                       "for prediction intervals at this level, e.g. 0.9")
    model.add_argument("--interval-draws", type=_whole_number, default=200, metavar="N",
                       help="parameter draws behind the intervals (default 200)")

    summary = commands.add_parser("summarize", parents=[common, reading], help="summarize a file of "
                                  "transactions: one row per customer (frequency, recency, T, monetary value)")
    summary.set_defaults(run=summarize_file)
    scored = commands.add_parser("score", parents=[common, reading, scoring], help="score the customers of a "
                                 "file of transactions: expected purchases, P(alive), expected spend, CLV")
    scored.set_defaults(run=score_file)
    segmented = commands.add_parser("segment", parents=[common, reading, scoring], help="score and segment the "
                                    "customers of a file of transactions")
    methods = [m for m in METHODS if m != "rules"]  # rules need expressions, which a flag does not carry
    segmented.add_argument("--method", default="rfm", choices=methods, metavar="METHOD",
                           help=f"segmentation: {', '.join(methods)} (default rfm)")
    segmented.set_defaults(run=segment_file)
    parser.commands.update(summarize=summary, score=scored, segment=segmented)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line on ``argv`` (default: the process's arguments); return the exit status.

    Examples
    --------
    >>> main(["summarize", "no-such-file.csv"])
    2
    """
    argv = list(sys.argv[1:] if argv is None else argv)
    verbose = "-v" in argv or "--verbose" in argv  # known before parsing, which may fail
    args = argparse.Namespace()
    try:
        with warnings.catch_warnings():
            warnings.showwarning = _warning_printer(verbose)
            parser = build_parser()
            args, extra = parser.parse_known_args(argv)
            if extra:
                raise _unknown_arguments(extra, parser.commands.get(args.command, parser))
            return int(args.run(args))
    except UsageError as err:
        _print_error(str(err))
    except CustValueError as err:
        text = in_cli_terms(str(err), _model_options(getattr(args, "model", None)))
        _print_error(text if verbose else one_line(text))
    except KeyboardInterrupt:
        print("custvalue: interrupted", file=sys.stderr)
        return INTERRUPTED
    except SystemExit as done:  # --help
        return done.code if isinstance(done.code, int) else 0
    except MemoryError:
        _print_error("not enough memory for this file. How to fix: run on a machine with more memory, or use the "
                     "Dask engine from Python (see the page 'Scaling up' of the documentation)")
    except Exception as err:  # a bug, not the user's mistake: short unless asked for the traceback
        if verbose:
            traceback.print_exc()
        print(f"custvalue: internal error: {type(err).__name__}: {str(err).splitlines()[0] if str(err) else ''} "
              "(--verbose shows where; please report it)", file=sys.stderr)
        return 1
    return USER_ERROR


def _print_error(text: str) -> None:
    print(f"custvalue: error: {text}", file=sys.stderr)


def _unknown_arguments(extra: list[str], parser: Parser) -> UsageError:
    flags = [option for action in parser._actions for option in action.option_strings]
    first = next((e for e in extra if e.startswith("-")), extra[0])
    close = difflib.get_close_matches(first.split("=")[0], flags, n=1)
    fix = f"did you mean {close[0]}?" if close else f"{parser.prog} --help lists the options"
    return UsageError(f"unknown argument(s) {' '.join(extra)}", fix)


def _model_options(model: str | None) -> list[str]:
    """Hyper-parameter names of the model chosen with --model (for messages)."""
    if model is None or model not in available():
        return []
    return list(resolve(model).get_params())


def _warning_printer(verbose: bool) -> Any:
    """Show custvalue's own warnings as one line each; others (from libraries underneath, or numpy's about
    floating point) only with --verbose."""

    def show(message: Warning | str, category: type[Warning], filename: str, lineno: int, file: Any = None,
             line: str | None = None) -> None:
        ours = Path(filename).resolve().is_relative_to(PACKAGE) and not FLOATING_POINT.search(str(message))
        if verbose or ours:
            text = in_cli_terms(str(message))
            print(f"custvalue: warning: {text if verbose else text.splitlines()[0]}", file=sys.stderr)

    return show
