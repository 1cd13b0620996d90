"""Shifted-beta-geometric model: Fader & Hardie (2007) published cohorts, residual lifetime, recovery."""

import numpy as np
import pandas as pd
import pytest

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


def test_residual_lifetime_equals_its_series():
    m = ShiftedBetaGeometric.from_params(alpha=1.6, beta=3.0)
    for n in (0, 3, 10):
        k = np.arange(1, 5_000)  # 1.1^-5000 is far below double precision
        ratio = m.survival(n + k) / m.survival(n)
        assert m.residual_lifetime(n, 0.1) == pytest.approx(np.sum(ratio / 1.1**k), rel=1e-9)
        assert m.residual_lifetime(n) == pytest.approx((3.0 + n) / 0.6)
    assert np.isinf(ShiftedBetaGeometric.from_params(alpha=0.7, beta=1.2).residual_lifetime(5))


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
