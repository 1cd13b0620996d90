"""Every registered model, with parameters drawn from the space it allows, predicts finite values in range.

The model-specific property tests (tests/test_bgnbd.py, test_paretonbd.py, test_bgbb.py,
test_gammagamma.py) check more per model; this one makes sure no registered model is left out:
each fitted parameter is its example value times a factor from e^-7 to e^7, and the customers
are drawn from the whole range of the model's kind of data, extremes included.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from model_cases import NAMES, make, prediction_problems, shape, summary

from custvalue.models import BaseModel

FACTORS = st.lists(st.floats(-7.0, 7.0), min_size=8, max_size=8)
CUSTOMERS = st.lists(st.tuples(st.integers(0, 2_000), st.floats(0, 1), st.floats(-4.0, 8.0), st.floats(-3.0, 9.0)),
                     min_size=1, max_size=5)


def with_parameters(model: BaseModel, log_factors: list[float]) -> BaseModel:
    """The model at its example parameters, each fitted one multiplied by e^(a factor)."""
    fitted = model.parameter_names()
    params = dict(model.example_params)
    for name, log_factor in zip(fitted, log_factors):
        params[name] = params.get(name, 1.0) * float(np.exp(log_factor))
    return type(model).from_params(model.get_params(), **params)


def data_for(model: BaseModel, customers: list[tuple[int, float, float, float]]) -> pd.DataFrame:
    """Customers of the model's kind: purchase counts to 2,000, recency anywhere in (0, T), T from e^-4 to
    e^8 units (whole opportunities for discrete-time models), spends from e^-3 to e^9."""
    x = np.array([c[0] for c in customers], dtype=float)
    T = np.exp([c[2] for c in customers])
    spend = np.exp([c[3] for c in customers])
    if shape(model) == "opportunities":
        n = np.maximum(np.ceil(T), 1.0)
        x = np.minimum(x, n)
        t_x = np.where(x > 0, np.maximum(x, np.ceil(n * np.array([c[1] for c in customers]))), 0.0)
        return pd.DataFrame({"frequency": x, "recency": np.minimum(t_x, n), "periods": n})
    t_x = np.where(x > 0, T * np.array([c[1] for c in customers]), 0.0)
    return summary(x, t_x, T, spend)


MODELS = [name for name in NAMES if make(name).example_params and shape(make(name)) != "cohort"]


@pytest.mark.parametrize("name", MODELS)
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(log_factors=FACTORS, customers=CUSTOMERS)
def test_predictions_are_finite_and_in_range_for_any_allowed_parameters(name, log_factors, customers):
    model = with_parameters(make(name), log_factors)
    assert prediction_problems(model, data_for(model, customers)) == []


def test_the_property_covers_every_model_with_parameters_to_draw():
    # Models without example parameters (formula, historic) have no parameters to draw; sBG predicts
    # from the cohort alone and has the test below.
    assert set(NAMES) - set(MODELS) <= {"formula", "historic", "sbg"}
    assert {"bgcnbd", "mbgcnbd", "gammagamma_individual"} <= set(MODELS)


@settings(max_examples=150, deadline=None)
@given(log_alpha=st.floats(-7.0, 7.0), log_beta=st.floats(-7.0, 7.0), renewals=st.integers(0, 10_000),
       discount_rate=st.floats(1e-4, 1.0))
def test_sbg_predictions_are_finite_and_in_range_for_any_allowed_parameters(log_alpha, log_beta, renewals,
                                                                            discount_rate):
    model = make("sbg")
    model = type(model).from_params(alpha=0.704 * np.exp(log_alpha), beta=1.182 * np.exp(log_beta))
    t = np.arange(0, 1001, 7)
    with np.errstate(all="raise", under="ignore"):
        survival = model.survival(t)
        retention = model.retention_rate(t[1:])
        derl = model.residual_lifetime(renewals, discount_rate=discount_rate)
    assert np.isfinite(survival).all() and survival[0] == pytest.approx(1.0)
    assert ((survival >= 0) & (survival <= 1)).all() and (np.diff(survival) <= 1e-15).all()
    assert np.isfinite(retention).all() and ((retention >= 0) & (retention <= 1)).all()
    # Each discounted renewal is worth at most one, and the first, due now, is certain to come only if θ = 0.
    assert 0 <= derl <= (1 + discount_rate) / discount_rate + 1e-9
