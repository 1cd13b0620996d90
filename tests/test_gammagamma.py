"""Gamma-Gamma: currency-free fitting, finite spends for every parameter, q <= 1; the individual-amount model."""

import warnings

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import integrate, stats

import custvalue as cv
from custvalue.errors import SchemaError
from custvalue.models import GammaGamma, GammaGammaIndividual
from custvalue.models.gammagamma import SpendWarning
from custvalue.models.gammagamma_individual import gammagamma_individual_loglik

SUMMARY = cv.datasets.load_cdnow_summary()
REPEAT_BUYERS = int((SUMMARY["frequency"] > 0).sum())  # 946 in Fader & Hardie (2013)


# --- the fit does not depend on the currency unit -----------------------------------------------------


@pytest.mark.parametrize("factor", [1e-6, 1e8])
def test_fit_is_the_same_in_any_currency_unit(factor):
    base = GammaGamma().fit(SUMMARY)
    scaled = GammaGamma().fit(SUMMARY.assign(monetary_value=SUMMARY["monetary_value"] * factor))
    # Equal to the optimiser's tolerance (the rescaled spends differ from the originals in the last bit).
    np.testing.assert_allclose(scaled.params_[["p", "q"]], base.params_[["p", "q"]], rtol=1e-7)
    assert scaled.params_["v"] == pytest.approx(base.params_["v"] * factor, rel=1e-7)
    # The density of a mean spend in the new unit is the old one divided by the factor, once per buyer.
    assert scaled.log_likelihood_ == pytest.approx(base.log_likelihood_ - REPEAT_BUYERS * np.log(factor), abs=1e-6)
    np.testing.assert_allclose(scaled.standard_errors_ / [1, 1, factor], base.standard_errors_, rtol=1e-6)
    np.testing.assert_allclose(scaled.expected_spend(SUMMARY.assign(monetary_value=SUMMARY["monetary_value"]
                                                                    * factor)) / factor,
                               base.expected_spend(SUMMARY), rtol=1e-7)


def test_weights_and_the_lifetimes_engine_still_agree():
    rows = SUMMARY[["frequency", "monetary_value"]].value_counts().reset_index()
    weighted = GammaGamma().fit(rows, weights=rows.pop("count").to_numpy())
    plain = GammaGamma().fit(SUMMARY)
    np.testing.assert_allclose(weighted.params_, plain.params_, rtol=1e-8)
    assert weighted.log_likelihood_ == pytest.approx(plain.log_likelihood_, rel=1e-10)
    # Fader & Hardie (2013): p = 6.25, q = 3.74, v = 15.44 (lifetimes fits the same numbers).
    peer = GammaGamma(engine="lifetimes").fit(SUMMARY)
    np.testing.assert_allclose(peer.params_, [6.25, 3.74, 15.44], rtol=2e-3)


# --- finite, positive spends for every parameter ----------------------------------------------------


def test_spends_follow_the_inverse_gamma_posterior():
    # Given x and m, a transaction's expected value p/ν has ν ~ Gamma(px+q, v+xm), so p/ν is inverse-gamma with
    # shape px+q and scale p(v+xm): its mean where that exists (shape > 1), else its median.
    customers = pd.DataFrame({"frequency": [0, 0, 1, 3, 40], "monetary_value": [0.0, 5.0, 12.0, 30.0, 8.0]})
    for p, q, v in ((6.25, 3.74, 15.44), (2.0, 0.8, 10.0), (0.05, 0.5, 3.0), (0.3, 1.0, 1.0)):
        spend = GammaGamma.from_params(p=p, q=q, v=v).expected_spend(customers).to_numpy()
        x, m = customers["frequency"].to_numpy(float), customers["monetary_value"].to_numpy()
        posterior = stats.invgamma(p * x + q, scale=p * (v + x * m))
        expected = np.where(p * x + q > 1, posterior.mean(), posterior.median())
        np.testing.assert_allclose(spend, expected, rtol=1e-9)


def test_heavy_tails_warn_with_a_custvalue_warning_and_score_stays_finite():
    heavy = GammaGamma.from_params(p=3.0, q=0.7, v=5.0).simulate(np.full(5000, 2.0), seed=4)
    with pytest.warns(SpendWarning) as record:
        fitted = GammaGamma().fit(heavy)
    assert fitted.params_["q"] < 1
    message = str(record[0].message)
    assert issubclass(SpendWarning, UserWarning) and not issubclass(SpendWarning, RuntimeWarning)
    assert "median" in message and "summary.nlargest(10, 'monetary_value')" in message
    assert len(heavy.nlargest(10, "monetary_value")) == 10  # the call the message suggests works
    scored = cv.score(SUMMARY, model="bgnbd", spend_model=GammaGamma.from_params(p=2.0, q=0.8, v=10.0), horizon=39)
    assert np.isfinite(scored[["expected_spend", "clv"]].to_numpy()).all()
    assert (scored["expected_spend"] > 0).all()


@settings(max_examples=300, deadline=None)
@given(p=st.floats(-3, 4).map(lambda e: 10.0**e), q=st.floats(-3, 4).map(lambda e: 10.0**e),
       v=st.floats(-3, 6).map(lambda e: 10.0**e), x=st.integers(0, 1000), m=st.floats(-3, 6).map(lambda e: 10.0**e))
def test_expected_spend_is_finite_and_positive_for_every_parameter(p, q, v, x, m):
    model = GammaGamma.from_params(p=p, q=q, v=v)
    customers = pd.DataFrame({"frequency": [0.0, float(x)], "monetary_value": [0.0, m]})
    old = np.seterr(all="raise")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            spend = model.expected_spend(customers).to_numpy()
    finally:
        np.seterr(**old)
    assert np.isfinite(spend).all() and (spend > 0).all()


def test_bad_spends_are_refused_with_the_column_named():
    with pytest.raises(SchemaError, match="monetary_value"):
        GammaGamma.from_params(p=6.25, q=3.74, v=15.44).expected_spend(
            pd.DataFrame({"frequency": [2.0], "monetary_value": [-1.0]}))


def test_transaction_amounts_have_the_population_mean():
    model = GammaGamma.from_params(p=6.25, q=3.74, v=15.44)
    amounts = model.transaction_amounts(np.full(200_000, 3), seed=8)
    assert len(amounts) == 600_000
    per_customer = amounts.reshape(-1, 3).mean(axis=1)  # independent across customers
    se = per_customer.std() / np.sqrt(len(per_customer))
    assert abs(per_customer.mean() - model.population_mean_spend()) < 4 * se


# --- the individual-amount model ------------------------------------------------------------------------


def individual_customers(rng, n, p=6.0, q=4.0, v=15.0):
    """A summary built from individual amounts drawn with numpy (pymc-marketing's test design: x ~ 1 + Poisson(5),
    ν ~ Gamma(q, rate v), amounts ~ Gamma(p, rate ν))."""
    x = rng.poisson(5, n) + 1
    nu = rng.gamma(q, 1 / v, n)
    owner = np.repeat(np.arange(n), x)
    amounts = pd.DataFrame({"customer_id": owner, "z": rng.gamma(p, 1 / nu[owner])})
    grouped = amounts.groupby("customer_id")["z"]
    return pd.DataFrame({"frequency": grouped.size().astype(float), "monetary_value": grouped.mean(),
                         "mean_log_value": amounts.assign(z=np.log(amounts["z"])).groupby("customer_id")["z"].mean()})


def test_individual_likelihood_is_the_integral_over_nu():
    p, q, v = 2.5, 3.0, 7.0
    z = np.array([3.0, 9.5, 4.25])

    def joint(nu):
        return np.prod(stats.gamma.pdf(z, p, scale=1 / nu)) * stats.gamma.pdf(nu, q, scale=1 / v)

    exact = integrate.quad(joint, 0, np.inf, epsabs=0, epsrel=1e-12)[0]
    ours = gammagamma_individual_loglik(np.log([p, q, v]), np.array([3.0]), np.array([z.mean()]),
                                        np.array([np.log(z).mean()]), np.array([1.0]), order=0)
    assert ours == pytest.approx(np.log(exact), rel=1e-9)


def test_individual_analytic_derivatives_match_finite_differences():
    from custvalue.models._mle import numeric_gradient, numeric_hessian

    data = individual_customers(np.random.default_rng(3), 500)
    model = GammaGammaIndividual()
    fit_data, w = model._fit_data(data, np.random.default_rng(0).uniform(0.5, 2.0, len(data)))
    loglik = model._bound_loglik(fit_data, w)
    z = np.log([5.0, 3.0, 12.0])
    value, gradient, hessian = loglik(z, 2)
    assert value == pytest.approx(loglik(z, 0), rel=1e-13)
    np.testing.assert_allclose(gradient, numeric_gradient(lambda u: loglik(u, 0), z), rtol=1e-6, atol=1e-4)
    np.testing.assert_allclose(hessian, numeric_hessian(lambda u: loglik(u, 1)[1], z), rtol=1e-6, atol=1e-5)


def test_individual_model_recovers_parameters_and_identifies_p_better():
    truth = pd.Series({"p": 6.0, "q": 4.0, "v": 15.0})
    for n in (1000, 20_000):  # pymc-marketing's 1,000 customers, and more
        data = individual_customers(np.random.default_rng(18), n)
        individual = GammaGammaIndividual().fit(data)
        mean_only = GammaGamma().fit(data)
        assert (((individual.params_ - truth) / individual.standard_errors_).abs() < 4).all()
        assert (((mean_only.params_ - truth) / mean_only.standard_errors_).abs() < 4).all()
        # The within-customer spread pins p down: a far smaller standard error on the same data.
        assert individual.standard_errors_["p"] < mean_only.standard_errors_["p"] / 3


def test_individual_fit_is_currency_free():
    data = individual_customers(np.random.default_rng(5), 2000)
    base = GammaGammaIndividual().fit(data)
    scaled_data = data.assign(monetary_value=data["monetary_value"] * 1e8,
                              mean_log_value=data["mean_log_value"] + np.log(1e8))
    scaled = GammaGammaIndividual().fit(scaled_data)
    np.testing.assert_allclose(scaled.params_[["p", "q"]], base.params_[["p", "q"]], rtol=1e-7)
    assert scaled.params_["v"] == pytest.approx(base.params_["v"] * 1e8, rel=1e-7)
    # Each of the Σx amounts is divided by 1e8 in the old unit: the log density moves by ln(1e8) per amount.
    assert scaled.log_likelihood_ == pytest.approx(base.log_likelihood_ - data["frequency"].sum() * np.log(1e8),
                                                   abs=1e-5)


@pytest.fixture(scope="module")
def cdnow_summary():
    """The CDNOW sample summarized, with mean_log_value built with pandas: a purchase occasion is a customer's
    purchases on one day, summed; the repeat occasions are all but the first."""
    tx = cv.clean(cv.datasets.load_cdnow(sample=True))
    tx = tx[tx["date"] <= "1997-09-30"]
    occasions = tx.groupby(["customer_id", tx["date"].dt.normalize()])["amount"].sum().reset_index()
    occasions = occasions.sort_values(["customer_id", "date"])
    repeat = occasions[occasions.groupby("customer_id").cumcount() > 0]
    summary = cv.summarize(tx, unit="W", observation_end="1997-09-30")
    by_customer = repeat.groupby("customer_id")["amount"]
    np.testing.assert_allclose(by_customer.mean(), summary.loc[by_customer.mean().index, "monetary_value"],
                               rtol=1e-12)  # the same occasions summarize averages
    mean_log = np.log(repeat["amount"]).groupby(repeat["customer_id"]).mean()
    return summary.assign(mean_log_value=mean_log.reindex(summary.index, fill_value=0.0))


def test_individual_model_scores_a_summary_with_mean_log_value(cdnow_summary):
    direct = GammaGammaIndividual().fit(cdnow_summary)
    assert direct.n_customers_ == REPEAT_BUYERS
    scored = cv.score(cdnow_summary, model="bgnbd", spend_model="gammagamma_individual", horizon=39)
    spend_model = cv.fitted_models(scored)["spend_model"]
    assert spend_model.name == "gammagamma_individual"
    # Fitted on distinct rows with counts, it is the fit on every customer.
    np.testing.assert_allclose(spend_model.params_, direct.params_, rtol=1e-6)
    np.testing.assert_allclose(scored["expected_spend"], direct.expected_spend(cdnow_summary), rtol=1e-6)
    assert np.isfinite(scored["clv"]).all()


def test_individual_model_needs_a_consistent_mean_log_value(cdnow_summary):
    with pytest.raises(SchemaError, match="missing \\['mean_log_value'\\]"):
        GammaGammaIndividual().fit(cdnow_summary.drop(columns="mean_log_value"))
    repeat = cdnow_summary.index[cdnow_summary["frequency"] > 0][0]
    broken = cdnow_summary.copy()
    broken.loc[repeat, "mean_log_value"] = np.log(broken.loc[repeat, "monetary_value"]) + 1  # above log(mean)
    with pytest.raises(SchemaError, match="mean_log_value") as info:
        GammaGammaIndividual().fit(broken)
    assert "spend_model='gammagamma'" in str(info.value)
    # Without mean_log_value, expected spend needs only frequency and monetary_value.
    fitted = GammaGammaIndividual().fit(cdnow_summary)
    fitted.expected_spend(cdnow_summary.drop(columns="mean_log_value"))
