"""score's lean paths (distinct-row arrays dropped as they are expanded, CLV multiplied in place and in
slices, bounds in slices) give exactly what a plain computation on the models' distinct rows gives."""

import sys
import tracemalloc

import numpy as np
import pandas as pd
import pytest

import custvalue as cv
from custvalue.grouping import group_rows
from custvalue.intervals import delta_bounds, linearize
from custvalue.models import GammaGamma

score_module = sys.modules["custvalue.score"]


def summary() -> pd.DataFrame:
    return cv.datasets.load_cdnow_summary()


def fitted(name: str, data: pd.DataFrame) -> tuple:
    return cv.models.get(name).fit(data), GammaGamma().fit(data[data["frequency"] > 0])


def per_customer(model, data: pd.DataFrame, predict) -> np.ndarray:
    """``predict`` on the distinct rows of the model's columns, one value per customer: the plain way."""
    rows, _, key = group_rows(data[list(model.required_columns())])
    return np.asarray(predict(rows), dtype=float)[key]


@pytest.mark.parametrize("name", ["bgnbd", "paretonbd"])
@pytest.mark.parametrize("discount_rate", [0.0, 0.01])
def test_point_scores_equal_the_plain_computation(name, discount_rate, monkeypatch):
    monkeypatch.setattr(score_module, "CLV_SLICE", 1000)  # several slices on 2,357 customers
    data = summary()
    model, spend = fitted(name, data)
    scored = cv.score(data, model=model, spend_model=spend, horizon=39, discount_rate=discount_rate, margin=0.3)
    purchases = per_customer(model, data, lambda rows: model.expected_purchases(rows, 39))
    delta = np.log1p(discount_rate)
    discounted = purchases if discount_rate == 0 else \
        per_customer(model, data, lambda rows: model.discounted_purchases(rows, 39, delta))
    spend_each = per_customer(spend, data, spend.expected_spend)
    np.testing.assert_array_equal(scored["expected_purchases"], purchases)
    np.testing.assert_array_equal(scored["p_alive"], per_customer(model, data, model.p_alive))
    np.testing.assert_array_equal(scored["expected_spend"], spend_each)
    np.testing.assert_array_equal(scored["clv"], 0.3 * spend_each * discounted)


@pytest.mark.parametrize("name", ["bgnbd", "paretonbd"])
@pytest.mark.parametrize("discount_rate", [0.0, 0.01])
def test_delta_intervals_equal_the_plain_computation(name, discount_rate, monkeypatch):
    monkeypatch.setattr(score_module, "CLV_SLICE", 1000)
    data = summary()
    model, spend = fitted(name, data)
    scored = cv.score(data, model=model, spend_model=spend, horizon=39, discount_rate=discount_rate, margin=0.3,
                      intervals=0.8)
    rows, _, key = group_rows(data[list(model.required_columns())])
    spend_rows, _, spend_key = group_rows(data[list(spend.required_columns())])
    delta = np.log1p(discount_rate)

    def purchases(m):
        out = {"expected_purchases": m.expected_purchases(rows, 39).to_numpy(), "p_alive": m.p_alive(rows).to_numpy()}
        out["discounted"] = (out["expected_purchases"] if discount_rate == 0
                             else m.discounted_purchases(rows, 39, delta).to_numpy())
        return out

    values, variances = linearize(model, purchases)
    for column in ("expected_purchases", "p_alive"):
        low, high = delta_bounds(column, values[column], variances[column], 0.8)
        np.testing.assert_array_equal(scored[column], values[column][key])
        np.testing.assert_array_equal(scored[f"{column}_lower"], low[key])
        np.testing.assert_array_equal(scored[f"{column}_upper"], high[key])
    spend_values, spend_variances = linearize(spend, lambda m: {"s": m.expected_spend(spend_rows).to_numpy()})
    low, high = delta_bounds("expected_spend", spend_values["s"], spend_variances["s"], 0.8)
    np.testing.assert_array_equal(scored["expected_spend"], spend_values["s"][spend_key])
    np.testing.assert_array_equal(scored["expected_spend_lower"], low[spend_key])
    np.testing.assert_array_equal(scored["expected_spend_upper"], high[spend_key])
    clv = 0.3 * spend_values["s"][spend_key] * values["discounted"][key]
    low, high = delta_bounds("clv", clv, variances["discounted"][key] + spend_variances["s"][spend_key], 0.8)
    np.testing.assert_array_equal(scored["clv"], clv)
    np.testing.assert_array_equal(scored["clv_lower"], low)
    np.testing.assert_array_equal(scored["clv_upper"], high)


def test_clv_column_multiplies_in_place_without_touching_the_distinct_rows():
    margin_spend = np.array([2.0, 3.0])
    discounted = np.array([0.5, 4.0, 10.0])
    spend_key, key = np.array([1, 0, 1, 1, 0]), np.array([2, 2, 0, 1, 0])
    clv = score_module.clv_column(margin_spend, spend_key, discounted, key)
    np.testing.assert_array_equal(clv, [30.0, 20.0, 1.5, 12.0, 1.0])
    np.testing.assert_array_equal(margin_spend, [2.0, 3.0])
    np.testing.assert_array_equal(discounted, [0.5, 4.0, 10.0])


def test_a_score_allocates_little_beyond_its_answer():
    """Deterministic (tracemalloc counts allocations, not time) and generous: beyond the frame it returns, a
    score of 94,280 customers allocates less than twice the frame it was given."""
    data = pd.concat([summary()] * 40, ignore_index=True)  # 94,280 customers on 2,357 distinct rows
    model, spend = fitted("bgnbd", summary())
    size = data.memory_usage(deep=True).sum()
    for intervals in (None, 0.9):
        tracemalloc.start()
        try:
            scored = cv.score(data, model=model, spend_model=spend, horizon=39, intervals=intervals)
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
        answer = scored.memory_usage(deep=True).sum()
        assert peak < answer + 2.0 * size


@pytest.mark.parametrize("name", ["bgnbd", "paretonbd"])
def test_linearize_equals_the_plain_forward_differences(name):
    """Σ-weighted squares of forward differences on the log (logit for P(alive)) scale, written out."""
    from custvalue.intervals import STEP, moved_to

    data = summary()
    model = cv.models.get(name).fit(data)

    def predict(m):
        return {"expected_purchases": m.expected_purchases(data, 39).to_numpy(), "p_alive": m.p_alive(data).to_numpy()}

    values, variances = linearize(model, predict)
    z = np.log(model.params_.to_numpy())
    covariance = model.covariance_log_.to_numpy()
    center = predict(model)
    with np.errstate(divide="ignore", invalid="ignore"):
        scales = {"expected_purchases": np.log, "p_alive": lambda p: np.log(p) - np.log1p(-p)}
        gradients = {c: np.empty((len(data), len(z))) for c in center}
        for j in range(len(z)):
            moved = z.copy()
            moved[j] += STEP
            shifted = predict(moved_to(model, dict(zip(model.parameter_names(), np.exp(moved)))))
            for c in center:
                gradients[c][:, j] = (scales[c](shifted[c]) - scales[c](center[c])) / STEP
    for c in center:
        np.testing.assert_array_equal(values[c], center[c])
        np.testing.assert_array_equal(variances[c], np.einsum("ij,jk,ik->i", gradients[c], covariance, gradients[c]))
