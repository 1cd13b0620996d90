"""Uncertainty intervals for every customer's predictions, at maximum-likelihood speed.

Parameter vectors are drawn from the asymptotic normal of the log-parameters
(mean: the estimates; covariance: the inverse observed information), or, as
an option, from refits on data simulated from the fitted model (parametric
bootstrap). Each draw re-predicts every distinct customer row; the quantiles
over draws give the interval.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TypeVar

import numpy as np
import pandas as pd

from custvalue.checks import check_choice, check_frame, check_int, check_level, invalid
from custvalue.errors import InvalidParameterError
from custvalue.models import Ability, BaseModel
from custvalue.progress import progress

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

    Examples
    --------
    >>> import custvalue as cv
    >>> model = cv.models.get("bgnbd").fit(cv.datasets.load_cdnow_summary())
    >>> len(parameter_draws(model, 20))
    20
    """
    if not isinstance(model, BaseModel):
        raise invalid("model", model, "it must be a fitted custvalue model")
    n_draws = check_int(n_draws, "n_draws", low=1)
    method = check_choice(method, "method", ["asymptotic", "bootstrap"])
    seed = check_int(seed, "seed", low=0)
    if data is not None:
        check_frame(data, "data")
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
        return [type(model).from_params(model.get_params(), **dict(zip(names, row))) for row in draws]
    if method == "bootstrap":
        if data is None:
            raise InvalidParameterError("the parametric bootstrap needs the summary the model was fitted on")
        model.require(Ability.SIMULATION, "the parametric bootstrap")
        refits = []
        for i in progress(range(n_draws), "bootstrap refits"):
            sample = model.simulate_like(data, seed=int(rng.integers(2**31)) + i)
            refits.append(model.clone().fit(sample))
        return refits
    raise InvalidParameterError(f"unknown interval method {method!r}; use 'asymptotic' or 'bootstrap'")


def prediction_intervals(rows: pd.DataFrame,
                         predict: Callable[[pd.DataFrame, BaseModel, BaseModel | None], dict[str, np.ndarray]],
                         count_draws: Sequence[BaseModel], spend_draws: Sequence[BaseModel | None],
                         level: float) -> dict[str, np.ndarray]:
    """``{column}_lower`` / ``{column}_upper`` for each column ``predict`` returns, over the draws.

    Examples
    --------
    >>> import custvalue as cv
    >>> summary = cv.datasets.load_cdnow_summary()
    >>> model = cv.models.get("bgnbd").fit(summary)
    >>> draws = parameter_draws(model, 50)
    >>> out = prediction_intervals(summary.head(3), lambda rows, m, s: {"p_alive": m.p_alive(rows).to_numpy()},
    ...                            draws, [None] * 50, 0.9)
    >>> sorted(out), bool((out["p_alive_lower"] <= out["p_alive_upper"]).all())
    (['p_alive_lower', 'p_alive_upper'], True)
    """
    level = check_level(level, "level")
    check_frame(rows, "rows")
    if not callable(predict):
        raise invalid("predict", predict, "it must be a function (rows, count_model, spend_model) -> dict of arrays")
    if len(count_draws) != len(spend_draws) or not len(count_draws):
        raise InvalidParameterError(f"count_draws and spend_draws must be non-empty and as long as each other; got "
                                    f"{len(count_draws)} and {len(spend_draws)}")
    tail = (1 - level) / 2
    out: dict[str, list[np.ndarray]] = {}
    for start in progress(range(0, len(rows), ROWS_PER_CHUNK), "intervals"):
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
