"""Uncertainty intervals for every customer's predictions, at maximum-likelihood speed.

Three ways, all for the uncertainty of the fitted parameters:

* the **delta method** (default in :func:`custvalue.score`): each prediction is
  linearised in the parameters on the optimiser's scale (forward differences,
  one extra prediction per parameter) on a scale where it is close to normal —
  log for counts, spends and values, logit for probabilities — and its
  variance is gᵀΣg with Σ the inverse observed information;
* **asymptotic draws**: parameter vectors drawn from the asymptotic normal of
  the log-parameters, each re-predicting every distinct customer row, the
  quantiles over draws giving the interval;
* the **parametric bootstrap**: refits on data simulated from the fitted model.
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

__all__ = ["parameter_draws", "prediction_intervals", "linearize", "delta_bounds", "parameter_covariance",
           "PROBABILITIES"]

#: Prediction columns that are probabilities: their delta-method intervals are taken on the logit scale.
PROBABILITIES = frozenset({"p_alive"})
STEP = 1e-5  # forward-difference step on the optimiser's scale of the parameters

ROWS_PER_CHUNK = 20_000

_Item = TypeVar("_Item")


def moved_to(model: BaseModel, params: dict[str, float], state: dict | None = None) -> BaseModel:
    """A fitted copy of ``model`` with other parameter values, keeping the rest of its fitted state (a
    regularity model's k); ``state``: ``model.to_dict()`` when the caller has it already."""
    return type(model).from_dict({**(state or model.to_dict()), "params": params})


def parameter_draws(model: BaseModel, n_draws: int, method: str = "asymptotic",
                    data: pd.DataFrame | None = None, seed: int = 0,
                    show_progress: bool | None = None) -> list[BaseModel]:
    """``n_draws`` fitted copies of ``model`` with parameters drawn around its estimates.

    ``"asymptotic"``: log θ ~ N(log θ̂, Σ), Σ the inverse observed information.
    ``"bootstrap"``: refits on ``data``-shaped samples simulated from the
    fitted model (same T, or same purchase counts for Gamma-Gamma), with a
    progress bar (``show_progress``: see :mod:`custvalue.progress`).

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
        cov = parameter_covariance(model)
        positive = model._is_log_scale()
        values = model.params_.to_numpy()
        draws = rng.multivariate_normal(np.where(positive, np.log(values), values), cov, size=n_draws)
        draws = np.where(positive, np.exp(draws), draws)
        state = model.to_dict()
        return [moved_to(model, dict(zip(names, row)), state) for row in draws]
    if method == "bootstrap":
        if data is None:
            raise InvalidParameterError("the parametric bootstrap needs the summary the model was fitted on")
        model.require(Ability.SIMULATION, "the parametric bootstrap")
        refits = []
        for i in progress(range(n_draws), "bootstrap refits", enabled=show_progress):
            sample = model.simulate_like(data, seed=int(rng.integers(2**31)) + i)
            refits.append(model.clone().fit(sample))
        return refits
    raise InvalidParameterError(f"unknown interval method {method!r}; use 'asymptotic' or 'bootstrap'")


def prediction_intervals(rows: pd.DataFrame,
                         predict: Callable[[pd.DataFrame, BaseModel, BaseModel | None], dict[str, np.ndarray]],
                         count_draws: Sequence[BaseModel], spend_draws: Sequence[BaseModel | None],
                         level: float, show_progress: bool | None = None) -> dict[str, np.ndarray]:
    """``{column}_lower`` / ``{column}_upper`` for each column ``predict`` returns, over the draws
    (``show_progress``: see :mod:`custvalue.progress`).

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
    for start in progress(range(0, len(rows), ROWS_PER_CHUNK), "intervals", enabled=show_progress):
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


def _interval_scale(column: str, values: np.ndarray) -> np.ndarray:
    """Values on the scale their intervals are symmetric on: logit for probabilities, log otherwise."""
    with np.errstate(divide="ignore", invalid="ignore"):
        if column in PROBABILITIES:
            return np.log(values) - np.log1p(-values)
        return np.log(values)


def parameter_covariance(model: BaseModel) -> np.ndarray:
    """The covariance of ``model``'s parameters on the optimiser's scale, refused when it is not finite: a
    model made by ``from_params``, or a fit whose likelihood is highest at an edge of the parameter space,
    where the unidentified parameters' uncertainty, and every interval built on it, is unbounded.

    Examples
    --------
    >>> import custvalue as cv
    >>> parameter_covariance(cv.models.get("bgnbd").fit(cv.datasets.load_cdnow_summary())).shape
    (4, 4)
    """
    covariance = model.covariance_log_.to_numpy()
    if np.all(np.isfinite(covariance)):
        return covariance
    label = f"{type(model).__name__} ({model.name!r})"
    if model.unidentified_:
        raise InvalidParameterError(
            f"intervals: the data do not identify {', '.join(model.unidentified_)} of {label} (its fit ended at an "
            "edge of the parameter space: see the IdentificationWarning), so their uncertainty, and any interval "
            "built on it, is unbounded. How to fix: a penalizer, which keeps the estimates inside the parameter "
            "space, e.g. custvalue.score(..., intervals=0.9, penalizer=0.01); or more history")
    raise InvalidParameterError(f"intervals: {label} has no covariance of its parameters (made with from_params?); "
                                f"intervals need a model fitted on data, e.g. custvalue.models.get({model.name!r})"
                                ".fit(summary)")


def linearize(model: BaseModel, predict: Callable[[BaseModel], dict[str, np.ndarray]]
              ) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    """The predictions ``predict(model)`` and the variance each column's transform (log, or logit for
    ``PROBABILITIES``, i.e. P(alive)) owes to the uncertainty of ``model``'s parameters: gᵀΣg, g the forward-difference
    gradient on the optimiser's scale, Σ the parameters' covariance (the inverse observed information).

    Examples
    --------
    >>> import custvalue as cv
    >>> summary = cv.datasets.load_cdnow_summary()
    >>> model = cv.models.get("bgnbd").fit(summary)
    >>> repeat_buyers = summary[summary["frequency"] > 0].head(3)
    >>> values, variances = linearize(model, lambda m: {"p_alive": m.p_alive(repeat_buyers).to_numpy()})
    >>> bool((variances["p_alive"] > 0).all())
    True
    """
    model.require(Ability.INTERVALS, "delta-method prediction intervals")
    covariance = parameter_covariance(model)
    names = list(model.parameter_names())
    positive = model._is_log_scale()
    values = model.params_.to_numpy()
    z = np.where(positive, np.log(values), values)
    center = {c: np.asarray(v, dtype=float) for c, v in predict(model).items()}
    gradients = {c: np.empty((len(v), len(z))) for c, v in center.items()}
    for j in range(len(z)):
        moved = z.copy()
        moved[j] += STEP
        natural = np.where(positive, np.exp(moved), moved)
        shifted = predict(moved_to(model, dict(zip(names, natural))))
        for column in list(shifted):
            # In place, each shifted prediction dropped when used, and the centre's scale taken again rather
            # than kept (a logarithm costs far less than a prediction): a few row-length temporaries at a time.
            difference = _interval_scale(column, np.asarray(shifted.pop(column), dtype=float))
            with np.errstate(invalid="ignore"):
                difference -= _interval_scale(column, center[column])
            difference /= STEP
            gradients[column][:, j] = difference
            del difference
    variances = {}
    for column in list(gradients):
        g = gradients.pop(column)
        variances[column] = np.einsum("ij,jk,ik->i", g, covariance, g)
        del g
    return center, variances


def delta_bounds(column: str, values: np.ndarray, variance: np.ndarray, level: float) -> tuple[np.ndarray, np.ndarray]:
    """``level`` bounds of ``column``'s values with the given variance on its interval scale (see :func:`linearize`).

    Values at the edge of their range (0, or 0 and 1 for probabilities), where the scale has no
    slope, get the value itself as both bounds.

    Examples
    --------
    >>> low, high = delta_bounds("clv", np.array([10.0]), np.array([0.04]), 0.9)
    >>> np.round([low[0], high[0]], 3).tolist()   # 10·e^(∓1.645·0.2)
    [7.197, 13.895]
    """
    from scipy.stats import norm

    z = norm.ppf(0.5 + check_level(level, "level") / 2)
    center = _interval_scale(column, values)
    spread = z * np.sqrt(np.clip(variance, 0.0, None))
    inside = np.isfinite(center) & np.isfinite(spread)
    low, high = np.where(inside, center - spread, 0.0), np.where(inside, center + spread, 0.0)
    with np.errstate(over="ignore"):
        if column in PROBABILITIES:
            low, high = 1.0 / (1.0 + np.exp(-low)), 1.0 / (1.0 + np.exp(-high))
        else:
            low, high = np.exp(low), np.exp(high)
    return np.where(inside, low, values), np.where(inside, high, values)
