"""Uncertainty: parameter interval coverage on simulated data, prediction intervals from score."""

import numpy as np
import pandas as pd
import pytest

import custvalue as cv
from custvalue.errors import IdentificationWarning, InvalidParameterError
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

    with pytest.raises(InvalidParameterError, match=r"no covariance .* custvalue.models.get\('bgnbd'\).fit\(summary\)"):
        cv.score(SUMMARY, model=fixed, spend_model=None, intervals=0.9, interval_method="asymptotic")


def test_intervals_of_an_unidentified_fit_are_refused_and_the_advised_penalizer_gives_them():
    # Two weeks of CDNOW: nobody can have dropped out yet as far as the data tell, so b runs to infinity.
    tx = cv.datasets.load_cdnow()
    short = tx[tx["date"] < "1997-01-15"]
    with pytest.warns(IdentificationWarning), pytest.raises(InvalidParameterError,
                                                            match=r"do not identify a, b of BetaGeo \('bgnbd'\)"):
        cv.score(short, horizon=30, unit="D", spend_model=None, intervals=0.9)
    scored = cv.score(short, horizon=30, unit="D", spend_model=None, intervals=0.9, penalizer=0.01)  # the advice
    bounds = scored[["expected_purchases_lower", "expected_purchases_upper"]].to_numpy()
    assert np.isfinite(bounds).all()
    assert (bounds[:, 0] <= scored["expected_purchases"]).all() and (scored["expected_purchases"] <= bounds[:, 1]).all()


def test_delta_method_intervals_cover_the_true_predictions_about_90_percent():
    # The interval is for parameter uncertainty: the truth is each customer's prediction at the true parameters.
    truth_bg = BetaGeo.from_params(r=0.6, alpha=5.0, a=0.8, b=2.5)
    truth_gg = cv.models.GammaGamma.from_params(p=6.0, q=4.0, v=15.0)
    customers = pd.DataFrame({"frequency": [0.0, 1, 2, 5, 10, 3, 1], "recency": [0.0, 5, 30, 35, 38, 10, 38],
                              "T": [39.0, 39, 39, 39, 39, 39, 39], "monetary_value": [0.0, 20, 30, 25, 40, 15, 60]})
    true_values = {"expected_purchases": truth_bg.expected_purchases(customers, 39).to_numpy(),
                   "p_alive": truth_bg.p_alive(customers).to_numpy()}
    true_values["clv"] = truth_gg.expected_spend(customers).to_numpy() * true_values["expected_purchases"]
    rng = np.random.default_rng(3)
    runs = 120
    hits = {column: np.zeros(len(customers)) for column in true_values}
    for seed in range(runs):
        sample = truth_bg.simulate(2000, rng.uniform(20, 60, 2000), seed=seed)
        sample["monetary_value"] = truth_gg.simulate(sample["frequency"].to_numpy(), seed=seed)["monetary_value"]
        bg, gg = BetaGeo().fit(sample), cv.models.GammaGamma().fit(sample)
        scored = cv.score(customers, model=bg, spend_model=gg, horizon=39, intervals=0.9)
        for column, value in true_values.items():
            hits[column] += (scored[f"{column}_lower"] <= value) & (value <= scored[f"{column}_upper"])
    repeat = customers["frequency"].to_numpy() > 0  # a one-time buyer's BG/NBD P(alive) is 1 for any parameters
    for column, count in hits.items():
        coverage = count[repeat] / runs if column == "p_alive" else count / runs
        # 120 runs of a true 90% interval: a coverage outside [0.80, 0.97] has probability below 0.2% each.
        assert np.all((coverage >= 0.80) & (coverage <= 0.97)), (column, coverage)
