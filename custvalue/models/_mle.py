"""Shared maximum-likelihood machinery: compression, optimisation in log space, standard errors.

Every probabilistic model hands :func:`maximize` a function returning the
weighted log-likelihood (and optionally its gradient) of the *log* of its
parameters. Optimising log-parameters keeps them positive without bounds;
dividing by the number of customers keeps the objective well scaled.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from custvalue.errors import ConvergenceError
from custvalue.grouping import group_rows

SAMPLE_ROWS = 20_000
# Parameters beyond exp(±20) mean the optimiser is chasing a boundary, not a maximum.
MAX_ABS_LOG_PARAM = 20.0

LogLik = Callable[[np.ndarray], float]
#: What a log-likelihood of order 0, 1 or 2 returns: the value, with the gradient, with gradient and Hessian.
LogLikValue = float | tuple[float, np.ndarray] | tuple[float, np.ndarray, np.ndarray]


def compress(
    columns: dict[str, np.ndarray], weights: np.ndarray | None = None
) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """Collapse identical rows into one row with a weight (the number of customers it stands for).

    Real summaries live on a day grid, so many customers share the same
    (x, t_x, T); fitting on unique rows gives the same likelihood for less
    work. When a random sample shows (almost) no repeated rows (continuous
    times), the rows are used as they are: grouping would cost more than it saves.
    """
    frame = pd.DataFrame({name: np.asarray(values, dtype=float) for name, values in columns.items()})
    w = np.ones(len(frame)) if weights is None else np.asarray(weights, dtype=float)
    n = len(frame)
    if n > 4 * SAMPLE_ROWS:
        sample = np.random.default_rng(0).choice(n, SAMPLE_ROWS, replace=False)
        if frame.iloc[sample].duplicated().mean() < 0.01:
            return {name: frame[name].to_numpy() for name in frame.columns}, w
    rows, counts, _ = group_rows(frame, w)
    return {name: rows[name].to_numpy() for name in rows.columns}, counts


def subsample(
    data: dict[str, np.ndarray], weights: np.ndarray, size: int, seed: int
) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """About ``size`` rows drawn with probability proportional to their weight (for warm starts)."""
    rng = np.random.default_rng(seed)
    idx, counts = np.unique(rng.choice(len(weights), size=size, p=weights / weights.sum()), return_counts=True)
    return {k: v[idx] for k, v in data.items()}, counts.astype(float)


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


def value_hessian(value: Callable[[np.ndarray], float], x: np.ndarray, center: float,
                  step: float = 1e-4) -> np.ndarray:
    """Hessian by second differences of a function's values (for models with no derivatives)."""
    k = len(x)
    h = step * np.maximum(1.0, np.abs(x))
    hess = np.empty((k, k))
    for i in range(k):
        for j in range(i, k):
            if i == j:
                up, down = x.copy(), x.copy()
                up[i] += h[i]
                down[i] -= h[i]
                hess[i, i] = (value(up) - 2 * center + value(down)) / h[i] ** 2
                continue
            corners = []
            for si, sj in ((1, 1), (1, -1), (-1, 1), (-1, -1)):
                point = x.copy()
                point[i] += si * h[i]
                point[j] += sj * h[j]
                corners.append(value(point))
            hess[i, j] = hess[j, i] = (corners[0] - corners[1] - corners[2] + corners[3]) / (4 * h[i] * h[j])
    return hess


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
    message: str
    covariance_log: np.ndarray  # covariance of the log-parameters (inverse observed information)


def natural(z: np.ndarray, n_positive: int | None = None) -> np.ndarray:
    """Parameters from the optimiser's scale: the first ``n_positive`` are logs, the rest (coefficients) as is."""
    z = np.asarray(z, dtype=float)
    k = len(z) if n_positive is None else n_positive
    return np.concatenate([np.exp(z[:k]), z[k:]])


def objective(f: Callable, n: float, order: int, penalizer: float, n_positive: int | None = None) -> Callable:
    """``evaluate(z, want)``: the penalised objective ``f/n − penalizer·Σθ²`` and its derivatives up to
    ``want``, numerical beyond the ``order`` that f offers. The first ``n_positive`` entries of z are
    log-parameters (all by default), the rest covariate coefficients on their own scale."""

    def evaluate(z: np.ndarray, want: int) -> LogLikValue:
        theta = natural(z, n_positive)
        # d(θ²)/dz is 2θ² for a log-parameter and 2θ for a coefficient; the second derivatives 4θ² and 2.
        positive = np.arange(len(z)) < (len(z) if n_positive is None else n_positive)
        d1 = np.where(positive, 2 * theta**2, 2 * theta)
        d2 = np.where(positive, 4 * theta**2, 2.0)
        if order >= want:
            out = f(z, want)
            out = out if isinstance(out, tuple) else (out,)
        elif order == 1:  # want == 2
            out = (*f(z, 1), numeric_hessian(lambda q: f(q, 1)[1], z, 1e-4))
        else:
            value = f(z, 0)
            out = (value, numeric_gradient(lambda q: f(q, 0), z))
            if want == 2:
                out = (*out, value_hessian(lambda q: f(q, 0), z, value))
        v = out[0] / n - penalizer * float(np.sum(theta**2))
        if want == 0:
            return v
        g = out[1] / n - penalizer * d1
        if want == 1:
            return v, g
        return v, g, out[2] / n - penalizer * np.diag(d2)

    return evaluate


def invert_information(hess: np.ndarray | None, n: float) -> np.ndarray | None:
    """Covariance of the log-parameters from the Hessian of the mean objective, or None if not a maximum."""
    try:
        covariance = np.linalg.inv(-np.asarray(hess) * n)
        np.linalg.cholesky(covariance)  # a maximum only if this is positive definite
    except (np.linalg.LinAlgError, TypeError, ValueError):
        return None
    return covariance


def maximize(
    loglik: Callable,
    starts: list[np.ndarray],
    n_customers: float,
    order: int,
    penalizer: float = 0.0,
    model_name: str = "model",
    warm_start_loglik: Callable | None = None,
    n_positive: int | None = None,
) -> MLEResult:
    """Maximise a log-likelihood of log-parameters and return the estimates and their covariance.

    ``loglik(z, order)`` returns the log-likelihood (order 0), with its
    gradient (1) or with gradient and Hessian (2); ``order`` says the highest
    the model offers. The objective is ``loglik / n_customers − penalizer ·
    Σ θ²`` (lifetimes' ``penalizer_coef``).

    The basin is found on ``warm_start_loglik`` (a subsample) when given, else
    on the full data: by Newton's method where the model has a Hessian, by
    L-BFGS otherwise. Newton's method with a backtracking line search then
    converges on the full data, with finite-difference Hessians where the
    model gives none; the last Hessian gives the covariance.

    Raises :class:`~custvalue.errors.ConvergenceError` with the optimiser's
    message when no start reaches a finite interior maximum.
    """

    def lbfgs(evaluate: Callable, start: np.ndarray) -> Any:
        from scipy import optimize  # loaded on the first fit, not at import

        def negated(z: np.ndarray) -> tuple[float, np.ndarray]:
            value, grad = evaluate(z, 1)
            if not np.isfinite(value) or not np.all(np.isfinite(grad)):
                return np.inf, np.zeros_like(z)
            return -value, -grad

        return optimize.minimize(negated, start, jac=True, method="L-BFGS-B",
                                 options={"maxiter": 2000, "gtol": 1e-9, "ftol": 1e-15})

    full = objective(loglik, n_customers, order, penalizer, n_positive)
    warm = objective(warm_start_loglik, 1.0, order, penalizer, n_positive) if warm_start_loglik is not None else full
    messages = []
    for start in starts:
        with np.errstate(all="ignore"):
            message = "Newton's method"
            z = newton(warm, start)[0] if order == 2 else None
            if z is None or not _is_stationary(warm, z):
                res = lbfgs(warm, start)
                z, message = res.x, str(res.message)
            hess = None
            if np.all(np.isfinite(z)):
                # Exact Hessians make Newton cheap to run to the end; finite differences are dear.
                # A relative change of 1e-7 is far below any standard error.
                z, hess = newton(full, z, max_steps=100, tol=1e-7) if order == 2 else newton(full, z, 4, 1e-6)
        problem = _problem(z, message, n_positive)
        if problem:
            messages.append(problem)
            continue
        covariance = invert_information(hess, n_customers)
        if covariance is None:
            messages.append(
                "the likelihood has no well-defined maximum here (the information matrix is singular): "
                f"the data cannot identify every parameter, estimates {np.round(natural(z, n_positive), 6)}"
            )
            continue
        return MLEResult(z, float(loglik(z, 0)), message, covariance)
    raise ConvergenceError(
        f"{model_name}: maximum likelihood did not converge from {len(starts)} start(s): {messages[-1]}. "
        "Try a penalizer (e.g. penalizer=0.001), check the summary for outliers, or fit on more customers.",
        optimizer_message=messages[-1],
    )


def _is_stationary(evaluate: Callable, z: np.ndarray) -> bool:
    value, grad = evaluate(z, 1)
    return bool(np.isfinite(value) and np.all(np.isfinite(grad)) and np.max(np.abs(grad)) < 1e-6)


def _problem(z: np.ndarray, message: str, n_positive: int | None = None) -> str:
    if not np.all(np.isfinite(z)):
        return f"non-finite result ({message})"
    if np.any(np.abs(z) > MAX_ABS_LOG_PARAM):
        return f"parameters ran off to {natural(z, n_positive)} ({message})"
    return ""


def newton(objective: Callable, z: np.ndarray, max_steps: int = 100,
           tol: float = 1e-10) -> tuple[np.ndarray, np.ndarray]:
    """Newton's method with backtracking; returns the maximiser and the Hessian there.

    Stops when a step moves no log-parameter by more than ``tol``.
    """
    z = np.asarray(z, dtype=float)
    value, grad, hess = objective(z, 2)
    if not np.isfinite(value):
        return z, hess
    for _ in range(max_steps):
        if not (np.all(np.isfinite(grad)) and np.all(np.isfinite(hess))):
            break
        # Ascent direction from the negated Hessian, its eigenvalues made positive if needed.
        eigenvalues, vectors = np.linalg.eigh(-hess)
        eigenvalues = np.maximum(np.abs(eigenvalues), 1e-10 * max(1.0, float(np.max(np.abs(eigenvalues)))))
        step = vectors @ ((vectors.T @ grad) / eigenvalues)
        # Far from the top the quadratic model is poor: move at most a factor e^1 per parameter.
        scale = min(1.0, 1.0 / max(float(np.max(np.abs(step))), 1e-300))
        while scale > 1e-6:
            candidate = z + scale * step
            candidate_value = objective(candidate, 0) if np.all(np.abs(candidate) < 60) else -np.inf
            if np.isfinite(candidate_value) and candidate_value >= value - 1e-15 * abs(value):
                break
            scale /= 2
        else:
            break
        z = candidate
        gain = candidate_value - value
        value, grad, hess = objective(z, 2)
        if np.max(np.abs(scale * step)) < tol or (0 <= gain < 1e-15 * max(1.0, abs(value))):
            break
    return z, hess
