"""BG/BB: published values, lifetimes parity, purchase probabilities, DERT, numerics everywhere, transaction logs."""

import warnings

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.special import betaln, hyp2f1

import custvalue as cv
from custvalue.errors import InvalidParameterError, SchemaError
from custvalue.models import BetaGeoBetaBinom, GammaGamma

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    import lifetimes

DONATIONS = cv.datasets.load_donations()
# Fader, Hardie & Shang (2010), donations data: alpha=1.204, beta=0.750, gamma=0.657, delta=2.783.
PUBLISHED = {"alpha": 1.204, "beta": 0.750, "gamma": 0.657, "delta": 2.783}


@pytest.fixture(scope="module")
def fitted():
    return BetaGeoBetaBinom().fit(DONATIONS)


def lifetimes_model(params):
    f = lifetimes.BetaGeoBetaBinomFitter()
    f.params_ = pd.Series(params)
    return f


def one(x, t_x, n):
    return pd.DataFrame({"frequency": [float(x)], "recency": [float(t_x)], "periods": [float(n)]})


# --- published values ---------------------------------------------------------------------------


def test_published_donations_fit(fitted):
    np.testing.assert_allclose(fitted.params_, list(PUBLISHED.values()), atol=6e-4)
    assert fitted.log_likelihood_ == pytest.approx(-33225.58, abs=0.01)  # FHS (2010): -33,225.6


def test_new_customer_expectations_match_hardies_spreadsheet(fitted):
    # Hardie's note 010 (BG/BB spreadsheet, "Tracking Plot" B7:B17), at the maximum-likelihood estimates.
    hardie = [0.4985, 0.9233, 1.2969, 1.6323, 1.9381, 2.2202, 2.4826, 2.7285, 2.9603, 3.1798, 3.3887]
    np.testing.assert_allclose(fitted.expected_purchases_new(np.arange(1, 12)), hardie, atol=5e-5)


# --- lifetimes parity -----------------------------------------------------------------------------


@pytest.mark.parametrize("m", [0, 1, 3, 10])
def test_p_alive_equals_lifetimes_m_opportunities_ahead(fitted, m):
    f = lifetimes_model(fitted.params_.to_dict())
    theirs = f.conditional_probability_alive(m, DONATIONS["frequency"], DONATIONS["recency"], DONATIONS["periods"])
    np.testing.assert_allclose(fitted.p_alive(DONATIONS, future_t=m), theirs, rtol=1e-6)


@pytest.mark.parametrize("t", [1, 5, 30])
def test_expected_purchases_equal_lifetimes(fitted, t):
    f = lifetimes_model(fitted.params_.to_dict())
    theirs = f.conditional_expected_number_of_purchases_up_to_time(
        t, DONATIONS["frequency"], DONATIONS["recency"], DONATIONS["periods"])
    np.testing.assert_allclose(fitted.expected_purchases(DONATIONS, t), theirs, rtol=1e-6)


def test_new_customer_probabilities_equal_lifetimes(fitted):
    f = lifetimes_model(fitted.params_.to_dict())
    f.data = pd.DataFrame({"frequency": np.arange(7), "weights": np.ones(7)})
    # lifetimes gives P(X(6) = x) times the number of customers (7 here), FHS (2010) eq. 6.
    theirs = f.expected_number_of_transactions_in_first_n_periods(6)["model"].to_numpy() / 7
    np.testing.assert_allclose(fitted.probability_of_purchases(np.arange(7), 6), theirs, rtol=1e-6)


# --- purchase probabilities ------------------------------------------------------------------------


def test_purchase_probabilities_are_a_distribution_with_the_expected_mean(fitted):
    for t in (1, 5, 20):
        table = fitted.purchase_probability(DONATIONS, list(range(t + 1)), t)
        np.testing.assert_allclose(table.sum(axis=1), 1.0, atol=1e-12)
        np.testing.assert_allclose(table.to_numpy() @ np.arange(t + 1), fitted.expected_purchases(DONATIONS, t),
                                   rtol=1e-10)
        assert (fitted.purchase_probability(DONATIONS, t + 1, t) == 0).all()  # at most one per opportunity


def test_purchase_probability_one_opportunity_by_hand(fitted):
    # One opportunity ahead: a transaction needs alive at n (P(alive)), surviving to n+1 ((δ+n)/(γ+δ+n) given
    # alive) and transacting ((α+x)/(α+β+n) given alive).
    alpha, beta, gamma, delta = fitted.params_
    x, n = DONATIONS["frequency"], DONATIONS["periods"]
    by_hand = fitted.p_alive(DONATIONS) * (alpha + x) / (alpha + beta + n) * (delta + n) / (gamma + delta + n)
    np.testing.assert_allclose(fitted.purchase_probability(DONATIONS, 1, 1), by_hand, rtol=1e-12)


def test_purchase_probability_returns_a_series_for_one_count_and_checks_arguments(fitted):
    single = fitted.purchase_probability(DONATIONS, 2, 5)
    assert isinstance(single, pd.Series) and single.index.equals(DONATIONS.index)
    table = fitted.purchase_probability(DONATIONS, [0, 2], 5)
    assert list(table.columns) == [0, 2]
    np.testing.assert_array_equal(table[2], single)
    with pytest.raises(InvalidParameterError, match="n=-1"):
        fitted.purchase_probability(DONATIONS, -1, 5)
    with pytest.raises(InvalidParameterError, match="t=2.5"):
        fitted.purchase_probability(DONATIONS, 1, 2.5)
    with pytest.raises(InvalidParameterError, match="at least one"):
        fitted.purchase_probability(DONATIONS, [], 5)


# --- discounting -------------------------------------------------------------------------------------


def increments(model, data, horizon):
    """E[X(k)] − E[X(k−1)] for k = 1..horizon, from expected_purchases: the expected transaction at n+k."""
    curve = np.column_stack([model.expected_purchases(data, k).to_numpy() for k in range(horizon + 1)])
    return np.diff(curve, axis=1)


@pytest.mark.parametrize("delta", [0.0, 0.01, 0.5])
def test_finite_horizon_discounting_is_the_discounted_sum(fitted, delta):
    steps = increments(fitted, DONATIONS, 12)
    direct = steps @ np.exp(-delta * np.arange(1, 13))
    np.testing.assert_allclose(fitted.discounted_purchases(DONATIONS, 12, delta), direct, rtol=1e-9)


def test_dert_is_the_whole_discounted_sum_and_fhs_closed_form(fitted):
    delta = np.log(1.1)  # FHS (2010) discount by (1 + d)^-k; d = 10%
    dert = fitted.dert(DONATIONS, delta)
    # Direct sum over 400 opportunities: the rest is below e^(−400 δ) / (1 − e^(−δ)) < 1e-15.
    direct = increments(fitted, DONATIONS, 400) @ np.exp(-delta * np.arange(1, 401))
    np.testing.assert_allclose(dert, direct, rtol=1e-9)
    # FHS (2010) eq. 14 with scipy's 2F1 (reliable at these moderate arguments).
    alpha, beta, gamma, dd = fitted.params_
    x, t_x, n = (DONATIONS[c].to_numpy(float) for c in ("frequency", "recency", "periods"))
    likelihood = np.exp(cv.models.bgbb._log_lik_terms(alpha, beta, gamma, dd, x, t_x, n))
    eq14 = (np.exp(betaln(alpha + x + 1, beta + n - x) - betaln(alpha, beta) + betaln(gamma, dd + n + 1)
                   - betaln(gamma, dd)) / 1.1 * hyp2f1(1, dd + n + 1, gamma + dd + n + 1, 1 / 1.1) / likelihood)
    np.testing.assert_allclose(dert, eq14, rtol=1e-9)


def test_dert_without_discount(fitted):
    with pytest.raises(InvalidParameterError, match="infinite") as info:
        fitted.dert(DONATIONS, 0.0)
    assert "dert(summary, delta=0.1)" in str(info.value)
    fitted.dert(DONATIONS, delta=0.1)  # the call the message suggests works
    # With gamma > 1 all future transactions have a finite expectation: the limit of long horizons.
    m = BetaGeoBetaBinom.from_params(alpha=1.2, beta=0.75, gamma=1.5, delta=2.8)
    whole = m.dert(DONATIONS, 0.0)
    np.testing.assert_allclose(m.discounted_purchases(DONATIONS, 10**7, 0.0), whole, rtol=5e-3)
    assert (m.discounted_purchases(DONATIONS, 10**7, 0.0) < whole).all()


# --- numerics -----------------------------------------------------------------------------------------


def direct_expected(model, data, t):
    """P(alive at n) · E[p | alive] · Σ_k E[(1−θ)^k], the sum taken term by term."""
    alpha, beta, gamma, delta = model.params_
    x, n = data["frequency"].to_numpy(float), data["periods"].to_numpy(float)
    k = np.arange(1, t + 1)
    survival = np.exp(betaln(gamma, delta + n[:, None] + k) - betaln(gamma, delta + n[:, None])).sum(axis=1)
    return model.p_alive(data).to_numpy() * (alpha + x) / (alpha + beta + n) * survival


@pytest.mark.parametrize("gamma", [1.0, 1 - 1e-12, 1 + 1e-12, 1 - 1e-6, 1 + 1e-6, 1 - 1e-3, 1 + 0.2, 0.05, 40.0])
def test_expected_purchases_at_and_near_gamma_one(gamma):
    # lifetimes and the textbook form divide by γ − 1: NaN at γ = 1, cancellation near it.
    m = BetaGeoBetaBinom.from_params(alpha=1.2, beta=0.75, gamma=gamma, delta=2.8)
    for t in (1, 7, 52, 500):
        np.testing.assert_allclose(m.expected_purchases(DONATIONS, t), direct_expected(m, DONATIONS, t), rtol=1e-10)
    np.testing.assert_allclose(m.expected_purchases_new(52), 1.2 / 1.95 * np.exp(
        betaln(gamma, 2.8 + np.arange(1, 53)) - betaln(gamma, 2.8)).sum(), rtol=1e-10)


def test_no_floating_point_exception_escapes(fitted):
    old = np.seterr(all="raise")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            for m in (fitted, BetaGeoBetaBinom.from_params(alpha=1e-3, beta=1e3, gamma=1.0, delta=1e-3)):
                m.p_alive(DONATIONS, future_t=1000)
                m.expected_purchases(DONATIONS, 1000)
                m.purchase_probability(DONATIONS, list(range(30)), 30)
                m.discounted_purchases(DONATIONS, 30, 0.01)
                m.dert(DONATIONS, 0.01)
                m.expected_purchases_new(np.arange(100))
                m.probability_of_purchases(np.arange(30), 30)
                m.simulate(1000, 6, seed=0)
    finally:
        np.seterr(**old)


log_uniform = st.floats(-4, 4).map(lambda e: 10.0**e)
near_one = st.one_of(st.just(1.0), st.floats(-12, -1).flatmap(
    lambda e: st.sampled_from([1 - 10.0**e, 1 + 10.0**e])))


@st.composite
def customer(draw):
    n = draw(st.integers(0, 300))
    t_x = draw(st.integers(0, n))
    x = 0 if t_x == 0 else draw(st.integers(1, t_x))
    return x, t_x, n


@settings(max_examples=150, deadline=None)
@given(alpha=log_uniform, beta=log_uniform, gamma=st.one_of(log_uniform, near_one), delta=log_uniform,
       row=customer(), t=st.integers(0, 60), discount=st.floats(1e-4, 2.0))
def test_every_prediction_is_finite_and_in_range(alpha, beta, gamma, delta, row, t, discount):
    m = BetaGeoBetaBinom.from_params(alpha=alpha, beta=beta, gamma=gamma, delta=delta)
    data = one(*row)
    old = np.seterr(all="raise")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            alive = [float(m.p_alive(data, future_t=k).iloc[0]) for k in (0, 1, 10)]
            expected = float(m.expected_purchases(data, t).iloc[0])
            probabilities = m.purchase_probability(data, list(range(t + 1)), t).to_numpy()[0]
            discounted = float(m.discounted_purchases(data, t, discount).iloc[0])
            dert = float(m.dert(data, discount).iloc[0])
            new = m.expected_purchases_new(t)
    finally:
        np.seterr(**old)
    assert all(0 <= a <= 1 for a in alive) and alive[0] >= alive[1] >= alive[2]
    assert np.isfinite(expected) and 0 <= expected <= t * (1 + 1e-12)
    assert np.isfinite(probabilities).all() and (probabilities >= 0).all()
    assert probabilities.sum() == pytest.approx(1.0, abs=1e-9)
    assert probabilities @ np.arange(t + 1) == pytest.approx(expected, rel=1e-7, abs=1e-12)
    assert np.isfinite(dert) and 0 <= discounted <= expected * (1 + 1e-9) + 1e-300 and discounted <= dert * (1 + 1e-9)
    assert np.isfinite(new) and 0 <= new <= t * (1 + 1e-12)


# --- simulation and transaction logs -------------------------------------------------------------------


def test_simulated_alive_flags_agree_with_p_alive():
    m = BetaGeoBetaBinom.from_params(**PUBLISHED)
    sim = m.simulate(200_000, periods=np.random.default_rng(0).integers(1, 12, 200_000), seed=4)
    assert sim["alive"].dtype == bool
    # E[1{alive}] = E[P(alive | x, t_x, n)]: both averages estimate the same number.
    p = m.p_alive(sim).to_numpy()
    se = np.sqrt(np.mean(p * (1 - p)) / len(p))
    assert abs(sim["alive"].mean() - p.mean()) < 4 * se
    # A customer who transacted at their last opportunity was alive then.
    assert sim.loc[(sim["frequency"] > 0) & (sim["recency"] == sim["periods"]), "alive"].all()


def test_transaction_logs_summarize_to_the_model():
    truth = BetaGeoBetaBinom.from_params(**PUBLISHED)
    spend = GammaGamma.from_params(p=6.25, q=3.74, v=15.44)
    periods = np.random.default_rng(1).integers(4, 9, 30_000)
    log = truth.simulate_transactions(30_000, periods, unit="W", observation_end="2020-06-30", spend_model=spend,
                                      seed=5)
    assert list(log.columns) == ["customer_id", "date", "amount"] and (log["amount"] > 0).all()
    summary = cv.summarize(log, unit="W", observation_end="2020-06-30")
    np.testing.assert_array_equal(summary["T"], periods)  # one opportunity per week after the first purchase
    for column in ("frequency", "recency"):
        assert (summary[column] == np.floor(summary[column])).all()
    refit = BetaGeoBetaBinom().fit(summary.rename(columns={"T": "periods"}))
    z = (refit.params_ - truth.params_) / refit.standard_errors_
    assert (z.abs() < 4).all(), z
    spend_refit = GammaGamma().fit(summary)
    z = (spend_refit.params_ - spend.params_) / spend_refit.standard_errors_
    assert (z.abs() < 4).all(), z


def test_transaction_log_dates_and_arguments():
    m = BetaGeoBetaBinom.from_params(**PUBLISHED)
    log = m.simulate_transactions(50, 3, unit="D", observation_end="2024-03-01", seed=0)
    first = log.groupby("customer_id")["date"].min()
    assert (first == pd.Timestamp("2024-02-27")).all() and log["date"].max() <= pd.Timestamp("2024-03-01")
    default = m.simulate_transactions(5, 2, seed=0)
    assert (default.groupby("customer_id")["date"].min() == pd.Timestamp("2025-01-01") - pd.Timedelta(weeks=2)).all()
    # Months: opportunities a calendar-exact month apart, rounded to the day.
    months = cv.summarize(m.simulate_transactions(200, 12, unit="M", observation_end="2024-12-31", seed=1)
                          .assign(amount=1.0), unit="M", observation_end="2024-12-31")
    assert (months["T"].round() == 12).all() and (months["recency"] - months["recency"].round()).abs().max() < 1 / 30
    with pytest.raises(InvalidParameterError, match="T=2.5"):
        m.simulate_transactions(5, 2.5, seed=0)
    with pytest.raises(InvalidParameterError, match="unknown time unit"):
        m.simulate_transactions(5, 2, unit="Q", seed=0)
    with pytest.raises(InvalidParameterError, match="observation_end"):
        m.simulate_transactions(5, 2, observation_end="not a date", seed=0)
    with pytest.raises(InvalidParameterError, match="spend_model.*Gamma-Gamma"):
        m.simulate_transactions(5, 2, spend_model=m, seed=0)


# --- inputs -----------------------------------------------------------------------------------------------


def test_bad_summaries_and_arguments(fitted):
    for bad in (one(2, 1, 6), one(1, 7, 6), one(0, 2, 6), one(1.5, 2, 6), one(-1, 0, 6), one(np.nan, 1, 6)):
        with pytest.raises(SchemaError, match="BG/BB needs whole numbers") as info:
            fitted.p_alive(bad)
        assert "load_donations()" in str(info.value)
    with pytest.raises(SchemaError, match="missing \\['periods'\\]"):
        fitted.expected_purchases(DONATIONS.drop(columns="periods"), 1)
    for call, name in ((lambda: fitted.expected_purchases(DONATIONS, 1.5), "t=1.5"),
                       (lambda: fitted.p_alive(DONATIONS, future_t=-1), "future_t=-1"),
                       (lambda: fitted.discounted_purchases(DONATIONS, 3, -0.1), "delta=-0.1"),
                       (lambda: fitted.discounted_purchases(DONATIONS, 2.5, 0.1), "horizon=2.5"),
                       (lambda: fitted.simulate(-1, 6), "n_customers=-1")):
        with pytest.raises(InvalidParameterError, match=name):
            call()


def test_predictions_leave_the_callers_frame_alone(fitted):
    before = DONATIONS.copy()
    fitted.purchase_probability(DONATIONS, [0, 1], 3)
    fitted.dert(DONATIONS, 0.1)
    BetaGeoBetaBinom().fit(DONATIONS)
    pd.testing.assert_frame_equal(DONATIONS, before)


def test_analytic_derivatives_match_finite_differences():
    from custvalue.models._mle import numeric_gradient, numeric_hessian

    sim = BetaGeoBetaBinom.from_params(**PUBLISHED).simulate(5000, np.random.default_rng(2).integers(1, 30, 5000),
                                                               seed=3)
    model = BetaGeoBetaBinom()
    data, _ = model._fit_data(sim, None)
    w = np.random.default_rng(0).uniform(0.5, 2.0, len(sim))
    loglik = model._bound_loglik(data, w)
    for z in (np.log([1.204, 0.750, 0.657, 2.783]), np.log([0.3, 4.0, 1.0, 0.2])):
        value, gradient, hessian = loglik(z, 2)
        assert value == pytest.approx(loglik(z, 0), rel=1e-13)
        np.testing.assert_allclose(gradient, numeric_gradient(lambda u: loglik(u, 0), z), rtol=1e-6, atol=1e-4)
        np.testing.assert_allclose(hessian, numeric_hessian(lambda u: loglik(u, 1)[1], z), rtol=1e-6, atol=1e-4)


def test_bootstrap_draws_as_many_customers_as_the_weights_stand_for(fitted):
    like = fitted.simulate_like(DONATIONS, seed=3)
    assert len(like) == DONATIONS["weights"].sum() and (like["periods"] == 6).all()
    scored = cv.score(DONATIONS, model="bgbb", spend_model=None, horizon=5, intervals=0.9, interval_draws=10,
                      interval_method="bootstrap")
    inside = (scored["expected_purchases_lower"] <= scored["expected_purchases"]) & (
        scored["expected_purchases"] <= scored["expected_purchases_upper"])
    assert inside.mean() > 0.8
    with pytest.raises(InvalidParameterError, match="whole-number weights"):
        fitted.simulate_like(DONATIONS.assign(weights=DONATIONS["weights"] / 3))
