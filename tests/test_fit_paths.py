"""The shortcuts of a large fit: compression's sampled test, the uniform subsample, the last Newton step."""

from __future__ import annotations

import numpy as np
import pandas as pd

from custvalue.models import BetaGeo, _mle


def test_compress_keeps_rows_that_never_repeat_though_each_column_does() -> None:
    """Every column repeats its values, no row repeats: the rows come back as they were, each with weight 1."""
    x, y = np.meshgrid(np.arange(300.0), np.arange(300.0))
    columns = {"x": x.ravel(), "y": y.ravel()}
    before = {key: value.copy() for key, value in columns.items()}
    data, weights = _mle.compress(columns)
    assert all(np.array_equal(data[key], before[key]) for key in columns)
    assert np.array_equal(weights, np.ones(90_000))
    assert all(np.array_equal(columns[key], before[key]) for key in columns)  # the input is left alone


def test_compress_groups_repeated_rows_with_their_total_weight() -> None:
    x, y = np.meshgrid(np.arange(300.0), np.arange(300.0))
    columns = {"x": np.tile(x.ravel(), 2), "y": np.tile(y.ravel(), 2)}
    given = np.random.default_rng(0).uniform(0.5, 2.0, 180_000)
    data, weights = _mle.compress(columns, given)
    assert len(weights) == 90_000
    expected = pd.DataFrame(columns).assign(w=given).groupby(["x", "y"])["w"].sum()
    got = pd.Series(weights, index=pd.MultiIndex.from_arrays([data["x"], data["y"]], names=["x", "y"]))
    pd.testing.assert_series_equal(got.sort_index(), expected.sort_index(), check_names=False, rtol=1e-12)


def test_compress_keeps_continuous_rows() -> None:
    rng = np.random.default_rng(1)
    columns = {"frequency": rng.integers(0, 5, 100_000).astype(float), "T": rng.uniform(1, 80, 100_000)}
    data, weights = _mle.compress(columns)
    assert np.array_equal(data["T"], columns["T"]) and np.array_equal(weights, np.ones(100_000))


def test_a_subsample_of_equal_weights_is_the_inverse_cdf_draw() -> None:
    """Rows alike are drawn as row ⌊u·n⌋: the same rows the cumulative weights pick."""
    n, size = 50_000, 20_000
    data = {"row": np.arange(n, dtype=float)}
    weights = np.full(n, 2.0)
    drawn_data, counts = _mle.subsample(data, weights, size, seed=4)
    uniform = np.random.default_rng(4).random(size)
    cdf = np.cumsum(weights) / weights.sum()
    rows, expected_counts = np.unique(np.searchsorted(cdf, uniform, side="right"), return_counts=True)
    assert np.array_equal(drawn_data["row"], rows) and np.array_equal(counts, expected_counts)


def test_the_last_step_is_judged_from_the_quadratic_convergence() -> None:
    # Steps 1.2e-2 then 5e-5: the next would be about max(1, 5e-5 / 1.2e-2²)·(5e-5)² = 2.5e-9.
    assert _mle._last_step(5e-5, 1.2e-2, 1e-7)
    assert not _mle._last_step(5e-4, 1.2e-2, 1e-7)  # the next, 2.5e-7, would exceed a tenth of 1e-7
    assert not _mle._last_step(1e-4, 1e-4, 1e-7)    # no faster than linear: 1e4·1e-8 = 1e-4


def test_newton_ends_with_a_step_checked_by_its_value_alone() -> None:
    """Σ (c·z − e^z) has its maximum at z = log c; the last step is taken on a value, and lands there."""
    c = np.array([0.5, 2.0, 30.0])
    orders = []

    def evaluate(z: np.ndarray, want: int, free: np.ndarray | None = None) -> _mle.LogLikValue:
        orders.append(want)
        value = float(np.sum(c * z - np.exp(z)))
        if want == 0:
            return value
        return value, c - np.exp(z), np.diag(-np.exp(z))

    point, status = _mle.newton(evaluate, np.zeros(3), tol=1e-7, exact=True)
    assert status == "converged" and orders[-2:] == [2, 0]
    np.testing.assert_allclose(point.z, np.log(c), rtol=0, atol=1e-8)  # a tenth of tol
    assert point.value == evaluate(point.z, 0)
    value, gradient, hessian = evaluate(point.z, 2)
    np.testing.assert_allclose(point.grad, gradient, rtol=0, atol=1e-8 * np.max(c))  # the Hessian times 1e-8
    np.testing.assert_allclose(point.hess, hessian, rtol=1e-4)


def test_a_large_fit_ends_at_the_maximum_with_its_likelihood() -> None:
    """60,000 customers (a subsample first): the Newton step left at the estimates is far below 1e-7, and the
    log-likelihood reported is the one at the estimates."""
    T = np.random.default_rng(5).uniform(10, 80, 60_000)
    summary = BetaGeo.from_params(r=0.25, alpha=4.0, a=0.8, b=2.5).simulate(len(T), T, seed=6)
    model = BetaGeo().fit(summary)
    data = {c: summary[c].to_numpy(dtype=float) for c in ("frequency", "recency", "T")}
    loglik = model._bound_loglik(data, np.ones(len(T)))
    z = np.log(model.params_.to_numpy())
    value, gradient, hessian = loglik(z, 2)
    assert np.max(np.abs(np.linalg.solve(hessian, gradient))) < 1e-8
    assert abs(model.log_likelihood_ - value) < 1e-12 * abs(value)  # z only rounded through exp and log
    np.testing.assert_allclose(model.covariance_log_.to_numpy(), np.linalg.inv(-hessian), rtol=1e-3)
