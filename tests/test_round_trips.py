"""Every step's output survives a Parquet round trip (pandas) and a CSV round trip (custvalue.read_csv)
with its dtypes and values."""

import warnings

import numpy as np
import pandas as pd
import pytest

import custvalue as cv


@pytest.fixture(scope="module")
def outputs():
    """One output of every step that returns a frame, on the CDNOW sample."""
    tx = cv.datasets.load_cdnow(sample=True)
    clean = cv.clean(tx)
    summary = cv.summarize(clean, observation_end="1997-09-30")
    calhold = cv.calibration_holdout(clean, "1997-09-30", "1998-06-30")
    scored = cv.score(summary, horizon=39, intervals=0.9, interval_draws=20)
    rfm = cv.segment(scored, method="rfm")
    evaluation = cv.evaluate("bgnbd", calhold, spend_model="gammagamma")
    model = cv.fitted_models(scored)["model"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", cv.uplift.__globals__["UpliftWarning"])
        measured = cv.measure_uplift(cv.simulate_campaign(500, seed=3), segment="segment", n_boot=100,
                                     cost_per_customer=0.1)
    return {
        "clean": clean,
        "summarize": summary,
        "calibration_holdout": calhold,
        "score": scored,
        "segment_rfm": rfm,
        "segment_value_tiers": cv.segment(scored, method="value_tiers"),
        "segment_lifecycle": cv.segment(scored, method="lifecycle"),
        "segment_kmeans": cv.segment(scored, method="kmeans", k=3),
        "segment_summary": cv.segment_summary(rfm),
        "filter": cv.filter_customers(rfm, segment=["At Risk", "Hibernating"], query="frequency >= 1"),
        "uplift": cv.uplift(rfm, segment="At Risk", purchase_rate=1.2, cost_per_customer=0.5),
        "kpis_transactions": cv.kpis(clean, "1998-01-01", "1998-06-30", costs=100.0),
        "kpis_customers": cv.kpis(rfm),
        "cohort_retention": cv.cohort_retention(clean),
        "measure_uplift": measured,
        "simulate_campaign": cv.simulate_campaign(200, seed=1),
        "compare_models": cv.compare_models(calhold, ["bgnbd", "paretonbd"]),
        "evaluate_by_frequency": evaluation.by_frequency,
        "evaluate_per_customer": evaluation.per_customer,
        "tracking": cv.tracking(model, clean),
    }


NAMES = ["clean", "summarize", "calibration_holdout", "score", "segment_rfm", "segment_value_tiers",
         "segment_lifecycle", "segment_kmeans", "segment_summary", "filter", "uplift", "kpis_transactions",
         "kpis_customers", "cohort_retention", "measure_uplift", "simulate_campaign", "compare_models",
         "evaluate_by_frequency", "evaluate_per_customer", "tracking"]


def assert_same_frame(back: pd.DataFrame, original: pd.DataFrame) -> None:
    assert back.index.name == original.index.name
    assert back.index.dtype == original.index.dtype, (back.index.dtype, original.index.dtype)
    assert list(back.columns) == list(original.columns)
    assert back.dtypes.to_dict() == original.dtypes.to_dict()
    pd.testing.assert_frame_equal(back, original, check_exact=True, check_freq=False)


@pytest.mark.parametrize("name", NAMES)
def test_parquet_round_trip_keeps_dtypes_and_values(outputs, name, tmp_path):
    frame = outputs[name]
    path = tmp_path / f"{name}.parquet"
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # pandas warns (and then fails) when attrs are not JSON
        frame.to_parquet(path)
    assert_same_frame(pd.read_parquet(path), frame)


@pytest.mark.parametrize("name", NAMES)
def test_csv_round_trip_with_read_csv_keeps_dtypes_and_values(outputs, name, tmp_path):
    frame = outputs[name]
    path = tmp_path / f"{name}.csv"
    frame.to_csv(path)
    assert_same_frame(cv.read_csv(path), frame)


def test_dates_are_stored_at_a_resolution_parquet_keeps(outputs):
    # Parquet has no seconds unit: datetime64[s] came back as [ms]. The steps write microseconds.
    for name in ("clean", "summarize", "score"):
        for column, dtype in outputs[name].dtypes.items():
            if pd.api.types.is_datetime64_any_dtype(dtype):
                assert dtype == np.dtype("datetime64[us]"), (name, column)


def test_csv_of_transactions_written_without_index(outputs, tmp_path):
    clean = outputs["clean"].reset_index(drop=True)
    clean.to_csv(tmp_path / "tx.csv", index=False)
    assert_same_frame(cv.read_csv(tmp_path / "tx.csv"), clean)


def test_csv_segments_of_your_own_need_their_order(tmp_path):
    df = pd.DataFrame({"clv": [5.0, 150.0, 50.0, 300.0]}, index=pd.Index([1, 2, 3, 4], name="customer_id"))
    out = cv.segment(df, "rules", rules={"whale": "clv > 100", "regular": "clv > 20"})
    out.to_csv(tmp_path / "rules.csv")
    assert_same_frame(cv.read_csv(tmp_path / "rules.csv", segments=["whale", "regular", "Other"]), out)
    # Without the order: the order of first appearance, "Other" last.
    guessed = cv.read_csv(tmp_path / "rules.csv")
    assert list(guessed["segment"].cat.categories) == ["whale", "regular", "Other"]
    with pytest.raises(cv.InvalidParameterError, match=r"lacks the segment\(s\) \['regular'\]"):
        cv.read_csv(tmp_path / "rules.csv", segments=["whale", "Other"])


def test_csv_ids_that_look_like_numbers_need_a_dtype(tmp_path):
    df = pd.DataFrame({"frequency": [1, 0], "recency": [2.0, 0.0], "T": [5.0, 4.0]},
                      index=pd.Index(["007", "010"], name="customer_id"))
    df.to_csv(tmp_path / "ids.csv")
    assert cv.read_csv(tmp_path / "ids.csv").index.tolist() == [7, 10]  # the file cannot tell
    assert_same_frame(cv.read_csv(tmp_path / "ids.csv", dtype={"customer_id": str}), df)


def test_csv_time_zones_come_back_as_utc_offsets(tmp_path):
    tx = pd.DataFrame({"customer_id": [1, 1], "amount": [1.0, 2.0],
                       "date": pd.to_datetime(["2024-01-01 10:00", "2024-01-02 11:00"]).tz_localize("UTC")})
    out = cv.clean(tx)
    out.to_csv(tmp_path / "tz.csv")
    back = cv.read_csv(tmp_path / "tz.csv")
    assert str(back["date"].dt.tz) == "UTC"
    assert (back["date"] == out["date"]).all()


def test_read_csv_refuses_what_it_cannot_read(tmp_path):
    with pytest.raises(cv.InvalidParameterError, match="path=.*no such file"):
        cv.read_csv(tmp_path / "missing.csv")
    with pytest.raises(cv.InvalidParameterError, match="path=42"):
        cv.read_csv(42)
    (tmp_path / "bad.csv").write_text("customer_id,first_purchase\n1,yesterday\n")
    with pytest.raises(cv.SchemaError, match="first_purchase.*'yesterday'"):
        cv.read_csv(tmp_path / "bad.csv")
    with pytest.raises(cv.InvalidParameterError, match="index_col"):
        cv.read_csv(tmp_path / "bad.csv", index_col=0)
