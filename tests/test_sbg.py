"""Shifted-beta-geometric model: Fader & Hardie (2007) published cohorts, Fader & Hardie (2010) residual lifetime,
recovery."""

import numpy as np
import pandas as pd
import pytest
from scipy.special import hyp2f1

import custvalue as cv
from custvalue.errors import InvalidParameterError, SchemaError
from custvalue.models import ShiftedBetaGeometric

# Fader & Hardie (2007), "How to project customer retention": survivors of 1,000 in years 0-7,
# the fitted parameters, the log-likelihood, and the projected survivors in years 8-12.
COHORTS = {
    "regular": ([1000, 631, 468, 382, 326, 289, 262, 241], (0.704, 1.182), -1680.27, [220, 204, 191, 180, 170]),
    "high end": ([1000, 869, 743, 653, 593, 551, 517, 491], (0.668, 3.806), -1611.16, [460, 436, 414, 395, 378]),
}


@pytest.mark.parametrize("name", list(COHORTS))
def test_published_cohorts(name):
    survivors, params, ll, projected = COHORTS[name]
    m = cv.models.get("sbg").fit(survivors)
    np.testing.assert_allclose(m.params_, params, atol=6e-4)
    assert m.log_likelihood_ == pytest.approx(ll, abs=0.006)
    np.testing.assert_allclose(m.project_survivors(12, 1000).loc[8:12], projected, atol=0.6)
    assert m.standard_errors_.notna().all()


def test_survival_and_retention_identities():
    m = ShiftedBetaGeometric.from_params(alpha=0.704, beta=1.182)
    t = np.arange(1, 20)
    np.testing.assert_allclose(m.retention_rate(t), m.survival(t) / m.survival(t - 1), rtol=1e-12)
    assert m.survival(0) == 1.0 and np.all(np.diff(m.retention_rate(t)) > 0)  # retention rises with tenure
    assert m.survival(1) == pytest.approx(1 - 0.704 / (0.704 + 1.182))


def test_residual_lifetime_is_fader_hardie_2010_eq_6():
    # Fader & Hardie (2010), eq. 6: DERL(d | α, β, n−1 renewals) = (β+n−1)/(α+β+n−1) 2F1(1, β+n; α+β+n; 1/(1+d)),
    # the next renewal (due now) undiscounted; scipy's 2F1 is reliable at these moderate arguments.
    for (alpha, beta) in ((0.704, 1.182), (0.668, 3.806), (1.6, 3.0)):
        m = ShiftedBetaGeometric.from_params(alpha=alpha, beta=beta)
        for renewals in (0, 1, 4, 7, 20):
            for d in (0.05, 0.1, 0.25):
                eq6 = (beta + renewals) / (alpha + beta + renewals) * hyp2f1(
                    1, beta + renewals + 1, alpha + beta + renewals + 1, 1 / (1 + d))
                assert m.residual_lifetime(renewals, d) == pytest.approx(eq6, rel=1e-10)
                assert m.residual_lifetime(renewals, d, discount_first=True) == pytest.approx(eq6 / (1 + d),
                                                                                              rel=1e-10)


def test_residual_lifetime_of_the_high_end_cohort():
    # The "high end" cohort of Fader & Hardie (2007), fitted here, after 7 renewals at d = 10%: 7.530
    # (the README of jdmaturen/shifted_beta_geometric_py, which implements the 2010 paper's DERL).
    m = cv.models.get("sbg").fit(COHORTS["high end"][0])
    assert m.residual_lifetime(7, 0.1) == pytest.approx(7.530, abs=5e-4)


def test_residual_lifetime_equals_its_series():
    m = ShiftedBetaGeometric.from_params(alpha=1.6, beta=3.0)
    for n in (0, 3, 10):
        k = np.arange(0, 5_000)  # 1.1^-5000 is far below double precision
        ratio = m.survival(n + k + 1) / m.survival(n)  # renewal k+1 periods on, k periods after the next one
        assert m.residual_lifetime(n, 0.1) == pytest.approx(np.sum(ratio / 1.1**k), rel=1e-9)
        assert m.residual_lifetime(n) == pytest.approx((3.0 + n) / 0.6)
    np.testing.assert_allclose(m.residual_lifetime([0, 3, 10], 0.1),
                               [m.residual_lifetime(n, 0.1) for n in (0, 3, 10)], rtol=1e-15)


def test_residual_lifetime_where_the_hypergeometric_function_fails():
    # Long tenures and small discount rates: scipy's 2F1 returns NaN here; the series does not.
    m = ShiftedBetaGeometric.from_params(alpha=0.704, beta=1.182)
    for n, d in ((300, 0.001), (1000, 0.001), (5000, 0.01), (40, 1e-4)):
        if n in (300, 1000):
            assert np.isnan(hyp2f1(1, 1.182 + n + 1, 0.704 + 1.182 + n + 1, 1 / (1 + d)))
        k = np.arange(0, 3_000_000)
        log_ratio = np.cumsum(np.log((1.182 + n + k) / (0.704 + 1.182 + n + k)))  # ln S(n+k+1)/S(n)
        series = np.sum(np.exp(log_ratio - k * np.log1p(d)))
        assert m.residual_lifetime(n, d) == pytest.approx(series, rel=1e-8)


def test_residual_lifetime_without_discounting_needs_alpha_above_one():
    m = ShiftedBetaGeometric.from_params(alpha=0.7, beta=1.2)
    with pytest.raises(InvalidParameterError, match="infinite") as info:
        m.residual_lifetime(5)
    assert "residual_lifetime(n, discount_rate=0.1)" in str(info.value)
    assert np.isfinite(m.residual_lifetime(5, discount_rate=0.1))  # the suggested call works
    for bad, name in (({"periods_survived": -1}, "periods_survived"), ({"periods_survived": 1.5}, "periods_survived"),
                      ({"periods_survived": 1, "discount_rate": -0.1}, "discount_rate"),
                      ({"periods_survived": 1, "discount_rate": 0.1, "discount_first": "yes"}, "discount_first")):
        with pytest.raises(InvalidParameterError, match=name):
            m.residual_lifetime(**bad)


def test_sbg_is_contractual_and_answers_no_customer_questions():
    m = ShiftedBetaGeometric.from_params(alpha=0.704, beta=1.182)
    assert m.role is cv.models.Role.CONTRACTUAL
    assert not any(m.can(a) for a in ("p_alive", "conditional", "purchase_probability", "discounting"))
    with pytest.raises(cv.errors.AbilityError):
        m.p_alive(pd.DataFrame({"frequency": [1.0], "recency": [1.0], "T": [2.0]}))


def test_recovery_and_input_forms():
    truth = ShiftedBetaGeometric.from_params(alpha=0.9, beta=2.5)
    survivors = truth.simulate(50_000, periods=10, seed=3)
    m = ShiftedBetaGeometric().fit(pd.Series(survivors))
    assert (((m.params_ - truth.params_) / m.standard_errors_).abs() < 3).all()
    same = ShiftedBetaGeometric().fit(pd.DataFrame({"survivors": survivors}))
    pd.testing.assert_series_equal(same.params_, m.params_)


@pytest.mark.parametrize("bad, fragment", [([1000], "at least two"), ([100, 120], "cannot increase"),
                                           ([100, 50.5], "whole numbers"), ([100, -1], "whole numbers")])
def test_bad_survivor_counts(bad, fragment):
    with pytest.raises(SchemaError, match=fragment):
        ShiftedBetaGeometric().fit(bad)


def test_no_lifetimes_engine_for_sbg():
    with pytest.raises(InvalidParameterError, match="no fitter"):
        ShiftedBetaGeometric(engine="lifetimes").fit([1000, 600, 400])
