"""Hours as a unit and a grain, and holdout durations measured the way T is: against lifetimes, by hand,
and by the identity T(observation end) − T(calibration end) = duration_holdout."""

import warnings

import numpy as np
import pandas as pd
import pytest

import custvalue as cv
from custvalue.errors import InvalidParameterError
from custvalue.timeunits import days_per_unit

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from lifetimes.utils import calibration_and_holdout_data, summary_data_from_transaction_data

BTYD = ["frequency", "recency", "T", "monetary_value"]


def timestamped(n=6_000, n_customers=400, days=60, seed=0):
    """Transactions at minute resolution over ``days`` days."""
    rng = np.random.default_rng(seed)
    return pd.DataFrame({
        "customer_id": rng.integers(0, n_customers, n) * 3 + 1,
        "date": pd.Timestamp("2024-01-01") + pd.to_timedelta(rng.integers(0, days * 24 * 60, n), unit="min"),
        "amount": np.round(rng.gamma(2.0, 10.0, n), 2),
    })


def lifetimes_summary(tx, end, **options):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        theirs = summary_data_from_transaction_data(tx, "customer_id", "date", monetary_value_col="amount",
                                                    observation_period_end=end, **options)
    return theirs.rename_axis("customer_id").sort_index()


def test_an_hour_is_exactly_a_24th_of_a_day():
    assert days_per_unit("h") * 24 == 1.0
    with pytest.raises(InvalidParameterError, match="hours are 'h'"):
        cv.summarize(timestamped(), unit="H")


@pytest.mark.parametrize("unit, multiplier", [("h", 1), ("D", 24), ("W", 168)])
def test_hourly_grain_matches_lifetimes(unit, multiplier):
    tx = timestamped()
    end = "2024-02-20 13:00"
    ours = cv.summarize(tx, unit=unit, grain="h", observation_end=end)
    theirs = lifetimes_summary(tx, end, freq="h", freq_multiplier=multiplier)
    pd.testing.assert_frame_equal(ours[BTYD], theirs[BTYD], check_dtype=False, rtol=1e-12)


def test_hours_on_the_daily_grain_are_days_times_24():
    tx = timestamped(seed=1)
    by_day = cv.summarize(tx, unit="D", observation_end="2024-02-20")
    in_hours = cv.summarize(tx, unit="h", observation_end="2024-02-20")
    np.testing.assert_array_equal(in_hours["T"], by_day["T"] * 24)
    np.testing.assert_array_equal(in_hours["recency"], by_day["recency"] * 24)


def test_hourly_summary_by_hand():
    tx = pd.DataFrame({"customer_id": [7, 7, 7, 7], "amount": [3.0, 1.0, 4.0, 0.0],
                       "date": pd.to_datetime(["2024-01-01 08:26", "2024-01-01 08:59", "2024-01-01 14:05",
                                               "2024-01-02 09:30"])})
    # 8:26 and 8:59 are one occasion (hour 8) worth 4; 14:05 is 6 hours later, worth 4; the $0 purchase the next
    # morning is a purchase (25 hours after the first); the observation ends in the hour starting 2024-01-02 12:00.
    summary = cv.summarize(tx, unit="h", grain="h", observation_end="2024-01-02 12:10")
    assert summary.loc[7, ["frequency", "recency", "T", "monetary_value"]].tolist() == [2, 25.0, 28.0, 4.0]
    assert summary.loc[7, "first_purchase"] == pd.Timestamp("2024-01-01 08:00")
    assert cv.summarize(tx, unit="h", grain="h").attrs["custvalue"].get("observation_end") == pd.Timestamp(
        "2024-01-02 09:00")


def test_bgnbd_on_hours_is_bgnbd_on_weeks_rescaled():
    # BG/NBD on the CDNOW sample in weeks gives the published r, alpha, a, b (Fader, Hardie & Lee 2005);
    # measured in hours (exactly 168 to the week) alpha is 168 times as large and nothing else changes.
    tx = cv.clean(cv.datasets.load_cdnow(sample=True))
    weekly = cv.models.get("bgnbd").fit(cv.summarize(tx, unit="W", observation_end="1997-09-30"))
    hourly = cv.models.get("bgnbd").fit(cv.summarize(tx, unit="h", observation_end="1997-09-30"))
    np.testing.assert_allclose(hourly.params_ / [1, 168, 1, 1], weekly.params_, rtol=1e-5)
    np.testing.assert_allclose(weekly.params_, [0.2426, 4.4136, 0.7929, 2.4259], atol=5e-5)


def test_score_in_hours_end_to_end():
    tx = cv.clean(cv.datasets.load_cdnow(sample=True))
    weekly = cv.score(tx, horizon=4, unit="W", observation_end="1997-09-30")
    hourly = cv.score(tx, horizon=4 * 168, unit="h", observation_end="1997-09-30")
    np.testing.assert_allclose(hourly["expected_purchases"], weekly["expected_purchases"], rtol=1e-4)
    np.testing.assert_allclose(hourly["clv"], weekly["clv"], rtol=1e-4)
    # Purchases drawn from BG/NBD and Gamma-Gamma on an hourly clock: the fits find the parameters again.
    truth = cv.models.BetaGeo.from_params(r=0.8, alpha=60.0, a=0.6, b=2.5)
    spend = cv.models.GammaGamma.from_params(p=6.0, q=4.0, v=15.0)
    log = truth.simulate_transactions(4_000, 24 * 30, unit="h", observation_end="2024-03-01", spend_model=spend,
                                      seed=5)
    per_hour = cv.score(log, unit="h", grain="h", horizon=48, observation_end="2024-03-01",
                        spend_model="gammagamma_individual")
    fitted = cv.fitted_models(per_hour)
    assert fitted["unit"] == "h" and np.isfinite(per_hour["clv"]).all()
    np.testing.assert_allclose(fitted["model"].params_, truth.params_, rtol=0.3)


def test_tracking_in_hours():
    tx = timestamped(seed=2)
    model = cv.models.BetaGeo.from_params(r=0.5, alpha=200.0, a=0.8, b=2.5)
    track = cv.tracking(model, tx, unit="h", period="D")
    occasions = tx.assign(hour=tx["date"].dt.floor("h"))[["customer_id", "hour"]].drop_duplicates()
    repeat = len(occasions) - occasions["customer_id"].nunique()  # hourly occasions after each first one
    assert track["actual_cumulative"].iloc[-1] == repeat
    assert track.index[1] - track.index[0] == pd.Timedelta(days=1)


def lifetimes_calhold(tx, calibration_end, observation_end, **options):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        theirs = calibration_and_holdout_data(tx, "customer_id", "date", calibration_period_end=calibration_end,
                                              observation_period_end=observation_end, monetary_value_col="amount",
                                              **options)
    return theirs.rename_axis("customer_id").sort_index()


CALHOLD = ["frequency_cal", "recency_cal", "T_cal", "frequency_holdout", "duration_holdout"]


def test_weekly_holdout_is_counted_in_whole_weeks_like_lifetimes():
    tx = cv.clean(cv.datasets.load_cdnow(sample=True))
    # Calibration ends on Sunday 1997-09-28, the last day of a week (weeks start on Monday, as lifetimes' W).
    ours = cv.calibration_holdout(tx, "1997-09-28", "1998-06-28", unit="W", grain="W")
    theirs = lifetimes_calhold(tx, "1997-09-28", "1998-06-28", freq="W")
    pd.testing.assert_frame_equal(ours[CALHOLD], theirs[CALHOLD], check_dtype=False, rtol=1e-12)
    assert ours["duration_holdout"].iloc[0] == 39.0  # whole weeks, not 273 days / 7 = 39 by luck:
    six_days = cv.calibration_holdout(tx, "1997-09-28", "1997-10-04", unit="W", grain="W")
    assert six_days["duration_holdout"].iloc[0] == 1.0  # Monday to Saturday is one week period
    on_days = cv.calibration_holdout(tx, "1997-09-28", "1997-10-04", unit="W")
    assert on_days["duration_holdout"].iloc[0] == pytest.approx(6 / 7)


def test_a_holdout_inside_the_calibrations_last_period_is_refused():
    tx = cv.clean(cv.datasets.load_cdnow(sample=True))
    with pytest.raises(InvalidParameterError, match=r"same grain period \(W\) as calibration_end.*later W period"):
        cv.calibration_holdout(tx, "1997-09-29", "1997-10-04", unit="W", grain="W")


@pytest.mark.parametrize("unit, grain", [("W", "D"), ("W", "W"), ("M", "M"), ("D", "W"), ("h", "h"), ("Y", "M")])
def test_duration_holdout_is_what_T_grows_by(unit, grain):
    tx = timestamped(n=3_000, days=400, seed=3)
    calibration_end, observation_end = "2024-06-17 10:30", "2025-01-09 16:45"
    calhold = cv.calibration_holdout(tx, calibration_end, observation_end, unit=unit, grain=grain)
    later = cv.summarize(tx, unit=unit, grain=grain, observation_end=observation_end).loc[calhold.index]
    np.testing.assert_allclose(later["T"] - calhold["T_cal"], calhold["duration_holdout"], rtol=1e-12)
    # Every purchase is counted once: in the calibration's periods or in the holdout's.
    total = later["frequency"] + 1
    np.testing.assert_array_equal(calhold["frequency_cal"] + 1 + calhold["frequency_holdout"], total)


def test_hourly_holdout_matches_lifetimes_at_an_hour_boundary():
    tx = timestamped(seed=4)
    # lifetimes keeps the calibration's transactions up to the end instant; the end of an hour makes both agree.
    ours = cv.calibration_holdout(tx, "2024-02-01 10:59:59", "2024-02-20 13:59:59", unit="h", grain="h")
    theirs = lifetimes_calhold(tx, "2024-02-01 10:59:59", "2024-02-20 13:59:59", freq="h")
    pd.testing.assert_frame_equal(ours[CALHOLD], theirs[CALHOLD], check_dtype=False, rtol=1e-12)
    assert ours["duration_holdout"].iloc[0] == 19 * 24 + 3


def test_hourly_summaries_on_dask_equal_pandas():
    dd = pytest.importorskip("dask.dataframe")
    import dask

    import custvalue.dask  # noqa: F401

    tx = timestamped(n=3_000, n_customers=300, days=30, seed=6)
    with dask.config.set(scheduler="threads"):
        for grain, unit in (("h", "h"), ("D", "h")):
            lazy = cv.summarize(dd.from_pandas(tx, npartitions=4), unit=unit, grain=grain,
                                observation_end="2024-01-20 10:00", compute=True)
            pd.testing.assert_frame_equal(lazy, cv.summarize(tx, unit=unit, grain=grain,
                                                             observation_end="2024-01-20 10:00"), check_exact=True)


@pytest.mark.parametrize("unit, grain", [("h", "h"), ("D", "h"), ("h", "D")])
def test_alive_path_in_hours_ends_at_the_summary(unit, grain):
    tx = timestamped(seed=7)
    model = cv.models.BetaGeo.from_params(r=0.5, alpha=200.0 / days_per_unit(unit) / 24, a=0.8, b=2.5)
    customer = int(tx["customer_id"].value_counts().index[0])
    path = cv.alive_path(model, tx, customer, unit=unit, grain=grain, observation_end="2024-02-20 13:30")
    summary = cv.summarize(tx, unit=unit, grain=grain, observation_end="2024-02-20 13:30").loc[[customer]]
    last = path.iloc[[-1]]
    np.testing.assert_allclose(last[["frequency", "recency", "T"]].to_numpy(dtype=float),
                               summary[["frequency", "recency", "T"]].to_numpy(dtype=float), rtol=1e-12)
    assert last["p_alive"].iloc[0] == pytest.approx(model.p_alive(summary).iloc[0], rel=1e-12)
    assert path["purchases"].sum() == summary["frequency"].iloc[0] + 1
