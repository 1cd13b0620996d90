"""Bundled data: the CDNOW transactions and the BG/BB donations data; a simulated raw retail export.

The files ship inside the installed ``lifetimes`` package (a dependency of
custvalue); nothing is downloaded and nothing is copied into custvalue.
:func:`simulate_retail` draws a messy line-item export in the shape of the UCI
Online Retail file from models with known parameters.
"""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path

import pandas as pd

from custvalue.checks import check_bool, check_text, invalid
from custvalue.datasets.retail import RETAIL_COLUMNS, RETAIL_PURCHASE_PARAMS, RETAIL_SPEND_PARAMS, simulate_retail

__all__ = ["load_cdnow", "load_cdnow_summary", "load_donations", "data_path", "simulate_retail", "RETAIL_COLUMNS",
           "RETAIL_PURCHASE_PARAMS", "RETAIL_SPEND_PARAMS"]


def data_path(filename: str) -> Path:
    """Path of a data file shipped in ``lifetimes/datasets``.

    Examples
    --------
    >>> data_path("CDNOW_sample.txt").name
    'CDNOW_sample.txt'
    """
    check_text(filename, "filename", example="CDNOW_sample.txt")
    if os.path.basename(filename) != filename or filename in (".", ".."):
        raise invalid("filename", filename, "it must be the name of a file in lifetimes/datasets, without a folder")
    # find_spec locates the package without importing it (importing lifetimes is slow and noisy).
    spec = importlib.util.find_spec("lifetimes")
    if spec is None or spec.origin is None:
        raise FileNotFoundError("the lifetimes package is not installed; `pip install lifetimes`")
    path = Path(spec.origin).parent / "datasets" / filename
    if not path.exists():
        raise FileNotFoundError(
            f"{filename} is not in the installed lifetimes package ({path.parent}); "
            "reinstall it with `pip install --force-reinstall lifetimes`"
        )
    return path


def load_cdnow(sample: bool = False) -> pd.DataFrame:
    """Load the CDNOW music purchase transactions, raw (duplicates and zero amounts included).

    Parameters
    ----------
    sample : bool, default False
        False: the full master file, 69,659 transactions of 23,570 customers
        from 1997-01-01 to 1998-06-30. True: the 1/10 sample of 2,357
        customers used by Fader, Hardie & Lee (2005), with its 1..2357 ids.

    Returns
    -------
    DataFrame
        Columns ``customer_id`` (int64), ``date`` (datetime64), ``quantity``
        (number of CDs, int64) and ``amount`` (dollars, float64), in file order.

    Examples
    --------
    >>> tx = load_cdnow()
    >>> len(tx), tx["customer_id"].nunique()
    (69659, 23570)
    >>> load_cdnow(sample=True)["customer_id"].agg(["min", "max", "nunique"]).tolist()
    [1, 2357, 2357]
    """
    if check_bool(sample, "sample"):
        raw = pd.read_csv(
            data_path("CDNOW_sample.txt"), sep=r"\s+", header=None,
            names=["original_id", "customer_id", "date", "quantity", "amount"],
        )
    else:
        raw = pd.read_csv(data_path("CDNOW_master.txt"), sep=r"\s+")
        raw.columns = ["customer_id", "date", "quantity", "amount"]
    return pd.DataFrame(
        {
            "customer_id": raw["customer_id"].astype("int64"),
            "date": pd.to_datetime(raw["date"].astype(str), format="%Y%m%d"),
            "quantity": raw["quantity"].astype("int64"),
            "amount": raw["amount"].astype("float64"),
        }
    )


def load_cdnow_summary() -> pd.DataFrame:
    """The published calibration summary of the CDNOW sample (Fader, Hardie & Lee 2005).

    Calibration ends 1997-09-30; times are in weeks (days / 7) rounded to two
    decimals; ``monetary_value`` is the mean value of repeat purchases (zbar).

    Examples
    --------
    >>> s = load_cdnow_summary()
    >>> s.loc[1].tolist()
    [2.0, 30.43, 38.86, 22.35]
    """
    raw = pd.read_csv(data_path("cdnow_customers_summary_with_transactions.csv"))
    summary = raw.rename(
        columns={"ID": "customer_id", "x": "frequency", "t_x": "recency", "zbar": "monetary_value"}
    ).set_index("customer_id")
    return summary.astype({"frequency": "float64"})[["frequency", "recency", "T", "monetary_value"]]


def load_donations() -> pd.DataFrame:
    """The donations data of Fader, Hardie & Berger (2010), for the BG/BB model.

    One row per distinct pattern: ``frequency`` (repeat donations),
    ``recency`` (the last donation opportunity used), ``periods`` (opportunities,
    6) and ``weights`` (how many donors share the pattern; 11,104 in all).

    Examples
    --------
    >>> d = load_donations()
    >>> len(d), int(d["weights"].sum())
    (22, 11104)
    """
    return pd.read_csv(data_path("donations.csv"))
