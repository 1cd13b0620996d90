"""Dask DataFrames: clean, summarize and score give exactly the pandas results, on threads and on a cluster."""

import numpy as np
import pandas as pd
import pytest

import custvalue as cv
from custvalue.errors import InvalidParameterError, SchemaError

dd = pytest.importorskip("dask.dataframe")
dask = pytest.importorskip("dask")
import custvalue.dask  # noqa: E402,F401  (teaches the core steps Dask frames and registers ddf.cv)

RAW = cv.datasets.load_cdnow(sample=True)


def scattered(frame: pd.DataFrame, seed: int = 0) -> pd.DataFrame:
    """Rows in random order with a fresh index, so that every customer's rows fall in several partitions."""
    return frame.sample(frac=1.0, random_state=seed).reset_index(drop=True)


def messy() -> pd.DataFrame:
    """CDNOW sample rows in random order, with string ids, string dates and rows for every cleaning rule."""
    tx = scattered(RAW).assign(customer_id=lambda d: "c" + d["customer_id"].astype(str),
                               date=lambda d: d["date"].dt.strftime("%Y-%m-%d"))
    bad = tx.iloc[:8].copy()
    bad.loc[bad.index[0], "customer_id"] = None
    bad.loc[bad.index[1], "amount"] = np.nan
    bad.loc[bad.index[2], "date"] = "not a date"
    bad.loc[bad.index[3], "amount"] = 0.0
    bad.loc[bad.index[4], "amount"] = -5.0
    bad.loc[bad.index[5], "date"] = "1998-12-01"
    return pd.concat([tx, bad, tx.iloc[100:110]], ignore_index=True)  # the last ten rows are duplicates


@pytest.fixture(params=["threads", "cluster"])
def scheduler(request):
    if request.param == "threads":
        with dask.config.set(scheduler="threads"):
            yield "threads"
        return
    distributed = pytest.importorskip("distributed")
    with (distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as lc,
          distributed.Client(lc)):
        yield "cluster"


def test_every_customer_spans_partitions_in_the_test_data():
    ddf = dd.from_pandas(scattered(RAW), npartitions=6)
    spans = ddf.map_partitions(lambda p: p[["customer_id"]].drop_duplicates()).compute()["customer_id"].value_counts()
    assert (spans > 1).mean() > 0.3


def test_clean_equals_pandas_rows_report_and_positions(scheduler):
    ddf = dd.from_pandas(messy(), npartitions=5)
    tx = ddf.compute()  # the same data, with Dask's dtypes (string ids become pyarrow strings)
    expected = cv.clean(tx, observation_end="1998-06-30", duplicates="drop")
    lazy = cv.clean(ddf, observation_end="1998-06-30", duplicates="drop")
    report, want = cv.cleaning_report(lazy), cv.cleaning_report(expected)
    assert (report.rows_in, report.rows_kept, report.dropped) == (want.rows_in, want.rows_kept, want.dropped)
    without_copies = cv.cleaning_report(cv.clean(tx.iloc[:-10], observation_end="1998-06-30", duplicates="drop"))
    assert report.dropped["duplicate"] == without_copies.dropped["duplicate"] + 10
    assert report.dropped["after_observation_end"] == 1 and report.dropped["missing_customer_id"] == 1
    for reason in want.positions:
        np.testing.assert_array_equal(report.positions[reason], want.positions[reason])
        pd.testing.assert_frame_equal(report.examples.get(reason, tx.iloc[:0]), want.examples.get(reason, tx.iloc[:0]))
    pd.testing.assert_frame_equal(lazy.compute().sort_index(), expected, check_exact=True)
    at_once = cv.clean(ddf, observation_end="1998-06-30", duplicates="drop", compute=True)
    pd.testing.assert_frame_equal(at_once, expected, check_exact=True)  # in input order
    assert cv.cleaning_report(at_once).dropped == want.dropped


def test_summarize_and_score_equal_pandas_exactly(scheduler):
    ddf = dd.from_pandas(scattered(cv.clean(messy(), observation_end="1998-06-30"), seed=1), npartitions=6)
    tx = ddf.compute()
    summary = cv.summarize(ddf, "W", "1998-06-30")
    expected = cv.summarize(tx, "W", "1998-06-30")
    pd.testing.assert_frame_equal(summary.compute().sort_index(), expected, check_exact=True)
    assert cv.provenance.provenance(summary).get("observation_end") == pd.Timestamp("1998-06-30")

    scored = cv.score(summary, horizon=26, discount_rate=0.01)
    want = cv.score(expected, horizon=26, discount_rate=0.01)
    got_models, want_models = cv.fitted_models(scored), cv.fitted_models(want)
    for key in ("model", "spend_model"):
        pd.testing.assert_series_equal(got_models[key].params_, want_models[key].params_, check_exact=True)
        assert got_models[key].log_likelihood_ == want_models[key].log_likelihood_
    pd.testing.assert_frame_equal(scored.compute().sort_index(), want, check_exact=True)


def test_summarize_reads_string_dates_and_passes_summaries_through():
    ddf = dd.from_pandas(scattered(cv.clean(RAW)).assign(date=lambda d: d["date"].dt.strftime("%Y%m%d")),
                         npartitions=3)
    with dask.config.set(scheduler="threads"):
        got = cv.summarize(ddf, "D", compute=True)
        pd.testing.assert_frame_equal(got, cv.summarize(ddf.compute(), "D"), check_exact=True)
        again = cv.summarize(dd.from_pandas(got.drop(columns=["first_purchase", "last_purchase"]), npartitions=2))
        pd.testing.assert_frame_equal(again.compute(), got.drop(columns=["first_purchase", "last_purchase"]))
        broken = got.assign(recency=got["T"] + 1)
        with pytest.raises(SchemaError, match="recency"):
            cv.summarize(dd.from_pandas(broken, npartitions=2)).compute()


def test_score_from_transactions_with_intervals_and_compute():
    tx = scattered(cv.clean(RAW))  # sums over a customer's rows follow the row order: keep the same order
    ddf = dd.from_pandas(tx, npartitions=4)
    with dask.config.set(scheduler="threads"):
        got = cv.score(ddf, "paretonbd", horizon=10, intervals=0.8, interval_draws=20, compute=True)
    want = cv.score(tx, "paretonbd", horizon=10, intervals=0.8, interval_draws=20)
    pd.testing.assert_frame_equal(got, want, check_exact=True)
    assert cv.fitted_models(got)["model"].name == "paretonbd"


def test_prefitted_models_and_dask_summaries_score_partition_by_partition():
    summary = cv.datasets.load_cdnow_summary()
    bg = cv.models.get("bgnbd").fit(summary)
    got = cv.score(dd.from_pandas(summary, npartitions=3), bg, None, horizon=39).compute()
    pd.testing.assert_frame_equal(got, cv.score(summary, bg, None, horizon=39), check_exact=True)
    historic = cv.score(dd.from_pandas(summary.assign(total_value=summary["monetary_value"]), npartitions=3),
                        "historic", compute=True)
    assert historic["clv"].sum() == pytest.approx(summary["monetary_value"].sum())
    formula = cv.score(dd.from_pandas(summary, npartitions=3), cv.models.get("formula", retention=0.8),
                       horizon=10, compute=True)  # fitted on gathered rows: equal up to rounding
    pd.testing.assert_frame_equal(formula, cv.score(summary, cv.models.get("formula", retention=0.8), horizon=10),
                                  rtol=1e-12)


def test_the_accessor_on_dask_frames():
    tx = scattered(RAW)
    ddf = dd.from_pandas(tx, npartitions=3)
    with dask.config.set(scheduler="threads"):
        cleaned = ddf.cv.clean()
        assert ddf.cv.clean().cv.report.rows_in == len(tx)
        scored = cleaned.cv.score(horizon=10)
        assert scored.cv.models["model"].name == "bgnbd"
        pd.testing.assert_frame_equal(scored.compute().sort_index(), cv.score(cv.clean(tx), horizon=10),
                                      check_exact=True)
    with pytest.raises(AttributeError, match="compute it first"):
        scored.cv.segment("rfm")


def test_dask_errors_are_the_pandas_errors():
    tx = cv.clean(RAW)
    with pytest.raises(SchemaError, match="'amount'"):
        cv.summarize(dd.from_pandas(tx.drop(columns="amount"), npartitions=2))
    with pytest.raises(SchemaError, match="required column"):
        cv.clean(dd.from_pandas(tx.rename(columns={"date": "day"}), npartitions=2))
    negative = tx.assign(amount=np.where(np.arange(len(tx)) == 5, -1.0, tx["amount"]))
    with dask.config.set(scheduler="threads"), pytest.raises(SchemaError, match="amount"):
        cv.summarize(dd.from_pandas(negative, npartitions=2)).compute()  # raised where the partition runs
    with pytest.raises(SchemaError, match="before the first purchase"):
        cv.summarize(dd.from_pandas(tx, npartitions=2), observation_end="1990-01-01")
    with pytest.raises(InvalidParameterError, match="auto"):
        cv.score(dd.from_pandas(tx, npartitions=2), "auto")
    with pytest.raises(InvalidParameterError, match="asymptotic"):
        cv.score(dd.from_pandas(tx, npartitions=2), intervals=0.9, interval_method="bootstrap")
    nothing_kept = cv.clean(dd.from_pandas(tx.assign(amount=0.0), npartitions=2), zero_amounts="drop")
    with dask.config.set(scheduler="threads"), pytest.raises(SchemaError, match="every one of the"):
        cv.cleaning_report(nothing_kept)


def test_dask_is_an_adapter_the_core_does_not_import():
    # In a fresh process: the core neither imports Dask nor knows its frames until custvalue.dask is imported,
    # and then says so plainly.
    import subprocess
    import sys

    code = (
        "import sys, custvalue as cv, dask.dataframe as dd\n"
        "print('dask' in sys.modules.get('custvalue.engines').__dict__.get('KNOWN_ADAPTERS'))\n"
        "tx = dd.from_pandas(cv.datasets.load_cdnow(sample=True), npartitions=2)\n"
        "try:\n    cv.summarize(tx)\nexcept cv.InvalidParameterError as err:\n    print(err)\n"
        "import custvalue.dask\nprint(len(cv.summarize(tx, compute=True)))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert "How to fix: `import custvalue.dask` first" in out
    assert out.strip().endswith("2357")
    fresh = subprocess.run([sys.executable, "-c", "import sys, custvalue; print('dask' in sys.modules)"],
                           capture_output=True, text=True, check=True).stdout
    assert fresh.strip() == "False"


def test_clean_gives_the_pandas_dtypes_for_float_ids():
    # An integer id column with a gap is read as floats: pandas makes the kept ids int64 again, and so must Dask,
    # even when some partitions hold no fractional or missing id to tell them apart.
    tx = scattered(RAW).assign(customer_id=lambda d: d["customer_id"].astype(float))
    tx.loc[3, "customer_id"] = np.nan
    tx.loc[7, "customer_id"] = np.inf  # an id no customer can have: dropped and reported on both
    ddf = dd.from_pandas(tx, npartitions=4)
    expected = cv.clean(tx)
    assert expected["customer_id"].dtype == np.int64
    with dask.config.set(scheduler="threads"):
        lazy = cv.clean(ddf)
        assert lazy["customer_id"].dtype == np.int64  # known before anything is computed
        pd.testing.assert_frame_equal(lazy.compute().sort_index(), expected, check_exact=True)
        at_once = cv.clean(ddf, compute=True)
        pd.testing.assert_frame_equal(at_once, expected, check_exact=True)
        assert cv.cleaning_report(at_once).dropped["invalid_customer_id"] == 1
        fractional = tx.assign(customer_id=tx["customer_id"] + 0.5)
        got = cv.clean(dd.from_pandas(fractional, npartitions=4), compute=True)
        assert got["customer_id"].dtype == cv.clean(fractional)["customer_id"].dtype == np.float64
    with pytest.raises(SchemaError, match="2\\*\\*53"):
        cv.clean(dd.from_pandas(tx.assign(customer_id=tx["customer_id"] * 1e15), npartitions=4))


def test_clean_reads_dates_in_the_format_of_the_first_date_as_pandas_does():
    # Day-first dates whose first value is ambiguous: pandas reads every row in the first date's format (month
    # first) and refuses the rows that need another; each Dask partition must do the same, not guess anew.
    dates = ["01/02/2024"] + [f"{day:02d}/03/2024" for day in range(1, 13)] * 3
    tx = pd.DataFrame({"customer_id": np.arange(len(dates)) % 7, "amount": 1.0, "date": dates})
    assert cv.clean(tx)["date"].iloc[0] == pd.Timestamp("2024-01-02")
    with dask.config.set(scheduler="threads"):
        got = cv.clean(dd.from_pandas(tx, npartitions=3), compute=True)
    pd.testing.assert_frame_equal(got, cv.clean(tx), check_exact=True)
    mixed = tx.assign(date=["01/02/2024"] + ["13/03/2024"] * 36)
    with dask.config.set(scheduler="threads"), pytest.raises(SchemaError, match="mixes date formats"):
        cv.clean(dd.from_pandas(mixed, npartitions=3), compute=True)
    with pytest.raises(SchemaError, match="mixes date formats"):
        cv.clean(mixed)


def test_future_dates_and_penalizer_on_dask():
    tx = scattered(RAW)
    tx.loc[[2, 9], "date"] = pd.Timestamp("2099-12-31")
    ddf = dd.from_pandas(tx, npartitions=3)
    with dask.config.set(scheduler="threads"):
        cleaned = cv.clean(ddf, compute=True)
        assert cv.cleaning_report(cleaned).dropped["future_date"] == 2
        pd.testing.assert_frame_equal(cleaned, cv.clean(tx), check_exact=True)
        scored = cv.score(dd.from_pandas(cleaned, npartitions=3), horizon=10, penalizer=0.001, compute=True)
    models = cv.fitted_models(scored)
    assert models["model"].penalizer == models["spend_model"].penalizer == 0.001
    want = cv.fitted_models(cv.score(cleaned, horizon=10, penalizer=0.001))
    pd.testing.assert_series_equal(models["model"].params_, want["model"].params_, rtol=1e-10)
