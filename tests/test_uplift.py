"""uplift scenarios (arithmetic and model identities) and measured lift (CI coverage)."""

import warnings

import numpy as np
import pandas as pd
import pytest
from scipy import integrate, special

import custvalue as cv
from custvalue.errors import InvalidParameterError, SchemaError
from custvalue.models import BetaGeo, GammaGamma, ParetoNBD
from custvalue.uplift import UpliftWarning

SUMMARY = cv.datasets.load_cdnow_summary()


def test_factor_scenario_roi_and_break_even_by_hand():
    df = pd.DataFrame({"clv": [100.0, 40.0, 10.0, 30.0], "segment": ["a", "b", "a", "b"]})
    out = cv.uplift(df, segment="a", factor=1.2, cost_per_customer=3.0, fixed_cost=10.0)
    assert out["treated"].tolist() == [True, False, True, False]
    np.testing.assert_allclose(out["incremental_value"], [20.0, 0.0, 2.0, 0.0])
    s = cv.uplift_summary(out)
    assert s.treated == 2 and s.cost == pytest.approx(16.0)
    assert s.incremental_value == pytest.approx(22.0)
    assert s.roi == pytest.approx((22.0 - 16.0) / 16.0)
    assert s.break_even_cost_per_customer == pytest.approx((22.0 - 10.0) / 2)
    assert s.baseline_value == pytest.approx(110.0) and s.scenario_value == pytest.approx(132.0)
    assert "roi" in str(s) and "<table" in s._repr_html_()
    pd.testing.assert_frame_equal(df, pd.DataFrame({"clv": [100.0, 40.0, 10.0, 30.0], "segment": ["a", "b", "a", "b"]}))


def bg_purchases_by_integration(m, x, t_x, T, t, c=1.0, k=1.0):
    """P(alive) · E[(1 − exp(−cλ·kp·t)) / (kp)] with λ ~ Γ(r+x, α+T), p ~ Beta(a, b+x), by quadrature."""
    r, alpha, a, b = m.params_
    alive = m.p_alive(pd.DataFrame({"frequency": [x], "recency": [t_x], "T": [T]})).iloc[0]

    def integrand(p):
        density = np.exp((a - 1) * np.log(p) + (b + x - 1) * np.log1p(-p) - special.betaln(a, b + x))
        return density * (1 - ((alpha + T) / (alpha + T + c * k * p * t)) ** (r + x)) / (k * p)

    return alive * integrate.quad(integrand, 0, 1, limit=200)[0]


def test_bgnbd_rate_and_dropout_scenarios_match_the_model_by_integration():
    bg = BetaGeo.from_params(r=0.2426, alpha=4.4136, a=0.7929, b=2.4259)
    gg = GammaGamma.from_params(p=6.25, q=3.74, v=15.44)
    one = SUMMARY.loc[[1]]  # x=2, t_x=30.43, T=38.86
    scored = cv.score(one, model=bg, spend_model=gg, horizon=39, margin=0.5)
    # The baseline formula agrees with the integral: this checks the integral itself.
    assert bg_purchases_by_integration(bg, 2, 30.43, 38.86, 39) == pytest.approx(
        scored["expected_purchases"].iloc[0], rel=1e-6)
    spend = gg.expected_spend(one).iloc[0]
    faster = cv.uplift(scored, purchase_rate=1.3)
    expected = 0.5 * spend * bg_purchases_by_integration(bg, 2, 30.43, 38.86, 39, c=1.3)
    assert faster["clv_scenario"].iloc[0] == pytest.approx(expected, rel=1e-6)
    stickier = cv.uplift(scored, dropout=0.7, spend=1.1)
    expected = 1.1 * 0.5 * spend * bg_purchases_by_integration(bg, 2, 30.43, 38.86, 39, k=0.7)
    assert stickier["clv_scenario"].iloc[0] == pytest.approx(expected, rel=1e-6)


def test_paretonbd_dropout_scenario_by_integration():
    m = ParetoNBD.from_params(r=0.5532, alpha=10.5763, s=0.6062, beta=11.6715)
    gg = GammaGamma.from_params(p=6.25, q=3.74, v=15.44)
    one = SUMMARY.loc[[1]]
    scored = cv.score(one, model=m, spend_model=gg, horizon=52)
    x, T, t, k = 2.0, 38.86, 52.0, 0.6
    r, alpha, s, beta = m.params_
    # Given alive: E[λ] · E[(1 − exp(−kμt)) / (kμ)] with μ ~ Γ(s, β+T).
    rate = (r + x) / (alpha + T)

    def integrand(mu):
        return np.exp(special.xlogy(s - 1, mu) - (beta + T) * mu + s * np.log(beta + T) - special.gammaln(s)) * (
            -np.expm1(-k * mu * t) / (k * mu))

    alive_time = integrate.quad(integrand, 0, np.inf, limit=200)[0]
    expected = 2.0 * rate * alive_time * m.p_alive(one).iloc[0] * gg.expected_spend(one).iloc[0]
    out = cv.uplift(scored, dropout=k, purchase_rate=2.0)
    assert out["clv_scenario"].iloc[0] == pytest.approx(expected, rel=1e-6)


def test_driver_scenarios_with_discounting_and_untreated_rows_unchanged():
    scored = cv.score(SUMMARY, horizon=10, discount_rate=0.01)
    out = cv.uplift(scored, query="frequency >= 5", purchase_rate=1.0, spend=1.2)
    treated = out["treated"].to_numpy()
    np.testing.assert_allclose(out.loc[treated, "clv_scenario"], 1.2 * out.loc[treated, "clv"], rtol=1e-12)
    np.testing.assert_array_equal(out.loc[~treated, "clv_scenario"], out.loc[~treated, "clv"])
    assert cv.fitted_models(out)["model"] is cv.fitted_models(scored)["model"]


def test_formula_retention_scenario():
    summary = cv.summarize(cv.datasets.load_cdnow(sample=True))
    scored = cv.score(summary, model=cv.models.get("formula", retention=0.8), horizon=20)
    out = cv.uplift(scored, retention=0.05)
    model = cv.fitted_models(scored)["model"]
    assert model.retention == 0.8  # the scenario did not change the fitted model
    repeat = out["frequency"] > 0
    q = 0.85
    units = q * (1 - q**20) / (1 - q)
    row = out[repeat].iloc[0]
    assert row["clv_scenario"] == pytest.approx(row["monetary_value"] * row["frequency"] / row["T"] * units)


def test_a_scenario_never_changes_the_model_it_was_handed():
    # Formerly a capped retention (0.9 + 0.5 -> 0.999999) was "undone" by subtracting 0.5, leaving 0.4999.
    summary = cv.summarize(cv.datasets.load_cdnow(sample=True))
    scored = cv.score(summary, model=cv.models.get("formula", retention=0.9), horizon=20)
    model = cv.fitted_models(scored)["model"]
    before = (model.get_params(), model.params_.copy())
    out = cv.uplift(scored, retention=0.5, purchase_rate=1.2)
    assert model.get_params() == before[0] and model.retention == 0.9
    pd.testing.assert_series_equal(model.params_, before[1])
    assert (out["clv_scenario"] >= out["clv"]).all() and (out["clv_scenario"] > out["clv"]).any()


def test_uplift_errors():
    scored = cv.score(SUMMARY, horizon=10)
    with pytest.raises(InvalidParameterError, match="no change given"):
        cv.uplift(scored)
    with pytest.raises(InvalidParameterError, match="not both"):
        cv.uplift(scored, factor=1.1, spend=1.2)
    with pytest.raises(InvalidParameterError, match="run custvalue.score first"):
        cv.uplift(SUMMARY, spend=1.2)
    with pytest.raises(SchemaError, match="run custvalue.segment first"):
        cv.uplift(scored, segment="Champions", factor=1.1)
    with pytest.raises(InvalidParameterError,
                       match="retention= does not apply to the 'bgnbd' model.*applies to \\['formula'\\]"):
        cv.uplift(scored, retention=0.1)


def test_measured_lift_confidence_intervals_cover_the_truth():
    hits_welch = hits_boot = 0
    runs = 150
    for seed in range(runs):
        sim = cv.simulate_campaign(1500, effect=2.0, seed=seed)
        with warnings.catch_warnings():
            warnings.simplefilter("error", UpliftWarning)  # 1500 customers: no warning expected
            row = cv.measure_uplift(sim, n_boot=300, seed=seed).loc["all"]
        hits_welch += row["ci_low"] <= 2.0 <= row["ci_high"]
        hits_boot += row["boot_low"] <= 2.0 <= row["boot_high"]
    # 95% intervals: the coverage of 150 runs lies in [0.90, 0.99] with probability above 99%.
    assert 0.90 <= hits_welch / runs <= 0.99
    assert 0.88 <= hits_boot / runs <= 0.99


def test_measured_lift_by_segment_rates_and_romi():
    sim = cv.simulate_campaign(6000, effect=3.0, seed=5)
    table = cv.measure_uplift(sim, segment="segment", cost_per_customer=1.0, fixed_cost=100.0)
    assert list(table.index) == ["all", "low", "mid", "high"]
    row = table.loc["all"]
    t = sim.loc[sim["treated"], "revenue"]
    c = sim.loc[~sim["treated"], "revenue"]
    assert row["lift"] == pytest.approx(t.mean() - c.mean())
    assert row["relative_lift"] == pytest.approx((t.mean() - c.mean()) / c.mean())
    assert row["response_treated"] == pytest.approx((t > 0).mean())
    assert row["incremental_revenue"] == pytest.approx((t.mean() - c.mean()) * len(t))
    assert row["romi"] == pytest.approx((row["incremental_revenue"] - (len(t) + 100)) / (len(t) + 100))
    assert row["p_value"] < 0.01
    assert table.loc[["high", "low", "mid"], "treated"].sum() == row["treated"]


def test_measured_lift_warns_on_small_or_unbalanced_groups_and_checks_columns():
    sim = cv.simulate_campaign(60, seed=1)
    with pytest.warns(UpliftWarning, match="fragile"):
        cv.measure_uplift(sim, n_boot=100)
    with pytest.raises(SchemaError, match="outcome='spend': no such column"):
        cv.measure_uplift(sim, outcome="spend")
    with pytest.raises(SchemaError, match="True/False"):
        cv.measure_uplift(sim.assign(treated="yes"))


def test_full_chain_on_cdnow_master():
    tx = cv.datasets.load_cdnow()
    result = (
        tx.cv.clean().cv.score().cv.segment(method="rfm").cv.filter(segment="At Risk")
        .cv.uplift(purchase_rate=1.1, cost_per_customer=0.5)
    )
    summary = result.cv.uplift_summary
    assert summary.treated == len(result) > 0 and (result["segment"] == "At Risk").all()
    assert summary.incremental_value > 0
    assert result.cv.report.kept_flagged["duplicate"] == 255  # the cleaning report made it through the chain


def test_undefined_ratios_are_missing_never_nan_or_inf():
    df = pd.DataFrame({"clv": [100.0, 50.0]})
    loss = cv.uplift_summary(cv.uplift(df, factor=0.5))
    assert loss.roi is None and loss.incremental_value == -75.0
    assert pd.isna(loss.table().loc["roi", "value"]) and loss.table()["value"].dtype == "Float64"
    nobody = cv.uplift_summary(cv.uplift(df, query="clv > 1000", factor=2.0, cost_per_customer=1.0))
    assert nobody.treated == 0 and nobody.break_even_cost_per_customer is None and "no customer" in nobody.note
    assert nobody.cost == 0 and nobody.roi is None
    # A group whose control arm had no revenue: relative lift undefined. No costs: ROMI undefined.
    ab = pd.DataFrame({"treated": [True] * 40 + [False] * 40, "revenue": [1.0] * 40 + [0.0] * 40})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UpliftWarning)
        row = cv.measure_uplift(ab, n_boot=100).loc["all"]
    assert pd.isna(row["relative_lift"]) and pd.isna(row["romi"]) and row["lift"] == 1.0
    assert cv.measure_uplift(ab, n_boot=100, cost_per_customer=0.5).loc["all", "romi"] == (40 - 20) / 20
