"""Static covariates for BG/NBD and Pareto/NBD: recovery, the no-covariate limit, predictions."""

import numpy as np
import pandas as pd
import pytest

import custvalue as cv
from custvalue.errors import InvalidParameterError, SchemaError
from custvalue.models import BetaGeo, ParetoNBD
from custvalue.models.bgnbd import bgnbd_loglik
from custvalue.models.paretonbd import paretonbd_covariate_loglik, paretonbd_loglik

HYPER = {"purchase_covariates": ["email"], "dropout_covariates": ["age"]}


def simulated(model_class, truth, n, seed):
    rng = np.random.default_rng(seed)
    covariates = pd.DataFrame({"email": rng.integers(0, 2, n).astype(float), "age": rng.normal(0, 1, n)})
    T = np.round(rng.uniform(20, 60, n) * 7) / 7
    sim = model_class.from_params(HYPER, **truth).simulate(n, T, seed=seed + 1, covariates=covariates)
    sim["recency"] = np.floor(sim["recency"] * 7) / 7  # a day grid, in weeks
    return sim


@pytest.mark.parametrize("model_class, truth, n", [
    (BetaGeo, {"r": 0.6, "alpha": 5.0, "a": 0.8, "b": 2.5, "purchase[email]": 0.5, "dropout[age]": 0.4}, 20_000),
    (ParetoNBD, {"r": 0.6, "alpha": 8.0, "s": 0.7, "beta": 10.0, "purchase[email]": 0.5, "dropout[age]": 0.4}, 8_000),
], ids=["bgnbd", "paretonbd"])
def test_known_coefficients_are_recovered(model_class, truth, n):
    sim = simulated(model_class, truth, n, seed=4)
    m = model_class(**HYPER).fit(sim)
    assert list(m.params_.index) == list(truth)
    z = (m.params_ - pd.Series(truth)) / m.standard_errors_
    assert (z.abs() < 3.5).all(), z  # loose: seven correlated estimates from one sample
    assert m.standard_errors_["purchase[email]"] > 0
    low, high = m.confidence_intervals_.loc["purchase[email]"]
    assert low < m.params_["purchase[email]"] < high  # coefficients get symmetric, signed intervals


def test_zero_covariates_give_the_plain_likelihood_and_fit():
    data = cv.datasets.load_cdnow_summary().assign(email=0.0, age=0.0)
    arrays = {c: data[c].to_numpy(dtype=float) for c in ("frequency", "recency", "T")}
    arrays.update(zp0=np.zeros(len(data)), zd0=np.zeros(len(data)))
    w = np.ones(len(data))
    z = np.log([0.3, 4.0, 0.7, 2.0])
    for coefficients in ([0.0, 0.0], [0.7, -1.2]):  # with z = 0 the coefficients do not matter
        full = np.concatenate([z, coefficients])
        plain = {c: arrays[c] for c in ("frequency", "recency", "T")}
        assert bgnbd_loglik(full, arrays, w) == pytest.approx(bgnbd_loglik(z, plain, w), rel=1e-12)
        assert paretonbd_covariate_loglik(full, arrays, w) == pytest.approx(
            paretonbd_loglik(z, arrays["frequency"], arrays["recency"], arrays["T"], w), rel=1e-12)
    # A coefficient of an all-zero column is not identified; a small penalty pins it at 0, and then the
    # fit is the plain model's (same penalty).
    for model_class in (BetaGeo, ParetoNBD):
        with_cov = model_class(penalizer=1e-4, **HYPER).fit(data)
        plain = model_class(penalizer=1e-4).fit(data)
        np.testing.assert_allclose(with_cov.params_.iloc[:4], plain.params_, rtol=1e-5)
        np.testing.assert_allclose(with_cov.params_.iloc[4:], 0.0, atol=1e-8)


def test_predictions_use_each_customers_covariates():
    truth = {"r": 0.6, "alpha": 5.0, "a": 0.8, "b": 2.5, "purchase[email]": 0.7, "dropout[age]": 0.0}
    m = BetaGeo.from_params(HYPER, **truth)
    two = pd.DataFrame({"frequency": [2.0, 2.0], "recency": [20.0, 20.0], "T": [30.0, 30.0],
                        "email": [0.0, 1.0], "age": [0.0, 0.0]})
    # Customer 2's purchase scale is α·e^-0.7: exactly a plain BG/NBD with that α.
    plain = BetaGeo.from_params(r=0.6, alpha=5.0 * np.exp(-0.7), a=0.8, b=2.5)
    assert m.expected_purchases(two, 10).iloc[1] == pytest.approx(plain.expected_purchases(two, 10).iloc[1])
    assert m.p_alive(two).iloc[1] == pytest.approx(plain.p_alive(two).iloc[1])
    scored = cv.score(two, model=m, spend_model=None, horizon=10)  # rows differing only in covariates stay apart
    assert scored["expected_purchases"].iloc[0] != scored["expected_purchases"].iloc[1]


def test_save_load_and_errors_with_covariates(tmp_path):
    sim = simulated(ParetoNBD, {"r": 0.6, "alpha": 8.0, "s": 0.7, "beta": 10.0, "purchase[email]": 0.5,
                                "dropout[age]": 0.4}, 3000, seed=1)
    m = ParetoNBD(**HYPER).fit(sim)
    m.save(tmp_path / "m.json")
    loaded = cv.models.load(tmp_path / "m.json")
    pd.testing.assert_series_equal(loaded.p_alive(sim), m.p_alive(sim))
    with pytest.raises(SchemaError, match="not in the summary"):
        ParetoNBD(purchase_covariates=["channel"]).fit(sim)
    with pytest.raises(InvalidParameterError, match="list of column names"):
        ParetoNBD(purchase_covariates="email").fit(sim)
    with pytest.raises(InvalidParameterError, match="no covariate models"):
        ParetoNBD(engine="lifetimes", **HYPER).fit(sim)
    intervals = cv.score(sim, model=m, spend_model=None, horizon=10, intervals=0.9, interval_draws=20)
    assert (intervals["p_alive_lower"] <= intervals["p_alive_upper"]).all()
