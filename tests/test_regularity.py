"""BG/CNBD-k and MBG/CNBD-k: the likelihood against BG/NBD and direct integration, every prediction against
BG/NBD at k = 1 and against integrals or simulation at k > 1, the choice of k, published and simulated values."""

import numpy as np
import pandas as pd
import pytest
from scipy import integrate, stats
from scipy.special import betainc, betaln, gammaln

import custvalue as cv
from custvalue.errors import IdentificationWarning, InvalidParameterError, SchemaError
from custvalue.models import BetaGeo, BetaGeoCNBD, GammaGamma, ModifiedBetaGeo, ModifiedBetaGeoCNBD
from custvalue.models._mle import numeric_gradient, numeric_hessian
from custvalue.models._regularity import Phases, purchase_sums
from custvalue.models.bgcnbd import bgcnbd_loglik, mbgcnbd_loglik
from custvalue.models.bgnbd import bgnbd_loglik
from custvalue.models.mbgnbd import mbgnbd_loglik

CDNOW = cv.summarize(cv.datasets.load_cdnow(sample=True), observation_end="1997-09-30")
PAIRS = [(BetaGeo, BetaGeoCNBD, bgnbd_loglik, bgcnbd_loglik), (ModifiedBetaGeo, ModifiedBetaGeoCNBD, mbgnbd_loglik,
                                                                 mbgcnbd_loglik)]
IDS = ["bgcnbd", "mbgcnbd"]
# The parameters BTYDplus's tests simulate from (tests/testthat/test-bg-cnbd-k.R, test-mbg-cnbd-k.R).
BTYDPLUS = {"r": 0.85, "alpha": 1.45, "a": 0.79, "b": 2.42}


def data_of(summary, litt=True):
    columns = ("frequency", "recency", "T", "litt") if litt else ("frequency", "recency", "T")
    return {c: summary[c].to_numpy(dtype=float) for c in columns}


def customers(x, t_x, T):
    return pd.DataFrame({"frequency": np.asarray(x, dtype=float), "recency": np.asarray(t_x, dtype=float),
                         "T": np.asarray(T, dtype=float)})


# --- the likelihood -------------------------------------------------------------------------------


@pytest.mark.parametrize("base, regular, base_loglik, loglik", PAIRS, ids=IDS)
def test_at_k_1_the_likelihood_is_bgnbds_with_its_derivatives(base, regular, base_loglik, loglik):
    rng = np.random.default_rng(0)
    n = len(CDNOW)
    data = data_of(CDNOW)
    data.update(zp0=rng.normal(size=n), zd0=rng.integers(0, 2, n).astype(float))
    plain = {key: v for key, v in data.items() if key != "litt"}
    w = rng.uniform(0.5, 2.0, n)
    z = np.concatenate([np.log([0.3, 4.0, 0.7, 2.0]), [0.2, -0.3]])
    ours, theirs = loglik(z, data, w, k=1, order=2), base_loglik(z, plain, w, 2)
    assert ours[0] == pytest.approx(theirs[0], rel=1e-12)  # litt enters as (k−1)·Σ litt: nothing at k = 1
    np.testing.assert_allclose(ours[1], theirs[1], rtol=1e-10, atol=1e-9)
    np.testing.assert_allclose(ours[2], theirs[2], rtol=1e-10, atol=1e-9)


def direct_likelihood(k, r, alpha, a, b, x, t_x, T, litt, shift):
    """The likelihood by integrating over λ ~ Gamma(r, α) and p ~ Beta(a, b) numerically: λ^(kx) e^(−λ t_x)
    e^((k−1) litt)/Γ(k)^x [(1−p)^(n−1) p (n>0) + (1−p)^n P(Poisson(λ(T − t_x)) < k)]."""
    n = x + shift
    # E[(1−p)^(n−1) p] and E[(1−p)^n], by quadrature too.
    died = integrate.quad(lambda p: (1 - p) ** (n - 1) * p * stats.beta.pdf(p, a, b), 0, 1)[0] if n else 0.0
    survived = integrate.quad(lambda p: (1 - p) ** n * stats.beta.pdf(p, a, b), 0, 1)[0]

    def given_rate(lam):
        path = np.exp(k * x * np.log(lam) - lam * t_x + (k - 1) * litt - x * gammaln(k))
        return path * (died + survived * stats.poisson.cdf(k - 1, lam * (T - t_x))) * stats.gamma.pdf(lam, r,
                                                                                                     scale=1 / alpha)

    return integrate.quad(given_rate, 0, np.inf, limit=500, epsabs=0)[0]


@pytest.mark.parametrize("loglik, shift", [(bgcnbd_loglik, 0), (mbgcnbd_loglik, 1)], ids=IDS)
@pytest.mark.parametrize("k", [2, 3, 7])
def test_the_likelihood_equals_direct_integration(loglik, shift, k):
    rows = [(0, 0.0, 30.0, 0.0), (1, 8.0, 30.0, np.log(8.0)), (4, 20.0, 26.0, np.log(5.0) * 3 + np.log(5.0)),
            (6, 12.0, 40.0, 6 * np.log(2.0))]
    r, alpha, a, b = 0.85, 1.45, 0.79, 2.42
    for x, t_x, T, litt in rows:
        data = {"frequency": np.array([x], float), "recency": np.array([t_x]), "T": np.array([T]),
                "litt": np.array([litt])}
        value = loglik(np.log([r, alpha, a, b]), data, np.ones(1), k=k)
        assert value == pytest.approx(np.log(direct_likelihood(k, r, alpha, a, b, x, t_x, T, litt, shift)),
                                      rel=1e-8, abs=1e-8)


@pytest.mark.parametrize("loglik", [bgcnbd_loglik, mbgcnbd_loglik], ids=IDS)
def test_derivatives_equal_finite_differences_with_covariates(loglik):
    rng = np.random.default_rng(1)
    summary = BetaGeoCNBD.from_params(k=4, **BTYDPLUS).simulate(800, rng.uniform(5, 60, 800), seed=2)
    n = len(summary)
    data = data_of(summary)
    data.update(zp0=rng.normal(size=n), zd0=rng.normal(size=n))
    w = rng.uniform(0.5, 2.0, n)
    z = np.concatenate([np.log([0.7, 1.2, 0.8, 2.0]), [0.3, -0.2]])
    value, gradient, hessian = loglik(z, data, w, k=4, order=2)
    assert value == pytest.approx(loglik(z, data, w, k=4), rel=1e-13)
    np.testing.assert_allclose(gradient, numeric_gradient(lambda q: loglik(q, data, w, k=4), z), rtol=1e-6, atol=1e-4)
    np.testing.assert_allclose(hessian, numeric_hessian(lambda q: loglik(q, data, w, k=4, order=1)[1], z),
                               rtol=1e-6, atol=1e-4)


# --- k = 1 is BG/NBD (MBG/NBD) -------------------------------------------------------------------------


@pytest.mark.parametrize("base, regular, base_loglik, loglik", PAIRS, ids=IDS)
def test_at_k_1_every_prediction_is_bgnbds(base, regular, base_loglik, loglik):
    params = base.example_params
    ours, theirs = regular.from_params(k=1, **params), base.from_params(**params)
    for call in (lambda m: m.expected_purchases(CDNOW, 39), lambda m: m.p_alive(CDNOW),
                 lambda m: m.p_alive(CDNOW, future_t=26), lambda m: m.purchase_probability(CDNOW, list(range(8)), 20),
                 lambda m: m.expected_purchases_new(np.array([0.5, 1.0, 39.0, 78.0])),
                 lambda m: m.probability_of_purchases(np.arange(6), 39)):
        np.testing.assert_allclose(np.asarray(call(ours)), np.asarray(call(theirs)), rtol=1e-10, atol=1e-14)
    for horizon, delta in ((52.0, 0.01), (np.inf, 0.005)):
        np.testing.assert_allclose(ours.discounted_purchases(CDNOW, horizon, delta),
                                   theirs.discounted_purchases(CDNOW, horizon, delta), rtol=1e-10)


def test_hardies_bgnbd_prediction_at_k_1():
    # E[X(39) | x=2, t_x=30.43, T=38.86] = 1.226 (Hardie's BG/NBD spreadsheet, via lifetimes' tests).
    m = BetaGeoCNBD.from_params(k=1, r=0.2426, alpha=4.4136, a=0.7929, b=2.4259)
    assert m.expected_purchases(customers([2], [30.43], [38.86]), 39).iloc[0] == pytest.approx(1.226, abs=1e-3)


# --- published values: CDNOW has no regularity ---------------------------------------------------------


def test_cdnow_chooses_k_1_and_the_published_estimates():
    # BTYDplus demo/cdnow.R: "k=1 -> no regularity detected for CDNow", so the estimates are BG/NBD's
    # (Fader, Hardie & Lee 2005: r=0.2426, α=4.4136, a=0.7929, b=2.4259, LL −9582.43) and MBG/NBD's
    # (Batislam et al. 2007 via BTYDplus: r=0.525, α=6.183, a=0.891, b=1.614).
    bg = BetaGeoCNBD().fit(CDNOW)
    assert bg.k_ == 1 and bg.log_likelihood_ == pytest.approx(-9582.43, abs=0.01)
    np.testing.assert_allclose(bg.params_, [0.2426, 4.4136, 0.7929, 2.4259], rtol=2e-4)
    mbg = ModifiedBetaGeoCNBD().fit(CDNOW)
    assert mbg.k_ == 1
    np.testing.assert_allclose(mbg.params_, [0.525, 6.183, 0.891, 1.614], rtol=1e-3)
    # Regularity only makes CDNOW worse: the search stopped after two falls in a row.
    by_k = mbg.log_likelihood_by_k_
    assert list(by_k.index) == [1, 2, 3] and by_k.is_monotonic_decreasing
    assert mbg.summary().attrs["k"] == 1


# --- the choice of k and the parameters, from simulated customers ----------------------------------------


@pytest.mark.parametrize("cls, k, seed", [(BetaGeoCNBD, 3, 1), (BetaGeoCNBD, 6, 2), (ModifiedBetaGeoCNBD, 3, 3),
                                          (ModifiedBetaGeoCNBD, 1, 4)])
def test_k_and_the_parameters_are_recovered(cls, k, seed):
    # BTYDplus's tests: k = 3 and 6 are found from 1,000-2,000 customers with these parameters.
    truth = cls.from_params(k=k, **BTYDPLUS)
    rng = np.random.default_rng(seed)
    n = 20_000
    fitted = cls().fit(truth.simulate(n, np.round(rng.uniform(36, 96, n) / 12) * 12, seed=seed))
    assert fitted.k_ == k
    z = (fitted.params_ - pd.Series(BTYDPLUS)) / fitted.standard_errors_
    assert (z.abs() < 4).all(), z
    assert fitted.log_likelihood_by_k_.idxmax() == k


def test_the_search_on_a_large_summary_finds_the_k_of_the_exact_search():
    truth = BetaGeoCNBD.from_params(k=4, **BTYDPLUS)
    rng = np.random.default_rng(5)
    data = truth.simulate(60_000, rng.uniform(20, 80, 60_000), seed=6)
    large = BetaGeoCNBD().fit(data)  # a subsample first, then all rows around its best k
    exact = BetaGeoCNBD(k=4).fit(data)
    assert large.k_ == 4
    pd.testing.assert_series_equal(large.params_, exact.params_, rtol=1e-6)
    assert large.log_likelihood_ == pytest.approx(exact.log_likelihood_, rel=1e-12)
    # Neighbours fitted to the end fit worse than the chosen k.
    for k in (3, 5):
        assert BetaGeoCNBD(k=k).fit(data).log_likelihood_ < large.log_likelihood_


def test_transactions_simulated_and_summarized_give_back_k():
    truth = ModifiedBetaGeoCNBD.from_params(k=3, **BTYDPLUS)
    log = truth.simulate_transactions(8000, np.random.default_rng(7).uniform(30, 80, 8000), seed=8,
                                      observation_end="2024-12-31")
    summary = cv.summarize(log.assign(amount=1.0), unit="W", observation_end="2024-12-31", grain="D")
    fitted = ModifiedBetaGeoCNBD().fit(summary)
    assert fitted.k_ == 3
    assert (((fitted.params_ - pd.Series(BTYDPLUS)) / fitted.standard_errors_).abs() < 4).all()


# --- predictions at k > 1 ---------------------------------------------------------------------------------


@pytest.mark.parametrize("cls", [BetaGeoCNBD, ModifiedBetaGeoCNBD], ids=IDS)
def test_p_alive_is_calibrated_and_later_matches_the_simulated_share(cls):
    truth = cls.from_params(k=3, **BTYDPLUS)
    rng = np.random.default_rng(9)
    sim = truth.simulate(200_000, rng.uniform(10, 60, 200_000), seed=10)
    p = truth.p_alive(sim)
    buckets = np.minimum(sim["frequency"], 6)
    for _, group in sim.groupby(buckets):
        predicted, actual = p[group.index].mean(), group["alive"].mean()
        assert abs(predicted - actual) < 4 * np.sqrt(actual * (1 - actual) / len(group)) + 1e-3
    # A new customer: alive at f is exactly what a simulation observed for T = f records.
    new = customers([0], [0], [0])
    for f in (5.0, 30.0):
        share = truth.simulate(200_000, f, seed=11)["alive"].mean()
        assert truth.p_alive(new, future_t=f).iloc[0] == pytest.approx(share, abs=4 * np.sqrt(share * (1 - share)
                                                                                               / 200_000))


@pytest.mark.parametrize("k", [2, 5, 12])
def test_purchase_distribution_sums_to_one_with_the_expected_purchases_as_mean(k):
    m = ModifiedBetaGeoCNBD.from_params(k=k, **BTYDPLUS)
    rows = customers([0, 1, 4, 12, 40], [0, 5, 20, 30, 50], [40, 40, 26, 35, 52])
    table = m.purchase_probability(rows, list(range(400)), 30.0).to_numpy()
    np.testing.assert_allclose(table.sum(axis=1), 1.0, atol=1e-10)
    np.testing.assert_allclose(table @ np.arange(400), m.expected_purchases(rows, 30.0), rtol=1e-9)
    new = m.probability_of_purchases(np.arange(400), 20.0)
    assert new.sum() == pytest.approx(1.0, abs=1e-10)
    assert new @ np.arange(400) == pytest.approx(m.expected_purchases_new(20.0), rel=1e-9)


@pytest.mark.parametrize("k", [2, 4])
def test_expected_purchases_match_simulated_holdouts(k):
    truth = BetaGeoCNBD.from_params(k=k, **BTYDPLUS)
    log = truth.simulate_transactions(30_000, np.random.default_rng(12).uniform(52, 80, 30_000), seed=13,
                                      observation_end="2025-06-30")
    calhold = cv.calibration_holdout(log.assign(amount=1.0), "2024-12-31", "2025-06-30", unit="W")
    summary = cv.evaluation.calibration_summary(calhold)
    # The holdout is counted in whole days: its length in weeks.
    predicted = truth.expected_purchases(summary, calhold["duration_holdout"].iloc[0])
    actual = calhold["frequency_holdout"]
    buckets = np.minimum(summary["frequency"], 8)
    for _, group in actual.groupby(buckets):
        se = group.std() / np.sqrt(len(group))
        assert abs(predicted[group.index].mean() - group.mean()) < 4 * se + 0.01


def direct_discounting(m, row, horizon, delta):
    def mean(s):
        return float(m.expected_purchases(row, s).iloc[0])

    return np.exp(-delta * horizon) * mean(horizon) + delta * integrate.quad(
        lambda s: np.exp(-delta * s) * mean(s), 0, horizon, limit=500, epsrel=1e-11, epsabs=0)[0]


def test_discounting_equals_direct_integration():
    # ∫₀ᴴ e^(−δs) dE(s) = e^(−δH) E(H) + δ ∫₀ᴴ e^(−δs) E(s) ds, with E from expected_purchases. The rows
    # include regular heavy buyers (40 purchases, the last just before T), whose E(s) climbs in steps at k = 12;
    # δH = 4.5 is the exact series near its limit, δH = 6 the integral over the purchase rate.
    for k in (2, 6, 12):
        m = BetaGeoCNBD.from_params(k=k, **BTYDPLUS)
        rows = customers([0, 3, 15, 40], [0, 20, 30, 69.5], [30, 26, 31, 70])
        for horizon, delta in ((52.0, 0.01), (10.0, 0.2), (100.0, 0.045), (100.0, 0.06)):
            ours = m.discounted_purchases(rows, horizon, delta).to_numpy()
            for i in range(len(rows)):
                direct = direct_discounting(m, rows.iloc[[i]], horizon, delta)
                assert ours[i] == pytest.approx(direct, rel=1e-9)
        # An endless horizon is the limit of long ones: what lies beyond 3000 units weighs below e^−30.
        dert = m.dert(rows, 0.01).to_numpy()
        np.testing.assert_allclose(dert, m.discounted_purchases(rows, 3000.0, 0.01), rtol=1e-9)
        assert (dert > m.discounted_purchases(rows, 52.0, 0.01).to_numpy()).all()


@pytest.mark.parametrize("ticks", [1, 2, 5, 12])
def test_stage_sums_equal_sums_of_incomplete_beta_functions(ticks):
    # Given the phase, expected purchases are Σ_i E[(1−p)^(i−1)] P(N >= ik − j) and the chance of no dropout
    # 1 − Σ_i E[p(1−p)^(i−1)] P(N >= ik − j), with P(N >= s) = I_z(s, shape) for the NBD stage count: summed
    # term by term here, against the recurrence over stages with its skipped lower tail and stopping bounds.
    # The phases: heavy geometric tails (shape < 1, z near 1), tens of thousands of stages of which all but a
    # few thousand are skipped (shape 900, t/β = 36), a short horizon, a long tenure.
    phases = [(0.85, 1.45, 52.0), (0.3, 5.0, 500.0), (60.0, 40.0, 52.0), (900.0, 1.45, 52.0), (5.0, 5.0, 0.5),
              (40.0, 1000.0, 52.0)]
    for base, beta, t in phases:
        for j in sorted({0, ticks - 1}):
            shape, a, m = base + j, 0.79, 2.42 + base / 10
            z = t / (beta + t)
            mean, sd = shape * t / beta, np.sqrt(shape * t / beta * (1 + t / beta))
            i = np.arange(1.0, (mean + 40 * sd) / ticks + 200)
            tail = np.where(i * ticks - j > 0, betainc(np.maximum(i * ticks - j, 1.0), shape, z), 1.0)
            reach = np.exp(betaln(a, m + i - 1) - betaln(a, m))
            drop = np.exp(betaln(a + 1, m + i - 1) - betaln(a, m))
            phase = Phases(*(np.array([v]) for v in (shape, beta, float(j), a, m)))
            assert purchase_sums(phase, t, ticks)[0] == pytest.approx(np.sum(reach * tail), rel=1e-10)
            assert purchase_sums(phase, t, ticks, survive=True)[0] == pytest.approx(1 - np.sum(drop * tail), rel=1e-10)


def test_regularity_makes_a_long_silence_a_stronger_sign_of_dropout():
    # Five purchases in 20 weeks, then 12 silent weeks: with Erlang-3 gaps that is three missed purchases.
    row = customers([5, 5], [20, 30], [32, 32])
    regular = BetaGeoCNBD.from_params(k=3, **BTYDPLUS).p_alive(row).to_numpy()
    poisson = BetaGeoCNBD.from_params(k=1, **BTYDPLUS).p_alive(row).to_numpy()
    assert regular[0] < poisson[0] and regular[1] > poisson[1]


def test_extreme_customers_stay_finite_under_floating_point_errors():
    rows = customers([0, 1, 300, 500, 300], [0, 0.5, 100, 5, 999], [1000, 1000, 101, 1000, 1000])
    for k in (1, 4, 12):
        m = ModifiedBetaGeoCNBD.from_params(k=k, **BTYDPLUS)
        with np.errstate(all="raise"):
            values = [m.p_alive(rows), m.p_alive(rows, future_t=52), m.expected_purchases(rows, 52),
                      m.discounted_purchases(rows, 52, 0.01), m.dert(rows, 0.01),
                      m.purchase_probability(rows, [0, 1, 5], 52)]
        for v in values:
            assert np.isfinite(np.asarray(v, dtype=float)).all()
        assert ((values[0] >= 0) & (values[0] <= 1)).all() and (values[1] <= values[0] + 1e-15).all()


def test_a_customer_with_missing_values_gets_nan_and_the_others_their_predictions():
    # NaN marks what cannot be predicted (custvalue.score then refuses it, naming the customers).
    m = BetaGeoCNBD.from_params(k=3, **BTYDPLUS)
    rows = customers([1, 2], [5, np.nan], [10, np.nan])
    for call in (lambda r: m.expected_purchases(r, 10), lambda r: m.p_alive(r, 5),
                 lambda r: m.discounted_purchases(r, 10, 0.01), lambda r: m.discounted_purchases(r, 100, 0.1),
                 lambda r: m.dert(r, 0.01)):
        with np.errstate(all="raise"):
            values = call(rows).to_numpy()
        assert np.isnan(values[1]) and values[0] == pytest.approx(call(rows.iloc[[0]]).iloc[0], rel=1e-13)


# --- holdout accuracy and the automatic choice --------------------------------------------------------------


def test_holdout_predictions_of_regular_customers_beat_bgnbd():
    truth = BetaGeoCNBD.from_params(k=4, r=2.0, alpha=4.0, a=0.79, b=2.42)
    log = truth.simulate_transactions(4000, np.random.default_rng(14).uniform(52, 70, 4000), seed=15,
                                      observation_end="2025-06-30")
    calhold = cv.calibration_holdout(log.assign(amount=1.0), "2024-12-31", "2025-06-30", unit="W")
    with pytest.warns(IdentificationWarning, match="mbgcnbd"):  # its dropout runs to an edge on these data
        table = cv.compare_models(calhold, ["bgnbd", "bgcnbd", "mbgcnbd"])
    assert table.index[0] in ("bgcnbd", "mbgcnbd")
    assert table.loc["bgcnbd", "mae"] < 0.95 * table.loc["bgnbd", "mae"]
    assert table.attrs["models"]["bgcnbd"].k_ == 4


def test_auto_choice_considers_the_regularity_models_when_the_summary_has_litt():
    _, choice = cv.evaluation.choose_model(cv.datasets.load_cdnow(sample=True), "W", None, "D", None)
    assert set(choice.index) == {"bgnbd", "mbgnbd", "paretonbd", "bgcnbd", "mbgcnbd"}
    calhold = cv.calibration_holdout(cv.datasets.load_cdnow(sample=True), "1997-09-30", "1998-06-30")
    assert "litt" in cv.evaluation.calibration_summary(calhold).columns
    assert "litt" not in cv.evaluation.calibration_summary(calhold.drop(columns="litt_cal")).columns
    assert "litt" in cv.models.get("bgcnbd").required_columns()
    assert "litt" not in cv.models.get("bgcnbd", k=2).required_columns()


# --- the contract, errors, persistence --------------------------------------------------------------------


def test_without_litt_k_must_be_given_and_the_fix_works():
    summary = CDNOW.drop(columns="litt")
    with pytest.raises(SchemaError, match=r"'litt'.*custvalue\.summarize.*custvalue\.models\.get\('bgcnbd', k=2\)"):
        cv.models.get("bgcnbd").fit(summary)
    fixed = cv.models.get("bgcnbd", k=2).fit(summary)  # the fix the message names
    assert fixed.k_ == 2 and np.isnan(fixed.log_likelihood_)  # without litt the k = 2 likelihood is not known
    with_litt = cv.models.get("bgcnbd", k=2).fit(CDNOW)
    pd.testing.assert_series_equal(fixed.params_, with_litt.params_)  # litt does not move the estimates
    assert cv.models.get("bgcnbd", k=1).fit(summary).log_likelihood_ == pytest.approx(-9582.43, abs=0.01)


@pytest.mark.parametrize("k", [0, 2.5, "2", True, -1])
def test_a_bad_k_names_itself(k):
    with pytest.raises(InvalidParameterError, match="k"):
        BetaGeoCNBD(k=k).fit(CDNOW)


def test_other_bad_arguments():
    with pytest.raises(InvalidParameterError, match="lifetimes has no regularity model"):
        BetaGeoCNBD(engine="lifetimes").fit(CDNOW)
    with pytest.raises(InvalidParameterError, match=r"from_params\(k=2"):
        BetaGeoCNBD.from_params(**BTYDPLUS)
    with pytest.raises(InvalidParameterError, match="differs"):
        BetaGeoCNBD.from_params({"k": 2}, k=3, **BTYDPLUS)
    with pytest.raises(SchemaError, match="litt must be finite"):
        BetaGeoCNBD().fit(CDNOW.assign(litt=np.nan))
    m = BetaGeoCNBD.from_params(k=2, **BTYDPLUS)
    with pytest.raises(InvalidParameterError, match="no scenario knob"):
        m.scenario(dropout=1.2)
    with pytest.raises(InvalidParameterError, match="delta=0"):
        m.discounted_purchases(CDNOW, np.inf, 0.0)


def test_save_load_keeps_k_and_the_search(tmp_path):
    m = ModifiedBetaGeoCNBD().fit(CDNOW)
    path = tmp_path / "m.json"
    m.save(path)
    loaded = cv.models.load(path)
    assert loaded.k_ == m.k_ and loaded.k is None
    pd.testing.assert_series_equal(loaded.log_likelihood_by_k_, m.log_likelihood_by_k_)
    fixed = BetaGeoCNBD.from_params(k=5, **BTYDPLUS)
    fixed.save(path)
    assert cv.models.load(path).k_ == 5
    assert "k=5" in repr(fixed)


def test_weighted_distinct_rows_fit_as_every_customer():
    rows = CDNOW[["frequency", "recency", "T", "litt"]]
    grouped = rows.value_counts().rename("weights").reset_index()
    every = ModifiedBetaGeoCNBD(k=2).fit(rows)
    weighted = ModifiedBetaGeoCNBD(k=2).fit(grouped, weights="weights")
    pd.testing.assert_series_equal(every.params_, weighted.params_, rtol=1e-8)
    assert weighted.log_likelihood_ == pytest.approx(every.log_likelihood_, rel=1e-12)


def test_score_with_intervals_and_a_scenario():
    scored = cv.score(CDNOW, model=ModifiedBetaGeoCNBD(k=2), spend_model=None, horizon=26, intervals=0.9,
                      interval_draws=30)
    assert (scored["expected_purchases_lower"] <= scored["expected_purchases"] + 1e-12).all()
    assert (scored["expected_purchases"] <= scored["expected_purchases_upper"] + 1e-12).all()
    m = ModifiedBetaGeoCNBD.from_params(k=3, **BTYDPLUS)
    faster = m.scenario(purchase_rate=1.5)
    np.testing.assert_allclose(faster.expected_purchases(CDNOW, 10), m.expected_purchases(CDNOW, 15), rtol=1e-12)


def test_covariate_effects_are_recovered():
    rng = np.random.default_rng(16)
    n = 20_000
    covariates = pd.DataFrame({"email": rng.integers(0, 2, n).astype(float), "age": rng.normal(0, 1, n)})
    hyper = {"purchase_covariates": ["email"], "dropout_covariates": ["age"]}
    truth = BetaGeoCNBD.from_params(hyper, k=3, **BTYDPLUS, **{"purchase[email]": 0.5, "dropout[age]": 0.4})
    sim = truth.simulate(n, rng.uniform(20, 60, n), seed=17, covariates=covariates)
    fitted = BetaGeoCNBD(**hyper).fit(sim)
    assert fitted.k_ == 3
    z = (fitted.params_ - truth.params_) / fitted.standard_errors_
    assert (z.abs() < 4).all(), z
    # Each customer's own purchase rate: the emailed buy e^0.5 times as fast.
    row = customers([0, 0], [0, 0], [0, 0]).assign(email=[0.0, 1.0], age=[0.0, 0.0])
    assert fitted.expected_purchases(row, 10).iloc[1] > fitted.expected_purchases(row, 10).iloc[0]


def test_a_customer_with_covariates_is_predicted_as_with_their_own_parameters():
    # α_i = α·e^(−γ_p·z_p), a_i = a·e^(γ_d·z_d), b_i = b·e^(γ_d·z_d): customers sharing (x, T) but not their
    # covariates fall in different groups, and each gets what a model with their own parameters predicts.
    hyper = {"purchase_covariates": ["email"], "dropout_covariates": ["age"]}
    m = ModifiedBetaGeoCNBD.from_params(hyper, k=3, **BTYDPLUS, **{"purchase[email]": 0.5, "dropout[age]": 0.4})
    rows = customers([4, 4, 4, 0, 4], [20, 20, 20, 0, 25], [30, 30, 30, 30, 30]).assign(
        email=[0.0, 1.0, 1.0, 1.0, 0.0], age=[0.0, 0.0, -1.5, 2.0, 0.0])
    calls = (lambda model, r: model.expected_purchases(r, 26), lambda model, r: model.p_alive(r, 13),
             lambda model, r: model.discounted_purchases(r, 52, 0.01), lambda model, r: model.dert(r, 0.01),
             lambda model, r: model.purchase_probability(r, [0, 1, 4], 26))
    for i in range(len(rows)):
        email, age = rows[["email", "age"]].iloc[i]
        own = ModifiedBetaGeoCNBD.from_params(k=3, r=BTYDPLUS["r"], alpha=BTYDPLUS["alpha"] * np.exp(-0.5 * email),
                                              a=BTYDPLUS["a"] * np.exp(0.4 * age), b=BTYDPLUS["b"] * np.exp(0.4 * age))
        for call in calls:
            np.testing.assert_allclose(np.asarray(call(m, rows))[i], np.asarray(call(own, rows.iloc[[i]]))[0],
                                       rtol=1e-12)


def test_predictions_take_little_memory_per_customer():
    # What a prediction allocates grows by a few numbers per customer (their group, log-odds and result), not by
    # the terms of its sums: measured between 50,000 and 200,000 customers.
    import tracemalloc

    m = ModifiedBetaGeoCNBD.from_params(k=4, **BTYDPLUS)
    many = m.sample(200_000, seed=18)[["frequency", "recency", "T"]]

    def peak(call, rows):
        tracemalloc.start()
        try:
            call(rows)
            return tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()

    for call in (lambda r: m.expected_purchases(r, 52), lambda r: m.p_alive(r, 26),
                 lambda r: m.discounted_purchases(r, 52, 0.01)):
        per_customer = (peak(call, many) - peak(call, many.iloc[:50_000])) / 150_000
        assert per_customer < 48  # bytes: a summary row of frequency, recency and T takes 24



# --- a score's purchase columns ----------------------------------------------------------------------


@pytest.mark.parametrize("cls", [BetaGeoCNBD, ModifiedBetaGeoCNBD], ids=IDS)
@pytest.mark.parametrize("k", [1, 2, 5])
@pytest.mark.parametrize("horizon, delta", [(52.0, 0.002), (10.0, 0.05), (40.0, 0.2), (0.0, 0.01), (52.0, 0.0)])
def test_one_pass_gives_the_columns_of_the_separate_predictions(cls, k, horizon, delta):
    # Series (δH <= 5), integral over the rate (δH = 8), no horizon and no discounting.
    m = cls.from_params(k=k, **BTYDPLUS)
    rows = pd.concat([m.sample(400, seed=k), customers([0, 3, 40], [0, 10, 50], [0, 30, 52])], ignore_index=True)
    with np.errstate(all="raise"):
        together = m._scored_purchases(rows, horizon, delta)
    assert list(together) == ["expected_purchases", "p_alive", "discounted_purchases"]
    np.testing.assert_allclose(together["expected_purchases"], m.expected_purchases(rows, horizon), rtol=1e-12)
    np.testing.assert_array_equal(together["p_alive"], m.p_alive(rows))
    np.testing.assert_allclose(together["discounted_purchases"], m.discounted_purchases(rows, horizon, delta),
                               rtol=1e-12)


def test_a_discounted_score_equals_the_separate_predictions():
    m = BetaGeoCNBD.from_params(k=3, **BTYDPLUS)
    rows = m.sample(300, seed=4)
    rows["monetary_value"] = 20.0 + rows["frequency"]
    spend = GammaGamma.from_params(**GammaGamma.example_params)
    scored = cv.score(rows, model=m, spend_model=spend, horizon=52, discount_rate=0.002)
    delta = np.log1p(0.002)
    np.testing.assert_allclose(scored["expected_purchases"], m.expected_purchases(rows, 52), rtol=1e-12)
    np.testing.assert_array_equal(scored["p_alive"], m.p_alive(rows))
    np.testing.assert_allclose(scored["clv"], m.discounted_purchases(rows, 52, delta) * spend.expected_spend(rows),
                               rtol=1e-12)


def test_the_undiscounted_column_of_the_series_is_the_plain_sum():
    ph = Phases(shape=np.array([0.5, 3.0, 40.0, 200.0]), beta=np.array([2.0, 10.0, 30.0, 60.0]),
                j=np.array([0.0, 1.0, 2.0, 0.0]), a=np.array([0.8, 1.0, 2.0, 0.5]), m=np.array([2.0, 5.0, 30.0, 3.0]))
    both = purchase_sums(ph, 52.0, 3, discount=0.3, undiscounted_too=True)
    np.testing.assert_allclose(both[:, 0], purchase_sums(ph, 52.0, 3, discount=0.3), rtol=1e-12)
    np.testing.assert_allclose(both[:, 1], purchase_sums(ph, 52.0, 3), rtol=1e-12)
    assert (both[:, 0] < both[:, 1]).all()
