"""A raw retail export, simulated: invoices drawn from BG/NBD and Gamma-Gamma, written as messy line items.

The UCI "Online Retail" file (a UK gift wholesaler, 2010-2011) cannot be
redistributed; this draws data of its shape and dirt from models whose
parameters are known, so that a tutorial can check what cleaning and fitting
recover.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import cast

import numpy as np
import pandas as pd

from custvalue.checks import check_date, check_int, check_number, check_seed, invalid
from custvalue.models import BetaGeo, GammaGamma

__all__ = ["simulate_retail", "RETAIL_COLUMNS", "RETAIL_PURCHASE_PARAMS", "RETAIL_SPEND_PARAMS"]

#: The columns of the export, in the order of the UCI Online Retail file.
RETAIL_COLUMNS = ("InvoiceNo", "StockCode", "Description", "Quantity", "InvoiceDate", "UnitPrice", "CustomerID",
                  "Country")
#: BG/NBD parameters (weeks) of the default purchase process: about one order a month while active.
RETAIL_PURCHASE_PARAMS = {"r": 0.9, "alpha": 4.0, "a": 0.4, "b": 2.5}
#: Gamma-Gamma parameters of the default order values: mean p·v/(q − 1) = 300 (pounds).
RETAIL_SPEND_PARAMS = {"p": 4.0, "q": 5.0, "v": 300.0}

FIRST_INVOICE = 536365
FIRST_CUSTOMER = 12346
N_PRODUCTS = 400
OPENING, CLOSING = 8 * 60, 18 * 60  # orders are placed in office hours (minutes after midnight)
COUNTRIES = ("United Kingdom", "Germany", "France", "EIRE", "Spain", "Netherlands", "Belgium", "Switzerland",
             "Portugal", "Australia")
COUNTRY_SHARES = (0.88, 0.025, 0.02, 0.02, 0.01, 0.01, 0.01, 0.01, 0.005, 0.01)
_ADJECTIVES = ("WHITE", "RED", "PINK", "BLUE", "VINTAGE", "RETRO", "HEART", "STAR", "SPOTTY", "FLORAL", "JUMBO",
               "REGENCY", "PAPER", "GLASS", "WOODEN", "ZINC", "LARGE", "SMALL", "SET OF 3", "PACK OF 12")
_NOUNS = ("HANGING T-LIGHT HOLDER", "LANTERN", "CAKE CASES", "LUNCH BAG", "ALARM CLOCK", "TEACUP AND SAUCER",
          "BUNTING", "DOORMAT", "CANDLE", "NAPKINS", "JAM MAKING SET", "HOT WATER BOTTLE", "GIFT WRAP",
          "PHOTO FRAME", "STORAGE TIN", "CHARM", "PARTY BAG", "WATER BOTTLE", "CUSHION COVER", "MUG")


def simulate_retail(
    n_customers: int = 2_000,
    *,
    start: str | pd.Timestamp = "2010-12-01",
    end: str | pd.Timestamp = "2011-12-09",
    purchase_params: Mapping[str, float] | None = None,
    spend_params: Mapping[str, float] | None = None,
    lines_per_invoice: float = 5.0,
    cancelled_share: float = 0.04,
    guest_share: float = 0.08,
    duplicate_share: float = 0.003,
    free_line_share: float = 0.02,
    seed: int | None = None,
) -> pd.DataFrame:
    """A raw line-item export of an online retailer, in the shape of the UCI Online Retail file.

    Customers are acquired uniformly between ``start`` and ``end``; each
    one's orders follow BG/NBD (``purchase_params``, in weeks; drawn with
    ``BetaGeo.simulate_transactions``) and their values
    Gamma-Gamma (``spend_params``): a scale ν per customer, then each order's
    value Gamma(p, ν). Each order is then written as an export would write it:

    * several line items per invoice (``InvoiceNo``, six digits, numbered in
      time order), each a product (``StockCode``, ``Description``) of a
      catalogue price (``UnitPrice``) times a ``Quantity``: the order's value is
      shared among its lines, so Quantity × UnitPrice adds up to about the
      drawn value;
    * ``InvoiceDate`` as text such as ``"12/1/10 8:26"`` (month/day/year, in
      office hours), ``CustomerID`` as a float (12346.0 ...) and ``Country``;

    and with the dirt of a real export:

    * ``cancelled_share`` of the orders are partly or wholly cancelled 1 to 30
      days later (before ``end``): lines with negative quantities on an invoice
      "C" + the original number, same products and prices; and a few
      cancellations (one per 100 customers) of orders placed before ``start``,
      which are not in the export;
    * ``guest_share`` of the orders have no ``CustomerID`` (guest checkouts);
    * ``duplicate_share`` of the lines appear twice, the copy right after;
    * ``free_line_share`` of the orders carry a free sample: a line with
      ``UnitPrice`` 0.

    Parameters
    ----------
    n_customers : int, default 2000
        Customers with an account (guest orders are drawn among them, then lose their id).
    start, end : date-like
        The period of the export.
    purchase_params, spend_params : mapping, optional
        BG/NBD ``r, alpha, a, b`` (weeks) and Gamma-Gamma ``p, q, v``; by
        default ``RETAIL_PURCHASE_PARAMS`` (r = 0.9, α = 4, a = 0.4, b = 2.5:
        about one order a month while active) and ``RETAIL_SPEND_PARAMS``
        (p = 4, q = 5, v = 300: a mean order value of 300).
    lines_per_invoice : float, default 5
        Mean number of lines of an invoice (at least 1).
    cancelled_share, guest_share, duplicate_share, free_line_share : float
        The shares of dirt, each in [0, 1].
    seed : int, optional
        For reproducible draws.

    Returns
    -------
    DataFrame
        The columns ``RETAIL_COLUMNS`` (those of the UCI file), one row per line, in invoice
        order. ``attrs["simulation"]`` keeps the parameters and what was
        drawn: the ``purchase_params`` and ``spend_params``, ``customers``,
        ``orders`` and ``guest_orders``.

    Examples
    --------
    >>> import custvalue as cv
    >>> raw = cv.datasets.simulate_retail(300, seed=1)
    >>> raw.head(3)
      InvoiceNo StockCode                   Description  Quantity    InvoiceDate  UnitPrice  CustomerID         Country
    0    536365     21259  SMALL HANGING T-LIGHT HOLDER         3  12/1/10 16:05      22.25     12353.0  United Kingdom
    1    536365     21266              SET OF 3 DOORMAT         1  12/1/10 16:05      10.95     12353.0  United Kingdom
    2    536365    21273A        PACK OF 12 STORAGE TIN        14  12/1/10 16:05       2.15     12353.0  United Kingdom
    >>> bool(raw["InvoiceNo"].str.startswith("C").any()), bool(raw["CustomerID"].isna().any())
    (True, True)
    >>> int(raw.duplicated().sum()) > 0, bool((raw["UnitPrice"] == 0).any())
    (True, True)
    """
    n_customers = check_int(n_customers, "n_customers", low=1)
    first_day, last_day = check_date(start, "start"), check_date(end, "end")
    if last_day <= first_day:
        raise invalid("end", end, f"it must be after start ({first_day.date()})")
    purchase = BetaGeo.from_params(None, **_params(purchase_params, RETAIL_PURCHASE_PARAMS, "purchase_params"))
    spend = cast(GammaGamma, GammaGamma.from_params(None, **_params(spend_params, RETAIL_SPEND_PARAMS,
                                                                     "spend_params")))
    lines_per_invoice = check_number(lines_per_invoice, "lines_per_invoice", low=1, high=N_PRODUCTS)
    shares = {name: check_number(value, name, low=0, high=1) for name, value in (
        ("cancelled_share", cancelled_share), ("guest_share", guest_share), ("duplicate_share", duplicate_share),
        ("free_line_share", free_line_share))}
    rng = np.random.default_rng(check_seed(seed))
    catalogue = _catalogue(rng)

    # Orders: who, when (in office hours of the drawn day) and for how much.
    weeks = (last_day - first_day) / pd.Timedelta(weeks=1)
    T = rng.uniform(0.0, weeks, n_customers)
    log = purchase.simulate_transactions(n_customers, T, unit="W", observation_end=last_day,
                                         seed=int(rng.integers(2**31)))  # sorted by customer, then date
    # Every order's value from Gamma-Gamma: one scale per customer, then Gamma(p, scale) values.
    log["amount"] = spend.transaction_amounts(np.bincount(log["customer_id"], minlength=n_customers), rng)
    day = log["date"].dt.floor("D")
    when = day + pd.to_timedelta(rng.integers(OPENING, CLOSING, len(log)), unit="min")
    order = np.argsort(when.to_numpy(), kind="stable")
    orders = pd.DataFrame({"customer": log["customer_id"].to_numpy()[order], "when": when.to_numpy()[order],
                           "value": log["amount"].to_numpy()[order]})
    orders["invoice"] = FIRST_INVOICE + np.arange(len(orders))
    guest = rng.random(len(orders)) < shares["guest_share"]

    lines = _lines(orders, catalogue, lines_per_invoice, rng)
    customer_ids = FIRST_CUSTOMER + rng.permutation(n_customers * 3)[:n_customers]
    country = rng.choice(len(COUNTRIES), n_customers, p=np.asarray(COUNTRY_SHARES) / sum(COUNTRY_SHARES))
    lines["customer"] = np.where(guest[lines["order"]], -1, orders["customer"].to_numpy()[lines["order"]])
    lines["when"] = orders["when"].to_numpy()[lines["order"]]
    lines["invoice"] = orders["invoice"].astype(str).to_numpy()[lines["order"]]

    free = _free_samples(orders, catalogue, shares["free_line_share"], rng, guest)
    cancels = _cancellations(lines, orders, shares["cancelled_share"], last_day, rng)
    orphans = _orphan_cancellations(n_customers, catalogue, first_day, rng)
    export = pd.concat([lines, free, cancels, orphans], ignore_index=True)
    export = export.sort_values(["when", "invoice", "line"], kind="stable", ignore_index=True)
    copies = np.flatnonzero(rng.random(len(export)) < shares["duplicate_share"])
    export = export.iloc[np.sort(np.concatenate([np.arange(len(export)), copies]))].reset_index(drop=True)

    known = export["customer"].to_numpy() >= 0
    who = np.where(known, export["customer"].to_numpy(), 0)
    frame = pd.DataFrame({
        "InvoiceNo": export["invoice"].to_numpy(),
        "StockCode": catalogue["code"].to_numpy()[export["product"]],
        "Description": catalogue["description"].to_numpy()[export["product"]],
        "Quantity": export["quantity"].to_numpy(dtype=np.int64),
        "InvoiceDate": _export_dates(pd.Series(export["when"].to_numpy())),
        "UnitPrice": export["price"].to_numpy(dtype=float),
        "CustomerID": np.where(known, customer_ids[who].astype(float), np.nan),
        "Country": np.asarray(COUNTRIES)[np.where(known, country[who], 0)],
    })
    frame.attrs["simulation"] = {
        "purchase_params": {k: float(v) for k, v in purchase.params_.items()},
        "spend_params": {k: float(v) for k, v in spend.params_.items()},
        "customers": n_customers, "orders": len(orders), "guest_orders": int(guest.sum()),
        "start": str(first_day.date()), "end": str(last_day.date()),
    }
    return frame


def _params(given: Mapping[str, float] | None, default: dict[str, float], name: str) -> dict[str, float]:
    if given is None:
        return dict(default)
    if not isinstance(given, Mapping) or set(given) != set(default):
        raise invalid(name, given, f"it must give {sorted(default)}, e.g. {name}={default}")
    return {key: check_number(value, f"{name}[{key!r}]", low=0, low_open=True) for key, value in given.items()}


def _catalogue(rng: np.random.Generator) -> pd.DataFrame:
    """Products: a five-digit code (some with a letter), a description and a price in steps of a penny."""
    codes = (21000 + np.arange(N_PRODUCTS) * 7 % 2000).astype(str)
    lettered = rng.random(N_PRODUCTS) < 0.15
    codes = np.where(lettered, np.char.add(codes, rng.choice(list("ABCDE"), N_PRODUCTS)), codes)
    descriptions = [f"{_ADJECTIVES[i % len(_ADJECTIVES)]} {_NOUNS[(i * 7 + i // len(_ADJECTIVES)) % len(_NOUNS)]}"
                    for i in range(N_PRODUCTS)]
    prices = np.round(np.exp(rng.normal(np.log(2.5), 0.8, N_PRODUCTS)), 1) + 0.05
    return pd.DataFrame({"code": codes, "description": descriptions, "price": np.round(prices, 2)})


def _lines(orders: pd.DataFrame, catalogue: pd.DataFrame, mean_lines: float,
           rng: np.random.Generator) -> pd.DataFrame:
    """Line items sharing each order's value: distinct products, whole quantities, catalogue prices."""
    n_lines = 1 + rng.poisson(mean_lines - 1.0, len(orders))
    order = np.repeat(np.arange(len(orders)), n_lines)
    line = np.arange(len(order)) - np.repeat(np.cumsum(n_lines) - n_lines, n_lines)
    product = (rng.integers(0, N_PRODUCTS, len(orders))[order] + line) % N_PRODUCTS  # distinct within an order
    weight = rng.gamma(1.0, 1.0, len(order))
    share = weight / np.bincount(order, weights=weight)[order]
    price = catalogue["price"].to_numpy()[product]
    quantity = np.maximum(1, np.round(orders["value"].to_numpy()[order] * share / price)).astype(np.int64)
    return pd.DataFrame({"order": order, "line": line, "product": product, "quantity": quantity, "price": price})


def _free_samples(orders: pd.DataFrame, catalogue: pd.DataFrame, share: float, rng: np.random.Generator,
                  guest: np.ndarray) -> pd.DataFrame:
    """A line at price 0 at the end of some orders."""
    chosen = np.flatnonzero(rng.random(len(orders)) < share)
    return pd.DataFrame({
        "order": chosen, "line": 999, "product": rng.integers(0, N_PRODUCTS, len(chosen)),
        "quantity": rng.integers(1, 13, len(chosen)), "price": 0.0,
        "customer": np.where(guest[chosen], -1, orders["customer"].to_numpy()[chosen]),
        "when": orders["when"].to_numpy()[chosen], "invoice": orders["invoice"].astype(str).to_numpy()[chosen],
    })


def _cancellations(lines: pd.DataFrame, orders: pd.DataFrame, share: float, end: pd.Timestamp,
                   rng: np.random.Generator) -> pd.DataFrame:
    """Some orders of known customers cancelled in part or whole, 1 to 30 days later (before ``end``)."""
    n_orders = len(orders)
    when = orders["when"].to_numpy() + pd.to_timedelta(rng.integers(1, 31, n_orders), unit="D").to_numpy()
    cancelled = (rng.random(n_orders) < share) & (when <= end.to_datetime64() + np.timedelta64(1, "D"))
    candidates = lines[(lines["customer"] >= 0).to_numpy() & cancelled[lines["order"].to_numpy()]]
    whole = rng.random(n_orders) < 0.5  # half the cancellations undo the whole order
    taken = whole[candidates["order"].to_numpy()] | (rng.random(len(candidates)) < 0.4)
    picked = candidates[taken]
    of = picked["order"].to_numpy()
    quantity = picked["quantity"].to_numpy()
    returned = np.where(whole[of], quantity, rng.integers(1, quantity + 1))
    return picked.assign(quantity=-returned, when=when[of],
                         invoice=np.char.add("C", picked["invoice"].to_numpy().astype(str)))


def _orphan_cancellations(n_customers: int, catalogue: pd.DataFrame, start: pd.Timestamp,
                          rng: np.random.Generator) -> pd.DataFrame:
    """Cancellations, in the first weeks of the export, of orders placed before it (and so not in it)."""
    n = max(1, n_customers // 100)
    product = rng.integers(0, N_PRODUCTS, n)
    return pd.DataFrame({
        "order": -1, "line": 0, "product": product, "quantity": -rng.integers(1, 13, n),
        "price": catalogue["price"].to_numpy()[product], "customer": rng.integers(0, n_customers, n),
        "when": start + pd.to_timedelta(rng.integers(0, 21, n), unit="D")
        + pd.to_timedelta(rng.integers(OPENING, CLOSING, n), unit="min"),
        "invoice": np.char.add("C", (FIRST_INVOICE - 1 - rng.integers(0, 5_000, n)).astype(str)),
    })


def _export_dates(when: pd.Series) -> pd.Series:
    """Dates written like 12/1/10 8:26: month/day/two-digit year, hour without its leading zero."""
    two = when.dt.year % 100
    return (when.dt.month.astype(str) + "/" + when.dt.day.astype(str) + "/" + two.astype(str).str.zfill(2) + " "
            + when.dt.hour.astype(str) + ":" + when.dt.minute.astype(str).str.zfill(2))
