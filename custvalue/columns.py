"""Column names, dates and customer ids: the helpers every step shares.

Canonical transaction columns are ``customer_id``, ``date`` and ``amount``
(plus the optional ``quantity``); a user maps their own names onto them with
``columns={"their_name": "customer_id", ...}``. A customer summary has at
least ``frequency``, ``recency`` and ``T``.
"""

from __future__ import annotations

import difflib
import warnings
from collections.abc import Iterator, Mapping

import numpy as np
import pandas as pd

from custvalue.checks import check_date, check_frame, check_mapping
from custvalue.errors import MissingColumnError, SchemaError, format_examples

__all__ = [
    "REQUIRED_COLUMNS", "SUMMARY_COLUMNS", "CANONICAL_COLUMNS", "canonical_columns", "missing_columns_error",
    "parse_dates",
    "as_timestamp", "day_number", "is_summary", "customer_codes", "slices",
]

REQUIRED_COLUMNS = ("customer_id", "date", "amount")
SUMMARY_COLUMNS = ("frequency", "recency", "T")
SLICE_ROWS = 1 << 22


def is_summary(frame: pd.DataFrame) -> bool:
    """True when ``frame`` looks like a customer summary rather than transactions."""
    return all(c in frame.columns for c in SUMMARY_COLUMNS) and "date" not in frame.columns


COLUMNS_EXAMPLE = "{'your_id': 'customer_id', 'your_date': 'date', 'your_amount': 'amount'}"
CANONICAL_COLUMNS = (*REQUIRED_COLUMNS, "quantity")

# Names (lower case, letters and digits only) that usually hold each canonical column.
NAME_HINTS: dict[str, tuple[str, ...]] = {
    "customer_id": ("customerid", "customer", "custid", "cust", "clientid", "client", "userid", "user",
                    "memberid", "member", "accountid", "account", "buyerid", "buyer", "shopperid", "shopper"),
    "date": ("date", "invoicedate", "orderdate", "transactiondate", "purchasedate", "datetime", "timestamp",
             "time", "createdat", "created", "day", "orderdatetime"),
    "amount": ("amount", "revenue", "sales", "totalprice", "total", "value", "spend", "price", "netamount",
               "grossamount", "net", "gross", "payment", "paid", "turnover", "subtotal", "linetotal", "sum",
               "monetaryvalue", "ordervalue", "totalamount", "saleamount", "dollarvalue", "dollars"),
}
# Words in a column name that say it holds money (for names not listed above, such as "Sales_EUR").
MONEY_WORDS = ("amount", "revenue", "sales", "price", "total", "value", "spend", "payment", "paid", "turnover",
               "dollar", "euro", "eur", "usd", "gbp", "cost")
QUANTITY_NAMES = ("quantity", "qty", "units", "unitssold", "count", "numberofitems", "items", "numberofcds", "pieces")
UNIT_PRICE_NAMES = ("unitprice", "priceeach", "priceperunit", "unitcost", "itemprice", "price", "listprice")


def _plain(name: object) -> str:
    return "".join(ch for ch in str(name).lower() if ch.isalnum())


def canonical_columns(tx: pd.DataFrame, columns: Mapping[str, str] | None, name: str = "tx") -> pd.DataFrame:
    """Return ``tx`` renamed to canonical names, canonical columns first; checks they exist.

    A mapping written the wrong way round (``{"customer_id": "CustomerID"}``)
    or with a misspelt name gets an error that shows the corrected mapping;
    a missing column gets the frame's likely candidates for it (see
    :func:`missing_columns_error`).

    Examples
    --------
    >>> tx = pd.DataFrame({"cust": [1], "day": ["2024-01-02"], "value": [3.0], "store": ["x"]})
    >>> list(canonical_columns(tx, {"cust": "customer_id", "day": "date", "value": "amount"}).columns)
    ['customer_id', 'date', 'amount', 'store']
    >>> try:
    ...     canonical_columns(tx, {"customer_id": "cust", "day": "date", "value": "amount"})
    ... except MissingColumnError as err:
    ...     print(str(err).splitlines()[-1])
    How to fix: columns={'cust': 'customer_id', 'day': 'date', 'value': 'amount'}
    """
    tx = check_frame(tx, name, allow_empty=True)
    mapping = check_mapping(columns, "columns", example=COLUMNS_EXAMPLE)
    unknown = [c for c in mapping if c not in tx.columns]
    if unknown:
        raise _unknown_columns_error(tx, mapping, unknown, name)
    renamed = tx.rename(columns=mapping) if mapping else tx
    missing = [c for c in REQUIRED_COLUMNS if c not in renamed.columns]
    if missing:
        raise missing_columns_error(missing, tx, mapping, name)
    if renamed.columns.duplicated().any():
        dupes = sorted(map(str, set(renamed.columns[renamed.columns.duplicated()])))
        raise SchemaError(f"columns={mapping}: the renamed frame has duplicated column names {dupes}; map each "
                          "canonical name from one column only, or drop the other column first")
    order = [c for c in CANONICAL_COLUMNS if c in renamed.columns]
    rest = [c for c in renamed.columns if c not in order]
    return renamed[order + rest]


def _unknown_columns_error(tx: pd.DataFrame, mapping: dict, unknown: list, name: str) -> MissingColumnError:
    """The error for ``columns=`` keys that are not in the frame: each one reversed, misspelt or unknown."""
    available = list(tx.columns)
    by_plain = {_plain(c): c for c in available}
    fixed: dict = {}
    notes = []
    for key, value in mapping.items():
        if key not in unknown:
            fixed[key] = value
        elif key in CANONICAL_COLUMNS and value in available:  # written the wrong way round
            fixed[value] = key
            notes.append(f"{{{key!r}: {value!r}}} is the wrong way round")
        else:
            close = difflib.get_close_matches(_plain(key), list(by_plain), n=1, cutoff=0.75)
            if close:
                fixed[by_plain[close[0]]] = value
                notes.append(f"{key!r} is not a column; did you mean {by_plain[close[0]]!r}?")
            else:
                notes.append(f"{key!r} is not a column")
    fix = f"map existing columns, e.g. columns={COLUMNS_EXAMPLE}"
    if len(fixed) == len(mapping):
        missing = [c for c in REQUIRED_COLUMNS if c not in fixed.values() and c not in tx.columns]
        _, call = _mapping_help(tx, fixed, missing, name)
        fix = f"columns={fixed}" if not missing else (call or f"columns={fixed}, and map {missing} too")
    return MissingColumnError(
        f"columns= names {unknown} that are not in the frame; its columns are {list(map(str, available))}. "
        "columns= maps your column names to custvalue's, {'your name': 'customer_id', ...}: "
        + "; ".join(notes) + f"\nHow to fix: {fix}"
    )


def missing_columns_error(missing: list[str], tx: pd.DataFrame, mapping: Mapping[str, str] | None = None,
                          name: str = "tx") -> SchemaError:
    """A :class:`MissingColumnError` for required columns absent from ``tx`` (before renaming with
    ``mapping``), naming the columns likely to hold them and a call to :func:`custvalue.clean` that maps them.

    Candidates come from column names (CustomerID, InvoiceDate, Revenue, TotalPrice ...) and, for dates
    and amounts, from the values (datetimes; numbers with cents). Without an amount column but with a
    quantity and a unit price, the call computes the amount from them.

    Examples
    --------
    >>> tx = pd.DataFrame({"InvoiceNo": ["536365"], "Quantity": [6], "InvoiceDate": ["12/1/10 8:26"],
    ...                    "UnitPrice": [2.55], "CustomerID": [17850.0], "Country": ["United Kingdom"]})
    >>> print(missing_columns_error(["amount"], tx, {"CustomerID": "customer_id", "InvoiceDate": "date"}))
    required column 'amount' missing; the frame has ['InvoiceNo', 'Quantity', 'InvoiceDate', 'UnitPrice',
    'CustomerID', 'Country'].
    'amount': did you mean quantity × unit price, tx.assign(amount=tx['Quantity'] * tx['UnitPrice'])?
    (a column by its name: 'UnitPrice', a price per unit).
    How to fix: custvalue.clean(tx.assign(amount=tx['Quantity'] * tx['UnitPrice']),
    columns={'CustomerID': 'customer_id', 'InvoiceDate': 'date'})
    """
    hints, call = _mapping_help(tx, dict(mapping or {}), missing, name)
    heading = (f"required column {missing[0]!r} missing" if len(missing) == 1 else
               f"required columns {', '.join(repr(c) for c in missing)} missing")
    example = ", ".join(f"'your_{m}': '{m}'" for m in missing)
    return MissingColumnError(
        f"{heading}; the frame has {list(map(str, tx.columns))}.\n"
        + "".join(f"{hint}.\n" for hint in hints)
        + f"How to fix: {call or f'rename them or pass columns={{{example}}}'}",
        pd.DataFrame({"column": missing, "check": "column_in_dataframe", "index": None, "failure_case": missing}),
    )


def _mapping_help(tx: pd.DataFrame, mapping: dict, missing: list[str], name: str) -> tuple[list[str], str | None]:
    """For the ``missing`` canonical columns of ``tx`` under ``mapping``: a hint per column that has likely
    candidates, and a call to custvalue.clean that maps (or computes) every one of them (None if one has none)."""
    available = [c for c in tx.columns if c not in mapping and c not in CANONICAL_COLUMNS]
    fixed, frame, hints = dict(mapping), name, []
    for column in missing:
        found = _candidates(tx, column, available)
        names = " or ".join(repr(c) for c, _ in found)
        reasons = ", ".join(f"{c!r} by its {why}" for c, why in found)
        computed = _quantity_times_price(tx, available, name) if column == "amount" else None
        # A unit price alone is not an amount: with a quantity beside it, compute the amount from both.
        if computed and (not found or _plain(found[0][0]) in UNIT_PRICE_NAMES):
            frame = computed
            hints.append(f"'amount': did you mean quantity × unit price, {computed}?"
                         + (f" (a column by its name: {names}, a price per unit)" if found else ""))
        elif found:
            fixed[found[0][0]] = column
            available.remove(found[0][0])
            hints.append(f"{column!r}: did you mean {names}? ({reasons})")
    solved = all(c in fixed.values() or (c == "amount" and frame != name) for c in missing)
    return hints, f"custvalue.clean({frame}, columns={fixed})" if solved else None


def _candidates(tx: pd.DataFrame, column: str, available: list) -> list[tuple[object, str]]:
    """Columns of ``tx`` (among ``available``) likely to hold the canonical ``column``: by name first, then
    by values; each with the reason."""
    hints = NAME_HINTS[column]
    named = [c for c in available if _plain(c) in hints]
    named.sort(key=lambda c: hints.index(_plain(c)))
    if column == "amount":
        named += [c for c in available if c not in named and any(w in _plain(c) for w in MONEY_WORDS)
                  and _plain(c) not in QUANTITY_NAMES]
    found: list[tuple[object, str]] = [(c, "name") for c in named
                                       if _could_hold(tx[c], column)]
    if column == "customer_id":
        return found[:3]
    for c in available:
        if c in named or len(found) >= 3:
            continue
        values = tx[c]
        if column == "date" and pd.api.types.is_datetime64_any_dtype(values.dtype):
            found.append((c, "values: dates"))
        elif column == "amount" and _looks_like_money(values, c):
            found.append((c, "values: numbers with cents"))
    return found[:3]


def _could_hold(values: pd.Series, column: str) -> bool:
    if column == "amount":
        return bool(pd.api.types.is_numeric_dtype(values.dtype) and not pd.api.types.is_bool_dtype(values.dtype)) \
            or values.dtype == object or pd.api.types.is_string_dtype(values.dtype)
    return True


def _looks_like_money(values: pd.Series, name: object) -> bool:
    """Numbers with fractional parts that are not ids, counts or codes: prices and amounts."""
    plain = _plain(name)
    if plain in QUANTITY_NAMES or plain.endswith("id") or plain.endswith("no") or plain.endswith("code"):
        return False
    if not pd.api.types.is_float_dtype(values.dtype):
        return False
    sample = values.dropna().to_numpy(dtype=float)[:1000]
    sample = sample[np.isfinite(sample)]
    return bool(len(sample)) and bool((sample != np.round(sample)).any())


def _quantity_times_price(tx: pd.DataFrame, available: list, name: str) -> str | None:
    """``name.assign(amount=...)`` computing the amount from a quantity and a unit price column, if both exist."""
    quantity = next((c for c in available if _plain(c) in QUANTITY_NAMES
                     and pd.api.types.is_numeric_dtype(tx[c].dtype)), None)
    prices = [c for c in available if _plain(c) in UNIT_PRICE_NAMES and pd.api.types.is_numeric_dtype(tx[c].dtype)]
    prices.sort(key=lambda c: UNIT_PRICE_NAMES.index(_plain(c)))
    if quantity is None or not prices:
        return None
    return f"{name}.assign(amount={name}[{quantity!r}] * {name}[{prices[0]!r}])"


# Dates that begin with day and month as numbers (01/02/2024, 1.2.24): day-first or month-first?
DAY_MONTH_NUMBERS = r"^\s*\d{1,2}[-/. ]\d{1,2}[-/. ]\d{2,4}(?:$|\D)"


def parse_dates(values: pd.Series, date_format: str | None, first_format: str | None = None) -> pd.Series:
    """Dates as datetime64; what cannot be read becomes NaT.

    Integers of eight digits are YYYYMMDD (the form of CDNOW and many exports);
    strings are read with ``date_format`` or in the format of the first date
    (``first_format``: that of the first date of the whole data, when ``values``
    is a part of it), and those in another format one by one; but when one of
    those begins with day and month as numbers, the formats are refused: a date
    such as 01/02/2024 would be read day-first in one row and month-first in
    another. Dates with several time-zone offsets are converted to UTC.
    """
    if isinstance(values.dtype, pd.DatetimeTZDtype) or pd.api.types.is_datetime64_dtype(values.dtype):
        return values
    if pd.api.types.is_integer_dtype(values.dtype) or pd.api.types.is_float_dtype(values.dtype):
        with np.errstate(invalid="ignore"):
            whole = values.where(np.isfinite(values.to_numpy(dtype=float, na_value=np.nan)) & (values.abs() < 1e9))
        as_text = whole.astype("Int64").astype(str).replace("<NA>", None)
        return pd.to_datetime(as_text, format=date_format or "%Y%m%d", errors="coerce")
    values = _scalars_or_missing(values)
    if values.dtype == object and pd.api.types.infer_dtype(values, skipna=True) == "datetime":
        # datetime objects: in several time zones (pandas would make all but the first NaT), compare them in UTC
        zones = {str(getattr(v, "tzinfo", None)) for v in values.dropna()}
        return pd.to_datetime(values, errors="coerce", utc=len(zones) > 1)
    if date_format is None and first_format is None:
        first_format = first_date_format(values)
    parsed = _to_datetime(values, date_format or first_format)
    retry = parsed.isna() & values.notna()
    if date_format is None and retry.any() and not retry.all():
        # Rows in another format than the first date's: read them one by one, unless that mixes formats.
        again = _to_datetime(values[retry], "mixed")
        rescued = again.notna()
        if rescued.any():
            _refuse_mixed_formats(values, first_format, retry, rescued)
        if isinstance(parsed.dtype, pd.DatetimeTZDtype) != isinstance(again.dtype, pd.DatetimeTZDtype):
            parsed, again = pd.to_datetime(parsed, utc=True), pd.to_datetime(again, utc=True)
        parsed = parsed.copy()
        parsed[retry] = again
    return parsed


def first_date_format(values: pd.Series) -> str | None:
    """The format of the first date string of ``values`` (pandas' guess), or None.

    Examples
    --------
    >>> first_date_format(pd.Series([None, "13/02/2024", "01/02/2024"]))
    '%d/%m/%Y'
    """
    present = values.dropna()
    first = present.iloc[0] if len(present) else None
    return _guess_format(first) if isinstance(first, str) else None


def _guess_format(text: str) -> str | None:
    from pandas.tseries.api import guess_datetime_format

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # "Parsing dates in %d/%m/%Y format when dayfirst=False"
        return guess_datetime_format(text.strip())


def _to_datetime(values: pd.Series, date_format: str | None) -> pd.Series:
    with warnings.catch_warnings():
        # pandas warns when it falls back to parsing element by element; that is expected here.
        warnings.simplefilter("ignore", UserWarning)
        try:
            return pd.to_datetime(values, format=date_format, errors="coerce")
        except (ValueError, TypeError):  # mixed time-zone offsets
            return pd.to_datetime(values, format=date_format, errors="coerce", utc=True)


def _refuse_mixed_formats(values: pd.Series, first_format: str | None, retry: pd.Series,
                          rescued: pd.Series) -> None:
    """Raise when a date read in another format than the first one begins with day and month as numbers."""
    others = values[retry][rescued.to_numpy()]
    if not others.astype(str).str.match(DAY_MONTH_NUMBERS).any():
        return
    column = str(values.name or "date")
    examples: dict[str, pd.Series] = {str(first_format): values[~retry & values.notna()].iloc[:3]}
    for value in pd.unique(others.to_numpy())[:100]:
        fmt = str(_guess_format(str(value)))
        shown = examples.get(fmt, others.iloc[:0])
        if len(shown) < 3:
            examples[fmt] = pd.concat([shown, others[others == value].iloc[:3 - len(shown)]])
    lines = [f"  read as {fmt}:\n{format_examples(rows.to_frame(column), 3)}" for fmt, rows in examples.items()]
    ambiguous = [fmt for fmt in examples if fmt != "None" and not fmt.startswith("%Y")]
    formats = (ambiguous[1:] + ambiguous[:1]) or ["%d/%m/%Y"]  # those of the other rows first
    choices = " or ".join(f"date_format={fmt!r}" for fmt in formats)
    cases = pd.DataFrame({"column": column, "check": "one date format", "index": others.index,
                          "failure_case": others.to_numpy()})
    raise SchemaError(
        f"column '{column}' mixes date formats: {len(others):,} row(s) do not follow the format of the first "
        f"date ({first_format}), so a date such as 01/02/2024 could be read day-first in one row and "
        "month-first in another:\n" + "\n".join(lines) + "\n"
        f"How to fix: pass the format your dates are written in, {choices}: e.g. "
        f"custvalue.clean(tx, date_format={formats[0]!r}); rows in another format are then dropped as "
        "unparseable_date and reported (date_format='mixed' reads each row on its own)",
        cases,
    )


def _scalars_or_missing(values: pd.Series) -> pd.Series:
    """``values`` with lists, dicts, sets and arrays (which no parser reads) replaced by missing values."""
    if values.dtype != object or pd.api.types.infer_dtype(values, skipna=True) not in ("mixed", "unknown-array"):
        return values
    unusable = values.map(lambda v: isinstance(v, list | dict | set | tuple | np.ndarray)).to_numpy(dtype=bool)
    return values.mask(unusable) if unusable.any() else values


def as_timestamp(value: object, name: str, tz: object = None) -> pd.Timestamp:
    """``value`` as a Timestamp in the time zone ``tz`` of the data (naive when the data are naive)."""
    stamp = check_date(value, name)
    if tz is not None and stamp.tzinfo is None:
        stamp = stamp.tz_localize(tz)
    elif tz is None and stamp.tzinfo is not None:
        stamp = stamp.tz_localize(None)
    return stamp


def day_number(value: object, name: str) -> int:
    """Whole days since 1970-01-01 of a date given by the user (wall-clock day for tz-aware dates)."""
    stamp = as_timestamp(value, name)
    return int(np.datetime64(stamp.to_datetime64(), "D").astype(np.int64))


def slices(n: int, size: int = SLICE_ROWS) -> Iterator[slice]:
    """Consecutive slices of ``size`` rows covering ``n`` rows: element-wise work on 100M rows in
    slices keeps its temporaries small next to the data."""
    return (slice(start, min(start + size, n)) for start in range(0, n, size))


def customer_codes(ids: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """Integer codes 0..k-1 for customer ids, and the ids of each code (sorted where possible).

    Dense integer ids map by offset (no hashing); other ids are factorized.

    Examples
    --------
    >>> codes, ids = customer_codes(pd.Series(["b", "a", "b"]))
    >>> codes.tolist(), ids.tolist()
    ([1, 0, 1], ['a', 'b'])
    """
    values = ids.to_numpy()
    if pd.api.types.is_integer_dtype(ids.dtype) and len(values):
        low, high = int(values.min()), int(values.max())
        if high - low < min(max(4 * len(values), 1024), 2**31):
            codes = np.empty(len(values), dtype=np.int32)  # half the memory of int64 at 100M rows
            for part in slices(len(values)):
                np.subtract(values[part], low, out=codes[part], casting="unsafe")
            return codes, np.arange(low, high + 1, dtype=values.dtype)
    if isinstance(ids.dtype, pd.CategoricalDtype):
        return ids.cat.codes.to_numpy().astype(np.int64), np.asarray(ids.cat.categories)
    # Hash first, then sort only the distinct ids: cheaper than factorize(sort=True).
    codes, uniques = pd.factorize(ids)
    try:
        order = np.asarray(uniques.argsort())
    except TypeError:  # ids of mixed, unorderable types keep their order of appearance
        return codes.astype(np.int64), np.asarray(uniques)
    rank = np.empty_like(order)
    rank[order] = np.arange(len(order))
    return rank[codes], np.asarray(uniques)[order]
