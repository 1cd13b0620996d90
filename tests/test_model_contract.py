"""Every registered model through the contract: fitting (parameters recovered from its own simulator),
save/load, clone and hyper-parameters, predictions finite and in range for every ability it declares, and
a clear AbilityError for every ability it does not. A new model needs nothing added here."""

import re
import warnings

import numpy as np
import pandas as pd
import pytest

import custvalue as cv
from custvalue.errors import AbilityError
from custvalue.models import ABILITY_METHODS, Ability, BaseModel

NAMES = cv.models.available()
CUSTOMERS = cv.summarize(cv.datasets.load_cdnow(sample=True), observation_end="1997-09-30")
N_SIMULATED = 20_000


def make(name):
    cls = cv.models.registry.REGISTRY[name]
    return cls(**cls.example_hyper_parameters)


@pytest.fixture(scope="module", params=NAMES)
def case(request):
    """(truth or None, data to fit, the fitted model)."""
    model = make(request.param)
    truth = None
    if model.example_params and model.can(Ability.SIMULATION):
        truth = type(model).from_params(model.get_params(), **model.example_params)
        data = truth.sample(N_SIMULATED, seed=7)
    else:
        data = CUSTOMERS
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a well-specified fit raises no warning
        fitted = model.fit(data)
    return truth, data, fitted


def test_fit_returns_itself_and_recovers_the_parameters(case):
    truth, _, fitted = case
    assert fitted.is_fitted and fitted.params_.notna().all()
    assert list(fitted.params_.index) == list(fitted.parameter_names())
    if truth is not None and fitted.can(Ability.INTERVALS):
        z = (fitted.params_ - truth.params_) / fitted.standard_errors_
        assert (z.abs() < 4).all(), z


def predictions(model, data):
    """Every declared prediction of ``model`` on ``data``, by ability."""
    out = {}
    if model.can(Ability.CONDITIONAL):
        out[Ability.CONDITIONAL] = [model.expected_purchases(data, t).to_numpy() for t in (0.0, 1.0, 10.0, 52.0)]
    if model.can(Ability.P_ALIVE):
        out[Ability.P_ALIVE] = [model.p_alive(data, future_t=f).to_numpy() for f in (0.0, 1.0, 10.0)]
    if model.can(Ability.PURCHASE_PROBABILITY):
        out[Ability.PURCHASE_PROBABILITY] = model.purchase_probability(data, list(range(0, 60)), 10.0).to_numpy()
    if model.can(Ability.DISCOUNTING):
        out[Ability.DISCOUNTING] = [model.discounted_purchases(data, 10.0, 0.01).to_numpy(),
                                    model.dert(data, 0.01).to_numpy()]
    if model.can(Ability.NEW_CUSTOMER):
        out[Ability.NEW_CUSTOMER] = (np.asarray(model.expected_purchases_new(np.array([0.0, 1.0, 10.0, 52.0]))),
                                     np.asarray(model.probability_of_purchases(np.arange(6), 10)))
    if model.can(Ability.SPEND):
        out[Ability.SPEND] = model.expected_spend(data).to_numpy()
    if model.can(Ability.VALUE):
        out[Ability.VALUE] = model.customer_value(data, 52).to_numpy()
    return out


def flat(values) -> np.ndarray:
    """An ability's predictions (an array or several) as one array."""
    parts = values if isinstance(values, list | tuple) else [values]
    return np.concatenate([np.ravel(v) for v in parts])


def test_declared_predictions_are_finite_and_in_range(case):
    _, data, fitted = case
    out = predictions(fitted, data)
    if Ability.CONDITIONAL in out:
        curve = out[Ability.CONDITIONAL]
        assert all(np.isfinite(c).all() and (c >= 0).all() for c in curve)
        assert np.allclose(curve[0], 0) and all((b >= a - 1e-9).all() for a, b in zip(curve, curve[1:]))
    if Ability.P_ALIVE in out:
        alive = out[Ability.P_ALIVE]
        assert all(np.isfinite(a).all() and ((0 <= a) & (a <= 1)).all() for a in alive)
        assert all((later <= now + 1e-12).all() for now, later in zip(alive, alive[1:]))
    if Ability.PURCHASE_PROBABILITY in out:
        p = out[Ability.PURCHASE_PROBABILITY]
        assert np.isfinite(p).all() and ((p >= 0) & (p <= 1)).all()
        if fitted.can(Ability.CONDITIONAL):  # a distribution whose mean is the expected purchases (tail < 1e-6)
            np.testing.assert_allclose(p.sum(axis=1), 1.0, atol=1e-6)
            np.testing.assert_allclose(p @ np.arange(p.shape[1]), fitted.expected_purchases(data, 10.0),
                                       rtol=1e-5, atol=1e-6)
    if Ability.DISCOUNTING in out:
        discounted, dert = out[Ability.DISCOUNTING]
        assert np.isfinite(discounted).all() and np.isfinite(dert).all() and (discounted >= 0).all()
        assert (dert >= discounted - 1e-9).all()
        if fitted.can(Ability.CONDITIONAL):
            assert (discounted <= fitted.expected_purchases(data, 10.0).to_numpy() + 1e-9).all()
    if Ability.NEW_CUSTOMER in out:
        mean, probabilities = out[Ability.NEW_CUSTOMER]
        assert np.isfinite(mean).all() and mean[0] == 0 and (np.diff(mean) > 0).all()
        assert ((probabilities >= 0) & (probabilities <= 1)).all() and probabilities.sum() <= 1 + 1e-9
    if Ability.SPEND in out:
        assert np.isfinite(out[Ability.SPEND]).all() and (out[Ability.SPEND] > 0).all()
    if Ability.VALUE in out:
        assert np.isfinite(out[Ability.VALUE]).all()


CALLS = {  # one call of each ability's methods, whatever the model
    Ability.CONDITIONAL: lambda m, d: m.expected_purchases(d, 1.0),
    Ability.P_ALIVE: lambda m, d: m.p_alive(d),
    Ability.PURCHASE_PROBABILITY: lambda m, d: m.purchase_probability(d, 1, 1.0),
    Ability.DISCOUNTING: lambda m, d: m.discounted_purchases(d, 1.0, 0.01),
    Ability.TRANSACTIONS: lambda m, d: m.simulate_transactions(10, 5.0, observation_end="2024-12-31", seed=0),
    Ability.NEW_CUSTOMER: lambda m, d: m.probability_of_purchases(1, 1.0),
    Ability.SPEND: lambda m, d: m.expected_spend(d),
    Ability.VALUE: lambda m, d: m.customer_value(d),
    Ability.SIMULATION: lambda m, d: m.sample(10, seed=0),
    Ability.SCENARIOS: lambda m, d: m.scenario(),
}


def test_purchase_counts_may_be_a_list_a_tuple_an_array_or_one_number(case):
    _, data, fitted = case
    if not fitted.can(Ability.PURCHASE_PROBABILITY):
        return
    rows = data.head(5)
    table = fitted.purchase_probability(rows, [0, 2, 3], 4.0)
    assert table.columns.tolist() == [0, 2, 3] and table.columns.name == "n"
    for counts in ((0, 2, 3), np.array([0, 2, 3]), pd.Series([0, 2, 3])):
        pd.testing.assert_frame_equal(fitted.purchase_probability(rows, counts, 4.0), table)
    for one in (2, np.int64(2), 2.0):
        single = fitted.purchase_probability(rows, one, 4.0)
        np.testing.assert_allclose(single.to_numpy(), table[2].to_numpy(), rtol=1e-12)  # one n: other blocks
        assert single.name == "purchase_probability"


def test_every_ability_has_a_call_in_this_test():
    assert {a for a, methods in ABILITY_METHODS.items() if methods} == set(CALLS)


def test_undeclared_abilities_raise_a_clear_error(case):
    _, data, fitted = case
    for ability, call in CALLS.items():
        if fitted.can(ability):
            call(fitted, data)  # works
            continue
        with pytest.raises(AbilityError) as info:
            call(fitted, data)
        # The message names the models that can, and the call that lists them works as written.
        hint = re.search(r"Models that can: (\[.*?\]) \(custvalue\.models\.available\(ability='(\w+)'\)\)",
                         str(info.value))
        assert hint and hint.group(2) == ability.value, str(info.value)
        assert hint.group(1) == str(cv.models.available(ability=hint.group(2)))


def test_save_and_load_give_the_same_predictions(case, tmp_path):
    _, data, fitted = case
    path = tmp_path / f"{fitted.name}.json"
    fitted.save(path)
    loaded = cv.models.load(path)
    assert type(loaded) is type(fitted) and loaded.get_params() == fitted.get_params()
    pd.testing.assert_series_equal(loaded.params_, fitted.params_)
    again = predictions(loaded, data)
    for ability, values in predictions(fitted, data).items():
        np.testing.assert_array_equal(flat(again[ability]), flat(values))


def test_clone_and_hyper_parameters(case):
    _, _, fitted = case
    fresh = fitted.clone()
    assert type(fresh) is type(fitted) and not fresh.is_fitted and fresh.get_params() == fitted.get_params()
    assert fresh.set_params(**fresh.get_params()) is fresh
    assert cv.models.resolve(fitted) is fitted  # a fitted model is used as it is
    unfitted = type(fitted)(**fitted.get_params())
    assert cv.models.resolve(unfitted) is not unfitted  # an unfitted one is cloned before anything fits it


def test_simulation_and_scenarios_leave_the_model_alone(case):
    _, data, fitted = case
    before = fitted.params_.copy()
    if fitted.can(Ability.SIMULATION):
        like = fitted.simulate_like(data, seed=1)
        assert len(like) == len(data)
    if fitted.can(Ability.SCENARIOS):
        neutral = fitted.scenario()
        assert neutral is not fitted
        base = predictions(fitted, data)
        for ability, values in predictions(neutral, data).items():
            np.testing.assert_allclose(flat(values), flat(base[ability]))
    pd.testing.assert_series_equal(fitted.params_, before)


def test_a_model_must_declare_what_it_implements():
    with pytest.raises(TypeError, match="does not declare the ability 'p_alive'"):
        type("Sneaky", (BaseModel,), {"name": "sneaky", "p_alive": lambda self, s: s})
    with pytest.raises(TypeError, match="declares the ability 'spend' but does not implement"):
        type("Boastful", (BaseModel,), {"name": "boastful", "abilities": frozenset({Ability.SPEND})})
