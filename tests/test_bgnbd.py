"""BG/NBD and MBG/NBD: one likelihood with covariates, every prediction, numerical honesty."""

import warnings

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scipy import integrate

import custvalue as cv
from custvalue.errors import InvalidParameterError
from custvalue.models import BetaGeo, GammaGamma, ModifiedBetaGeo
from custvalue.models._mle import numeric_gradient, numeric_hessian
from custvalue.models.bgnbd import bgnbd_loglik
from custvalue.models.mbgnbd import mbgnbd_loglik

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    import lifetimes

SUMMARY = cv.datasets.load_cdnow_summary()
MODELS = [(BetaGeo, BetaGeo.example_params), (ModifiedBetaGeo, ModifiedBetaGeo.example_params)]
IDS = ["bgnbd", "mbgnbd"]


def one(x, t_x, T):
    return pd.DataFrame({"frequency": [float(x)], "recency": [float(t_x)], "T": [float(T)]})


# --- one likelihood ----------------------------------------------------------------------------------


@pytest.mark.parametrize("loglik", [bgnbd_loglik, mbgnbd_loglik], ids=IDS)
def test_covariate_derivatives_equal_finite_differences(loglik):
    rng = np.random.default_rng(1)
    n = len(SUMMARY)
    data = {c: SUMMARY[c].to_numpy(dtype=float) for c in ("frequency", "recency", "T")}
    data.update(zp0=rng.normal(size=n), zp1=rng.integers(0, 2, n).astype(float), zd0=rng.normal(size=n))
    w = rng.uniform(0.5, 2.0, n)
    z = np.concatenate([np.log([0.3, 4.0, 0.7, 2.0]), [0.3, -0.2, 0.4]])
    value, gradient, hessian = loglik(z, data, w, 2)
    assert value == pytest.approx(loglik(z, data, w, 0), rel=1e-13)
    np.testing.assert_allclose(gradient, numeric_gradient(lambda q: loglik(q, data, w, 0), z), rtol=1e-6, atol=1e-4)
    np.testing.assert_allclose(hessian, numeric_hessian(lambda q: loglik(q, data, w, 1)[1], z),
                               rtol=1e-6, atol=1e-5)
    assert np.allclose(hessian, hessian.T)


def test_mbgnbd_takes_covariates_and_zero_covariates_change_nothing():
    data = SUMMARY.assign(email=0.0, age=0.0)
    with_cov = ModifiedBetaGeo(penalizer=1e-4, purchase_covariates=["email"], dropout_covariates=["age"]).fit(data)
    plain = ModifiedBetaGeo(penalizer=1e-4).fit(data)
    np.testing.assert_allclose(with_cov.params_.iloc[:4], plain.params_, rtol=1e-5)
    np.testing.assert_allclose(with_cov.params_.iloc[4:], 0.0, atol=1e-8)


# --- P(alive), now and later ------------------------------------------------------------------------------


@pytest.mark.parametrize("cls, params", MODELS, ids=IDS)
def test_p_alive_is_calibrated_on_simulated_customers(cls, params):
    # Given each customer's history, the model's P(alive) is the probability of the true state: the
    # true states of simulated customers average to the mean predicted P(alive), here and in groups.
    m = cls.from_params(**params)
    sim = m.simulate(100_000, np.random.default_rng(0).uniform(20, 80, 100_000), seed=1)
    predicted = m.p_alive(sim)
    assert sim["alive"].dtype == bool
    se = np.sqrt(np.mean(predicted * (1 - predicted)) / len(sim))
    assert abs(sim["alive"].mean() - predicted.mean()) < 4 * se
    for x in (0, 1, 5):
        group = sim["frequency"] == x
        se = np.sqrt(np.mean(predicted[group] * (1 - predicted[group])) / group.sum())
        assert abs(sim.loc[group, "alive"].mean() - predicted[group].mean()) <= 4 * se + 1e-12


@pytest.mark.parametrize("cls, params", MODELS, ids=IDS)
def test_p_alive_later_of_a_new_customer_equals_the_simulated_share(cls, params):
    # A customer just acquired (no repeat purchase, T = 0) is alive at f with probability E[e^(-λpf)]
    # (times b/(a+b) for MBG/NBD, which may drop out at once): the share alive of simulated customers.
    m = cls.from_params(**params)
    for f in (5.0, 40.0):
        sim = m.simulate(200_000, f, seed=2)
        expected = m.p_alive(one(0, 0, 0), future_t=f).iloc[0]
        assert abs(sim["alive"].mean() - expected) < 4 * np.sqrt(expected * (1 - expected) / len(sim))


@pytest.mark.parametrize("cls, params", MODELS, ids=IDS)
def test_p_alive_later_decreases_and_matches_the_purchase_rate_integral(cls, params):
    m = cls.from_params(**params)
    data = SUMMARY.head(200)
    curve = [m.p_alive(data, future_t=f).to_numpy() for f in (0.0, 1.0, 10.0, 100.0, 1e4)]
    assert all((later <= now + 1e-15).all() for now, later in zip(curve, curve[1:]))
    np.testing.assert_array_equal(curve[0], m.p_alive(data).to_numpy())
    # Given alive, P(alive at f) = E_p[(1 + p f/β)^-k] over p ~ Beta(a, m): by quadrature for one customer.
    r, alpha, a, b = m.params_
    x, t_x, T, f = 2.0, 30.43, 38.86, 20.0
    k, beta, shape_b = r + x, alpha + T, b + x + cls.shift
    from scipy.stats import beta as beta_dist

    later = integrate.quad(lambda p: (1 + p * f / beta) ** -k * beta_dist.pdf(p, a, shape_b), 0, 1, epsabs=1e-13)[0]
    now = m.p_alive(one(x, t_x, T)).iloc[0]
    assert m.p_alive(one(x, t_x, T), future_t=f).iloc[0] == pytest.approx(now * later, rel=1e-8)


# --- purchase probabilities -----------------------------------------------------------------------------


def test_purchase_probability_of_an_empty_history_equals_lifetimes_new_customer():
    # lifetimes 0.11.3 has no conditional purchase probabilities for BG/NBD; for a customer with no
    # history at T = 0 they are its probability_of_n_purchases_up_to_time (FHL 2005, eq. 8).
    params = BetaGeo.example_params
    m = BetaGeo.from_params(**params)
    fitter = lifetimes.BetaGeoFitter()
    fitter.params_ = pd.Series(params)
    ours = m.purchase_probability(one(0, 0, 0), list(range(8)), 39.0).iloc[0].to_numpy()
    theirs = [fitter.probability_of_n_purchases_up_to_time(39.0, n) for n in range(8)]
    np.testing.assert_allclose(ours, theirs, rtol=1e-6)


@pytest.mark.parametrize("cls, params", MODELS, ids=IDS)
def test_purchase_probability_matches_simulated_holdout_purchases(cls, params):
    # Transactions over T + t; customers summarized at T: among those with one history (no repeat
    # purchase) the holdout purchase counts follow purchase_probability.
    m = cls.from_params(**params)
    T, t = 30.0, 20.0
    spend = GammaGamma.from_params(p=6.25, q=3.74, v=15.44)  # summaries need amounts
    tx = m.simulate_transactions(60_000, T + t, observation_end="2020-01-01", spend_model=spend, seed=3)
    calibration_end = pd.Timestamp("2020-01-01") - pd.Timedelta(days=7 * t)
    split = cv.calibration_holdout(tx, calibration_end=calibration_end, observation_end="2020-01-01", unit="W")
    group = split[split["frequency_cal"] == 0]
    counts = group["frequency_holdout"].value_counts(normalize=True).reindex(range(5), fill_value=0.0)
    predicted = m.purchase_probability(one(0, 0, T), list(range(5)), t).iloc[0]
    se = np.sqrt(predicted * (1 - predicted) / len(group))
    assert (np.abs(counts.to_numpy() - predicted.to_numpy()) < 4 * se + 1e-3).all(), (counts, predicted)


@pytest.mark.parametrize("cls, params", MODELS, ids=IDS)
def test_purchase_probability_shapes_and_checks(cls, params):
    m = cls.from_params(**params)
    data = SUMMARY.head(5)
    single = m.purchase_probability(data, 0, 10.0)
    assert isinstance(single, pd.Series) and single.index.equals(data.index)
    table = m.purchase_probability(data, [0, 1, 2], 10.0)
    assert list(table.columns) == [0, 1, 2]
    pd.testing.assert_series_equal(table[0], single, check_names=False)
    # n = 0 over no time is certain; P(no purchase) is P(dead) + P(alive)·NBD(0).
    np.testing.assert_allclose(m.purchase_probability(data, 0, 0.0), 1.0)
    with pytest.raises(InvalidParameterError, match="n=-1"):
        m.purchase_probability(data, -1, 10.0)
    with pytest.raises(InvalidParameterError, match="n=1.5"):
        m.purchase_probability(data, [1.5], 10.0)


# --- discounted purchases -----------------------------------------------------------------------------


@pytest.mark.parametrize("cls, params", MODELS, ids=IDS)
@pytest.mark.parametrize("horizon, delta", [(52.0, 0.01), (10.0, 0.3), (np.inf, 0.002), (np.inf, 0.1)])
def test_discounted_purchases_equal_direct_integration(cls, params, horizon, delta):
    # ∫ e^(-δs) dE(s) = e^(-δH) E(H) + δ ∫ e^(-δs) E(s) ds (by parts), with E the closed-form expected purchases.
    m = cls.from_params(**params)
    data = pd.concat([SUMMARY.iloc[[0, 1, 8, 29]][["frequency", "recency", "T"]], one(40, 30.0, 38.0)])
    ours = m.discounted_purchases(data, horizon, delta).to_numpy()
    for i in range(len(data)):
        row = data.iloc[[i]]

        def curve(s, row=row):
            return m.expected_purchases(row, s).iloc[0]

        end = 0.0 if np.isinf(horizon) else np.exp(-delta * horizon) * curve(horizon)
        tail = integrate.quad(lambda s: np.exp(-delta * s) * curve(s), 0, horizon, epsabs=0, epsrel=1e-11,
                              limit=400)[0]
        assert ours[i] == pytest.approx(end + delta * tail, rel=1e-6)


@pytest.mark.parametrize("cls, params", MODELS, ids=IDS)
def test_discounting_limits_dert_and_checks(cls, params):
    m = cls.from_params(**params)
    data = SUMMARY.head(50)
    pd.testing.assert_series_equal(m.discounted_purchases(data, 39.0, 0.0),
                                   m.expected_purchases(data, 39.0).rename("discounted_purchases"))
    np.testing.assert_allclose(m.discounted_purchases(data, 39.0, 1e-9), m.expected_purchases(data, 39.0),
                               rtol=1e-7)
    dert = m.dert(data, 0.01)
    assert dert.name == "dert" and (dert > m.discounted_purchases(data, 52.0, 0.01)).all()
    np.testing.assert_allclose(m.discounted_purchases(data, 1e5, 0.01), dert, rtol=1e-9)
    with pytest.raises(InvalidParameterError, match="delta=0 is not valid with horizon=inf"):
        m.dert(data, 0.0)
    with pytest.raises(InvalidParameterError, match="delta"):
        m.discounted_purchases(data, 10.0, -0.1)


# --- simulation ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("cls, params", MODELS, ids=IDS)
def test_simulated_transactions_reproduce_the_model(cls, params):
    m = cls.from_params(**params)
    spend = GammaGamma.from_params(p=6.25, q=3.74, v=15.44)
    tx = m.simulate_transactions(30_000, 52.0, unit="W", spend_model=spend, seed=4)
    assert list(tx.columns) == ["customer_id", "date", "amount"]
    first = tx.groupby("customer_id")["date"].min()
    end = cv.models._transactions.DEFAULT_OBSERVATION_END
    assert (first == end - pd.Timedelta(weeks=52)).all() and tx["date"].max() <= end
    summary = cv.summarize(tx, unit="W", observation_end=end)
    np.testing.assert_allclose(summary["T"], 52.0)
    # Repeat purchases in 52 weeks average E[X(52)] of a new customer; their spread gives the error.
    expected = m.expected_purchases_new(52.0)
    se = summary["frequency"].std() / np.sqrt(len(summary))
    assert abs(summary["frequency"].mean() - expected) < 4 * se
    # Fitting the model and the spend model on the log recovers both.
    refit = cls().fit(summary)
    assert (((refit.params_ - m.params_) / refit.standard_errors_).abs() < 4).all()
    buyers = summary[summary["frequency"] > 0]
    gg = GammaGamma().fit(buyers)
    assert (((gg.params_ - spend.params_) / gg.standard_errors_).abs() < 4).all()


def test_simulate_transactions_checks_its_arguments():
    m = BetaGeo.from_params(**BetaGeo.example_params)
    with pytest.raises(InvalidParameterError, match="n_customers"):
        m.simulate_transactions(0, 10.0)
    with pytest.raises(InvalidParameterError, match="unknown time unit"):
        m.simulate_transactions(5, 10.0, unit="fortnight")
    with pytest.raises(InvalidParameterError, match="spend_model"):
        m.simulate_transactions(5, 10.0, spend_model=cv.models.get("historic"))
    days = m.simulate_transactions(200, 30.0, unit="D", observation_end="2024-06-30", seed=1)
    assert days["date"].min() == pd.Timestamp("2024-05-31")


# --- numerical honesty ------------------------------------------------------------------------------


@pytest.mark.parametrize("cls", [BetaGeo, ModifiedBetaGeo], ids=IDS)
def test_a_equal_to_one_is_its_limit(cls):
    # The closed forms divide by a − 1; at a = 1 the answer is their limit, continuous in a.
    at_one = cls.from_params(r=0.3, alpha=5.0, a=1.0, b=2.0)
    t = np.array([1.0, 10.0, 52.0])
    near = [cls.from_params(r=0.3, alpha=5.0, a=a, b=2.0).expected_purchases_new(t) for a in (1 - 1e-2, 1 + 1e-2)]
    value = at_one.expected_purchases_new(t)
    assert np.all(np.isfinite(value)) and np.all((value > np.minimum(*near)) & (value < np.maximum(*near)))
    data = SUMMARY.head(100)
    direct = at_one.discounted_purchases(data, 52.0, 1e-12)  # the quadrature knows no 1/(a − 1)
    np.testing.assert_allclose(at_one.expected_purchases(data, 52.0), direct, rtol=1e-7)


@pytest.mark.parametrize("cls", [BetaGeo, ModifiedBetaGeo], ids=IDS)
def test_large_a_and_b_stay_finite_and_right(cls):
    m = cls.from_params(r=0.25, alpha=4.0, a=1000.0, b=4800.0)
    data = pd.concat([SUMMARY.head(20)[["frequency", "recency", "T"]], one(0, 0, 0)])
    value = m.expected_purchases(data, 52.0)
    assert np.isfinite(value).all()
    np.testing.assert_allclose(value, m.discounted_purchases(data, 52.0, 1e-12), rtol=1e-7)
    assert np.isfinite(m.expected_purchases_new(52.0))


def test_p_alive_at_high_frequency_raises_no_floating_point_error():
    # lifetimes' own test "no runtime warnings at high frequency": x = 1000, t_x = 10, T = 100.
    m = BetaGeo.from_params(**BetaGeo.example_params)
    with np.errstate(all="raise"):
        value = m.p_alive(one(1000, 10, 100)).iloc[0]
        later = m.p_alive(one(1000, 10, 100), future_t=5.0).iloc[0]
    assert value == pytest.approx(0.0, abs=1e-300) and later <= value


def positive(low: float, high: float):
    return st.floats(np.log(low), np.log(high)).map(np.exp)


PARAMETERS = st.fixed_dictionaries({
    "r": positive(1e-3, 1e3), "alpha": positive(1e-3, 1e4),
    "a": st.one_of(positive(1e-3, 1e3), st.floats(-1e-3, 1e-3).map(lambda d: 1.0 + d), st.just(1.0)),
    "b": positive(1e-3, 1e4)})
CUSTOMERS = st.lists(st.tuples(st.integers(0, 10_000), st.floats(0, 1), positive(1e-2, 1e4)), min_size=1, max_size=4)


@pytest.mark.parametrize("cls", [BetaGeo, ModifiedBetaGeo], ids=IDS)
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(params=PARAMETERS, customers=CUSTOMERS)
def test_every_prediction_is_finite_and_in_range(cls, params, customers):
    m = cls.from_params(**params)
    data = pd.DataFrame([(float(x), share * T if x > 0 else 0.0, T) for x, share, T in customers],
                        columns=["frequency", "recency", "T"])
    with warnings.catch_warnings(), np.errstate(all="raise"):
        warnings.simplefilter("error")
        alive = [m.p_alive(data, future_t=f).to_numpy() for f in (0.0, 1.0, 100.0)]
        purchases = [m.expected_purchases(data, t).to_numpy() for t in (0.0, 1.0, 52.0, 1000.0)]
        probabilities = m.purchase_probability(data, [0, 1, 5, 100], 10.0).to_numpy()
        discounted = m.discounted_purchases(data, 52.0, 0.01).to_numpy()
        dert = m.dert(data, 0.05).to_numpy()
        new = np.asarray(m.expected_purchases_new(np.array([0.0, 1.0, 52.0])))
        new_probabilities = np.asarray(m.probability_of_purchases(np.arange(4), 10.0))
    for values in (*alive, *purchases, probabilities, discounted, dert, new, new_probabilities):
        assert np.all(np.isfinite(values))
    assert all(((0 <= a) & (a <= 1)).all() for a in alive)
    assert all((later <= now * (1 + 1e-9) + 1e-300).all() for now, later in zip(alive, alive[1:]))
    assert all((p >= 0).all() for p in purchases) and np.all(purchases[0] == 0)
    assert all((later >= now * (1 - 1e-9)).all() for now, later in zip(purchases, purchases[1:]))
    assert ((0 <= probabilities) & (probabilities <= 1)).all() and (probabilities.sum(axis=1) <= 1 + 1e-9).all()
    assert ((0 <= new_probabilities) & (new_probabilities <= 1)).all()
    assert (discounted >= 0).all() and (discounted <= purchases[2] * (1 + 1e-9) + 1e-300).all()
    assert (new >= 0).all() and np.all(np.diff(new) >= -1e-12 * new.max())  # rounding where all are ~0


def test_log_likelihood_of_customers_whose_two_terms_differ_by_thousands():
    # For x in the thousands with T far beyond t_x the "died" term exceeds the "alive" one by far more than the
    # ±700 at which exponents are clipped: the log-sum-exp must still add the whole gap (direct logaddexp here).
    from scipy.special import betaln, gammaln

    from custvalue.models.bgnbd import bgnbd_loglik

    r, alpha, a, b = 0.5, 3.0, 0.8, 2.0
    x, t_x, T = np.array([3000.0]), np.array([10.0]), np.array([900.0])
    head = gammaln(r + x) - gammaln(r) + r * np.log(alpha)
    alive = betaln(a, b + x) - betaln(a, b) - (r + x) * np.log(alpha + T)
    died = betaln(a + 1, b + x - 1) - betaln(a, b) - (r + x) * np.log(alpha + t_x)
    assert died - alive > 5000
    expected = float((head + np.logaddexp(alive, died))[0])
    data = {"frequency": x, "recency": t_x, "T": T}
    value = bgnbd_loglik(np.log([r, alpha, a, b]), data, np.ones(1), 0)
    assert value == pytest.approx(expected, rel=1e-12)
