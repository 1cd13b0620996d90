"""Reading tables from text or Parquet files and writing results, with errors that say how to fix them."""

from __future__ import annotations

import difflib
import os
import shlex
import sys
import warnings
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from custvalue.cli._guess import likely_separator, separator_flag
from custvalue.cli._messages import UsageError

__all__ = ["TextLayout", "is_parquet", "read_table", "check_output", "write_table", "display_name"]

PARQUET = (".parquet", ".pq")
TEXT = (".csv", ".txt", ".tsv")
COMPRESSED = (".gz", ".bz2", ".zip", ".xz", ".zst")
# Files people point the command at that are neither text nor Parquet.
OTHER_FORMATS = {".xlsx": "an Excel workbook", ".xls": "an Excel workbook", ".xlsm": "an Excel workbook",
                 ".ods": "a spreadsheet", ".json": "JSON", ".feather": "Feather", ".pkl": "a pickle"}


@dataclass(frozen=True)
class TextLayout:
    """How a text file is laid out: separator, header line, column names, encoding, decimal mark."""

    sep: str = ","
    header: bool = True
    names: tuple[str, ...] | None = None
    encoding: str = "utf-8"
    decimal: str = "."


def display_name(path: str) -> str:
    """How a file is named in messages."""
    return "standard input" if path == "-" else repr(path)


def _suffixes(path: str) -> list[str]:
    suffixes = [s.lower() for s in Path(path).suffixes]
    return suffixes[:-1] if suffixes and suffixes[-1] in COMPRESSED else suffixes


def is_parquet(path: str) -> bool:
    """True for names ending in .parquet or .pq."""
    suffixes = [s.lower() for s in Path(path).suffixes]
    return bool(suffixes) and suffixes[-1] in PARQUET


def read_table(path: str, layout: TextLayout, *, text_columns: tuple[str, ...] = (), nrows: int | None = None,
               all_text: bool = False) -> pd.DataFrame:
    """The table in ``path`` (``-``: standard input): Parquet by its name, text otherwise.

    ``text_columns`` are read as text (so that ids such as 00012 keep their zeros); ``all_text`` reads
    every column so; ``nrows`` reads the first rows only. Column names lose surrounding spaces.

    Raises
    ------
    UsageError
        For a missing file, a directory, a file that cannot be read, is empty or is not in the layout.
    """
    _check_input(path)
    if is_parquet(path):
        frame = _read_parquet(path)
        if any(level is not None for level in frame.index.names):  # pandas keeps a named index as the index
            frame = frame.reset_index()
        frame = frame.head(nrows) if nrows is not None else frame
        return frame.astype(str) if all_text else frame
    frame = _read_text(path, layout, text_columns, nrows, all_text)
    if layout.names is not None:
        if len(frame.columns) != len(layout.names):
            raise UsageError(
                f"--names gives {len(layout.names)} names but {display_name(path)} has {len(frame.columns)} "
                f"columns", f"give one name per column: {len(frame.columns)} names separated by commas")
        frame.columns = list(layout.names)
    frame.columns = [c.strip() if isinstance(c, str) else c for c in frame.columns]
    if nrows is None and len(frame) == 0:
        raise UsageError(f"{display_name(path)} has column names but no rows of data",
                         "pass a file with one row per transaction below its header line")
    return frame


def _check_input(path: str) -> None:
    if path == "-":
        return
    where = Path(path)
    if where.is_dir():
        inside = sorted(p.name for p in where.iterdir() if p.is_file() and set(_suffixes(p.name)) & {*TEXT, *PARQUET})
        example = f", such as {str(where / inside[0])!r}" if inside else ""
        raise UsageError(f"the input {path!r} is a directory, not a file", f"name a file in it{example}")
    if not where.exists():
        folder = where.parent
        close = difflib.get_close_matches(where.name, os.listdir(folder), n=1) if folder.is_dir() else []
        fix = (f"did you mean {str(folder / close[0])!r}?" if close
               else "check the name and the folder (a relative path starts from the current directory)")
        raise UsageError(f"the input file {path!r} does not exist", fix)
    suffix = _suffixes(path)[-1:] or [""]
    if suffix[0] in OTHER_FORMATS:
        raise UsageError(f"{path!r} is {OTHER_FORMATS[suffix[0]]}; custvalue reads text (CSV) and Parquet files",
                         "save it as CSV (or Parquet) and pass that file")


def _read_text(path: str, layout: TextLayout, text_columns: tuple[str, ...], nrows: int | None,
               all_text: bool) -> pd.DataFrame:
    regex = len(layout.sep) > 1 and layout.sep != r"\s+"
    options: dict = {"sep": layout.sep, "header": 0 if layout.header else None, "index_col": False,
                     "encoding": layout.encoding, "decimal": layout.decimal, "nrows": nrows,
                     "skipinitialspace": True, "engine": "python" if regex else "c"}
    if not regex:
        options["low_memory"] = False  # one type per column, not one per chunk of rows
    if all_text:
        options["dtype"] = str
    elif layout.names is not None:  # the names replace the header line, if any: say which by position
        options["dtype"] = {layout.names.index(c): str for c in text_columns if c in layout.names}
    elif layout.header:
        options["dtype"] = dict.fromkeys(text_columns, str)
    name = display_name(path)
    try:
        with warnings.catch_warnings():
            # pandas only warns when lines have more fields than the header: their last fields would be lost
            warnings.simplefilter("error", pd.errors.ParserWarning)
            return pd.read_csv(sys.stdin.buffer if path == "-" else path, **options)
    except UnicodeDecodeError as err:
        raise _encoding_error(path, layout.encoding, err) from None
    except pd.errors.EmptyDataError:
        raise UsageError(f"{name} is empty", "pass a file with a header line and one row per transaction") from None
    except (pd.errors.ParserError, pd.errors.ParserWarning) as err:
        detail = str(err).splitlines()[0].removeprefix("Error tokenizing data. C error: ")
        if isinstance(err, pd.errors.ParserWarning):
            detail = "some lines have more fields than the first line"
        likely = likely_separator(_first_line(path, layout.encoding), layout.sep)
        fix = (f"pass --sep {likely}" if likely is not None else
               "check --sep (e.g. --sep semicolon, --sep tab or --sep whitespace) and that fields holding the "
               "separator are in double quotes")
        raise UsageError(f"cannot read {name} as text separated by {separator_flag(layout.sep)}: {detail}",
                         fix) from None
    except PermissionError:
        raise _unreadable(path) from None
    except (OSError, ValueError) as err:
        raise UsageError(f"cannot read {name}: {str(err).splitlines()[0]}",
                         "check that it is a text file and the options --sep, --decimal and --encoding") from None


def _unreadable(path: str) -> UsageError:
    return UsageError(f"cannot read {display_name(path)}: permission denied",
                      f"make it readable (chmod u+r {shlex.quote(path)}) or copy it to a place you can read")


def _encoding_error(path: str, encoding: str, err: UnicodeDecodeError) -> UsageError:
    bad = err.object[err.start:err.start + 1]
    what = f"{display_name(path)} is not {encoding} text: it holds the byte 0x{bad.hex()}"
    start = b"" if path == "-" else _first_bytes(path)
    if start.startswith((b"\xff\xfe", b"\xfe\xff")):
        return UsageError(what, "it is UTF-16 text: pass --encoding utf-16")
    if start.startswith(b"PAR1"):
        return UsageError(what + "; it is a Parquet file", "give it a name ending in .parquet")
    if b"\0" in start or b"\0" in err.object[:4096]:
        return UsageError(what + " and looks binary", "pass a text (CSV) file, or a Parquet file named *.parquet")
    try:
        bytes(err.object).decode("cp1252")
    except UnicodeDecodeError:
        return UsageError(what, "pass its encoding, e.g. --encoding latin-1")
    return UsageError(what, "pass its encoding, e.g. --encoding cp1252 (Windows Western European; "
                            "--encoding latin-1 reads any byte)")


def _first_line(path: str, encoding: str) -> str:
    """The first line of an uncompressed text file ("" when it cannot be read so)."""
    if path == "-" or Path(path).suffix.lower() in COMPRESSED:
        return ""
    try:
        with open(path, encoding=encoding, errors="replace") as handle:
            return handle.readline().strip()
    except OSError:
        return ""


def _first_bytes(path: str, size: int = 4096) -> bytes:
    try:
        with open(path, "rb") as handle:
            return handle.read(size)
    except OSError:
        return b""


def _read_parquet(path: str) -> pd.DataFrame:
    name = display_name(path)
    try:
        return pd.read_parquet(path)
    except ImportError:
        raise UsageError("reading Parquet needs the pyarrow package", "pip install pyarrow") from None
    except PermissionError:
        raise _unreadable(path) from None
    except (OSError, ValueError) as err:
        raise UsageError(f"{name} is not a Parquet file ({str(err).splitlines()[0]})",
                         "pass a Parquet file, or give a text file a name that does not end in .parquet or .pq"
                         ) from None


def output_format(path: str) -> str:
    """``"parquet"``, ``"tsv"`` or ``"csv"``, from the name of an output file."""
    if is_parquet(path):
        return "parquet"
    suffix = (_suffixes(path)[-1:] or [""])[0]
    if suffix == ".tsv":
        return "tsv"
    if suffix in TEXT:
        return "csv"
    where = Path(path)
    shown = "".join(where.suffixes) or "no extension"
    csv = where.with_name((where.name.split(".")[0] or "out") + ".csv")
    raise UsageError(f"-o {path}: the output format is chosen by the extension, and {shown} is none of .csv, "
                     ".tsv, .txt or .parquet", f"name the file e.g. -o {shlex.quote(str(csv))} "
                     "(.parquet for Parquet; leave -o out to write CSV to standard output)")


def check_output(path: str | None) -> None:
    """Refuse an output path that cannot be written before any work is done."""
    if path is None or path == "-":
        return
    where = Path(path)
    if where.is_dir():
        raise UsageError(f"-o {path} is a directory",
                         f"name a file in it, e.g. -o {shlex.quote(str(where / 'customers.csv'))}")
    output_format(path)
    folder = where.parent
    if not folder.exists():
        raise UsageError(f"the folder {str(folder)!r} of -o {path} does not exist",
                         f"create it first (mkdir -p {shlex.quote(str(folder))}) or write elsewhere")
    if not folder.is_dir():
        raise UsageError(f"-o {path}: {str(folder)!r} is a file, not a folder", "choose another output path")
    if not os.access(folder, os.W_OK):
        raise _permission_error(path, folder)


def _permission_error(path: str, folder: Path) -> UsageError:
    return UsageError(f"cannot write {path!r}: permission denied",
                      f"write elsewhere with -o, or make the folder writable (chmod u+w {shlex.quote(str(folder))})")


def write_table(frame: pd.DataFrame, path: str | None) -> None:
    """Write ``frame`` (with its index) to ``path``: Parquet or CSV by the extension; None or ``-``: CSV on
    standard output."""
    if path is None or path == "-":
        try:
            frame.to_csv(sys.stdout)
            sys.stdout.flush()
        except BrokenPipeError:  # the reader (head, say) stopped reading: not an error
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
        return
    kind = output_format(path)
    try:
        if kind == "parquet":
            frame.to_parquet(path)
        else:
            frame.to_csv(path, sep="\t" if kind == "tsv" else ",")
    except ImportError:
        raise UsageError("writing Parquet needs the pyarrow package", "pip install pyarrow, or write .csv") from None
    except PermissionError:
        raise _permission_error(path, Path(path).parent) from None
    except OSError as err:
        raise UsageError(f"cannot write {path!r}: {err.strerror or err}", "write elsewhere with -o") from None
