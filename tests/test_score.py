"""score(): columns, CLV arithmetic, model choices, fitted models that travel with the frame."""

import numpy as np
import pandas as pd
import pytest

import custvalue as cv
from custvalue.errors import InvalidParameterError, SchemaError
from custvalue.models import BetaGeo, GammaGamma

SUMMARY = cv.datasets.load_cdnow_summary()


def test_score_columns_and_undiscounted_clv():
    scored = cv.score(SUMMARY, horizon=39, margin=0.3)
    assert list(scored.columns[:4]) == ["frequency", "recency", "T", "monetary_value"]
    assert {"expected_purchases", "p_alive", "expected_spend", "clv"} <= set(scored.columns)
    models = cv.fitted_models(scored)
    bg, gg = models["model"], models["spend_model"]
    expected = 0.3 * gg.expected_spend(SUMMARY) * bg.expected_purchases(SUMMARY, 39)
    np.testing.assert_allclose(scored["clv"], expected, rtol=1e-12)
    np.testing.assert_allclose(scored["p_alive"], bg.p_alive(SUMMARY))
    assert models["horizon"] == 39 and models["margin"] == 0.3 and models["unit"] == "W"


def test_discounted_clv_by_hand_for_one_customer():
    bg = BetaGeo.from_params(r=0.2426, alpha=4.4136, a=0.7929, b=2.4259)
    gg = GammaGamma.from_params(p=6.25, q=3.74, v=15.44)
    one = SUMMARY.loc[[1]]
    scored = cv.score(one, model=bg, spend_model=gg, horizon=2.5, discount_rate=0.1)
    # Each purchase at s counts 1.1^-s: ∫ 1.1^-s dE(s) = 1.1^-H E(H) + ln(1.1) ∫ 1.1^-s E(s) ds (by parts).
    from scipy.integrate import quad

    def expected(s):
        return bg.expected_purchases(one, s).iloc[0]

    integral = quad(lambda s: 1.1**-s * expected(s), 0, 2.5, epsabs=1e-13, epsrel=1e-12)[0]
    by_hand = gg.expected_spend(one).iloc[0] * (1.1**-2.5 * expected(2.5) + np.log(1.1) * integral)
    assert scored["clv"].iloc[0] == pytest.approx(by_hand, rel=1e-9)


def test_score_from_transactions_equals_score_from_summary():
    tx = cv.datasets.load_cdnow(sample=True)
    direct = cv.score(tx, horizon=10, observation_end="1997-09-30")
    via_summary = cv.score(cv.summarize(tx, "W", "1997-09-30"), horizon=10)
    pd.testing.assert_frame_equal(direct, via_summary)


def test_fitted_models_survive_segment_like_steps():
    scored = cv.score(SUMMARY, horizon=10)
    chained = scored[scored["p_alive"] > 0.5].sort_values("clv").assign(flag=1).head(100)
    assert cv.fitted_models(chained)["model"] is cv.fitted_models(scored)["model"]
    assert chained.cv.models["spend_model"].name == "gammagamma"
    with pytest.raises(InvalidParameterError, match="Run custvalue.score first"):
        cv.fitted_models(SUMMARY)


def test_prefitted_instance_and_class_and_no_spend_model():
    bg = BetaGeo().fit(SUMMARY)
    scored = cv.score(SUMMARY, model=bg, spend_model=None)
    assert cv.fitted_models(scored)["model"] is bg
    assert "clv" not in scored.columns and "expected_spend" not in scored.columns
    from_class = cv.score(SUMMARY, model=cv.models.ModifiedBetaGeo, spend_model=None, horizon=5)
    assert cv.fitted_models(from_class)["model"].name == "mbgnbd"


def test_score_never_fits_a_model_the_caller_passed():
    mine, my_spend = BetaGeo(penalizer=0.001), GammaGamma()
    scored = cv.score(SUMMARY, model=mine, spend_model=my_spend)
    assert not mine.is_fitted and not my_spend.is_fitted  # score fitted copies
    used = cv.fitted_models(scored)
    assert used["model"] is not mine and used["model"].penalizer == 0.001 and used["model"].is_fitted


def test_models_in_the_wrong_role_are_refused_with_the_way_out():
    with pytest.raises(cv.AbilityError, match="spend model; pass it as spend_model="):
        cv.score(SUMMARY, model="gammagamma")
    with pytest.raises(cv.AbilityError, match="spend_model='bgnbd' is a purchase model, not a spend model"):
        cv.score(SUMMARY, spend_model="bgnbd")
    with pytest.raises(cv.AbilityError, match="contractual model"):
        cv.score(SUMMARY, model="sbg")
    with pytest.raises(SchemaError, match="needs the column.*'periods'"):
        cv.score(SUMMARY, model="bgbb")


def test_formula_models_leave_out_what_they_cannot_give():
    tx = cv.datasets.load_cdnow(sample=True)
    historic = cv.score(tx, model="historic")
    assert "p_alive" not in historic.columns and "expected_purchases" not in historic.columns
    np.testing.assert_allclose(historic["clv"], historic["total_value"])
    # score's own horizon, discount rate and margin apply to formula models too.
    formula = cv.score(tx, model=cv.models.get("formula", retention=0.9, margin=0.2), horizon=52, margin=0.5)
    assert "p_alive" not in formula.columns
    row = formula.loc[formula["frequency"] > 0].iloc[0]
    k = 0.9
    units = k * (1 - k**52) / (1 - k)
    assert row["clv"] == pytest.approx(0.5 * row["monetary_value"] * row["frequency"] / row["T"] * units)


def test_bgbb_scores_a_discrete_summary():
    donations = cv.datasets.load_donations()
    scored = cv.score(donations, model="bgbb", spend_model=None, horizon=5)
    assert scored["p_alive"].between(0, 1).all()
    # Donors who gave at every opportunity are expected to give more than those who never did.
    assert scored["expected_purchases"].iloc[-1] > scored["expected_purchases"].iloc[0]


@pytest.mark.parametrize(
    "kwargs, error, fragment",
    [
        ({"horizon": -1}, InvalidParameterError, "horizon"),
        ({"unit": "Q"}, InvalidParameterError, "unit=.Q. is not valid"),
        ({"discount_rate": -0.1}, InvalidParameterError, "discount_rate"),
        ({"model": "nope"}, cv.UnknownModelError, "available models"),
        ({"model": 42}, InvalidParameterError, "registry name"),
    ],
)
def test_bad_arguments(kwargs, error, fragment):
    with pytest.raises(error, match=fragment):
        cv.score(SUMMARY, **kwargs)


def test_unit_mismatch_and_wrong_frames():
    summary_days = cv.summarize(cv.datasets.load_cdnow(sample=True), unit="D")
    with pytest.raises(InvalidParameterError, match="unit 'D'"):
        cv.score(summary_days, unit="W")
    with pytest.raises(SchemaError):
        cv.score(pd.DataFrame({"a": [1]}))


def test_fits_on_distinct_rows_equal_fits_on_every_customer():
    models = cv.fitted_models(cv.score(SUMMARY))
    np.testing.assert_allclose(models["model"].params_, BetaGeo().fit(SUMMARY).params_, rtol=1e-8)
    np.testing.assert_allclose(models["spend_model"].params_, GammaGamma().fit(SUMMARY).params_, rtol=1e-8)
    assert models["model"].n_customers_ == len(SUMMARY)


def test_scored_frames_save_to_parquet_and_concat_without_borrowing_models(tmp_path):
    pytest.importorskip("pyarrow")
    scored = cv.score(SUMMARY, horizon=39)
    scored.to_parquet(tmp_path / "scored.parquet")  # attrs are written as JSON: provenance must not break it
    back = pd.read_parquet(tmp_path / "scored.parquet")
    pd.testing.assert_frame_equal(back, scored, check_like=True)
    with pytest.raises(InvalidParameterError, match="read back from a file"):
        cv.fitted_models(back)  # the models stay in memory; they are saved with model.save()
    other = cv.score(SUMMARY, model="paretonbd", horizon=39)
    assert pd.concat([scored, other]).attrs.get("custvalue") is None  # different histories are not merged


def test_a_weights_column_counts_each_row_that_many_times():
    doubled = cv.fitted_models(cv.score(SUMMARY.assign(weights=2.0)))["model"]
    plain = cv.fitted_models(cv.score(SUMMARY))["model"]
    np.testing.assert_allclose(doubled.params_, plain.params_, rtol=1e-8)
    assert doubled.n_customers_ == 2 * len(SUMMARY)
