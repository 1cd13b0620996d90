"""CLV models: published values, parity with lifetimes, numerical safety, recovery, the contract."""

import warnings

import numpy as np
import pandas as pd
import pytest

import custvalue as cv
from custvalue.errors import (
    IdentificationWarning,
    InvalidParameterError,
    NotFittedError,
    SchemaError,
    UnknownModelError,
)
from custvalue.models import BetaGeo, BetaGeoBetaBinom, GammaGamma, ModifiedBetaGeo, ParetoNBD
from custvalue.models.gammagamma import SpendWarning

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    import lifetimes

SUMMARY = cv.datasets.load_cdnow_summary()


@pytest.fixture(scope="module")
def fitted():
    return {name: cv.models.get(name).fit(SUMMARY) for name in ("bgnbd", "mbgnbd", "paretonbd", "gammagamma")}


def one(x, t_x, T):
    return pd.DataFrame({"frequency": [float(x)], "recency": [float(t_x)], "T": [float(T)]})


# --- published values (REFERENCE.md) -------------------------------------------------------------


def test_bgnbd_published_cdnow(fitted):
    m = fitted["bgnbd"]
    # Fader, Hardie & Lee (2005), CDNOW sample: r=0.2426, alpha=4.4136, a=0.7929, b=2.4259, LL=-9582.43.
    np.testing.assert_allclose(m.params_, [0.2426, 4.4136, 0.7929, 2.4259], rtol=1e-4)
    assert m.log_likelihood_ == pytest.approx(-9582.43, abs=0.005)
    # Standard errors as reported in lifetimes' documentation: 0.0126, 0.378, 0.186, 0.705.
    np.testing.assert_allclose(m.standard_errors_, [0.0126, 0.378, 0.186, 0.705], rtol=0.01)
    assert m.converged_ and m.n_customers_ == 2357


def test_bgnbd_published_predictions():
    # Hardie's spreadsheet (as used in lifetimes' tests), at the published parameters.
    m = BetaGeo.from_params(r=0.2426, alpha=4.4136, a=0.7929, b=2.4259)
    assert m.expected_purchases(one(2, 30.43, 38.86), 39).iloc[0] == pytest.approx(1.226, abs=5e-4)
    t = [0.1429, 1, 3, 31.8571, 32, 78]
    np.testing.assert_allclose(m.expected_purchases_new(t), [0.0078, 0.0532, 0.1506, 1.0405, 1.0437, 1.8576],
                               atol=5e-4)


def test_paretonbd_published(fitted):
    m = fitted["paretonbd"]
    # Schmittlein et al.; FHL (2005a); CLVTools: r=0.5532, alpha=10.5763, s=0.6062, beta=11.6715; LL=-9594.98.
    np.testing.assert_allclose(m.params_, [0.5532, 10.5763, 0.6062, 11.6715], rtol=1e-3)
    assert m.log_likelihood_ == pytest.approx(-9594.98, abs=0.01)
    # R BTYD walkthrough: E[X(52) | x=26, t_x=30.86, T=31] = 25.46.
    published = ParetoNBD.from_params(r=0.5532, alpha=10.5763, s=0.6062, beta=11.6715)
    assert published.expected_purchases(one(26, 30.86, 31), 52).iloc[0] == pytest.approx(25.46, abs=0.005)


def test_mbgnbd_published(fitted):
    # Batislam et al. (2007) via BTYDplus: r=0.525, alpha=6.183, a=0.891, b=1.614.
    np.testing.assert_allclose(fitted["mbgnbd"].params_, [0.525, 6.183, 0.891, 1.614], atol=6e-4)


def test_gammagamma_published(fitted):
    gg = fitted["gammagamma"]
    # Fader & Hardie (2013): p=6.25, q=3.74, v=15.44; LL=-4055.92 on 946 repeat buyers.
    np.testing.assert_allclose(gg.params_, [6.25, 3.74, 15.44], rtol=1.5e-3)
    assert gg.log_likelihood_ == pytest.approx(-4055.92, abs=0.005)
    assert gg.n_customers_ == 946
    # Hardie's spreadsheet: expected spend of the first ten customers at the maximum-likelihood estimates
    # (the spreadsheet keeps full precision; at the rounded p, q, v the values move by up to 0.05).
    np.testing.assert_allclose(
        gg.expected_spend(SUMMARY).head(10),
        [24.65, 18.91, 35.17, 35.17, 35.17, 71.46, 18.91, 35.17, 27.28, 35.17], atol=0.01)


def test_bgbb_published_donations():
    m = cv.models.get("bgbb").fit(cv.datasets.load_donations())
    # Fader, Hardie & Berger (2010): alpha=1.204, beta=0.750, gamma=0.657, delta=2.783 (LL -33,225.6).
    np.testing.assert_allclose(m.params_, [1.204, 0.750, 0.657, 2.783], atol=6e-4)
    assert m.log_likelihood_ == pytest.approx(-33225.58, abs=0.01)
    assert m.n_customers_ == 11104


# --- parity with lifetimes at the same parameters -------------------------------------------------


def extremes():
    rows = []
    for T in (1.0, 10.0, 100.0, 500.0, 1000.0):
        rows.append((0, 0.0, T))
        for x in (1, 2, 10, 50, 100, 200, 500):
            for frac in (1e-3, 0.5, 1.0):
                rows.append((x, frac * T, T))
    frame = pd.DataFrame(rows, columns=["frequency", "recency", "T"]).astype(float)
    return pd.concat([SUMMARY[["frequency", "recency", "T"]], frame], ignore_index=True)


def lifetimes_fitter(cls, params):
    fitter = cls()
    fitter.params_ = pd.Series(params)
    return fitter


CASES = [
    (BetaGeo, lifetimes.BetaGeoFitter, {"r": 0.2426, "alpha": 4.4136, "a": 0.7929, "b": 2.4259}),
    (ModifiedBetaGeo, lifetimes.ModifiedBetaGeoFitter, {"r": 0.525, "alpha": 6.183, "a": 0.891, "b": 1.614}),
    (ParetoNBD, lifetimes.ParetoNBDFitter, {"r": 0.5532, "alpha": 10.5763, "s": 0.6062, "beta": 11.6715}),
]


@pytest.mark.parametrize("ours, theirs, params", CASES, ids=["bgnbd", "mbgnbd", "paretonbd"])
def test_predictions_equal_lifetimes(ours, theirs, params):
    data = extremes()
    m, f = ours.from_params(**params), lifetimes_fitter(theirs, params)
    x, t_x, T = data["frequency"], data["recency"], data["T"]
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        pairs = [
            (m.p_alive(data), f.conditional_probability_alive(x, t_x, T)),
            (m.expected_purchases(data, 39), f.conditional_expected_number_of_purchases_up_to_time(39, x, t_x, T)),
            (m.expected_purchases_new(np.array([1.0, 10, 52, 500])),
             f.expected_number_of_purchases_up_to_time(np.array([1.0, 10, 52, 500]))),
        ]
    n_compared = 0
    for mine, peer in pairs:
        mine, peer = np.asarray(mine, dtype=float), np.asarray(peer, dtype=float)
        assert np.all(np.isfinite(mine))
        ok = np.isfinite(peer)
        # On the CDNOW sample itself lifetimes is always finite.
        assert ok[: len(SUMMARY)].all() or len(peer) < len(SUMMARY)
        np.testing.assert_allclose(mine[ok], peer[ok], rtol=1e-6, atol=1e-12)
        n_compared += ok.sum()
    assert n_compared > 2 * len(SUMMARY)


def test_probability_of_purchases_equals_lifetimes():
    params = {"r": 0.2426, "alpha": 4.4136, "a": 0.7929, "b": 2.4259}
    m, f = BetaGeo.from_params(**params), lifetimes_fitter(lifetimes.BetaGeoFitter, params)
    for n in (0, 1, 2, 5, 20):
        assert m.probability_of_purchases(n, 39) == pytest.approx(f.probability_of_n_purchases_up_to_time(39, n),
                                                                    rel=1e-6)
    # Probabilities of a new customer sum to one (BG/NBD, MBG/NBD, Pareto/NBD).
    assert m.probability_of_purchases(np.arange(400), 39).sum() == pytest.approx(1, abs=1e-8)
    mbg = ModifiedBetaGeo.from_params(r=0.525, alpha=6.183, a=0.891, b=1.614)
    assert mbg.probability_of_purchases(np.arange(400), 39).sum() == pytest.approx(1, abs=1e-8)
    pnbd = ParetoNBD.from_params(r=0.5532, alpha=10.5763, s=0.6062, beta=11.6715)
    assert pnbd.probability_of_purchases(np.arange(400), 39).sum() == pytest.approx(1, abs=1e-6)
    # Its mean matches the closed-form E[X(t)].
    k = np.arange(400)
    assert np.dot(k, pnbd.probability_of_purchases(k, 39)) == pytest.approx(pnbd.expected_purchases_new(39), rel=1e-5)


def test_bgbb_and_gammagamma_equal_lifetimes():
    params = {"alpha": 1.204, "beta": 0.750, "gamma": 0.657, "delta": 2.783}
    m, f = BetaGeoBetaBinom.from_params(**params), lifetimes_fitter(lifetimes.BetaGeoBetaBinomFitter, params)
    d = cv.datasets.load_donations()
    ours = m.expected_purchases(d, 5)
    theirs = f.conditional_expected_number_of_purchases_up_to_time(5, d["frequency"], d["recency"], d["periods"])
    np.testing.assert_allclose(ours, theirs, rtol=1e-6)
    np.testing.assert_allclose(
        m.p_alive(d, future_t=1), f.conditional_probability_alive(1, d["frequency"], d["recency"], d["periods"]),
        rtol=1e-6)
    p = m.probability_of_purchases(np.arange(7), 6)
    assert p.sum() == pytest.approx(1.0, abs=1e-10)
    assert np.dot(np.arange(7), p) == pytest.approx(m.expected_purchases_new(6), rel=1e-8)
    gg_params = {"p": 6.25, "q": 3.74, "v": 15.44}
    gg, gf = GammaGamma.from_params(**gg_params), lifetimes_fitter(lifetimes.GammaGammaFitter, gg_params)
    np.testing.assert_allclose(gg.expected_spend(SUMMARY),
                               gf.conditional_expected_average_profit(SUMMARY["frequency"], SUMMARY["monetary_value"]),
                               rtol=1e-9)


@pytest.mark.parametrize("ours, params", [(c[0], c[2]) for c in CASES], ids=["bgnbd", "mbgnbd", "paretonbd"])
def test_extremes_are_finite_bounded_and_monotone(ours, params):
    m, data = ours.from_params(**params), extremes()
    alive = m.p_alive(data)
    assert alive.between(0, 1).all()
    previous = np.zeros(len(data))
    for t in (0.0, 1.0, 10.0, 52.0, 500.0):
        current = m.expected_purchases(data, t).to_numpy()
        assert np.all(np.isfinite(current))
        assert np.all(current >= previous - 1e-9)
        previous = current


# --- fitting -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "model, params",
    [
        (BetaGeo, {"r": 0.8, "alpha": 6.0, "a": 0.9, "b": 3.0}),
        (ModifiedBetaGeo, {"r": 0.8, "alpha": 6.0, "a": 0.9, "b": 3.0}),
        (ParetoNBD, {"r": 0.8, "alpha": 6.0, "s": 0.7, "beta": 12.0}),
    ],
    ids=["bgnbd", "mbgnbd", "paretonbd"],
)
def test_parameter_recovery_from_simulated_customers(model, params):
    rng = np.random.default_rng(7)
    T = rng.integers(20, 80, 50_000).astype(float)
    simulated = model.from_params(**params).simulate(50_000, T, seed=11)
    simulated["recency"] = np.round(simulated["recency"] * 7) / 7  # a day grid, as in real data
    m = model().fit(simulated)
    z = (m.params_ - pd.Series(params)) / m.standard_errors_
    assert (z.abs() < 3).all(), z


def test_gammagamma_and_bgbb_recovery():
    truth = {"p": 4.0, "q": 5.0, "v": 30.0}
    x = np.random.default_rng(1).integers(0, 10, 50_000)
    sim = GammaGamma.from_params(**truth).simulate(x, seed=2)
    gg = GammaGamma().fit(sim)
    assert (((gg.params_ - pd.Series(truth)) / gg.standard_errors_).abs() < 3).all()
    bgbb_truth = {"alpha": 1.2, "beta": 0.8, "gamma": 0.7, "delta": 2.5}
    sim = BetaGeoBetaBinom.from_params(**bgbb_truth).simulate(50_000, periods=8, seed=3)
    m = BetaGeoBetaBinom().fit(sim)
    assert (((m.params_ - pd.Series(bgbb_truth)) / m.standard_errors_).abs() < 3).all()


def test_weights_equal_repeated_rows():
    d = cv.datasets.load_donations()
    expanded = d.loc[d.index.repeat(d["weights"].astype(int)), ["frequency", "recency", "periods"]]
    a = BetaGeoBetaBinom().fit(d)
    b = BetaGeoBetaBinom().fit(expanded.reset_index(drop=True))
    np.testing.assert_allclose(a.params_, b.params_, rtol=1e-6)
    c = BetaGeo().fit(SUMMARY, weights=np.full(len(SUMMARY), 2.0))
    np.testing.assert_allclose(c.params_, BetaGeo().fit(SUMMARY).params_, rtol=1e-6)
    assert c.log_likelihood_ == pytest.approx(2 * -9582.4256, rel=1e-7)


def test_penalizer_shrinks_parameters():
    free, penalized = BetaGeo().fit(SUMMARY), BetaGeo(penalizer=0.1).fit(SUMMARY)
    assert (penalized.params_ ** 2).sum() < (free.params_ ** 2).sum()


def test_gammagamma_refuses_nonpositive_spend_and_warns_on_small_q():
    bad = SUMMARY.copy()
    bad.loc[1, "monetary_value"] = -1.0
    with pytest.raises(SchemaError, match=">= 0 for repeat buyers"):
        GammaGamma().fit(bad)
    gg = GammaGamma.from_params(p=2.0, q=0.8, v=10.0)
    assert gg.population_mean_spend() == np.inf
    heavy = GammaGamma.from_params(p=3.0, q=0.7, v=5.0).simulate(np.full(5000, 2.0), seed=4)
    with pytest.warns(SpendWarning, match="q = 0.[5-9].* <= 1"):
        GammaGamma().fit(heavy)


def test_no_repeat_purchases_identify_no_parameter():
    degenerate = pd.DataFrame({"frequency": [0.0] * 50, "recency": [0.0] * 50, "T": [10.0] * 50})
    with pytest.warns(IdentificationWarning, match=r"do not identify the purchase rate \(r, alpha\) and the dropout "
                                                    r"probability \(a, b\)"):
        m = BetaGeo().fit(degenerate)
    assert not m.converged_ and set(m.unidentified_) == {"r", "alpha", "a", "b"}


# --- the contract ------------------------------------------------------------------------------------


def test_registry_lists_gets_and_refuses():
    assert cv.models.available() == sorted(
        ["bgbb", "bgcnbd", "bgnbd", "formula", "gammagamma", "gammagamma_individual", "historic", "mbgcnbd",
         "mbgnbd", "paretonbd", "sbg"])
    assert isinstance(cv.models.get("paretonbd", penalizer=0.01), ParetoNBD)
    with pytest.raises(UnknownModelError, match="available models: \\['bgbb'"):
        cv.models.get("bg-nbd")


def test_user_models_plug_in_through_register():
    @cv.models.register
    class Constant(cv.models.BaseModel):
        name = "constant_test"
        abilities = frozenset({cv.models.Ability.CONDITIONAL, cv.models.Ability.P_ALIVE})
        param_names = ("rate",)

        def fit(self, summary, weights=None):
            return self._set_fitted({"rate": summary["frequency"].mean()})

        def expected_purchases(self, summary, t):
            return pd.Series(self.params_["rate"] * t, index=summary.index)

        def p_alive(self, summary):
            return pd.Series(1.0, index=summary.index)

    try:
        scored = cv.score(SUMMARY, model="constant_test", horizon=2)
        assert scored["expected_purchases"].iloc[0] == pytest.approx(2 * SUMMARY["frequency"].mean())
    finally:
        cv.models.registry.REGISTRY.pop("constant_test")


def test_estimator_contract():
    m = BetaGeo(penalizer=0.0)
    assert m.get_params() == {"penalizer": 0.0, "engine": "native", "purchase_covariates": None,
                              "dropout_covariates": None}
    assert m.set_params(penalizer=0.5) is m and m.penalizer == 0.5
    with pytest.raises(InvalidParameterError, match="no hyper-parameter 'alpha'"):
        m.set_params(alpha=1)
    with pytest.raises(NotFittedError, match="This BetaGeo instance is not fitted yet"):
        m.p_alive(SUMMARY)
    with pytest.raises(AttributeError):  # NotFittedError is also an AttributeError
        m.expected_purchases(SUMMARY, 1)
    fitted = BetaGeo().fit(SUMMARY)
    assert fitted.fit(SUMMARY) is fitted
    assert not any(isinstance(v, pd.DataFrame) and len(v) == len(SUMMARY) for v in vars(fitted).values())
    assert "r=0.2426" in repr(fitted) and "log-likelihood -9582.43" in repr(fitted)
    table = fitted.summary()
    assert list(table.columns) == ["estimate", "se", "lower_95", "upper_95"]
    assert table.attrs["aic"] == pytest.approx(2 * 4 + 2 * 9582.4256, rel=1e-7)
    assert table.attrs["bic"] == pytest.approx(4 * np.log(2357) + 2 * 9582.4256, rel=1e-7)
    assert (table["lower_95"] < table["estimate"]).all() and (table["estimate"] < table["upper_95"]).all()
    assert "<table" in fitted._repr_html_()


@pytest.mark.parametrize("name", ["bgnbd", "mbgnbd", "paretonbd", "gammagamma"])
def test_save_and_load_roundtrip(tmp_path, fitted, name):
    model = fitted[name]
    path = tmp_path / f"{name}.json"
    model.save(path)
    assert path.read_text().startswith("{")
    loaded = cv.models.load(path)
    assert type(loaded) is type(model)
    pd.testing.assert_series_equal(loaded.params_, model.params_)
    pd.testing.assert_series_equal(loaded.standard_errors_, model.standard_errors_)
    assert loaded.log_likelihood_ == model.log_likelihood_
    if name == "gammagamma":
        pd.testing.assert_series_equal(loaded.expected_spend(SUMMARY), model.expected_spend(SUMMARY))
    else:
        pd.testing.assert_series_equal(loaded.p_alive(SUMMARY), model.p_alive(SUMMARY))


def test_bad_summaries_for_models():
    with pytest.raises(SchemaError, match="missing \\['recency'\\]"):
        BetaGeo().fit(SUMMARY.drop(columns="recency"))
    with pytest.raises(SchemaError, match="recency_le_T"):
        BetaGeo().fit(SUMMARY.assign(recency=SUMMARY["T"] + 1))
    with pytest.raises(SchemaError, match="empty"):
        BetaGeo().fit(SUMMARY.iloc[:0])
    with pytest.raises(InvalidParameterError, match="horizon"):
        BetaGeo.from_params(r=1, alpha=1, a=1, b=1).expected_purchases(SUMMARY, -1)
    with pytest.raises(SchemaError, match="BG/BB needs whole numbers"):
        BetaGeoBetaBinom().fit(pd.DataFrame({"frequency": [2.0], "recency": [1.0], "periods": [6.0]}))


@pytest.mark.parametrize("name, data", [("bgnbd", SUMMARY), ("mbgnbd", SUMMARY), ("paretonbd", SUMMARY),
                                        ("gammagamma", SUMMARY), ("bgbb", cv.datasets.load_donations())])
def test_lifetimes_engine_agrees_with_the_native_fit(name, data):
    # Unpenalised only: lifetimes rescales time before penalising in some fitters and divides by the
    # mean weight in others, so its penalised objectives differ from model to model.
    native = cv.models.get(name).fit(data)
    peer = cv.models.get(name, engine="lifetimes").fit(data)
    assert peer.get_params()["engine"] == "lifetimes"
    np.testing.assert_allclose(peer.params_, native.params_, rtol=2e-3)
    assert native.log_likelihood_ >= peer.log_likelihood_ - 1e-6  # ours is never the lower optimum
    assert peer.standard_errors_.notna().all()


def test_unknown_engine():
    with pytest.raises(InvalidParameterError, match="engine=.stan. is not valid: use one of"):
        BetaGeo(engine="stan").fit(SUMMARY)


def test_models_from_installed_packages_register_through_entry_points(monkeypatch):
    from custvalue.models import registry

    class Plugin(cv.models.BaseModel):
        name = "plugin_test"

    class FakeEntryPoint:
        def load(self):
            return Plugin

    monkeypatch.setattr(registry, "_entry_points_loaded", False)
    monkeypatch.setattr(registry, "entry_points",
                        lambda group: [FakeEntryPoint()] if group == "custvalue.models" else [])
    try:
        assert "plugin_test" in cv.models.available()
        assert isinstance(cv.models.get("plugin_test"), Plugin)
    finally:
        registry.REGISTRY.pop("plugin_test", None)


@pytest.mark.parametrize("model", [cv.models.get("formula", retention=0.8, margin=0.3), cv.models.get("historic")])
def test_formula_models_save_and_load(tmp_path, model):
    summary = cv.summarize(cv.datasets.load_cdnow(sample=True))
    model.fit(summary)
    model.save(tmp_path / "m.json")
    loaded = cv.models.load(tmp_path / "m.json")
    assert loaded.get_params() == model.get_params()
    pd.testing.assert_series_equal(loaded.customer_value(summary), model.customer_value(summary))


@pytest.mark.parametrize("name", ["bgnbd", "mbgnbd", "gammagamma"])
def test_analytic_derivatives_match_finite_differences(name):
    from custvalue.models._mle import numeric_gradient, numeric_hessian

    model = cv.models.get(name)
    data, w = model._fit_data(SUMMARY, np.random.default_rng(0).uniform(0.5, 2.0, len(SUMMARY)))
    loglik = model._bound_loglik(data, w)
    z = np.log([0.3, 4.0, 0.7, 2.0]) if name != "gammagamma" else np.log([5.0, 3.0, 12.0])
    value, gradient, hessian = loglik(z, 2)
    assert value == pytest.approx(loglik(z, 0), rel=1e-13)
    np.testing.assert_allclose(gradient, numeric_gradient(lambda q: loglik(q, 0), z), rtol=1e-6, atol=1e-4)
    np.testing.assert_allclose(hessian, numeric_hessian(lambda q: loglik(q, 1)[1], z), rtol=1e-6, atol=1e-5)


@pytest.mark.parametrize("columns", [["frequency", "recency", "T"], ["frequency", "monetary_value"]])
def test_grouped_rows_are_exact_sorted_and_independent_of_row_order(columns):
    from custvalue.grouping import group_rows

    rng = np.random.default_rng(5)
    n = 5000
    frame = pd.DataFrame({"frequency": rng.integers(0, 6, n), "recency": rng.integers(0, 9, n) / 7,
                          "T": rng.integers(20, 24, n) / 7, "monetary_value": rng.choice([0.0, 9.5, 12.25], n)})
    frame = frame[columns]
    weights = rng.uniform(0.5, 2.0, n).round(2)
    rows, counts, inverse = group_rows(frame, weights)
    pd.testing.assert_frame_equal(rows.iloc[inverse].reset_index(drop=True), frame.reset_index(drop=True))
    expected = frame.assign(w=weights).groupby(columns)["w"].sum()  # pandas sorts groups lexicographically
    np.testing.assert_array_equal(rows.to_numpy(), np.array(expected.index.to_list()))
    np.testing.assert_allclose(counts, expected.to_numpy(), rtol=1e-12)
    shuffled = rng.permutation(n)
    again = group_rows(frame.iloc[shuffled], weights[shuffled])
    pd.testing.assert_frame_equal(again[0], rows)
    np.testing.assert_allclose(again[1], counts, rtol=1e-12)


def test_grouping_with_a_large_key_space_ranks_by_factorizing():
    from custvalue.grouping import group_rows

    rng = np.random.default_rng(6)
    frame = pd.DataFrame({"a": rng.integers(0, 3000, 2000), "b": rng.normal(size=2000).round(1),
                          "c": rng.integers(0, 3000, 2000)})  # 3000 × ~70 × 3000 combinations
    rows, counts, inverse = group_rows(frame)
    assert counts.sum() == len(frame) and (counts >= 1).all()
    assert rows.equals(frame.drop_duplicates().sort_values(["a", "b", "c"]).reset_index(drop=True))
    pd.testing.assert_frame_equal(rows.iloc[inverse].reset_index(drop=True), frame)


def test_historic_value_fits_weighted_rows_like_every_customer():
    summary = SUMMARY.assign(total_value=SUMMARY["monetary_value"].round(0))
    rows, counts = summary[["total_value"]].value_counts().reset_index(), None
    counts = rows.pop("count").to_numpy()
    weighted = cv.models.get("historic").fit(rows, weights=counts)
    plain = cv.models.get("historic").fit(summary)
    assert weighted.params_["mean_value"] == pytest.approx(plain.params_["mean_value"], rel=1e-12)
    assert weighted.n_customers_ == len(summary)
