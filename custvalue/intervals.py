"""Uncertainty intervals for every customer's predictions, at maximum-likelihood speed.

Parameter vectors are drawn from the asymptotic normal of the log-parameters
(mean: the estimates; covariance: the inverse observed information), or, as
an option, from refits on data simulated from the fitted model (parametric
bootstrap). Each draw re-predicts every distinct customer row; the quantiles
over draws give the interval.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterable, Sequence
from typing import TypeVar

import numpy as np
import pandas as pd

from custvalue.errors import InvalidParameterError
from custvalue.models import Ability, BaseModel

__all__ = ["parameter_draws", "prediction_intervals"]

ROWS_PER_CHUNK = 20_000
LONG_RUN = 5_000_000  # draws × rows above which a progress bar is worth showing

_Item = TypeVar("_Item")


def parameter_draws(model: BaseModel, n_draws: int, method: str = "asymptotic",
                    data: pd.DataFrame | None = None, seed: int = 0) -> list[BaseModel]:
    """``n_draws`` fitted copies of ``model`` with parameters drawn around its estimates.

    ``"asymptotic"``: log θ ~ N(log θ̂, Σ), Σ the inverse observed information.
    ``"bootstrap"``: refits on ``data``-shaped samples simulated from the
    fitted model (same T, or same purchase counts for Gamma-Gamma).
    """
    model._check_fitted()
    rng = np.random.default_rng(seed)
    names = list(model.parameter_names())
    if method == "asymptotic":
        model.require(Ability.INTERVALS, "asymptotic prediction intervals")
        cov = model.covariance_log_.to_numpy()
        if not np.all(np.isfinite(cov)):
            raise InvalidParameterError(f"{type(model).__name__} has no covariance (fitted with from_params?); "
                                        "intervals need a model fitted on data")
        positive = model._is_log_scale()
        values = model.params_.to_numpy()
        draws = rng.multivariate_normal(np.where(positive, np.log(values), values), cov, size=n_draws)
        draws = np.where(positive, np.exp(draws), draws)
        state = model.to_dict()  # keeps fitted state beyond the parameters (a regularity model's k)
        return [type(model).from_dict({**state, "params": dict(zip(names, row))}) for row in draws]
    if method == "bootstrap":
        if data is None:
            raise InvalidParameterError("the parametric bootstrap needs the summary the model was fitted on")
        model.require(Ability.SIMULATION, "the parametric bootstrap")
        refits = []
        for i in _progress(range(n_draws), "bootstrap refits"):
            sample = model.simulate_like(data, seed=int(rng.integers(2**31)) + i)
            refits.append(model.clone().fit(sample))
        return refits
    raise InvalidParameterError(f"unknown interval method {method!r}; use 'asymptotic' or 'bootstrap'")


def prediction_intervals(rows: pd.DataFrame,
                         predict: Callable[[pd.DataFrame, BaseModel, BaseModel | None], dict[str, np.ndarray]],
                         count_draws: Sequence[BaseModel], spend_draws: Sequence[BaseModel | None],
                         level: float) -> dict[str, np.ndarray]:
    """``{column}_lower`` / ``{column}_upper`` for each column ``predict`` returns, over the draws."""
    if not 0 < level < 1:
        raise InvalidParameterError(f"intervals must be a level in (0, 1), e.g. 0.9; got {level}")
    tail = (1 - level) / 2
    out: dict[str, list[np.ndarray]] = {}
    for start in _progress(range(0, len(rows), ROWS_PER_CHUNK), "intervals", len(count_draws) * len(rows)):
        chunk = rows.iloc[start:start + ROWS_PER_CHUNK]
        samples: dict[str, list[np.ndarray]] = {}
        for count_model, spend_model in zip(count_draws, spend_draws):
            for column, values in predict(chunk, count_model, spend_model).items():
                samples.setdefault(column, []).append(np.asarray(values, dtype=float))
        for column, draws in samples.items():
            low, high = np.quantile(np.vstack(draws), [tail, 1 - tail], axis=0)
            out.setdefault(f"{column}_lower", []).append(low)
            out.setdefault(f"{column}_upper", []).append(high)
    return {name: np.concatenate(parts) for name, parts in out.items()}


def _progress(iterable: Iterable[_Item], label: str, work: int = LONG_RUN) -> Iterable[_Item]:
    """A tqdm progress bar for long runs in a terminal, when tqdm is installed (``custvalue[progress]``)."""
    if work < LONG_RUN or not sys.stderr.isatty():
        return iterable
    try:
        from tqdm.auto import tqdm
    except ImportError:
        return iterable
    return tqdm(iterable, desc=label)
