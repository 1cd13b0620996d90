"""clean(): policies, parsing, row accounting."""

import re

import numpy as np
import pandas as pd
import pytest

import custvalue as cv
from custvalue.clean import REASONS
from custvalue.errors import InvalidParameterError, SchemaError


def raw_frame():
    return pd.DataFrame(
        {
            "cust": ["a", "a", "a", None, "b", "b", "c", "c", "d"],
            "when": ["2024-01-05", "2024-01-05", "2024-01-06", "2024-01-07", "not a date",
                     "2024-01-08", "2024-01-09", "2024-03-01", "2024-01-10"],
            "value": [10.0, 10.0, 0.0, 5.0, 3.0, -4.0, 8.0, 9.0, np.nan],
            "channel": ["web", "web", "web", "shop", "web", "shop", "web", "web", "web"],
        },
        index=pd.Index([10, 11, 12, 13, 14, 15, 16, 17, 18], name="row"),
    )


MAPPING = {"cust": "customer_id", "when": "date", "value": "amount"}


def test_every_row_is_accounted_for_with_its_first_reason():
    raw = raw_frame()
    out = cv.clean(raw, columns=MAPPING, observation_end="2024-02-01", duplicates="drop", zero_amounts="drop")
    report = cv.cleaning_report(out)
    assert report.rows_in == 9
    assert report.rows_kept == 2 == len(out)
    assert report.rows_in == report.rows_kept + report.rows_dropped
    expected = {
        "missing_customer_id": 1,
        "missing_amount": 1,
        "unparseable_date": 1,
        "duplicate": 1,
        "zero_amount": 1,
        "negative_amount": 1,
        "after_observation_end": 1,
    }
    assert {k: v for k, v in report.dropped.items() if v} == expected
    assert set(report.dropped) == set(REASONS)
    # The positions point at the exact input rows.
    assert raw.index[report.positions["duplicate"]].tolist() == [11]
    assert raw.index[report.positions["after_observation_end"]].tolist() == [17]
    dropped = report.dropped_rows(raw)
    assert sorted(dropped.index) == [11, 12, 13, 14, 15, 17, 18]
    assert dropped.loc[15, "reason"] == "negative_amount"
    # Kept rows keep their original index, canonical names and types, other columns.
    assert out.index.tolist() == [10, 16]
    assert list(out.columns) == ["customer_id", "date", "amount", "channel"]
    assert out["date"].tolist() == [pd.Timestamp("2024-01-05"), pd.Timestamp("2024-01-09")]
    assert out["amount"].dtype == np.float64


def test_input_is_never_mutated():
    raw = raw_frame()
    before = raw.copy(deep=True)
    cv.clean(raw, columns=MAPPING)
    pd.testing.assert_frame_equal(raw, before)


def test_keep_policies_flag_but_keep():
    out = cv.clean(raw_frame(), columns=MAPPING, zero_amounts="keep", negative_amounts="keep",
                   duplicates="keep")
    report = cv.cleaning_report(out)
    assert report.kept_flagged == {"duplicate": 1, "zero_amount": 1, "negative_amount": 1}
    assert report.rows_kept == 6
    assert sorted(out["amount"].tolist()) == [-4.0, 0.0, 8.0, 9.0, 10.0, 10.0]


@pytest.mark.parametrize(
    "policy, reason",
    [("duplicates", "duplicate"), ("zero_amounts", "zero_amount"), ("negative_amounts", "negative_amount"),
     ("missing", "missing_customer_id"), ("invalid", "unparseable_date")],
)
def test_raise_policy_names_column_rule_and_rows(policy, reason):
    with pytest.raises(SchemaError) as info:
        cv.clean(raw_frame(), columns=MAPPING, **{policy: "raise"})
    message = str(info.value)
    assert reason in message and "How to fix" in message
    assert len(info.value.failure_cases) == 1


def test_cdnow_master_report_shows_duplicates_and_zero_amounts():
    tx = cv.datasets.load_cdnow()
    # REFERENCE: CDNOW_master has 255 exact duplicate rows and 80 rows with dollar_value 0.
    kept = cv.cleaning_report(cv.clean(tx))  # kept by default, and counted
    assert kept.kept_flagged == {"duplicate": 255, "zero_amount": 80} and kept.rows_kept == 69_659
    assert "duplicate                    255 kept" in str(kept)
    report = cv.cleaning_report(cv.clean(tx, duplicates="drop", zero_amounts="drop"))
    assert report.dropped["duplicate"] == 255
    assert report.dropped["zero_amount"] == 80
    assert report.rows_kept == 69_659 - 255 - 80
    text = str(report)
    assert "duplicate" in text and "255" in text and "zero_amount" in text
    html = report._repr_html_()
    assert "<table" in html and "255" in html


def test_date_forms_yyyymmdd_integers_tz_aware_and_mixed_strings():
    ints = cv.clean(pd.DataFrame({"customer_id": [1, 2], "date": [19970101, 19970231], "amount": [1.0, 2.0]}))
    assert ints["date"].tolist() == [pd.Timestamp("1997-01-01")]
    assert cv.cleaning_report(ints).dropped["unparseable_date"] == 1  # 31 February
    aware = pd.DataFrame({"customer_id": [1, 1], "amount": [1.0, 2.0],
                          "date": pd.to_datetime(["2024-01-01 23:00", "2024-01-02 01:00"]).tz_localize("Europe/Paris")})
    out = cv.clean(aware, observation_end="2024-01-02 00:30")
    assert str(out["date"].dt.tz) == "Europe/Paris" and len(out) == 1
    mixed = cv.clean(pd.DataFrame({"customer_id": [1, 1, 1], "amount": [1.0, 2.0, 3.0],
                                   "date": ["2024-01-05", "January 7, 2024", "2024/01/09"]}))
    assert mixed["date"].dt.day.tolist() == [5, 7, 9]


def test_amounts_as_text_are_parsed_and_bad_ones_dropped():
    out = cv.clean(pd.DataFrame({"customer_id": [1, 1, 1], "date": ["2024-01-01"] * 3,
                                 "amount": ["1.5", "abc", "inf"]}))
    assert out["amount"].tolist() == [1.5]
    assert cv.cleaning_report(out).dropped["non_numeric_amount"] == 2


@pytest.mark.parametrize(
    "frame, fragment",
    [
        (pd.DataFrame({"customer": [1], "date": ["2024-01-01"], "amount": [1.0]}), "did you mean 'customer'"),
        (pd.DataFrame({"customer_id": [], "date": [], "amount": []}), "empty"),
        (pd.DataFrame({"customer_id": [1, 2], "date": ["2024-01-01"] * 2, "amount": [np.nan, np.nan]}),
         "every one of the 2 rows"),
        (pd.DataFrame({"customer_id": [1, 2], "date": ["2024-01-01"] * 2, "amount": ["x", "y"]}),
         "holds no numbers"),
        (pd.DataFrame({"customer_id": [1, 2], "date": ["soon", "later"], "amount": [1.0, 2.0]}),
         "holds no readable dates"),
    ],
)
def test_bad_input_gets_a_clear_error(frame, fragment):
    with pytest.raises(SchemaError, match=fragment):
        cv.clean(frame)


def test_unknown_policy_and_mapping_errors():
    tx = pd.DataFrame({"customer_id": [1], "date": ["2024-01-01"], "amount": [1.0]})
    with pytest.raises(InvalidParameterError, match="duplicates='maybe'"):
        cv.clean(tx, duplicates="maybe")
    with pytest.raises(SchemaError, match="not in the frame"):
        cv.clean(tx, columns={"nope": "customer_id"})


def test_report_travels_with_the_frame_and_is_missing_elsewhere():
    out = cv.clean(cv.datasets.load_cdnow(sample=True))
    chained = out[out["amount"] > 20].sort_values("date").assign(x=1)
    assert cv.cleaning_report(chained) is cv.cleaning_report(out)
    with pytest.raises(InvalidParameterError, match="Run custvalue.clean"):
        cv.cleaning_report(pd.DataFrame({"a": [1]}))


def test_hashed_duplicate_detection_is_exact():
    from custvalue.clean import exact_duplicates

    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"customer_id": rng.integers(0, 50, 5000), "day": rng.integers(0, 20, 5000),
                          "amount": rng.integers(0, 3, 5000) * 1.5, "note": rng.choice(["a", "b"], 5000)})
    expected = frame.duplicated().to_numpy()
    assert expected.sum() > 100  # plenty of duplicates to find
    np.testing.assert_array_equal(exact_duplicates(frame, hash_above=0), expected)
    np.testing.assert_array_equal(exact_duplicates(frame.drop_duplicates(), hash_above=0), False)


def test_future_dates_have_their_own_reason_and_policy():
    tx = pd.DataFrame({"customer_id": [1, 1, 2, 2], "amount": [5.0, 6.0, 7.0, 8.0],
                       "date": ["2024-01-02", "2099-12-31", "2024-02-03", pd.Timestamp.now().strftime("%Y-%m-%d")]})
    out = cv.clean(tx)
    report = cv.cleaning_report(out)
    assert report.dropped["future_date"] == 1 and report.positions["future_date"].tolist() == [1]
    assert len(out) == 3  # today is not the future
    kept = cv.cleaning_report(cv.clean(tx, future_dates="keep"))
    assert kept.kept_flagged == {"future_date": 1} and kept.rows_kept == 4
    with pytest.raises(SchemaError, match=r"(?s)future_date.*future_dates='drop'"):
        cv.clean(tx, future_dates="raise")


def test_unusable_ids_are_dropped_and_reported():
    tx = pd.DataFrame({"customer_id": [1.0, np.inf, 2.0, np.nan, -np.inf], "date": ["2024-01-02"] * 5,
                       "amount": [1.0, 2.0, 3.0, 4.0, 5.0]})
    out = cv.clean(tx)
    report = cv.cleaning_report(out)
    assert report.dropped["invalid_customer_id"] == 2 and report.dropped["missing_customer_id"] == 1
    assert out["customer_id"].tolist() == [1, 2] and out["customer_id"].dtype == np.int64
    lists = pd.DataFrame({"customer_id": [[1], "a", "a", {"b": 1}], "date": ["2024-01-02"] * 4,
                          "amount": [1.0, 2.0, 2.0, 3.0]})
    report = cv.cleaning_report(cv.clean(lists, duplicates="drop"))
    assert report.dropped["invalid_customer_id"] == 2 and report.dropped["duplicate"] == 1


def test_fractional_float_ids_stay_floats():
    out = cv.clean(pd.DataFrame({"customer_id": [1.5, 2.0, np.nan], "date": ["2024-01-02"] * 3, "amount": 1.0}))
    assert out["customer_id"].tolist() == [1.5, 2.0] and out["customer_id"].dtype == np.float64


def test_list_values_in_any_column_are_read_or_reported_not_raised():
    tx = pd.DataFrame({"customer_id": [1, 1, 2, 3, 4], "date": ["2024-01-02", "2024-01-02", ["x"], "2024-01-03",
                                                                 "2024-01-04"],
                       "amount": [5.0, 5.0, 1.0, [2.0], 3.0], "items": [["a", "b"], ["a", "b"], [], ["c"], ["d"]]})
    out = cv.clean(tx, duplicates="drop")
    report = cv.cleaning_report(out)
    assert report.dropped["duplicate"] == 1  # rows 0 and 1 are equal, lists included
    assert report.dropped["unparseable_date"] == 1 and report.dropped["non_numeric_amount"] == 1
    assert out.index.tolist() == [0, 4]


def test_dates_in_several_offsets_become_utc():
    out = cv.clean(pd.DataFrame({"customer_id": [1, 1], "amount": [1.0, 2.0],
                                 "date": ["2024-01-15 10:00+01:00", "2024-07-15 10:00+02:00"]}))
    assert str(out["date"].dt.tz) == "UTC"
    assert out["date"].dt.hour.tolist() == [9, 8]


def test_mixed_formats_that_cannot_be_confused_are_read():
    out = cv.clean(pd.DataFrame({"customer_id": [1, 1, 1], "amount": [1.0, 2.0, 3.0],
                                 "date": ["2024-01-05", "2024-01-06 10:30", "March 7, 2024"]}))
    assert out["date"].dt.strftime("%m-%d").tolist() == ["01-05", "01-06", "03-07"]


# --- column mapping mistakes --------------------------------------------------------------------------------

RETAIL = pd.DataFrame({
    "InvoiceNo": ["536365", "536365", "536366"], "StockCode": ["85123A", "71053", "22633"],
    "Description": ["WHITE HANGING HEART", "WHITE METAL LANTERN", "HAND WARMER"], "Quantity": [6, 6, 6],
    "InvoiceDate": ["12/1/10 8:26", "12/1/10 8:26", "12/1/10 8:28"], "UnitPrice": [2.55, 3.39, 1.85],
    "CustomerID": [17850.0, 17850.0, 17850.0], "Country": ["United Kingdom"] * 3,
})


def suggested_call(message):
    """The call after "How to fix: " in an error message."""
    return re.search(r"How to fix: (custvalue\.clean\(.*\)|columns=\{.*\})$", message).group(1)


def run_suggestion(message, tx):
    call = suggested_call(message)
    if call.startswith("columns="):
        call = f"custvalue.clean(tx, {call})"
    return eval(call, {"custvalue": cv, "tx": tx})  # the message's own call


@pytest.mark.parametrize("columns, fragment", [
    ({"customer_id": "CustomerID"}, r"columns= maps your column names to custvalue's.*"
                                    r"\{'customer_id': 'CustomerID'\} is the wrong way round"),
    ({"CustomerId": "customer_id", "InvoiceDate": "date"},
     r"'CustomerId' is not a column; did you mean 'CustomerID'\?"),
    ({"customer_id": "CustomerID", "date": "InvoiceDate"}, r"the wrong way round; .* the wrong way round"),
    ({"CustomerID": "customer_id", "InvoiceDate": "date"}, r"required column 'amount' missing"),
    (None, r"(?s)'customer_id': did you mean 'CustomerID'\?.*'date': did you mean 'InvoiceDate'\?"),
])
def test_mapping_mistakes_get_the_call_that_works(columns, fragment):
    with pytest.raises(SchemaError, match=fragment) as caught:
        cv.clean(RETAIL, columns=columns)
    message = str(caught.value)
    assert "Country" not in message.split("the frame has")[-1].split("\n", 1)[-1]  # never offered as an amount
    out = run_suggestion(message, RETAIL)
    assert out["amount"].round(2).tolist() == [15.3, 20.34, 11.1]  # quantity × unit price
    assert out["customer_id"].tolist() == [17850] * 3 and out["date"].iloc[0] == pd.Timestamp("2010-12-01 08:26")


def test_reversed_mapping_shows_the_corrected_dict():
    tx = pd.DataFrame({"cust": [1, 2], "day": ["2024-01-02", "2024-01-03"], "value": [3.0, 4.0]})
    with pytest.raises(SchemaError) as caught:
        cv.clean(tx, columns={"customer_id": "cust", "date": "day", "value": "amount"})
    assert suggested_call(str(caught.value)) == "columns={'cust': 'customer_id', 'day': 'date', 'value': 'amount'}"
    assert len(run_suggestion(str(caught.value), tx)) == 2


@pytest.mark.parametrize("money", ["Revenue", "TotalPrice", "Sales", "Amount", "sales_eur", "order_value"])
def test_money_like_columns_are_suggested_by_name(money):
    tx = pd.DataFrame({"CustomerID": [1, 2], "Country": ["France", "Spain"], "InvoiceDate": ["2024-01-02"] * 2,
                       money: [10.0, 20.5]})
    with pytest.raises(SchemaError, match=rf"'amount': did you mean '{money}'\?") as caught:
        cv.clean(tx, columns={"CustomerID": "customer_id", "InvoiceDate": "date"})
    assert run_suggestion(str(caught.value), tx)["amount"].tolist() == [10.0, 20.5]


def test_money_like_columns_are_suggested_by_their_values():
    tx = pd.DataFrame({"member": ["a", "b"], "ts": pd.to_datetime(["2024-01-02", "2024-01-03"]),
                       "store": [3, 4], "gbv": [12.99, 7.5], "region": ["N", "S"]})
    with pytest.raises(SchemaError) as caught:
        cv.clean(tx)
    message = str(caught.value)
    assert "'gbv' by its values: numbers with cents" in message and "'ts' by its values: dates" in message
    assert "'store'" not in message.split("the frame has")[1].split("\n", 1)[1]  # whole numbers: not money
    assert run_suggestion(message, tx)["amount"].tolist() == [12.99, 7.5]


def test_summarize_gives_the_same_help():
    with pytest.raises(SchemaError) as caught:
        cv.summarize(RETAIL, columns={"CustomerID": "customer_id", "InvoiceDate": "date"})
    assert len(cv.summarize(run_suggestion(str(caught.value), RETAIL))) == 1


def test_a_row_kept_under_one_rule_still_answers_to_the_later_ones():
    # Copies are kept by default, but a copy of a return is a return and a copy after the end is after the end.
    tx = pd.DataFrame({"customer_id": [1, 1, 1, 1, 1, 1], "amount": [5.0, 5.0, -2.0, -2.0, 7.0, 7.0],
                       "date": ["2024-01-02", "2024-01-02", "2024-01-03", "2024-01-03", "2024-03-01", "2024-03-01"]})
    report = cv.cleaning_report(cv.clean(tx, observation_end="2024-02-01"))
    assert report.kept_flagged == {"duplicate": 1} and report.rows_kept == 2
    assert {k: v for k, v in report.dropped.items() if v} == {"negative_amount": 2, "after_observation_end": 2}
    assert report.rows_in == report.rows_kept + report.rows_dropped
