"""The lean BG/NBD-family likelihood and the distinct-row grouping used on the fast paths equal the general ones."""

from __future__ import annotations

import numpy as np
import pytest

from custvalue.models import BetaGeo
from custvalue.models._betageo import beta_geometric_loglik, distinct_rows, plain_blocks, plain_loglik, prepare_rows


@pytest.mark.parametrize("shift", [0, 1])
def test_lean_likelihood_equals_the_general_one(shift: int) -> None:
    """Value, gradient and Hessian agree with the covariate-ready likelihood on weighted rows (several blocks)."""
    T = np.random.default_rng(0).uniform(1, 80, 40_000)
    summary = BetaGeo.from_params(r=0.25, alpha=4.0, a=0.8, b=2.5).simulate(len(T), T, seed=1)
    data = {c: summary[c].to_numpy(dtype=float) for c in ("frequency", "recency", "T")}
    weights = np.random.default_rng(2).uniform(0.5, 3.0, len(T))
    unique_x, x_weights, blocks = plain_blocks(data, weights)
    for z in (np.log([0.3, 3.0, 0.7, 2.0]), np.log([2.0, 0.5, 1.3, 0.4])):
        for order in (0, 1, 2):
            lean = plain_loglik(z, unique_x, x_weights, blocks, order, shift)
            general = beta_geometric_loglik(z, prepare_rows(data, weights), order, shift)
            for a, b in zip(*(v if isinstance(v, tuple) else (v,) for v in (lean, general))):
                np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-8 * np.max(np.abs(b)))


@pytest.mark.parametrize("shift", [0, 1])
def test_lean_likelihood_of_rows_of_equal_weight_equals_the_general_one(shift: int) -> None:
    """Rows of equal weight share one number in the lean blocks; rows without a repeat purchase have blocks
    of their own (here every row bought, or none did, as well as a mix)."""
    T = np.random.default_rng(7).uniform(1, 80, 30_000)
    summary = BetaGeo.from_params(r=0.25, alpha=4.0, a=0.8, b=2.5).simulate(len(T), T, seed=8)
    mixed = {c: summary[c].to_numpy(dtype=float) for c in ("frequency", "recency", "T")}
    bought = mixed["frequency"] > 0
    for data in (mixed, {c: v[bought] for c, v in mixed.items()}, {c: v[~bought] for c, v in mixed.items()}):
        weights = np.full(len(data["T"]), 3.0)
        unique_x, x_weights, blocks = plain_blocks(data, weights)
        z = np.log([0.3, 3.0, 0.7, 2.0])
        for order in (0, 1, 2):
            lean = plain_loglik(z, unique_x, x_weights, blocks, order, shift)
            general = beta_geometric_loglik(z, prepare_rows(data, weights), order, shift)
            for a, b in zip(*(v if isinstance(v, tuple) else (v,) for v in (lean, general))):
                np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-8 * np.max(np.abs(b)))


def test_distinct_rows_finds_each_combination_once() -> None:
    rng = np.random.default_rng(3)
    columns = [rng.integers(0, 4, 5_000).astype(float), rng.integers(0, 3, 5_000) / 7.0]
    first, inverse = distinct_rows(*columns)
    expected = np.unique(np.column_stack(columns), axis=0)
    assert len(first) == len(expected)
    assert np.array_equal(np.sort(first), np.unique(first))
    for column in columns:
        assert np.array_equal(column[first][inverse], column)  # every row maps to its own combination
    assert np.array_equal(first, [np.flatnonzero(inverse == g)[0] for g in range(len(first))])  # the first row
    assert np.all(inverse[first] == np.arange(len(first)))  # each representative is its own group's row
