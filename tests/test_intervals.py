"""Uncertainty: parameter interval coverage on simulated data, prediction intervals from score."""

import numpy as np
import pandas as pd
import pytest

import custvalue as cv
from custvalue.errors import InvalidParameterError
from custvalue.models import BetaGeo

SUMMARY = cv.datasets.load_cdnow_summary()


def test_parameter_intervals_cover_the_truth_about_90_percent():
    truth = pd.Series({"r": 0.6, "alpha": 5.0, "a": 0.8, "b": 2.5})
    generator = BetaGeo.from_params(**truth)
    rng = np.random.default_rng(0)
    hits, runs = 0, 120
    for seed in range(runs):
        sample = generator.simulate(3000, rng.uniform(20, 60, 3000), seed=seed)
        bounds = BetaGeo().fit(sample).parameter_intervals(0.9)
        hits += ((bounds["lower"] <= truth) & (truth <= bounds["upper"])).to_numpy()
    coverage = hits / runs
    # 120 runs of a true 90% interval: coverage outside [0.80, 0.97] has probability below 0.1%.
    assert np.all((coverage >= 0.80) & (coverage <= 0.97)), coverage


def test_score_intervals_bracket_the_predictions_and_are_reproducible():
    scored = cv.score(SUMMARY, horizon=39, intervals=0.9, interval_draws=100)
    for column in ("expected_purchases", "p_alive", "expected_spend", "clv"):
        low, point, high = (scored[f"{column}{s}"] for s in ("_lower", "", "_upper"))
        assert (low <= high + 1e-12).all()
        assert ((low <= point + 1e-9) & (point <= high + 1e-9)).mean() > 0.95
    assert scored["p_alive_upper"].max() <= 1.0 and scored["p_alive_lower"].min() >= 0.0
    again = cv.score(SUMMARY, horizon=39, intervals=0.9, interval_draws=100)
    pd.testing.assert_series_equal(again["clv_lower"], scored["clv_lower"])
    wider = cv.score(SUMMARY, horizon=39, intervals=0.99, interval_draws=100)
    assert ((wider["clv_upper"] - wider["clv_lower"]) >= (scored["clv_upper"] - scored["clv_lower"]) - 1e-9).all()


def test_bootstrap_intervals_agree_with_asymptotic_ones():
    asym = cv.score(SUMMARY, horizon=39, spend_model=None, intervals=0.9, interval_draws=200)
    boot = cv.score(SUMMARY, horizon=39, spend_model=None, intervals=0.9, interval_draws=60,
                    interval_method="bootstrap")
    width_a = (asym["expected_purchases_upper"] - asym["expected_purchases_lower"]).median()
    width_b = (boot["expected_purchases_upper"] - boot["expected_purchases_lower"]).median()
    assert 0.5 < width_b / width_a < 2.0


def test_interval_errors():
    with pytest.raises(InvalidParameterError, match="intervals=1.5 is not valid"):
        cv.score(SUMMARY, intervals=1.5)
    with pytest.raises(InvalidParameterError, match="cannot give prediction intervals"):
        cv.score(cv.summarize(cv.datasets.load_cdnow(sample=True)), model="historic", intervals=0.9)
    fixed = BetaGeo.from_params(r=0.24, alpha=4.4, a=0.79, b=2.4)
    with pytest.raises(InvalidParameterError, match="no covariance"):
        cv.score(SUMMARY, model=fixed, spend_model=None, intervals=0.9)
    with pytest.raises(InvalidParameterError, match="interval_method=.jackknife. is not valid"):
        cv.score(SUMMARY, spend_model=None, intervals=0.9, interval_method="jackknife")
