"""summarize() and calibration_holdout(): published values, lifetimes parity, properties, bad input."""

import warnings

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import custvalue as cv
from custvalue.errors import InvalidParameterError, SchemaError

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from lifetimes.utils import calibration_and_holdout_data, summary_data_from_transaction_data

BTYD = ["frequency", "recency", "T", "monetary_value"]


def test_reproduces_the_published_cdnow_sample_summary():
    # cdnow_customers_summary_with_transactions.csv (Fader, Hardie & Lee 2005 data as shipped by
    # lifetimes): x, t_x, T in weeks rounded to 2 decimals, zbar the mean repeat spend.
    ours = cv.summarize(cv.datasets.load_cdnow(sample=True), unit="W", observation_end="1997-09-30")
    published = cv.datasets.load_cdnow_summary()
    assert ours.index.equals(published.index)
    assert (ours["frequency"] == published["frequency"]).all()
    for column in ["recency", "T", "monetary_value"]:
        np.testing.assert_allclose(ours[column], published[column], atol=0.0051, rtol=0)
    assert ours.loc[1, ["frequency", "recency", "T"]].round(2).tolist() == [2, 30.43, 38.86]


def test_raw_cdnow_sample_with_default_clean_gives_the_published_summary_and_estimates():
    # The raw sample as shipped (21 exact copies of rows, 8 first purchases of $0) through the defaults:
    # every row of cdnow_customers_summary_with_transactions.csv (x, t_x, T in weeks and zbar, rounded to
    # 2 decimals; Fader, Hardie & Lee 2005 data as shipped by lifetimes).
    summary = cv.summarize(cv.clean(cv.datasets.load_cdnow(sample=True)), unit="W", observation_end="1997-09-30")
    published = cv.datasets.load_cdnow_summary()
    assert summary.index.equals(published.index)
    assert (summary["frequency"] == published["frequency"]).all()
    for column in ["recency", "T", "monetary_value"]:  # half a unit of the file's last decimal
        np.testing.assert_allclose(summary[column], published[column], atol=0.005 + 1e-9, rtol=0)
    # REFERENCE.md: BG/NBD r=0.2426, alpha=4.4136, a=0.7929, b=2.4259, LL=-9582.43 (Fader, Hardie & Lee 2005);
    # Gamma-Gamma p=6.25, q=3.74, v=15.44, LL=-4055.92 on 946 repeat buyers (Fader & Hardie 2013).
    bgnbd = cv.models.get("bgnbd").fit(summary)
    np.testing.assert_allclose(bgnbd.params_, [0.2426, 4.4136, 0.7929, 2.4259], atol=5e-5)
    assert bgnbd.log_likelihood_ == pytest.approx(-9582.43, abs=0.005)
    spend = cv.models.get("gammagamma").fit(summary)
    np.testing.assert_allclose(spend.params_, [6.25, 3.74, 15.44], atol=0.005)
    assert spend.log_likelihood_ == pytest.approx(-4055.92, abs=0.005) and spend.n_customers_ == 946
    # Dropping the $0 purchases loses the 8 customers whose first purchase was free, and the published fit:
    # r = 0.2439 and alpha = 4.4224 instead of 0.2426 and 4.4136.
    dropped = cv.summarize(cv.clean(cv.datasets.load_cdnow(sample=True), zero_amounts="drop"), unit="W",
                           observation_end="1997-09-30")
    assert len(dropped) == 2349
    np.testing.assert_allclose(cv.models.get("bgnbd").fit(dropped).params_[["r", "alpha"]], [0.2439, 4.4224],
                               atol=5e-5)


def occasion_table(tx, grain="D"):
    """Purchase occasions by the book: one row per customer and grain period, with its value and rank."""
    period = cv.timeunits.period_start_days(cv.timeunits.day_numbers(tx["date"]), grain)
    occasions = tx.assign(period=period).groupby(["customer_id", "period"])["amount"].sum().reset_index()
    return occasions.assign(rank=occasions.groupby("customer_id").cumcount())


@pytest.mark.parametrize("grain", ["D", "W", "M"])
def test_spend_columns_are_over_positive_repeat_occasions(grain):
    rng = np.random.default_rng(7)
    n = 20_000
    tx = pd.DataFrame({"customer_id": rng.integers(0, 2_000, n),
                       "date": pd.Timestamp("2024-01-01") + pd.to_timedelta(rng.integers(0, 200, n), unit="D"),
                       "amount": np.where(rng.random(n) < 0.1, 0.0, np.round(rng.gamma(2.0, 10.0, n), 2))})
    summary = cv.summarize(tx, unit="D", grain=grain)
    occasions = occasion_table(tx, grain)
    spends = occasions[(occasions["rank"] > 0) & (occasions["amount"] > 0)]
    want = pd.DataFrame({"monetary_value": spends.groupby("customer_id")["amount"].mean(),
                         "mean_log_value": np.log(spends["amount"]).groupby(spends["customer_id"]).mean()})
    want = want.reindex(summary.index, fill_value=0.0)
    np.testing.assert_allclose(summary["monetary_value"], want["monetary_value"], rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(summary["mean_log_value"], want["mean_log_value"], rtol=1e-12, atol=1e-12)
    # frequency counts every repeat occasion, $0 ones included.
    assert (summary["frequency"] == occasions.groupby("customer_id").size() - 1).all()
    assert ((occasions["rank"] > 0) & (occasions["amount"] == 0)).sum() > 100  # the case is exercised


def test_zero_value_purchases_count_as_purchases_but_not_as_spend():
    tx = pd.DataFrame({"customer_id": [1, 1, 1, 1, 2, 2], "amount": [0.0, 10.0, 0.0, 30.0, 5.0, 0.0],
                       "date": pd.to_datetime(["2024-01-01", "2024-01-02", "2024-01-03", "2024-01-04",
                                               "2024-01-01", "2024-01-05"])})
    summary = cv.summarize(tx, unit="D")
    # By hand: customer 1 has 3 repeat occasions worth 10, 0 and 30; customer 2 one repeat worth 0.
    assert summary.loc[1, ["frequency", "monetary_value"]].tolist() == [3, 20.0]
    assert summary.loc[1, "mean_log_value"] == pytest.approx((np.log(10.0) + np.log(30.0)) / 2)
    assert summary.loc[2, ["frequency", "monetary_value", "mean_log_value"]].tolist() == [1, 0.0, 0.0]
    # Gamma-Gamma fits on repeat buyers with a spend: a customer like 2 changes nothing.
    published = cv.datasets.load_cdnow_summary()
    with_free = pd.concat([published, summary.loc[[2], published.columns].set_axis([9999])])
    fit, fit_with_free = (cv.models.get("gammagamma").fit(frame) for frame in (published, with_free))
    assert fit_with_free.n_customers_ == fit.n_customers_ == 946
    pd.testing.assert_series_equal(fit_with_free.params_, fit.params_)
    ch = cv.calibration_holdout(tx, "2024-01-01", "2024-01-05", unit="D")
    assert ch[["frequency_holdout", "monetary_value_holdout"]].values.tolist() == [[3, 20.0], [1, 0.0]]


def test_score_with_the_individual_gamma_gamma_from_transactions():
    tx = cv.clean(cv.datasets.load_cdnow(sample=True))
    scored = cv.score(tx, spend_model="gammagamma_individual", horizon=39, observation_end="1997-09-30")
    spend = cv.fitted_models(scored)["spend_model"]
    assert spend.name == "gammagamma_individual" and spend.n_customers_ == 946
    assert np.isfinite(scored["clv"]).all() and (scored["expected_spend"] > 0).all()
    # The mean of logs never exceeds the log of the mean (Jensen), equal for a single repeat purchase.
    summary = cv.summarize(tx, unit="W", observation_end="1997-09-30")
    repeat = summary[summary["frequency"] > 0]
    assert (repeat["mean_log_value"] <= np.log(repeat["monetary_value"]) + 1e-12).all()
    single = repeat[repeat["frequency"] == 1]
    np.testing.assert_allclose(single["mean_log_value"], np.log(single["monetary_value"]), rtol=1e-12)


def test_cohorts_do_not_move_when_the_first_purchase_was_free():
    # CDNOW's customers were all acquired in the first quarter of 1997; 68 of them bought only $0 items and
    # more first bought at $0. Counted as purchases, no cohort appears after March 1997.
    tx = cv.clean(cv.datasets.load_cdnow())
    cohorts = cv.cohort_retention(tx)
    assert [str(c) for c in cohorts.index] == ["1997-01", "1997-02", "1997-03"]
    assert sum(cohorts.attrs["cohort_size"].values()) == 23_570
    dropped = cv.cohort_retention(cv.clean(cv.datasets.load_cdnow(), zero_amounts="drop"))
    assert len(dropped) > 3  # the spurious late cohorts of customers whose first paid purchase came later


def random_transactions(n, n_customers, seed, hours=False):
    rng = np.random.default_rng(seed)
    stamps = pd.Timestamp("2022-12-20") + pd.to_timedelta(rng.integers(0, 500, n), unit="D")
    if hours:
        stamps = stamps + pd.to_timedelta(rng.integers(0, 24, n), unit="h")
    return pd.DataFrame(
        {"customer_id": rng.integers(0, n_customers, n) * 7 + 3, "date": stamps,
         "amount": np.round(rng.gamma(2.0, 10.0, n), 2)}
    )


@pytest.mark.parametrize("unit", ["D", "W"])
def test_matches_lifetimes_on_random_data(unit):
    tx = random_transactions(5_000, 800, seed=1, hours=True)
    end = pd.Timestamp("2024-03-01")
    ours = cv.summarize(tx, unit=unit, observation_end=end)
    theirs = summary_data_from_transaction_data(
        tx, "customer_id", "date", monetary_value_col="amount", observation_period_end=end, freq="D",
        freq_multiplier=7 if unit == "W" else 1,
    )
    theirs.index.name = "customer_id"
    pd.testing.assert_frame_equal(ours[BTYD], theirs[BTYD].sort_index(), check_dtype=False, rtol=1e-12)


def test_months_are_calendar_exact_and_grain_is_independent_of_unit():
    tx = pd.DataFrame({"customer_id": [1, 1, 1], "amount": [1.0, 2.0, 4.0],
                       "date": pd.to_datetime(["2024-01-01", "2024-01-03", "2024-03-01"])})
    by_day = cv.summarize(tx, unit="M", observation_end="2024-04-01")
    assert by_day.loc[1, "frequency"] == 2
    assert by_day.loc[1, "recency"] == pytest.approx(60 / (365.2425 / 12))  # Jan 1 -> Mar 1, 2024
    assert by_day.loc[1, "T"] == pytest.approx(91 / (365.2425 / 12))
    by_month = cv.summarize(tx, unit="M", observation_end="2024-04-01", grain="M")
    # Jan 1 and Jan 3 are one purchase occasion worth 3; March is the repeat worth 4.
    assert by_month.loc[1, ["frequency", "monetary_value"]].tolist() == [1, 4.0]
    by_week = cv.summarize(tx, unit="D", observation_end="2024-04-01", grain="W")
    assert by_week.loc[1, "recency"] == 56  # periods start on Mondays: 2024-01-01 and 2024-02-26
    assert cv.summarize(tx, unit="Y").loc[1, "T"] == pytest.approx(60 / 365.2425)


def test_extra_columns_and_types():
    out = cv.summarize(random_transactions(500, 50, seed=2), unit="W")
    assert list(out.columns) == BTYD + ["mean_log_value", "first_purchase", "last_purchase", "n_transactions",
                                        "total_value", "litt"]
    assert out["frequency"].dtype == np.int64
    assert (out["last_purchase"] >= out["first_purchase"]).all()
    assert out["n_transactions"].sum() == 500
    assert out["total_value"].sum() == pytest.approx(random_transactions(500, 50, seed=2)["amount"].sum())
    cv.validate(out, cv.CustomerSummary)


def test_transactions_after_observation_end_are_left_out_and_counted():
    tx = random_transactions(1_000, 100, seed=3)
    end = pd.Timestamp("2023-06-30")
    out = cv.summarize(tx, observation_end=end)
    assert out["n_transactions"].sum() == (tx["date"] <= end).sum()
    assert out.attrs["custvalue"].get("excluded_after_end") == (tx["date"] > end).sum()


def test_string_and_categorical_ids_give_sorted_index():
    tx = pd.DataFrame({"customer_id": ["b", "a", "b"], "amount": [1.0, 2.0, 3.0],
                       "date": pd.to_datetime(["2024-01-01", "2024-01-02", "2024-01-05"])})
    assert cv.summarize(tx).index.tolist() == ["a", "b"]
    cat = tx.assign(customer_id=tx["customer_id"].astype("category"))
    pd.testing.assert_frame_equal(cv.summarize(cat).reset_index(drop=True), cv.summarize(tx).reset_index(drop=True))


def test_summary_passes_through_validated():
    summary = cv.datasets.load_cdnow_summary()
    out = cv.summarize(summary)
    pd.testing.assert_frame_equal(out, summary)
    assert out is not summary


def test_litt_is_the_sum_of_the_logs_of_the_times_between_purchase_occasions():
    # By hand: occasions on days 0, 7 (twice: one occasion) and 21, in weeks: ln 1 + ln 2; in days ln 7 + ln 14.
    tx = pd.DataFrame({"customer_id": [1, 1, 1, 1, 2], "amount": [5.0, 6.0, 7.0, 8.0, 9.0],
                       "date": pd.to_datetime(["2024-01-01", "2024-01-08", "2024-01-08", "2024-01-22",
                                               "2024-01-03"])})
    weeks = cv.summarize(tx, unit="W", observation_end="2024-02-01")
    assert weeks["litt"].tolist() == pytest.approx([np.log(2.0), 0.0], abs=1e-15)
    days = cv.summarize(tx, unit="D", observation_end="2024-02-01")
    assert days.loc[1, "litt"] == pytest.approx(np.log(7.0) + np.log(14.0), rel=1e-15)
    # Grain W: the occasions are the weeks starting 2024-01-01, -08 and -22 (Mondays).
    assert cv.summarize(tx, unit="W", observation_end="2024-02-01", grain="W").loc[1, "litt"] == \
        pytest.approx(np.log(2.0), abs=1e-15)
    calhold = cv.calibration_holdout(tx, "2024-01-15", "2024-02-01", unit="W")
    assert calhold["litt_cal"].tolist() == pytest.approx([0.0, 0.0], abs=1e-15)  # one gap of a week: ln 1


def test_litt_on_the_hourly_grain():
    # Occasions at 00:00, 03:00 (twice: one occasion) and 09:00: gaps of 3 and 6 hours.
    tx = pd.DataFrame({"customer_id": [1, 1, 1, 1], "amount": [1.0, 2.0, 3.0, 4.0],
                       "date": pd.to_datetime(["2024-01-01 00:10", "2024-01-01 03:05", "2024-01-01 03:40",
                                               "2024-01-01 09:00"])})
    hours = cv.summarize(tx, unit="h", grain="h", observation_end="2024-01-01 12:00")
    assert hours.loc[1, "litt"] == pytest.approx(np.log(3.0) + np.log(6.0), rel=1e-14)
    days = cv.summarize(tx, unit="D", grain="h", observation_end="2024-01-01 12:00")
    assert days.loc[1, "litt"] == pytest.approx(np.log(3.0 / 24) + np.log(6.0 / 24), rel=1e-14)


@pytest.mark.parametrize("unit, grain", [("W", "D"), ("D", "D"), ("M", "W")])
def test_litt_matches_a_groupby_on_random_transactions(unit, grain):
    tx = random_transactions(3000, 300, seed=5)
    out = cv.summarize(tx, unit=unit, grain=grain)
    periods = cv.timeunits.period_start_days(cv.timeunits.day_numbers(tx["date"]), grain)
    occasions = pd.DataFrame({"c": tx["customer_id"].to_numpy(), "d": periods}).drop_duplicates()
    occasions = occasions.sort_values(["c", "d"])
    gaps = occasions.groupby("c")["d"].diff() / cv.timeunits.days_per_unit(unit)
    expected = np.log(gaps).groupby(occasions["c"]).sum()
    np.testing.assert_allclose(out["litt"], expected.loc[out.index], rtol=1e-12, atol=1e-12)
    assert (out.loc[out["frequency"] == 0, "litt"] == 0).all()


@st.composite
def transactions(draw):
    n = draw(st.integers(1, 60))
    ids = draw(st.lists(st.integers(0, 8), min_size=n, max_size=n))
    days = draw(st.lists(st.integers(0, 120), min_size=n, max_size=n))
    amounts = draw(st.lists(st.floats(0, 500, allow_nan=False), min_size=n, max_size=n))
    return pd.DataFrame({"customer_id": ids, "amount": amounts,
                         "date": pd.Timestamp("2024-01-01") + pd.to_timedelta(days, unit="D")})


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(tx=transactions(), grain=st.sampled_from(["D", "W", "M"]), seed=st.integers(0, 1000))
def test_properties(tx, grain, seed):
    before = tx.copy()
    out = cv.summarize(tx, unit="W", observation_end="2024-06-01", grain=grain)
    pd.testing.assert_frame_equal(tx, before)  # input unchanged
    assert (out["recency"] >= 0).all() and (out["recency"] <= out["T"]).all()
    periods = cv.timeunits.period_start_days(cv.timeunits.day_numbers(tx["date"]), grain)
    distinct = pd.Series(periods).groupby(tx["customer_id"].to_numpy()).nunique()
    assert (out["frequency"] == distinct.loc[out.index] - 1).all()
    assert ((out["frequency"] > 0) | (out["recency"] == 0)).all()
    shuffled = cv.summarize(tx.sample(frac=1.0, random_state=seed), unit="W",
                            observation_end="2024-06-01", grain=grain)
    pd.testing.assert_frame_equal(out, shuffled, rtol=1e-9)


def test_calibration_holdout_matches_lifetimes_on_cdnow():
    tx = cv.datasets.load_cdnow()
    ours = cv.calibration_holdout(tx, "1997-09-30", "1998-06-30", unit="W")
    assert len(ours) == 23_570
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        theirs = calibration_and_holdout_data(
            tx, "customer_id", "date", calibration_period_end="1997-09-30",
            observation_period_end="1998-06-30", freq="D", freq_multiplier=7, monetary_value_col="amount",
        )
    theirs.index.name = "customer_id"
    same = theirs.columns.drop("monetary_value_holdout")
    pd.testing.assert_frame_equal(ours[same], theirs[same].sort_index(), check_dtype=False, rtol=1e-9)
    assert ours["duration_holdout"].iloc[0] == pytest.approx(273 / 7)
    # Holdout spend is the mean per purchase occasion (same-day purchases summed), like the
    # calibration monetary value; lifetimes averages raw transactions instead. Customer 8 by hand:
    holdout = tx[(tx["customer_id"] == 8) & (tx["date"] > "1997-09-30")]
    per_day = holdout.groupby("date")["amount"].sum()
    assert ours.loc[8, "frequency_holdout"] == len(per_day) == 3
    assert ours.loc[8, "monetary_value_holdout"] == pytest.approx(per_day.mean())
    assert theirs.loc[8, "monetary_value_holdout"] == pytest.approx(holdout["amount"].mean())


@pytest.mark.parametrize(
    "frame, kwargs, error, fragment",
    [
        (pd.DataFrame({"a": [1], "b": [2]}), {}, SchemaError, "neither|needs transactions"),
        (pd.DataFrame({"customer_id": [1], "date": ["2024-01-01"]}), {}, SchemaError, "'amount'"),
        (pd.DataFrame({"customer_id": [], "date": [], "amount": []}), {}, SchemaError, "empty"),
        (pd.DataFrame({"customer_id": [1, 2], "date": ["2024-01-01"] * 2, "amount": [np.nan] * 2}), {},
         SchemaError, "finite number"),
        (pd.DataFrame({"customer_id": [1, 2], "date": ["2024-01-01"] * 2, "amount": ["a", "b"]}), {},
         SchemaError, "numeric"),
        (pd.DataFrame({"customer_id": [1, 2], "date": ["2024-01-01"] * 2, "amount": [1.0, -2.0]}), {},
         SchemaError, ">= 0"),
        (pd.DataFrame({"customer_id": [1, 2], "date": ["2024-01-01", "junk"], "amount": [1.0, 2.0]}), {},
         SchemaError, "parseable date"),
        (pd.DataFrame({"customer_id": [1, None], "date": ["2024-01-01"] * 2, "amount": [1.0, 2.0]}), {},
         SchemaError, "customer_id"),
        (pd.DataFrame({"customer_id": [1], "date": ["2024-01-01"], "amount": [1.0]}),
         {"observation_end": "2023-01-01"}, SchemaError, "before the first purchase"),
        (pd.DataFrame({"customer_id": [1], "date": ["2024-01-01"], "amount": [1.0]}), {"unit": "fortnight"},
         InvalidParameterError, "unit=.fortnight. is not valid"),
        (pd.DataFrame({"customer_id": [1], "date": ["2024-01-01"], "amount": [1.0]}), {"grain": "H"},
         InvalidParameterError, "grain=.* is not valid"),
    ],
)
def test_bad_transactions(frame, kwargs, error, fragment):
    with pytest.raises(error, match=fragment):
        cv.summarize(frame, **kwargs)


@pytest.mark.parametrize(
    "change, fragment",
    [
        (lambda s: pd.concat([s, s.iloc[:1]]), "field_uniqueness"),
        (lambda s: s.assign(recency=s["T"] + 1), "recency_le_T"),
        (lambda s: s.assign(frequency=-1.0), "greater_than_or_equal_to"),
        (lambda s: s.assign(frequency=0.5), "whole_number"),
        (lambda s: s.assign(monetary_value=np.inf), "finite"),
    ],
)
def test_bad_summaries_name_the_rule_and_rows(change, fragment):
    summary = change(cv.datasets.load_cdnow_summary().head(20))
    with pytest.raises(SchemaError, match=fragment) as info:
        cv.summarize(summary)
    assert "How to fix" in str(info.value)
    assert len(info.value.failure_cases) > 0


def test_calibration_holdout_rejects_end_before_calibration():
    tx = random_transactions(100, 10, seed=4)
    with pytest.raises(InvalidParameterError, match="must be after calibration_end"):
        cv.calibration_holdout(tx, "2023-06-01", "2023-05-01")


def test_dates_are_microseconds_and_totals_never_overflow():
    tx = pd.DataFrame({"customer_id": [1, 1, 2], "date": pd.to_datetime(["2024-01-01", "2024-01-08", "2024-01-03"]),
                       "amount": [10.0, 20.0, 5.0]})
    summary = cv.summarize(tx)
    assert summary["first_purchase"].dtype == summary["last_purchase"].dtype == np.dtype("datetime64[us]")
    with pytest.raises(SchemaError, match=r"'amount' breaks the rule 'finite sum per customer' in 1 row"):
        cv.summarize(tx.assign(amount=[1e308, 1e308, 5.0]))
    with pytest.raises(SchemaError, match="finite sum per customer"):
        cv.calibration_holdout(tx.assign(amount=[1.0, 1e308, 5.0]).pipe(lambda d: pd.concat([d, d.iloc[[1]]])),
                               "2024-01-04")


def test_yyyymmdd_integers_and_float_ids_summarize_like_dates_and_ints():
    tx = pd.DataFrame({"customer_id": [1.0, 1.0, 2.0], "date": [20240101, 20240108, 20240103],
                       "amount": [10.0, 20.0, 5.0]})
    want = cv.summarize(tx.assign(date=pd.to_datetime(tx["date"].astype(str))), unit="D")
    pd.testing.assert_frame_equal(cv.summarize(tx, unit="D"), want)
    with pytest.raises(SchemaError, match=r"2\*\*53"):
        cv.summarize(tx.assign(customer_id=[1e17, 1e17, 2e17]))


def _random_transactions(n_customers: int, seed: int) -> pd.DataFrame:
    """Transactions where many customers buy several times a day, some for $0, with gaps in the ids."""
    rng = np.random.default_rng(seed)
    n = 40 * n_customers
    return pd.DataFrame({
        "customer_id": rng.integers(0, n_customers, n) * 3 + 100,
        "date": pd.Timestamp("2024-01-01") + pd.to_timedelta(rng.integers(0, 60 * 24, n), unit="h"),
        "amount": np.where(rng.random(n) < 0.1, 0.0, rng.gamma(2.0, 15.0, n)),
    })


def _assert_identical(ours: pd.DataFrame, expected: pd.DataFrame) -> None:
    assert list(ours.columns) == list(expected.columns)
    assert ours.index.equals(expected.index)
    for column in expected.columns:
        assert ours[column].dtype == expected[column].dtype
        assert ours[column].to_numpy().tobytes() == expected[column].to_numpy().tobytes(), column


@pytest.mark.parametrize("grain", ["D", "h", "W"])
def test_every_column_is_the_same_with_tiny_slices(monkeypatch, grain):
    # The distinct pairs and the per-period spends are worked out in slices; their size must not move a bit.
    tx = _random_transactions(300, seed=3)
    default = cv.summarize(tx, unit="D", grain=grain, observation_end="2024-02-20")
    monkeypatch.setattr(cv.summary, "SMALL_SLICE_ROWS", 3)
    _assert_identical(cv.summarize(tx, unit="D", grain=grain, observation_end="2024-02-20"), default)


def test_pooled_spends_are_the_same_through_the_stable_argsort():
    # Keys too wide to share 64 bits with their position are sorted by a stable argsort instead: same sums.
    from custvalue.summary import _pooled_spends

    tx = _random_transactions(200, seed=4)
    codes = ((tx["customer_id"].to_numpy() - 100) // 3).astype(np.int32)
    days = ((tx["date"] - pd.Timestamp("2024-01-01")) // pd.Timedelta("1D")).to_numpy().astype(np.int32)
    amounts = tx["amount"].to_numpy()
    n_customers, bits = 200, 6
    first = np.full(n_customers, 10**6, dtype=np.int64)
    np.minimum.at(first, codes, days.astype(np.int64))
    pooled = np.zeros(n_customers, dtype=bool)
    pooled[::2] = True

    def keys_of(part: np.ndarray) -> np.ndarray:
        return (codes[part].astype(np.uint64) << np.uint64(bits)) | days[part].astype(np.uint64)

    results = []
    for key_bound in (n_customers << bits, 2**63):
        spends = (np.zeros(n_customers, dtype=np.int64), np.zeros(n_customers), np.zeros(n_customers))
        _pooled_spends(codes, amounts, first, pooled, keys_of, key_bound, bits, 0, spends)
        results.append(spends)
    for packed, argsorted in zip(*results):
        assert packed.tobytes() == argsorted.tobytes()
    assert (results[0][0][~pooled] == 0).all() and (results[0][0][pooled] > 0).all()
