"""The simulated retail export: its shape and dirt, exact bookkeeping through clean, and the models it was drawn
from found again."""

import numpy as np
import pandas as pd
import pytest

import custvalue as cv
from custvalue.datasets import RETAIL_COLUMNS, RETAIL_PURCHASE_PARAMS, RETAIL_SPEND_PARAMS, simulate_retail
from custvalue.datasets.retail import FIRST_INVOICE
from custvalue.errors import InvalidParameterError, MissingColumnError

RAW = simulate_retail(1_500, seed=3)


def cleaned(raw, **options):
    tx = raw.assign(amount=raw["Quantity"] * raw["UnitPrice"], order=raw["InvoiceNo"].str.removeprefix("C"))
    return cv.clean(tx, columns={"CustomerID": "customer_id", "InvoiceDate": "date"}, date_format="%m/%d/%y %H:%M",
                    duplicates="drop", negative_amounts="net", net_by=["order", "StockCode"], **options)


def test_shape_of_the_export():
    assert tuple(RAW.columns) == RETAIL_COLUMNS
    assert RAW["Quantity"].dtype == np.int64 and RAW["UnitPrice"].dtype == np.float64
    assert RAW["CustomerID"].dtype == np.float64  # as pandas reads an id column with gaps
    dates = pd.to_datetime(RAW["InvoiceDate"], format="%m/%d/%y %H:%M")
    assert dates.min() >= pd.Timestamp("2010-12-01") and dates.max() < pd.Timestamp("2011-12-10")
    assert dates.dt.hour.between(8, 17).all()  # office hours
    assert RAW["InvoiceDate"].str.fullmatch(r"\d{1,2}/\d{1,2}/\d\d \d{1,2}:\d\d").all()
    sales = RAW[~RAW["InvoiceNo"].str.startswith("C")]
    numbers = sales["InvoiceNo"].astype(int)
    assert numbers.min() == FIRST_INVOICE and numbers.is_monotonic_increasing  # numbered in time order
    paid = sales[sales["UnitPrice"] > 0].drop_duplicates()  # a free sample may repeat a product of its invoice
    assert (paid.groupby("InvoiceNo")["StockCode"].nunique() == paid.groupby("InvoiceNo").size()).all()
    assert RAW.attrs["simulation"]["purchase_params"] == RETAIL_PURCHASE_PARAMS


def test_the_dirt_is_there():
    cancels = RAW[RAW["InvoiceNo"].str.startswith("C")]
    assert len(cancels) and (cancels["Quantity"] < 0).all() and (RAW.loc[RAW["Quantity"] < 0].index
                                                                 .equals(cancels.index))
    assert RAW["CustomerID"].isna().mean() == pytest.approx(0.08, abs=0.03)
    copies = RAW.duplicated()
    assert copies.sum() > 0 and RAW.loc[copies].index.isin(RAW.index[:-1] + 1).all()
    assert RAW.loc[RAW.index[copies] - 1].reset_index(drop=True).equals(RAW.loc[copies].reset_index(drop=True))
    assert ((RAW["UnitPrice"] == 0) & RAW["CustomerID"].notna()).sum() > 0


def test_cancellations_refer_to_earlier_invoices_of_the_same_customer():
    cancels = RAW[RAW["InvoiceNo"].str.startswith("C")].assign(order=lambda d: d["InvoiceNo"].str[1:])
    sales = RAW[~RAW["InvoiceNo"].str.startswith("C")].drop_duplicates()
    known = cancels["order"].astype(int) >= FIRST_INVOICE
    matched = cancels[known].merge(sales, left_on=["order", "StockCode"], right_on=["InvoiceNo", "StockCode"],
                                   suffixes=("", "_sale"))
    assert len(matched) == known.sum()  # each line of a known order's cancellation finds its sale line
    assert (matched["CustomerID"] == matched["CustomerID_sale"]).all()
    assert (-matched["Quantity"] <= matched["Quantity_sale"]).all()
    assert (matched["UnitPrice"] == matched["UnitPrice_sale"]).all()
    when = pd.to_datetime(matched["InvoiceDate"], format="%m/%d/%y %H:%M")
    assert (when > pd.to_datetime(matched["InvoiceDate_sale"], format="%m/%d/%y %H:%M")).all()
    assert len(cancels[~known].drop_duplicates()) == 15  # one order before the export cancelled per 100 customers


def test_clean_accounts_for_every_cancelled_pound():
    tx = cleaned(RAW)
    report = cv.cleaning_report(tx)
    cancels = RAW[RAW["InvoiceNo"].str.startswith("C") & ~RAW.duplicated()]
    value = -(cancels["Quantity"] * cancels["UnitPrice"])
    before_export = cancels["InvoiceNo"].str[1:].astype(int) < FIRST_INVOICE
    # Cancellations of orders in the export net in full against them; those of earlier orders find nothing.
    assert report.netting["netted"] == pytest.approx(value[~before_export].sum(), rel=1e-12)
    assert report.netting["unmatched"] == pytest.approx(value[before_export].sum(), rel=1e-12)
    assert report.dropped["unmatched_return"] == before_export.sum()
    assert report.dropped["missing_customer_id"] == RAW["CustomerID"].isna().sum()
    assert report.dropped["duplicate"] == RAW[RAW["CustomerID"].notna()].duplicated().sum()
    assert report.rows_in == report.rows_kept + report.rows_dropped == len(RAW)
    assert (tx["amount"] >= 0).all() and len(cv.summarize(tx)) > 0


def test_the_models_it_was_drawn_from_are_found_again():
    # Without dirt, BG/NBD on the clean summary finds the parameters the orders were drawn from (within its 99%
    # intervals), and Gamma-Gamma the mean order value p·v/(q − 1) = 300. Orders are drawn in continuous time:
    # counted by the hour, as here; by the day, the 2% of orders that fall on a day with another merge into it.
    raw = simulate_retail(6_000, cancelled_share=0.0, guest_share=0.0, duplicate_share=0.0, free_line_share=0.0,
                          seed=11)
    summary = cv.summarize(cleaned(raw), unit="W", grain="h", observation_end="2011-12-09")
    purchase = cv.models.get("bgnbd").fit(summary)
    truth = pd.Series(RETAIL_PURCHASE_PARAMS)
    low, high = purchase.parameter_intervals(0.99).T.to_numpy()
    assert ((low <= truth.to_numpy()) & (truth.to_numpy() <= high)).all(), purchase.params_
    spend = cv.models.get("gammagamma").fit(summary)
    low, high = spend.parameter_intervals(0.99).T.to_numpy()
    truth = pd.Series(RETAIL_SPEND_PARAMS).to_numpy()
    assert ((low <= truth) & (truth <= high)).all(), spend.params_
    p, q, v = truth
    assert spend.population_mean_spend() == pytest.approx(p * v / (q - 1), rel=0.05)
    # Each order's value is Gamma(p, ν): the fit on every order's value finds p too (within the 5% that
    # rounding line quantities to whole numbers moves it).
    individual = cv.models.get("gammagamma_individual").fit(summary)
    assert individual.params_["p"] == pytest.approx(p, rel=0.05)


def test_seeded_draws_repeat_and_arguments_are_checked():
    pd.testing.assert_frame_equal(simulate_retail(200, seed=5), simulate_retail(200, seed=5))
    assert not simulate_retail(200, seed=5).equals(simulate_retail(200, seed=6))
    with pytest.raises(InvalidParameterError, match="n_customers=0 is not valid"):
        simulate_retail(0)
    with pytest.raises(InvalidParameterError, match="guest_share=1.5 is not valid"):
        simulate_retail(10, guest_share=1.5)
    with pytest.raises(InvalidParameterError, match=r"purchase_params=\{'r': 1.0\} is not valid: it must give"):
        simulate_retail(10, purchase_params={"r": 1.0})
    with pytest.raises(InvalidParameterError, match="end='2010-01-01' is not valid: it must be after start"):
        simulate_retail(10, end="2010-01-01")


def test_kpis_count_invoices_of_line_items():
    tx = cleaned(RAW)
    by_line, by_invoice = cv.kpis(tx)["value"], cv.kpis(tx, order_id="order")["value"]
    invoices = len(tx[["customer_id", "order"]].drop_duplicates())
    assert by_line["orders"] == len(tx) and by_invoice["orders"] == invoices < len(tx)
    assert by_invoice["average_order_value"] == pytest.approx(tx["amount"].sum() / invoices, rel=1e-12)
    with pytest.raises(MissingColumnError, match=r"order_id='InvoiceNumber': no such column.*did you mean"):
        cv.kpis(tx, order_id="InvoiceNumber")
