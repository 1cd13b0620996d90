"""Transaction logs drawn by every purchase model that simulates them: the same arguments, checks and
defaults everywhere, purchases as the model says and amounts as Gamma-Gamma says."""

import re

import numpy as np
import pandas as pd
import pytest

import custvalue as cv
from custvalue.errors import InvalidParameterError, NotFittedError
from custvalue.models import GammaGamma, GammaGammaIndividual
from custvalue.models._base import REGISTRY, Ability
from custvalue.models._transactions import DEFAULT_OBSERVATION_END
from custvalue.timeunits import days_per_unit

NAMES = sorted(name for name, cls in REGISTRY.items() if Ability.TRANSACTIONS in cls.abilities)
SPEND = GammaGamma.from_params(p=6.0, q=3.74, v=15.44)
N_CUSTOMERS = 3000
T = 52  # weeks; a whole number, so also opportunities for discrete-time models
END = "2024-06-30"


def truth(name):
    cls = REGISTRY[name]
    return cls.from_params(cls(**cls.example_hyper_parameters).get_params(), **cls.example_params)


def continuous(name):
    """Models whose customers are observed for a time T (not a count of opportunities)."""
    return "T" in REGISTRY[name].columns


@pytest.fixture(scope="module", params=NAMES)
def drawn(request):
    """(model, log, summary) of N_CUSTOMERS customers observed for T weeks, with Gamma-Gamma amounts."""
    model = truth(request.param)
    log = model.simulate_transactions(N_CUSTOMERS, T, unit="W", observation_end=END, spend_model=SPEND, seed=11)
    # An hourly grain keeps purchases of the same day apart: each is one Gamma(p, ν) amount.
    summary = cv.summarize(log, unit="W", observation_end=END, grain="h")
    return model, log, summary


def test_there_are_models_to_test():
    assert len(NAMES) >= 2


def test_amounts_follow_gamma_gamma(drawn):
    # Every transaction is Gamma(p, ν): a fit on every repeat amount finds p, q and v (an exponential split of
    # each customer's total, p = 1 within customers, gives p near 1 here).
    _, log, summary = drawn
    assert (log["amount"] > 0).all() and np.isfinite(log["amount"]).all()
    fitted = GammaGammaIndividual().fit(summary[summary["frequency"] > 0])
    z = (fitted.params_ - SPEND.params_) / fitted.standard_errors_
    assert (z.abs() < 4).all(), z


def test_first_purchases_are_drawn_from_the_spend_model_too(drawn):
    # A first purchase is one Gamma(p, ν) amount with ν ~ Gamma(q, v): E z = p·E(1/ν) = p·v/(q − 1) and
    # E z² = p(p + 1)·E(1/ν²) = p(p + 1)·v²/((q − 1)(q − 2)).
    _, log, _ = drawn
    first = log.groupby("customer_id")["amount"].first()
    p, q, v = SPEND.params_
    mean = p * v / (q - 1)
    sd = np.sqrt(p * (p + 1) * v**2 / ((q - 1) * (q - 2)) - mean**2)
    assert abs(first.mean() - mean) < 4 * sd / np.sqrt(len(first))


def test_purchase_counts_follow_the_model(drawn):
    model, _, summary = drawn
    frequency = summary["frequency"]
    expected = float(model.expected_purchases_new(T))
    assert abs(frequency.mean() - expected) < 4 * frequency.std() / np.sqrt(len(frequency)), (frequency.mean(),
                                                                                              expected)


@pytest.mark.parametrize("name", NAMES)
def test_the_default_observation_end_is_one_fixed_date(name):
    model = truth(name)
    default = model.simulate_transactions(200, 8, seed=3)
    explicit = model.simulate_transactions(200, 8, observation_end=DEFAULT_OBSERVATION_END, seed=3)
    pd.testing.assert_frame_equal(default, explicit)
    assert DEFAULT_OBSERVATION_END == pd.Timestamp("2025-01-01")
    assert (default.groupby("customer_id")["date"].min() == DEFAULT_OBSERVATION_END - pd.Timedelta(weeks=8)).all()
    assert default["date"].max() <= DEFAULT_OBSERVATION_END


@pytest.mark.parametrize("name", NAMES)
def test_a_seed_gives_the_same_log(name):
    model = truth(name)
    first = model.simulate_transactions(100, 10, spend_model=SPEND, seed=np.int64(5))
    again = model.simulate_transactions(100, 10, spend_model=SPEND, seed=5)
    pd.testing.assert_frame_equal(first, again)
    assert list(first.columns) == ["customer_id", "date", "amount"]
    assert first["customer_id"].is_monotonic_increasing
    assert (first.groupby("customer_id")["date"].diff().dropna() >= pd.Timedelta(0)).all()


@pytest.mark.parametrize("name", NAMES)
def test_a_spend_model_of_the_wrong_kind_is_refused_with_a_call_that_works(name):
    model = truth(name)
    for wrong in (model, cv.models.get("historic"), "gammagamma"):
        with pytest.raises(InvalidParameterError, match="^spend_model=") as error:
            model.simulate_transactions(5, 4, spend_model=wrong, seed=0)
        assert "custvalue.models.get('gammagamma').fit(summary)" in str(error.value)
    with pytest.raises(NotFittedError):
        model.simulate_transactions(5, 4, spend_model=GammaGamma(), seed=0)
    # The advice, run on a summary of a log: a spend model the log accepts.
    log = model.simulate_transactions(300, 20, spend_model=SPEND, seed=1)
    summary = cv.summarize(log, unit="W", observation_end=DEFAULT_OBSERVATION_END)
    advised = re.search(r"custvalue\.models\.get\('(\w+)'\)\.fit\(summary\)", str(error.value))
    spend = cv.models.get(advised.group(1)).fit(summary)
    assert (model.simulate_transactions(5, 4, spend_model=spend, seed=0)["amount"] > 0).all()


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("arguments, parameter", [
    ({"n_customers": 0}, "n_customers"),
    ({"n_customers": 2.5}, "n_customers"),
    ({"T": -1}, "T"),
    ({"T": np.nan}, "T"),
    ({"T": [1, 2]}, "T"),
    ({"T": "52"}, "T"),
    ({"T": 1e300}, "T"),
    ({"unit": "fortnight"}, "unit"),
    ({"observation_end": "not a date"}, "observation_end"),
    ({"observation_end": 20240630}, "observation_end"),
    ({"seed": -1}, "seed"),
    ({"seed": 1.5}, "seed"),
])
def test_arguments_are_checked_alike_naming_the_parameter(name, arguments, parameter):
    given = {"n_customers": 3, "T": 4, "unit": "W", "observation_end": None, "seed": 0} | arguments
    with pytest.raises(InvalidParameterError, match=f"^{parameter}="):
        truth(name).simulate_transactions(given.pop("n_customers"), given.pop("T"), **given)


@pytest.mark.parametrize("name", [name for name in NAMES if continuous(name)])
@pytest.mark.parametrize("unit", ["h", "D", "W", "M", "Y"])
def test_first_purchases_fall_exactly_T_before_the_end(name, unit):
    # T of whole days (whole hours for "h") in any unit: each first purchase falls on its day, to the microsecond.
    hours = np.arange(1, 401) * (1 if unit == "h" else 24)
    T = hours / 24 / days_per_unit(unit)
    log = truth(name).simulate_transactions(len(T), T, unit=unit, observation_end=END, seed=2)
    first = log.groupby("customer_id")["date"].min().to_numpy()
    np.testing.assert_array_equal(first, pd.Timestamp(END) - pd.to_timedelta(hours, unit="h"))


@pytest.mark.parametrize("name", [name for name in NAMES if not continuous(name)])
def test_opportunities_fall_on_whole_days(name):
    log = truth(name).simulate_transactions(300, 12, unit="M", observation_end="2024-12-31 15:30", seed=4)
    assert (log["date"] == log["date"].dt.normalize()).all()
    assert (log.groupby("customer_id")["date"].min() == pd.Timestamp("2024-01-01")).all()


@pytest.mark.parametrize("name", NAMES)
def test_the_spend_model_passed_in_is_not_changed(name):
    spend = GammaGamma.from_params(p=6.0, q=3.74, v=15.44)
    before = spend.params_.copy()
    with np.errstate(all="raise"):
        truth(name).simulate_transactions(50, 30, spend_model=spend, seed=6)
    pd.testing.assert_series_equal(spend.params_, before)
