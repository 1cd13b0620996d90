"""Pareto/NBD: exact derivatives and quadrature accuracy, every prediction against peers, papers or numerical
integration, transaction logs, and numerical honesty for any allowed parameters and customers."""

import time
import warnings

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scipy import integrate
from scipy.special import betaln, gammaln

import custvalue as cv
from custvalue.errors import InvalidParameterError
from custvalue.models import GammaGamma, ParetoNBD
from custvalue.models import _quadrature as quadrature
from custvalue.models import paretonbd as pnbd
from custvalue.models._mle import numeric_gradient, numeric_hessian

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    import lifetimes

SUMMARY = cv.datasets.load_cdnow_summary()
CDNOW = {"r": 0.5532, "alpha": 10.5763, "s": 0.6062, "beta": 11.6715}  # FHL (2005a); CLVTools


def published() -> ParetoNBD:
    return ParetoNBD.from_params(**CDNOW)


def customers(rows) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["frequency", "recency", "T"]).astype(float)


def extreme_customers() -> pd.DataFrame:
    """Hundreds or thousands of purchases, T ≫ t_x, T up to 1e4: where hypergeometric forms overflow."""
    rows = [(0, 0.0, T) for T in (0.5, 10.0, 1000.0, 1e4)]
    for x in (1, 10, 200, 500, 5000):
        for T in (1.0, 100.0, 1000.0, 1e4):
            rows += [(x, f * T, T) for f in (0.0, 1e-3, 0.5, 1.0)]
    return customers(rows)


def lifetimes_model(params: dict) -> "lifetimes.ParetoNBDFitter":
    fitter = lifetimes.ParetoNBDFitter()
    fitter.params_ = pd.Series(params)
    return fitter


# --- fitting: published values and peers -------------------------------------------------------------


def test_cdnow_fit_matches_clvtools():
    m = ParetoNBD().fit(SUMMARY)
    # CLVTools' correctness tests (tests/testthat/test_correctness_pnbd.R), CDNOW sample:
    # r=0.55315, alpha=10.57633, s=0.60625, beta=11.67150, LL=-9594.976; standard errors
    # 0.0476264, 0.8427222, 0.1872594, 6.2105448.
    np.testing.assert_allclose(m.params_, [0.55315, 10.57633, 0.60625, 11.67150], rtol=5e-4)
    assert m.log_likelihood_ == pytest.approx(-9594.976, abs=0.005)
    assert m.log_likelihood_ >= -9594.976  # at least as high as CLVTools' optimum
    np.testing.assert_allclose(m.standard_errors_, [0.0476264, 0.8427222, 0.1872594, 6.2105448], rtol=1e-3)
    assert m.converged_


def day_grid_customers(n: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    T = rng.integers(70, 546, n) / 7
    summary = ParetoNBD.from_params(r=0.55, alpha=10.5, s=0.6, beta=11.7).simulate(n, T, seed=seed + 1)
    return summary.assign(recency=np.floor(summary["recency"] * 7) / 7)


def test_estimates_equal_lifetimes():
    data = day_grid_customers(5_000, seed=3)
    ours = ParetoNBD().fit(data)
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        theirs = lifetimes.ParetoNBDFitter().fit(data["frequency"], data["recency"], data["T"])
    np.testing.assert_allclose(ours.params_, theirs.params_[["r", "alpha", "s", "beta"]], rtol=1e-3)
    # Ours is the maximum: lifetimes' estimates score no higher on our likelihood.
    z = np.log(theirs.params_[["r", "alpha", "s", "beta"]].to_numpy(dtype=float))
    arrays = [data[c].to_numpy() for c in ("frequency", "recency", "T")]
    assert ours.log_likelihood_ >= pnbd.paretonbd_loglik(z, *arrays, np.ones(len(data))) - 1e-6


@pytest.mark.parametrize("covariates", [False, True])
def test_a_fit_of_5000_customers_takes_under_two_seconds(covariates):
    data = day_grid_customers(5_000, seed=4)
    hyper = {}
    if covariates:
        rng = np.random.default_rng(5)
        data = data.assign(email=rng.integers(0, 2, len(data)).astype(float), age=rng.normal(0, 1, len(data)))
        hyper = {"purchase_covariates": ["email"], "dropout_covariates": ["age"]}
    start = time.perf_counter()
    m = ParetoNBD(**hyper).fit(data)
    assert time.perf_counter() - start < 2.0
    assert m.converged_ and m.standard_errors_.notna().all()


# --- exact derivatives ---------------------------------------------------------------------------------


@pytest.mark.parametrize("shared", [True, False])
@pytest.mark.parametrize("z", [np.log([0.3, 4.0, 0.7, 2.0]), np.log(list(CDNOW.values())),
                               np.log([5.0, 0.2, 3.0, 90.0])])
def test_gradient_and_hessian_equal_finite_differences(z, shared):
    arrays = [SUMMARY[c].to_numpy() for c in ("frequency", "recency", "T")]
    w = np.random.default_rng(0).uniform(0.5, 2.0, len(SUMMARY))
    none = np.zeros((len(SUMMARY), 0))
    pairs = pnbd._pairs(*arrays, none, none, shared=shared)  # differences of shared tails, or one per customer

    def loglik(q, order):
        return pnbd.paretonbd_loglik(q, *arrays, w, order, pairs=pairs)

    value, gradient, hessian = loglik(z, 2)
    assert value == pytest.approx(loglik(z, 0), rel=1e-14)
    np.testing.assert_allclose(loglik(z, 1)[1], gradient, rtol=1e-12)
    np.testing.assert_allclose(gradient, numeric_gradient(lambda q: loglik(q, 0), z), rtol=1e-6, atol=1e-4)
    np.testing.assert_allclose(hessian, numeric_hessian(lambda q: loglik(q, 1)[1], z), rtol=1e-6, atol=1e-5)


def test_covariate_derivatives_equal_finite_differences():
    rng = np.random.default_rng(1)
    data = SUMMARY.assign(email=rng.integers(0, 2, len(SUMMARY)).astype(float), age=rng.normal(0, 1, len(SUMMARY)))
    model = ParetoNBD(purchase_covariates=["email", "age"], dropout_covariates=["age"])
    arrays, w = model._fit_data(data, rng.uniform(0.5, 2.0, len(data)))
    loglik = model._bound_loglik(arrays, w)
    z = np.concatenate([np.log([0.5, 9.0, 0.7, 12.0]), [0.4, -0.3, 0.6]])
    value, gradient, hessian = loglik(z, 2)
    assert value == pytest.approx(loglik(z, 0), rel=1e-14)
    np.testing.assert_allclose(gradient, numeric_gradient(lambda q: loglik(q, 0), z), rtol=1e-6, atol=1e-4)
    np.testing.assert_allclose(hessian, numeric_hessian(lambda q: loglik(q, 1)[1], z), rtol=1e-6, atol=1e-5)
    assert model._order() == 2  # the fit with covariates uses them


# --- quadrature accuracy -----------------------------------------------------------------------------


def test_rule_integrates_beta_and_gamma_integrals():
    # ∫_0^∞ u^(k−1) (c+u)^(−p) du = c^(k−p) B(k, p−k) and ∫_0^∞ u^(k−1) e^(−d u) du = Γ(k) / d^k, for the
    # k = n + 1 of the purchase probabilities: both tails of the window are exponential in ln u.
    k, p1, p2 = np.array([1.0, 2.0, 7.0, 40.0]), np.array([2.5, 1.4, 30.0, 41.0]), 1.2
    c = np.array([1.0, 1e-3, 50, 2.0])
    everywhere = (np.full(4, -np.inf), np.full(4, np.inf))

    def integral(f):
        v, log_w = quadrature.rule(f, *everywhere)
        terms = log_w + f.value_slope(v)[0]
        top = terms.max(axis=0)
        return top + np.log(np.exp(terms - top).sum(axis=0))

    got = integral(quadrature.power_terms(k, p1, c, p2, c))
    np.testing.assert_allclose(got, (k - p1 - p2) * np.log(c) + betaln(k, p1 + p2 - k), rtol=1e-9)
    d = np.array([1e-3, 1.0, 30.0, 0.5])
    got = integral(quadrature.discount_terms(k, d))
    np.testing.assert_allclose(got, gammaln(k) - k * np.log(d), rtol=1e-9, atol=1e-13)


def hypergeometric_and_quadrature(params: dict, data: pd.DataFrame):
    x, t_x, T = (data[c].to_numpy() for c in ("frequency", "recency", "T"))
    args = (params["r"], params["alpha"], params["s"], params["beta"], x, t_x, T)
    with np.errstate(all="ignore"):
        exact = pnbd._log_F(t_x, *args[:5]) + pnbd.log1mexp(pnbd._log_F(T, *args[:5]) - pnbd._log_F(t_x, *args[:5]))
        exact -= np.log(params["r"] + params["s"] + x)
    return exact, pnbd._log_integral_quadrature(*args)


@pytest.mark.parametrize("params", [CDNOW, {"r": 0.05, "alpha": 0.3, "s": 20.0, "beta": 400.0},
                                    {"r": 30.0, "alpha": 900.0, "s": 1.0, "beta": 0.01},
                                    {"r": 1.2, "alpha": 2.0, "s": 0.02, "beta": 2.0}])
def test_quadrature_equals_the_hypergeometric_form_for_extreme_customers(params):
    data = extreme_customers()
    data = data[data["recency"] < data["T"]]
    exact, quad = hypergeometric_and_quadrature(params, data)
    ok = np.isfinite(exact)
    assert ok.sum() >= 30  # scipy's 2F1 fails for the others
    np.testing.assert_allclose(quad[ok], exact[ok], rtol=0, atol=1e-9)  # ln I: relative error of I below 1e-9
    assert np.isfinite(quad).all()


@pytest.mark.parametrize("params", [CDNOW, {"r": 0.05, "alpha": 0.3, "s": 20.0, "beta": 400.0},
                                    {"r": 30.0, "alpha": 900.0, "s": 1.0, "beta": 0.01}])
def test_likelihood_of_each_customer_equals_the_hypergeometric_form(params):
    # The fit evaluates I once per distinct (x, time) as a difference of integrals to the block's largest T.
    data = pd.concat([extreme_customers(), SUMMARY[["frequency", "recency", "T"]].head(150)], ignore_index=True)
    x, t_x, T = (data[c].to_numpy() for c in ("frequency", "recency", "T"))
    r, alpha, s, beta = params.values()
    alive, died = pnbd._log_terms(r, alpha, s, beta, x, t_x, T)
    exact = gammaln(r + x) - gammaln(r) + r * np.log(alpha) + s * np.log(beta) + np.logaddexp(alive, died)
    z = np.log(list(params.values()))
    one = np.eye(len(data))
    none = np.zeros((len(data), 0))
    for shared in (True, False):  # differences of tails shared by customers, or an integral per customer
        pairs = pnbd._pairs(x, t_x, T, none, none, shared=shared)
        fitted = np.array([pnbd.paretonbd_loglik(z, x, t_x, T, one[i], pairs=pairs) for i in range(len(data))])
        np.testing.assert_allclose(fitted, exact, rtol=1e-10, atol=1e-9)


# --- predictions ---------------------------------------------------------------------------------------


def test_btyd_walkthrough_and_lifetimes_on_extreme_customers():
    m = published()
    # R BTYD walkthrough: E[X(52) | x=26, t_x=30.86, T=31] = 25.46.
    assert m.expected_purchases(customers([(26, 30.86, 31)]), 52).iloc[0] == pytest.approx(25.46, abs=0.005)
    data = pd.concat([SUMMARY[["frequency", "recency", "T"]], extreme_customers()], ignore_index=True)
    f = lifetimes_model(CDNOW)
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        theirs = np.asarray(f.conditional_probability_alive(data["frequency"], data["recency"], data["T"]), float)
    ours = m.p_alive(data).to_numpy()
    ok = np.isfinite(theirs)
    assert ok[: len(SUMMARY)].all() and not ok.all()  # lifetimes fails on some extreme customers; we do not
    np.testing.assert_allclose(ours[ok], theirs[ok], rtol=1e-6, atol=1e-12)
    assert np.isfinite(ours).all() and ((ours >= 0) & (ours <= 1)).all()


def test_clvtools_customers_that_gave_nan():
    # CLVTools' test "numerically stable PAlive that produced NaNs in previous implementation".
    m = ParetoNBD.from_params(r=0.5143, alpha=2.8845, s=0.2856, beta=14.1087)
    data = customers(zip([221, 254, 161, 204], [103.42857, 97.14286, 94.71429, 98.57143],
                         [103.57143, 97.28571, 98.00000, 99.42857]))
    alive = m.p_alive(data)
    assert np.isfinite(alive).all() and alive.between(0, 1).all()
    assert (m.expected_purchases(data, 10) > 0).all()


def test_p_alive_at_a_future_date():
    m, data = published(), SUMMARY
    now = m.p_alive(data)
    later = m.p_alive(data, future_t=13.0)
    # Alive at T, the dropout rate is Gamma(s, β+T): survival over f more units is ((β+T)/(β+T+f))^s.
    survival = ((CDNOW["beta"] + data["T"]) / (CDNOW["beta"] + data["T"] + 13.0)) ** CDNOW["s"]
    np.testing.assert_allclose(later, now * survival, rtol=1e-12)
    # Averaged over customers drawn from the model it is the unconditional survival (β/(β+T+f))^s.
    sim = m.simulate(200_000, 30.0, seed=2)
    for f in (0.0, 20.0):
        expected = (CDNOW["beta"] / (CDNOW["beta"] + 30.0 + f)) ** CDNOW["s"]
        assert m.p_alive(sim, future_t=f).mean() == pytest.approx(expected, abs=0.003)
    # and at f = 0 it is calibrated against the true state the simulation records.
    assert m.p_alive(sim).mean() == pytest.approx(sim["alive"].mean(), abs=0.005)
    with pytest.raises(InvalidParameterError, match="future_t"):
        m.p_alive(data, future_t=-1)


def test_purchase_probability_equals_lifetimes_and_numerical_integration():
    m, f = published(), lifetimes_model(CDNOW)
    data = pd.concat([SUMMARY[["frequency", "recency", "T"]], extreme_customers()], ignore_index=True)
    counts = [0, 1, 2, 5, 10, 30]
    ours = m.purchase_probability(data, counts, 10.0)
    assert list(ours.columns) == counts and ours.index.equals(data.index)
    for n in counts:
        with warnings.catch_warnings(), np.errstate(all="ignore"):
            warnings.simplefilter("ignore")
            theirs = np.asarray(f.conditional_probability_of_n_purchases_up_to_time(
                n, 10.0, data["frequency"], data["recency"], data["T"]), dtype=float)
        ok = np.isfinite(theirs)
        assert ok.mean() > 0.99
        # lifetimes subtracts nearly equal terms, so its probabilities below 1e-12 are rounding noise.
        np.testing.assert_allclose(ours[n].to_numpy()[ok], theirs[ok], rtol=1e-6, atol=1e-12)
    # Against the defining integral, by adaptive quadrature, for a long-lived heavy buyer.
    one = customers([(26, 30.86, 31)])
    r, alpha, s, beta = CDNOW.values()
    a, A, B = r + 26, alpha + 31, beta + 31
    alive = m.p_alive(one).iloc[0]

    def nbd(n, tau):
        return np.exp(gammaln(a + n) - gammaln(a) - gammaln(n + 1) + a * np.log(A / (A + tau))
                      + n * np.log(tau / (A + tau)))

    for n in (0, 1, 3, 12):
        died = integrate.quad(lambda tau, n=n: s * B**s / (B + tau) ** (s + 1) * nbd(n, tau), 0, 10, epsrel=1e-13)[0]
        reference = alive * ((B / (B + 10)) ** s * nbd(n, 10.0) + died) + (1 - alive) * (n == 0)
        assert m.purchase_probability(one, n, 10.0).iloc[0] == pytest.approx(reference, rel=1e-10)


def test_purchase_probability_is_a_distribution_with_the_expected_mean():
    m = published()
    data = pd.concat([SUMMARY[["frequency", "recency", "T"]].head(300), extreme_customers()], ignore_index=True)
    # 400 counts hold all but 1e-12 of the probability when an alive customer expects fewer than 40.
    data = data[m.expected_purchases(data, 10.0) / m.p_alive(data) < 40]
    p = m.purchase_probability(data, list(range(400)), 10.0).to_numpy()
    np.testing.assert_allclose(p.sum(axis=1), 1.0, atol=1e-9)
    np.testing.assert_allclose(p @ np.arange(400), m.expected_purchases(data, 10.0), rtol=1e-8)
    single = m.purchase_probability(data, 0, 10.0)
    assert isinstance(single, pd.Series) and np.allclose(single, p[:, 0], rtol=1e-12)
    # Nothing happens in no time.
    nothing = m.purchase_probability(data, [0, 3], 0.0).to_numpy()
    np.testing.assert_allclose(nothing, np.tile([1.0, 0.0], (len(data), 1)), rtol=0, atol=1e-15)
    # A new customer: the conditional probability at x = 0, T = 0; the distribution sums to one.
    new = m.probability_of_purchases(np.arange(400), 39.0)
    assert new.sum() == pytest.approx(1.0, abs=1e-9)
    assert new @ np.arange(400) == pytest.approx(m.expected_purchases_new(39.0), rel=1e-8)
    for bad in (-1, 1.5, "2", [], [0, -3]):
        with pytest.raises(InvalidParameterError, match="n="):
            m.purchase_probability(data, bad, 10.0)


def test_discounted_purchases_equal_numerical_integration():
    m = published()
    data = pd.concat([SUMMARY[["frequency", "recency", "T"]].head(20), extreme_customers()], ignore_index=True)
    delta = 0.01

    def expected(u):
        return m.expected_purchases(data, u).to_numpy()

    # ∫₀^H e^(−δu) dE(u) = e^(−δH) E(H) + δ ∫₀^H e^(−δu) E(u) du, integrated numerically.
    for horizon in (10.0, 104.0):
        tail = integrate.quad_vec(lambda u: np.exp(-delta * u) * expected(u), 0, horizon, epsrel=1e-12)[0]
        reference = np.exp(-delta * horizon) * expected(horizon) + delta * tail
        np.testing.assert_allclose(m.discounted_purchases(data, horizon, delta), reference, rtol=1e-6)
    reference = delta * integrate.quad_vec(lambda u: np.exp(-delta * u) * expected(u), 0, np.inf, epsrel=1e-12)[0]
    np.testing.assert_allclose(m.dert(data, delta), reference, rtol=1e-6)
    # No discounting over a finite horizon is the expected purchases; an infinite one is finite only for s > 1.
    np.testing.assert_allclose(m.discounted_purchases(data, 52.0, 0.0), expected(52.0), rtol=1e-12)
    with pytest.raises(InvalidParameterError, match="s <= 1"):
        m.discounted_purchases(data, np.inf, 0.0)
    heavy_tailed = ParetoNBD.from_params(r=0.5, alpha=10.0, s=2.5, beta=20.0)
    lifetime = heavy_tailed.discounted_purchases(data, np.inf, 0.0)
    np.testing.assert_allclose(lifetime, heavy_tailed.expected_purchases(data, 1e12), rtol=1e-6)
    with pytest.raises(InvalidParameterError, match="delta"):
        m.dert(data, -0.1)


def test_discounted_purchases_are_continuous_at_s_equal_one():
    data = SUMMARY.head(50)
    values = [ParetoNBD.from_params(r=0.5, alpha=10.0, s=s, beta=12.0).dert(data, 0.02).to_numpy()
              for s in (1 - 1e-7, 1.0, 1 + 1e-7)]
    np.testing.assert_allclose(values[0], values[1], rtol=1e-6)
    np.testing.assert_allclose(values[2], values[1], rtol=1e-6)


def test_discounted_scenario_uses_the_model():
    m = published()
    data = SUMMARY.head(30)
    faster = m.scenario(purchase_rate=1.5)
    np.testing.assert_allclose(faster.discounted_purchases(data, 52.0, 0.01),
                               1.5 * m.discounted_purchases(data, 52.0, 0.01), rtol=1e-12)


def test_predictions_use_each_customers_covariates():
    hyper = {"purchase_covariates": ["email"], "dropout_covariates": ["age"]}
    m = ParetoNBD.from_params(hyper, **CDNOW, **{"purchase[email]": 0.7, "dropout[age]": -0.4})
    two = customers([(3, 20.0, 30.0), (3, 20.0, 30.0)]).assign(email=[0.0, 1.0], age=[0.0, 2.0])
    # The second customer is a plain Pareto/NBD customer with α·e^−0.7 and β·e^0.8.
    plain = ParetoNBD.from_params(r=CDNOW["r"], alpha=CDNOW["alpha"] * np.exp(-0.7), s=CDNOW["s"],
                                  beta=CDNOW["beta"] * np.exp(0.8))
    one = two.iloc[[1]]
    pairs = [(m.p_alive(two, future_t=5.0), plain.p_alive(one, future_t=5.0)),
             (m.expected_purchases(two, 10.0), plain.expected_purchases(one, 10.0)),
             (m.purchase_probability(two, 2, 10.0), plain.purchase_probability(one, 2, 10.0)),
             (m.dert(two, 0.01), plain.dert(one, 0.01))]
    for with_covariates, without in pairs:
        assert with_covariates.iloc[1] == pytest.approx(without.iloc[0], rel=1e-12)
        assert with_covariates.iloc[0] != pytest.approx(with_covariates.iloc[1], rel=1e-3)


# --- simulation ----------------------------------------------------------------------------------------


def test_simulated_transactions_reproduce_the_model():
    m = ParetoNBD.from_params(r=0.6, alpha=25.0, s=0.8, beta=15.0)  # a purchase every ~6 weeks: few same-day pairs
    rng = np.random.default_rng(8)
    T = rng.integers(14, 365, 30_000) / 7.0  # a day grid, in weeks
    spend = GammaGamma.from_params(p=6.25, q=3.74, v=15.44)
    log = m.simulate_transactions(len(T), T, unit="W", observation_end="2023-06-30", spend_model=spend, seed=9)
    assert list(log.columns) == ["customer_id", "date", "amount"]
    assert log["date"].max() <= pd.Timestamp("2023-06-30") and (log["amount"] > 0).all()
    summary = cv.summarize(log, unit="W", observation_end="2023-06-30")
    np.testing.assert_allclose(summary["T"].to_numpy(), T, atol=1e-9)  # first purchases at observation_end − T
    # Mean repeat purchases against E[X(T)] of a new customer, within sampling error.
    frequency = summary["frequency"].to_numpy()
    expected = m.expected_purchases_new(T)
    assert abs(frequency.mean() - expected.mean()) < 4 * frequency.std() / np.sqrt(len(T))
    # And the fits recover the models.
    fitted = ParetoNBD().fit(summary)
    assert (((fitted.params_ - m.params_) / fitted.standard_errors_).abs() < 4).all()
    spend_fit = GammaGamma().fit(summary)
    assert (((spend_fit.params_ - spend.params_) / spend_fit.standard_errors_).abs() < 4).all()


def test_simulated_transactions_without_spend_and_bad_arguments():
    m = published()
    log = m.simulate_transactions(50, 10.0, unit="D", observation_end="2024-01-31", seed=1)
    assert list(log.columns) == ["customer_id", "date"] and log["customer_id"].nunique() == 50
    first = log.groupby("customer_id")["date"].min()
    assert (first == pd.Timestamp("2024-01-21")).all()
    again = m.simulate_transactions(50, 10.0, unit="D", observation_end="2024-01-31", seed=1)
    pd.testing.assert_frame_equal(log, again)
    with pytest.raises(InvalidParameterError, match="unit"):
        m.simulate_transactions(5, 10.0, unit="weeks")
    with pytest.raises(InvalidParameterError, match="observation_end"):
        m.simulate_transactions(5, 10.0, observation_end="not a date")
    with pytest.raises(InvalidParameterError, match="spend_model"):
        m.simulate_transactions(5, 10.0, spend_model=published())
    with pytest.raises(InvalidParameterError, match="T="):
        m.simulate_transactions(5, [1.0, 2.0])
    with pytest.raises(InvalidParameterError, match="n_customers"):
        m.simulate_transactions(0, 10.0)
    # Customers of a covariate model have covariates 0: the model's own α and β.
    covariate_model = ParetoNBD.from_params({"purchase_covariates": ["email"]}, **CDNOW, **{"purchase[email]": 0.3})
    pd.testing.assert_frame_equal(covariate_model.simulate_transactions(50, 10.0, seed=2),
                                  m.simulate_transactions(50, 10.0, seed=2))
    assert m.simulate_transactions(5, 1.0, seed=0)["date"].max() <= pd.Timestamp("2025-01-01")  # the default end


def test_simulate_records_the_true_state():
    sim = published().simulate(100_000, 20.0, seed=3)
    assert sim["alive"].dtype == bool
    # A customer is alive at T with probability (β/(β+T))^s (the marginal of the exponential-gamma lifetime).
    assert sim["alive"].mean() == pytest.approx((CDNOW["beta"] / (CDNOW["beta"] + 20.0)) ** CDNOW["s"], abs=0.006)


# --- numerical honesty --------------------------------------------------------------------------------

log_uniform = st.floats(min_value=-3.0, max_value=3.0).map(lambda e: 10.0**e)
near_one = st.floats(min_value=-1e-6, max_value=1e-6).map(lambda e: 1.0 + e)
customer = st.tuples(st.integers(0, 10_000), st.floats(0.0, 1.0), st.floats(1e-2, 1e4))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(r=log_uniform, alpha=log_uniform, s=st.one_of(log_uniform, near_one), beta=log_uniform,
       rows=st.lists(customer, min_size=1, max_size=8))
def test_predictions_are_finite_bounded_and_monotone(r, alpha, s, beta, rows):
    m = ParetoNBD.from_params(r=r, alpha=alpha, s=s, beta=beta)
    data = customers([(x, 0.0 if x == 0 else f * T, T) for x, f, T in rows])
    with warnings.catch_warnings(), np.errstate(all="raise"):
        warnings.simplefilter("error")
        alive = [m.p_alive(data, future_t=f).to_numpy() for f in (0.0, 1.0, 50.0, 1e4)]
        purchases = [m.expected_purchases(data, t).to_numpy() for t in (0.0, 0.5, 10.0, 1e3, 1e5)]
        discounted = m.discounted_purchases(data, 10.0, 0.05).to_numpy()
        dert = m.dert(data, 0.05).to_numpy()
        probabilities = m.purchase_probability(data, [0, 1, 7], 10.0).to_numpy()
        new = np.asarray(m.expected_purchases_new(np.array([0.0, 1.0, 1e3])))
    with np.errstate(all="ignore"):
        for values in (*alive, *purchases, discounted, dert, probabilities, new):
            assert np.isfinite(values).all()
        assert all(((a >= 0) & (a <= 1)).all() for a in alive)
        assert all((later <= now).all() for now, later in zip(alive, alive[1:]))
        assert all((p >= 0).all() for p in purchases) and (purchases[0] == 0).all()
        assert all((more >= less * (1 - 1e-12)).all() for less, more in zip(purchases, purchases[1:]))
        assert ((probabilities >= 0) & (probabilities <= 1)).all()
        assert (discounted <= purchases[2] * (1 + 1e-9) + 1e-300).all() and (dert >= discounted * (1 - 1e-9)).all()


def test_fitting_raises_no_floating_point_error():
    data = day_grid_customers(3_000, seed=6)
    with warnings.catch_warnings(), np.errstate(all="raise"):
        warnings.simplefilter("error")
        m = ParetoNBD().fit(data)
        m.p_alive(data)
        m.purchase_probability(data, [0, 1], 5.0)
    assert m.converged_
