"""Datasets, schemas and errors, time units and the accessor."""

import inspect

import numpy as np
import pandas as pd
import pytest

import custvalue as cv
from custvalue import accessor
from custvalue.errors import CustValueError, InvalidParameterError, NotFittedError, SchemaError
from custvalue.timeunits import days_per_unit


def test_cdnow_master_facts():
    # REFERENCE: 69,659 transactions of 23,570 customers, 1997-01-01 .. 1998-06-30.
    tx = cv.datasets.load_cdnow()
    assert list(tx.columns) == ["customer_id", "date", "quantity", "amount"]
    assert len(tx) == 69_659 and tx["customer_id"].nunique() == 23_570
    assert tx["date"].min() == pd.Timestamp("1997-01-01") and tx["date"].max() == pd.Timestamp("1998-06-30")
    assert (tx["amount"] == 0).sum() == 80
    assert tx.duplicated().sum() == 255
    assert tx.duplicated(["customer_id", "date"]).sum() == 2_068


def test_cdnow_sample_and_donations():
    tx = cv.datasets.load_cdnow(sample=True)
    assert len(tx) == 6_919 and tx["customer_id"].nunique() == 2_357
    donations = cv.datasets.load_donations()
    assert list(donations.columns) == ["frequency", "recency", "periods", "weights"]
    assert donations["weights"].sum() == 11_104 and (donations["periods"] == 6).all()


def test_units_are_calendar_exact():
    assert days_per_unit("D") == 1 and days_per_unit("W") == 7
    assert days_per_unit("M") == pytest.approx(30.436875)
    assert days_per_unit("Y") == 365.2425
    with pytest.raises(InvalidParameterError, match="unit='Q' is not valid"):
        days_per_unit("Q")


def test_errors_inherit_the_builtins_users_catch():
    assert issubclass(SchemaError, ValueError) and issubclass(SchemaError, CustValueError)
    assert issubclass(NotFittedError, AttributeError) and issubclass(NotFittedError, ValueError)
    assert issubclass(InvalidParameterError, TypeError)
    assert issubclass(cv.ConvergenceError, RuntimeError)
    assert issubclass(cv.UnknownModelError, ValueError)


def test_clean_transactions_schema_lists_every_problem_at_once():
    frame = pd.DataFrame({"customer_id": [1, None], "date": ["x", "y"], "amount": [1.0, np.inf]})
    with pytest.raises(SchemaError) as info:
        cv.validate(frame, cv.CleanTransactions)
    text = str(info.value)
    assert "3 rule(s) broken" in text
    assert "'customer_id'" in text and "'date'" in text and "'amount'" in text
    assert set(info.value.failure_cases["check"]) >= {"not_nullable", "datetime", "finite"}
    good = cv.clean(cv.datasets.load_cdnow(sample=True))
    assert cv.validate(good, cv.CleanTransactions) is good


def test_raw_schema_only_needs_the_columns():
    with pytest.raises(SchemaError, match="column_in_dataframe"):
        cv.validate(pd.DataFrame({"customer_id": [1]}), cv.RawTransactions)
    raw = cv.datasets.load_cdnow(sample=True)
    assert cv.validate(raw, cv.RawTransactions) is raw


def accessor_methods():
    return [name for name in dir(accessor.CustValueAccessor)
            if isinstance(inspect.getattr_static(accessor.CustValueAccessor, name), accessor.Step)]


FUNCTION_OF = {"filter": "filter_customers"}  # accessor method -> function, where the names differ


@pytest.mark.parametrize("name", accessor_methods())
def test_accessor_method_shows_its_function(name):
    # What help() and Shift-Tab in a notebook show: the function's signature without the frame, its docstring.
    function = getattr(cv, FUNCTION_OF.get(name, name))
    method = getattr(pd.DataFrame().cv, name)
    expected = list(inspect.signature(function).parameters.values())[1:]
    actual = list(inspect.signature(method).parameters.values())
    assert [(p.name, p.kind, p.default) for p in actual] == [(p.name, p.kind, p.default) for p in expected]
    assert inspect.getdoc(method) == inspect.getdoc(function)
    assert "Parameters\n----------" in inspect.getdoc(method) or "Examples" in inspect.getdoc(method)


def test_help_on_the_accessor_shows_parameter_docs():
    doc = inspect.getdoc(pd.DataFrame().cv.score)
    assert "spend_model : str, class, instance or None" in doc and "discount_rate : float" in doc


ACCESSOR_CALLS = {
    "clean": ((), {"observation_end": "1997-06-30"}),
    "summarize": (("W", "1997-09-30"), {}),
    "calibration_holdout": (("1997-06-30", "1997-09-30"), {}),
    "score": (("bgnbd", "gammagamma", 39), {"observation_end": "1997-09-30", "discount_rate": 0.01}),
    "segment": (("rfm",), {}),
    "segment_summary": ((), {}),
    "filter": (("Champions",), {"top": 10}),
    "kpis": (("1997-03-01", "1997-06-30"), {"costs": 100.0}),
    "cohort_retention": (("W",), {}),
    "uplift": ((), {"segment": "At Risk", "purchase_rate": 1.1, "cost_per_customer": 1.0}),
    "measure_uplift": (("treated", "revenue", "segment"), {"n_boot": 100}),
}
NEEDS = {  # what the frame must have been through first
    "segment": "scored", "segment_summary": "segmented", "filter": "segmented", "uplift": "segmented",
    "measure_uplift": "campaign",
}


def test_accessor_parity_covers_every_method():
    assert set(accessor_methods()) == set(ACCESSOR_CALLS)


@pytest.mark.parametrize("name", sorted(ACCESSOR_CALLS))
def test_accessor_gives_the_same_result(name):
    frame = cv.datasets.load_cdnow(sample=True)
    if NEEDS.get(name) == "campaign":
        frame = cv.simulate_campaign(600, seed=0)
    if NEEDS.get(name) in ("scored", "segmented"):
        frame = cv.score(frame, horizon=10)
    if NEEDS.get(name) == "segmented":
        frame = cv.segment(frame, "rfm")
    args, kwargs = ACCESSOR_CALLS[name]
    via_accessor = getattr(frame.cv, name)(*args, **kwargs)
    via_function = getattr(cv, FUNCTION_OF.get(name, name))(frame, *args, **kwargs)
    pd.testing.assert_frame_equal(via_accessor, via_function)


def test_accessor_report_and_no_state():
    tx = cv.datasets.load_cdnow(sample=True)
    assert set(vars(tx.cv)) == {"_frame"}  # nothing but the frame it was built on
    assert tx.cv.clean().cv.report.dropped["duplicate"] == cv.cleaning_report(cv.clean(tx)).dropped["duplicate"]


def test_fast_summary_check_agrees_with_pandera():
    from custvalue.schemas import CustomerSummary
    from custvalue.validation import _summary_obviously_valid

    good = cv.datasets.load_cdnow_summary()
    assert _summary_obviously_valid(good)
    CustomerSummary.validate(good)  # pandera agrees
    bad_frames = [
        good.assign(recency=good["T"] + 1), good.assign(frequency=-1.0), good.assign(frequency=0.5),
        good.assign(monetary_value=np.inf), good.assign(recency=np.nan), pd.concat([good, good.iloc[:1]]),
        good.assign(recency=np.where(good["frequency"] == 0, 1.0, good["recency"])),
    ]
    # Text columns are left to pandera, which coerces numbers written as text.
    assert not _summary_obviously_valid(good.assign(frequency=good["frequency"].astype(str)))
    for bad in bad_frames:
        assert not _summary_obviously_valid(bad)
        with pytest.raises(SchemaError):
            cv.validate(bad, cv.CustomerSummary)
