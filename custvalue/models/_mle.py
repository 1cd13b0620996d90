"""Shared maximum-likelihood machinery: compression, optimisation in log space, standard errors.

Every probabilistic model hands :func:`maximize` a function returning the
weighted log-likelihood (and optionally its gradient) of the *log* of its
parameters. Optimising log-parameters keeps them positive without bounds;
dividing by the number of customers keeps the objective well scaled.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import optimize

from custvalue.errors import ConvergenceError

# Parameters beyond exp(±20) mean the optimiser is chasing a boundary, not a maximum.
MAX_ABS_LOG_PARAM = 20.0

LogLik = Callable[[np.ndarray], float]
LogLikGrad = Callable[[np.ndarray], tuple[float, np.ndarray]]


def compress(
    columns: dict[str, np.ndarray], weights: np.ndarray | None = None
) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """Collapse identical rows into one row with a weight (the number of customers it stands for).

    Real summaries live on a day grid, so many customers share the same
    (x, t_x, T); fitting on unique rows gives the same likelihood for less work.
    """
    frame = pd.DataFrame(columns)
    w = np.ones(len(frame)) if weights is None else np.asarray(weights, dtype=float)
    grouped = frame.assign(_w=w).groupby(list(columns), sort=False)["_w"].sum()
    unique = grouped.index.to_frame(index=False)
    return {name: unique[name].to_numpy(dtype=float) for name in columns}, grouped.to_numpy(dtype=float)


def numeric_gradient(loglik: LogLik, x: np.ndarray, step: float = 1e-6) -> np.ndarray:
    """Central-difference gradient, used where the model has no closed form."""
    grad = np.empty_like(x)
    for i in range(len(x)):
        h = step * max(1.0, abs(x[i]))
        up, down = x.copy(), x.copy()
        up[i] += h
        down[i] -= h
        grad[i] = (loglik(up) - loglik(down)) / (2 * h)
    return grad


def numeric_hessian(gradient: Callable[[np.ndarray], np.ndarray], x: np.ndarray, step: float = 1e-5) -> np.ndarray:
    """Hessian by central differences of a gradient, symmetrised."""
    k = len(x)
    hess = np.empty((k, k))
    for i in range(k):
        h = step * max(1.0, abs(x[i]))
        up, down = x.copy(), x.copy()
        up[i] += h
        down[i] -= h
        hess[:, i] = (gradient(up) - gradient(down)) / (2 * h)
    return (hess + hess.T) / 2


@dataclass(frozen=True)
class MLEResult:
    """What :func:`maximize` found."""

    log_params: np.ndarray
    log_likelihood: float
    converged: bool
    message: str
    covariance_log: np.ndarray  # covariance of the log-parameters (inverse observed information)


def maximize(
    loglik: LogLik | LogLikGrad,
    starts: list[np.ndarray],
    n_customers: float,
    has_gradient: bool,
    param_scale: Callable[[np.ndarray], np.ndarray] = np.exp,
    penalizer: float = 0.0,
    model_name: str = "model",
) -> MLEResult:
    """Maximise a log-likelihood of log-parameters, trying each start until one converges.

    The objective is ``-loglik / n_customers + penalizer * sum(params**2)`` (the
    L2 penalty of lifetimes' ``penalizer_coef``). Raises
    :class:`~custvalue.errors.ConvergenceError` with the optimiser's message
    when no start converges to finite parameters.
    """

    def value_and_grad(z: np.ndarray) -> tuple[float, np.ndarray]:
        if has_gradient:
            ll, grad = loglik(z)  # type: ignore[misc]
        else:
            ll = loglik(z)  # type: ignore[assignment]
            grad = numeric_gradient(loglik, z)  # type: ignore[arg-type]
        params = param_scale(z)
        f = -ll / n_customers + penalizer * float(np.sum(params**2))
        g = -np.asarray(grad) / n_customers + penalizer * 2 * params**2  # d/dz of exp(z)^2
        if not np.isfinite(f) or not np.all(np.isfinite(g)):
            return np.inf, np.zeros_like(z)
        return f, g

    messages = []
    for start in starts:
        res = optimize.minimize(value_and_grad, start, jac=True, method="L-BFGS-B",
                                options={"maxiter": 2000, "gtol": 1e-9, "ftol": 1e-15})
        if not (np.all(np.isfinite(res.x)) and np.isfinite(res.fun)):
            messages.append(f"non-finite result ({res.message})")
            continue
        if np.any(np.abs(res.x) > MAX_ABS_LOG_PARAM):
            messages.append(f"parameters ran off to {np.exp(res.x)} ({res.message})")
            continue
        gradient_norm = float(np.max(np.abs(res.jac))) if res.jac is not None else np.inf
        if not (res.success or gradient_norm < 1e-5):
            messages.append(str(res.message))
            continue
        result = _finish(loglik, res, has_gradient, model_name)
        if np.all(np.isfinite(result.covariance_log)) and np.all(np.diag(result.covariance_log) > 0):
            return result
        messages.append(
            "the likelihood has no well-defined maximum here (the information matrix is singular): "
            f"the data cannot identify every parameter, estimates {np.round(np.exp(result.log_params), 6)}"
        )
    raise ConvergenceError(
        f"{model_name}: maximum likelihood did not converge from {len(starts)} start(s): {messages[-1]}. "
        "Try a penalizer (e.g. penalizer=0.001), check the summary for outliers, or fit on more customers.",
        optimizer_message=messages[-1],
    )


def _finish(loglik, res, has_gradient: bool, model_name: str) -> MLEResult:
    """Polish the optimum with Newton steps on the gradient, then invert the observed information."""

    def gradient(point: np.ndarray) -> np.ndarray:
        return loglik(point)[1] if has_gradient else numeric_gradient(loglik, point, step=1e-5)

    def value(point: np.ndarray) -> float:
        return loglik(point)[0] if has_gradient else loglik(point)

    step_size = 1e-4 if has_gradient else 1e-3
    z, ll = res.x, value(res.x)
    hessian = numeric_hessian(gradient, z, step=step_size)
    for _ in range(5):
        try:
            step = np.linalg.solve(hessian, -gradient(z))
        except np.linalg.LinAlgError:
            break
        candidate = z + step
        candidate_ll = value(candidate)
        if not np.isfinite(candidate_ll) or candidate_ll < ll - 1e-9 * abs(ll):
            break
        z, ll = candidate, candidate_ll
        hessian = numeric_hessian(gradient, z, step=step_size)
        if np.max(np.abs(step)) < 1e-10:
            break
    try:
        covariance = np.linalg.inv(-hessian)
        np.linalg.cholesky(covariance)  # the maximum is a maximum only if this is positive definite
    except np.linalg.LinAlgError:
        covariance = np.full_like(hessian, np.nan)
    return MLEResult(z, float(ll), True, str(res.message), covariance)
