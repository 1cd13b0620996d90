"""Honest maximum-likelihood fits: an interior maximum, a ConvergenceError, or estimates at an edge of the
parameter space with an IdentificationWarning that says which parameters, why in the data's terms, and
what to do (calls that work); and parameters given by hand checked like hyper-parameters."""

from __future__ import annotations

import inspect
import re
import warnings

import numpy as np
import pandas as pd
import pytest

import custvalue as cv
from custvalue.errors import ConvergenceError, CustValueWarning, IdentificationWarning, InvalidParameterError
from custvalue.models import BetaGeo, GammaGamma, MLEModel, ParetoNBD, ShiftedBetaGeometric, _mle
from custvalue.models._base import summary_weights

CDNOW = cv.datasets.load_cdnow_summary()
TRANSACTIONS = cv.datasets.load_cdnow()


def first_days(days: int) -> pd.DataFrame:
    """The summary of the CDNOW master's first ``days`` days, in weeks: a retailer with little history."""
    end = pd.Timestamp("1997-01-01") + pd.Timedelta(days=days)
    return cv.summarize(TRANSACTIONS[TRANSACTIONS["date"] < end], unit="W",
                        observation_end=end - pd.Timedelta(days=1))


TWO_WEEKS = first_days(14)


def strict_fit(model: cv.models.BaseModel, data: object) -> tuple[cv.models.BaseModel, list[IdentificationWarning]]:
    """Fit with every warning an error except custvalue's (recorded) and with floating-point errors raised."""
    with warnings.catch_warnings(record=True) as caught, np.errstate(all="raise"):
        warnings.simplefilter("error")
        warnings.simplefilter("always", CustValueWarning)
        model.fit(data)
    return model, [w.message for w in caught if isinstance(w.message, IdentificationWarning)]


# -- 1. interior maxima ------------------------------------------------------------------------------


def test_published_fit_is_an_interior_maximum_with_the_published_standard_errors():
    model, warned = strict_fit(BetaGeo(), CDNOW)
    assert model.converged_ and not warned and model.unidentified_ == {}
    # Standard errors of the CDNOW BG/NBD fit as given in lifetimes' documentation (REFERENCE.md).
    np.testing.assert_allclose(model.standard_errors_, [0.0126, 0.378, 0.186, 0.705], rtol=0.01)


@pytest.mark.parametrize("name, data", [
    ("bgnbd", CDNOW), ("mbgnbd", CDNOW), ("paretonbd", CDNOW), ("gammagamma", CDNOW),
    ("bgbb", cv.datasets.load_donations()),
    ("sbg", [1000, 631, 468, 382, 326, 289, 262, 241]),  # Fader & Hardie (2007), "regular" cohort
])
def test_converged_means_zero_gradient_a_negligible_step_and_positive_definite_information(name, data):
    model, warned = strict_fit(cv.models.get(name), data)
    assert model.converged_ and not warned
    frame = data if isinstance(data, pd.DataFrame) else pd.DataFrame({"survivors": data})
    fit_data, w = model._fit_data(frame, summary_weights(frame, None))
    fit_data, w = _mle.compress(fit_data, w)
    n = float(w.sum())
    evaluate = _mle.objective(model._bound_loglik(fit_data, w), n, model._order(), 0.0)
    z = np.log(model.params_.to_numpy())
    _, gradient, hessian = evaluate(z, 2)
    information = -hessian * n
    assert np.all(np.linalg.eigvalsh(information) > 0)
    step = np.linalg.solve(information, gradient * n)
    se_log = np.sqrt(np.diag(np.linalg.inv(information)))
    assert np.max(np.abs(gradient)) < _mle.GRADIENT_TOL
    assert np.all(np.abs(step) <= _mle.STEP_SE_SHARE * se_log)
    np.testing.assert_allclose(model.covariance_log_.to_numpy(), np.linalg.inv(information), rtol=1e-3, atol=1e-12)


# -- 3. edges of the parameter space ------------------------------------------------------------------


def test_two_weeks_of_transactions_warn_that_dropout_is_not_identified():
    model, warned = strict_fit(BetaGeo(), TWO_WEEKS)
    assert not model.converged_ and len(warned) == 1
    warning = warned[0]
    assert set(warning.parameters) == set(model.unidentified_) == {"a", "b"}
    text = str(warning)
    # The facts are those of the data: 3,216 customers observed for at most 13 days (1.86 weeks), 95% without
    # a repeat purchase (counted here from the summary itself).
    share = f"{(TWO_WEEKS['frequency'] == 0).mean():.0%}"
    assert "3,216 customers" in text and "1.86" in text and f"{share} made no repeat purchase" in text
    assert "do not identify the dropout probability (a, b)" in text and "converged_ is False" in text
    # r and alpha are identified given the edge: finite standard errors; a and b have none.
    assert model.standard_errors_[["r", "alpha"]].notna().all()
    assert model.standard_errors_[["a", "b"]].isna().all()
    # P(alive) is that of the limit (no dropout) and every prediction is finite.
    assert np.allclose(model.p_alive(TWO_WEEKS), 1.0)
    assert np.isfinite(model.expected_purchases(TWO_WEEKS, 10)).all()


def hinted_calls(text: str) -> list[str]:
    """The calls a message suggests, as written."""
    return re.findall(r"custvalue\.models\.get\([^()]*\)\.fit\(summary\)", text)


@pytest.mark.parametrize("days", [14, 21, 28])
def test_every_call_a_warning_suggests_works_as_written(days):
    summary = first_days(days)
    with pytest.warns(IdentificationWarning) as record:
        BetaGeo().fit(summary)
    text = str(record[0].message)
    calls = hinted_calls(text)
    assert calls == ["custvalue.models.get('bgnbd', penalizer=0.01).fit(summary)"]
    for call in calls:
        # The suggested call, run as the user would: a penalizer keeps b from running to infinity.
        fitted = eval(call, {"custvalue": cv, "summary": summary})  # our own message, not user input
        assert fitted.converged_ and fitted.unidentified_ == {}
    assert "custvalue.score(..., penalizer=0.01)" in text
    if "penalizer" in inspect.signature(cv.score).parameters:
        scored = cv.score(summary, model="bgnbd", penalizer=0.01)
        assert np.isfinite(scored["expected_purchases"]).all()


def test_hints_keep_the_other_hyper_parameters_of_the_model():
    summary = TWO_WEEKS.assign(channel=np.arange(len(TWO_WEEKS)) % 2)
    with pytest.warns(IdentificationWarning) as record:
        BetaGeo(purchase_covariates=["channel"]).fit(summary)
    calls = hinted_calls(str(record[0].message))
    assert calls == ["custvalue.models.get('bgnbd', purchase_covariates=['channel'], penalizer=0.01).fit(summary)"]
    fitted = eval(calls[0], {"custvalue": cv, "summary": summary})
    assert fitted.get_params()["purchase_covariates"] == ["channel"] and fitted.converged_


@pytest.mark.parametrize("name", ["bgnbd", "mbgnbd", "paretonbd"])
def test_no_raw_warning_or_floating_point_error_escapes_a_fit_on_little_history(name):
    model, warned = strict_fit(cv.models.get(name), first_days(7))
    assert not model.converged_ and len(warned) == 1
    assert np.isfinite(model.params_).all() and (model.params_ > 0).all()


def counting(model: cv.models.MLEModel) -> list[int]:
    """Count the likelihood evaluations of ``model``'s fits (the optimiser's calls of its bound likelihood)."""
    calls: list[int] = []
    bind = model._bound_loglik

    def counted_bind(*args: object, **kwargs: object) -> object:
        bound = bind(*args, **kwargs)  # type: ignore[arg-type]

        def counted(z: np.ndarray, order: int) -> object:
            calls.append(order)
            return bound(z, order)

        return counted

    model._bound_loglik = counted_bind  # type: ignore[method-assign]
    return calls


def test_runaway_parameters_are_caught_early():
    """The climb stops at the boundary probes instead of creeping on towards e^30 and beyond."""
    model = BetaGeo()
    calls = counting(model)
    with pytest.warns(IdentificationWarning):
        model.fit(TWO_WEEKS)
    # Newton's method moves at most a factor e per step: the probe at e^6 comes within a few dozen
    # evaluations; settling at the edge and the second start take a few dozen more.
    assert 0 < len(calls) < 200, len(calls)
    assert np.all(np.abs(np.log(model.params_.to_numpy())) < 2 * _mle.EDGE_DRIFT)


def test_homogeneous_spends_and_churn_are_edges_not_maxima():
    rng = np.random.default_rng(1)
    x = rng.integers(1, 8, 3000).astype(float)
    same_spend = pd.DataFrame({"frequency": x, "monetary_value": np.full(3000, 25.0)})
    with pytest.warns(IdentificationWarning, match=r"do not identify the spread of each customer's spends \(p\) "
                                                    r"and the spread of spends across customers \(q\)"):
        gg = GammaGamma().fit(same_spend)
    assert gg.unidentified_ == {"p": "to infinity", "q": "to infinity"}
    np.testing.assert_allclose(gg.expected_spend(same_spend), 25.0, rtol=1e-3)  # the limit: everyone spends 25
    with pytest.warns(IdentificationWarning, match="a cohort of 1,000 customers followed for 8 period"):
        sbg = ShiftedBetaGeometric().fit([1000] * 9)  # nobody churns: the churn probability runs to 0
    assert sbg.unidentified_ == {"alpha": "to 0", "beta": "to infinity"}


def test_a_penalizer_shrinks_and_the_fit_stays_honest():
    free, penalized = BetaGeo().fit(CDNOW), BetaGeo(penalizer=0.1).fit(CDNOW)
    assert penalized.converged_ and (penalized.params_ ** 2).sum() < (free.params_ ** 2).sum()


# -- 2. ConvergenceError --------------------------------------------------------------------------------


class Broken(MLEModel):
    """A likelihood that is nowhere finite: no optimiser can start."""

    name = "broken_test"
    param_names = ("theta",)
    columns = ("frequency",)
    derivative_order = 0

    def loglik(self, log_params: np.ndarray, data: dict, weights: np.ndarray, order: int = 0) -> float:
        return float("nan")

    def start_values(self, data: dict) -> list[np.ndarray]:
        return [np.zeros(1), np.ones(1)]


def test_convergence_error_carries_the_optimizer_message_and_a_call_that_runs():
    data = pd.DataFrame({"frequency": [1.0, 2.0]})
    cv.models.register(Broken)
    try:
        with pytest.raises(ConvergenceError) as info:
            Broken().fit(data)
        assert "did not converge from 2 start(s)" in str(info.value)
        assert info.value.optimizer_message == "the log-likelihood is not finite at the starting point"
        call = re.search(r"custvalue\.models\.get\([^()]*\)\.fit\(summary\)", str(info.value)).group(0)
        assert call == "custvalue.models.get('broken_test', penalizer=0.01).fit(summary)"
        with pytest.raises(ConvergenceError):  # the call runs as written (this likelihood cannot be fitted)
            eval(call, {"custvalue": cv, "summary": data})
    finally:
        cv.models.registry.REGISTRY.pop("broken_test")


def test_the_lifetimes_engine_gets_the_same_verdict():
    assert BetaGeo(engine="lifetimes").fit(CDNOW).converged_
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            peer = BetaGeo(engine="lifetimes").fit(TWO_WEEKS)
        except ConvergenceError:
            peer = None
    if peer is not None:  # lifetimes stops somewhere on the flat edge: never a converged fit
        assert not peer.converged_ and any(w.category is IdentificationWarning for w in caught)


# -- B. parameters and hyper-parameters given by hand --------------------------------------------------


@pytest.mark.parametrize("value, rule", [
    (-1, "must lie in \\(0, inf"), (0.0, "must lie in \\(0, inf"), (np.inf, "finite"), (np.nan, "finite"),
    ("0.24", "must be a number, not a str"), (True, "not a bool"), (None, "not a NoneType"),
])
def test_from_params_refuses_parameters_out_of_range(value, rule):
    params = dict(BetaGeo.example_params, r=value)
    with pytest.raises(InvalidParameterError, match=f"r={re.escape(repr(value))} is not valid: .*{rule}"):
        BetaGeo.from_params(**params)


def test_from_params_takes_numpy_numbers_and_any_finite_coefficient():
    m = BetaGeo.from_params(r=np.float32(0.25), alpha=np.int64(4), a=np.float64(0.8), b=2.4)
    assert m.params_.tolist() == pytest.approx([0.25, 4.0, 0.8, 2.4])
    hyper = {"purchase_covariates": ["channel"]}
    covariate = BetaGeo.from_params(hyper, **BetaGeo.example_params, **{"purchase[channel]": -0.7})
    assert covariate.params_["purchase[channel]"] == -0.7
    with pytest.raises(InvalidParameterError, match=r"purchase\[channel\]=inf"):
        BetaGeo.from_params(hyper, **BetaGeo.example_params, **{"purchase[channel]": np.inf})


def test_from_params_refuses_missing_and_unknown_parameters_and_bad_hyper_parameters():
    with pytest.raises(InvalidParameterError, match=r"missing \['b'\]"):
        BetaGeo.from_params(r=0.2, alpha=4.0, a=0.8)
    with pytest.raises(InvalidParameterError, match=r"unknown \['c'\]"):
        BetaGeo.from_params(**BetaGeo.example_params, c=1.0)
    with pytest.raises(InvalidParameterError, match="penalizer=-1 is not valid"):
        BetaGeo.from_params({"penalizer": -1}, **BetaGeo.example_params)
    with pytest.raises(InvalidParameterError, match="no hyper-parameter 'penaliser'"):
        BetaGeo.from_params({"penaliser": 0.1}, **BetaGeo.example_params)
    with pytest.raises(InvalidParameterError, match="must be a dict of hyper-parameters"):
        BetaGeo.from_params([0.1], **BetaGeo.example_params)  # type: ignore[arg-type]


@pytest.mark.parametrize("penalizer, ok", [
    (0, True), (0.01, True), (np.float32(0.01), True), (np.int64(1), True),
    (-0.1, False), (np.nan, False), (np.inf, False), ("0.01", False), (True, False), (None, False),
])
def test_penalizer_is_a_finite_number_at_least_zero(penalizer, ok):
    model = ParetoNBD(penalizer=penalizer)
    if ok:
        model._check_hyper_parameters()
        BetaGeo(penalizer=penalizer).fit(CDNOW)
        return
    with pytest.raises(InvalidParameterError, match="penalizer="):
        BetaGeo(penalizer=penalizer).fit(CDNOW)
    with pytest.raises(InvalidParameterError, match="penalizer="):
        ParetoNBD.from_params({"penalizer": penalizer}, **ParetoNBD.example_params)


def test_engine_is_one_of_the_allowed():
    with pytest.raises(InvalidParameterError, match=r"engine='stan' is not valid: use one of \['native'"):
        GammaGamma(engine="stan").fit(CDNOW)
    with pytest.raises(InvalidParameterError, match="engine=1"):
        GammaGamma.from_params({"engine": 1}, **GammaGamma.example_params)


def test_predictions_from_checked_parameters_are_never_negative():
    """from_params(r=-1) used to predict negative purchases; now it is refused, and the smallest allowed r
    predicts (almost) none."""
    tiny = BetaGeo.from_params(r=1e-12, alpha=4.4, a=0.8, b=2.4)
    assert (tiny.expected_purchases(CDNOW, 52) >= 0).all()


class PoissonRate(cv.models.BaseModel):
    """A one-parameter purchase model (everyone buys at the same rate, nobody leaves), for the hint test."""

    name = "poisson_rate_test"
    param_names = ("rate",)

    def fit(self, summary: pd.DataFrame, weights: object = None) -> PoissonRate:
        rate = float(summary["frequency"].sum() / summary["T"].sum())
        return self._set_fitted({"rate": rate}, n_customers=float(len(summary)))  # type: ignore[return-value]


def test_a_registered_model_with_fewer_parameters_is_suggested_and_the_call_works():
    cv.models.register(PoissonRate)
    try:
        with pytest.warns(IdentificationWarning) as record:
            BetaGeo().fit(TWO_WEEKS)
        text = str(record[0].message)
        call = "custvalue.models.get('poisson_rate_test').fit(summary)"
        assert f"a model with fewer parameters: {call}" in text
        simpler = eval(call, {"custvalue": cv, "summary": TWO_WEEKS})
        assert simpler.params_["rate"] == pytest.approx(TWO_WEEKS["frequency"].sum() / TWO_WEEKS["T"].sum())
    finally:
        cv.models.registry.REGISTRY.pop("poisson_rate_test")
