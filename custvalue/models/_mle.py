"""Shared maximum-likelihood machinery: compression, optimisation in log space, honest outcomes.

Every probabilistic model hands :func:`maximize` a function returning the
weighted log-likelihood (and optionally its gradient and Hessian) of the *log*
of its parameters. Optimising log-parameters keeps them positive without
bounds; dividing by the number of customers keeps the objective well scaled.

A fit ends in exactly one of three ways:

1. an interior maximum: the gradient is zero, the remaining Newton step is a
   small share of every standard error and the information matrix is positive
   definite, with no standard error so large that the data say nothing;
2. :class:`~custvalue.errors.ConvergenceError` with the optimiser's message; or
3. an edge of the parameter space: the likelihood keeps rising as some
   parameters run to 0 or infinity (or it does not depend on them at all).
   Those parameters are not identified by the data; the estimates returned
   are those of the limit, the others are maximised given it, and the result
   says which parameters are not identified and how.

Runaways are caught while they happen: once a log-parameter has moved far
from its reference scale (the model's first, data-based, starting point), the
likelihood is probed further out along the path; if it is no lower there the
climb stops instead of creeping on towards infinity.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from custvalue.errors import ConvergenceError
from custvalue.grouping import group_rows

SAMPLE_ROWS = 20_000
#: A boundary probe runs once a log-parameter is this far from its reference scale (a factor e^6 ≈ 400) ...
DRIFT_CHECK = 6.0
#: ... and again after each further move of this much.
DRIFT_STEP = 3.0
#: Estimates at an edge stop at most this far from the reference scale (a factor e^12 ≈ 160,000).
EDGE_DRIFT = 12.0
#: A log-parameter with a variance above this (a standard error above 5: values e^10 ≈ 22,000 times larger
#: or smaller inside its 95% interval) is not identified by the data.
FLAT_VARIANCE = 25.0
#: Converged when the remaining Newton step is below this share of every standard error ...
STEP_SE_SHARE = 0.01
#: ... and every entry of the gradient of the mean log-likelihood below this, or of the total log-likelihood
#: below GRADIENT_TOL_TOTAL (a gain of 0.05 for a move by a factor e: nothing, for a few hundred customers).
GRADIENT_TOL = 1e-5
GRADIENT_TOL_TOTAL = 0.05
#: Iterations of the first climb (Newton with exact Hessians, else L-BFGS), of the final Newton polish, and
#: of the Newton steps that maximise the other parameters at a probe point.
CLIMB_STEPS = 300
POLISH_STEPS = {2: 100, 1: 12, 0: 8}
PROFILE_STEPS = 4

LogLik = Callable[[np.ndarray], float]
#: What a log-likelihood of order 0, 1 or 2 returns: the value, with the gradient, with gradient and Hessian.
LogLikValue = float | tuple[float, np.ndarray] | tuple[float, np.ndarray, np.ndarray]
Objective = Callable[..., Any]  # evaluate(z, want, free=None), see objective()
#: profile(z, fixed) -> (z', value): the objective maximised over the coordinates not ``fixed``, from z.
Profile = Callable[[np.ndarray, np.ndarray], tuple[np.ndarray, float]]


def compress(
    columns: dict[str, np.ndarray], weights: np.ndarray | None = None
) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """Collapse identical rows into one row with a weight (the number of customers it stands for).

    Real summaries live on a day grid, so many customers share the same
    (x, t_x, T); fitting on unique rows gives the same likelihood for less
    work. When a random sample shows (almost) no repeated rows (continuous
    times), the rows are used as they are: grouping would cost more than it saves.
    """
    arrays = {name: np.asarray(values, dtype=float) for name, values in columns.items()}
    n = len(next(iter(arrays.values())))
    w = np.ones(n) if weights is None else np.asarray(weights, dtype=float)
    if n > 4 * SAMPLE_ROWS:
        sample = np.random.default_rng(0).choice(n, SAMPLE_ROWS, replace=False)
        if _rarely_repeated({name: values[sample] for name, values in arrays.items()}, 0.01):
            return arrays, w
    rows, counts, _ = group_rows(pd.DataFrame(arrays), w)
    return {name: rows[name].to_numpy() for name in rows.columns}, counts


def _rarely_repeated(columns: dict[str, np.ndarray], share: float) -> bool:
    """Are fewer than ``share`` of the rows equal to an earlier row? A column with fewer repeated values
    settles it without comparing whole rows: rows repeat no more often than the values of any one column."""
    n = len(next(iter(columns.values())))
    for values in columns.values():
        ordered = np.sort(values)
        if np.count_nonzero(ordered[1:] == ordered[:-1]) < share * n:
            return True
    return bool(pd.DataFrame(columns).duplicated().mean() < share)


def subsample(
    data: dict[str, np.ndarray], weights: np.ndarray, size: int, seed: int
) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """About ``size`` rows drawn with probability proportional to their weight (for warm starts)."""
    rng = np.random.default_rng(seed)
    uniform = rng.random(size)
    if np.all(weights == weights[0]):  # rows alike: the draw is a row number, without the cumulative weights
        drawn = np.minimum((uniform * len(weights)).astype(np.int64), len(weights) - 1)
    else:
        # Inverse-CDF draws, as Generator.choice(p=...) makes them without its checks of p (a few passes over it).
        cdf = np.cumsum(weights, dtype=float)
        drawn = np.searchsorted(cdf / cdf[-1], uniform, side="right")
    idx, counts = np.unique(drawn, return_counts=True)
    return {k: v[idx] for k, v in data.items()}, counts.astype(float)


def _indices(k: int, free: np.ndarray | None) -> list[int]:
    """The coordinates in ``free`` (all ``k`` by default)."""
    return list(range(k)) if free is None else [int(i) for i in np.flatnonzero(free)]


def numeric_gradient(loglik: LogLik, x: np.ndarray, step: float = 1e-6, free: np.ndarray | None = None) -> np.ndarray:
    """Central-difference gradient, used where the model has no closed form (0 outside ``free``)."""
    grad = np.zeros_like(x)
    for i in _indices(len(x), free):
        h = step * max(1.0, abs(x[i]))
        up, down = x.copy(), x.copy()
        up[i] += h
        down[i] -= h
        grad[i] = (loglik(up) - loglik(down)) / (2 * h)
    return grad


def forward_gradient(loglik: LogLik, x: np.ndarray, center: float, step: float = 1e-7,
                     free: np.ndarray | None = None) -> np.ndarray:
    """Forward-difference gradient (0 outside ``free``): half the evaluations of central differences, for
    the first climb (Newton's method then polishes with :func:`value_derivatives`)."""
    grad = np.zeros_like(x)
    for i in _indices(len(x), free):
        h = step * max(1.0, abs(x[i]))
        up = x.copy()
        up[i] += h
        grad[i] = (loglik(up) - center) / h
    return grad


def value_derivatives(value: Callable[[np.ndarray], float], x: np.ndarray, center: float, step: float = 1e-4,
                      free: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Gradient and Hessian from one stencil of function values, both with O(h²) error (0 outside ``free``).

    f(x ± h_i) give the gradient and the diagonal; f(x + h_i + h_j) and f(x − h_i − h_j) the rest:
    ``H_ij = [f(++) − f(+i) − f(+j) + 2f − f(−i) − f(−j) + f(−−)] / (2 h_i h_j)``. That is 1 + k(k+1)
    values for k coordinates (21 for four) instead of 1 + 2k + 2k² with separate differences.
    """
    k = len(x)
    h = step * np.maximum(1.0, np.abs(x))
    grad = np.zeros(k)
    hess = np.zeros((k, k))
    index = _indices(k, free)
    up, down = {}, {}
    for i in index:
        shift = np.zeros(k)
        shift[i] = h[i]
        up[i], down[i] = value(x + shift), value(x - shift)
        grad[i] = (up[i] - down[i]) / (2 * h[i])
        hess[i, i] = (up[i] - 2 * center + down[i]) / h[i] ** 2
    for a, i in enumerate(index):
        for j in index[a + 1:]:
            shift = np.zeros(k)
            shift[[i, j]] = h[[i, j]]
            both = value(x + shift) - up[i] - up[j] + 2 * center - down[i] - down[j] + value(x - shift)
            hess[i, j] = hess[j, i] = both / (2 * h[i] * h[j])
    return grad, hess


def numeric_hessian(gradient: Callable[[np.ndarray], np.ndarray], x: np.ndarray, step: float = 1e-5,
                    free: np.ndarray | None = None) -> np.ndarray:
    """Hessian by central differences of a gradient, symmetrised (0 outside the columns of ``free``)."""
    k = len(x)
    hess = np.zeros((k, k))
    for i in _indices(k, free):
        h = step * max(1.0, abs(x[i]))
        up, down = x.copy(), x.copy()
        up[i] += h
        down[i] -= h
        hess[:, i] = (gradient(up) - gradient(down)) / (2 * h)
    return (hess + hess.T) / 2


@dataclass(frozen=True)
class MLEResult:
    """What :func:`maximize` found.

    ``converged`` is True only at an interior maximum. Otherwise
    ``unidentified`` maps the index of each parameter the data do not identify
    to how: ``"down"`` or ``"up"`` (running to 0 or infinity, or to −∞ or +∞
    for a coefficient) or ``"flat"`` (the likelihood hardly depends on it
    there). Their rows and columns of ``covariance_log`` are NaN; the others
    hold the covariance of the identified parameters given the unidentified ones.
    """

    log_params: np.ndarray
    log_likelihood: float
    message: str
    covariance_log: np.ndarray  # covariance of the log-parameters (inverse observed information)
    converged: bool = True
    unidentified: dict[int, str] = field(default_factory=dict)


def natural(z: np.ndarray, n_positive: int | None = None) -> np.ndarray:
    """Parameters from the optimiser's scale: the first ``n_positive`` are logs, the rest (coefficients) as is."""
    z = np.asarray(z, dtype=float)
    k = len(z) if n_positive is None else n_positive
    with np.errstate(over="ignore"):
        return np.concatenate([np.exp(z[:k]), z[k:]])


def objective(f: Callable, n: float, order: int, penalizer: float, n_positive: int | None = None) -> Objective:
    """``evaluate(z, want)``: the penalised objective ``f/n − penalizer·Σθ²`` and its derivatives up to
    ``want``, numerical beyond the ``order`` that f offers. The first ``n_positive`` entries of z are
    log-parameters (all by default), the rest covariate coefficients on their own scale."""

    def evaluate(z: np.ndarray, want: int, free: np.ndarray | None = None) -> LogLikValue:
        """The objective at ``z`` with ``want`` derivatives; numerical ones only with respect to ``free``."""
        theta = natural(z, n_positive)
        # d(θ²)/dz is 2θ² for a log-parameter and 2θ for a coefficient; the second derivatives 4θ² and 2.
        positive = np.arange(len(z)) < (len(z) if n_positive is None else n_positive)
        d1 = np.where(positive, 2 * theta**2, 2 * theta)
        d2 = np.where(positive, 4 * theta**2, 2.0)
        if order >= want:
            out = f(z, want)
            out = out if isinstance(out, tuple) else (out,)
        elif order == 1:  # want == 2
            out = (*f(z, 1), numeric_hessian(lambda q: f(q, 1)[1], z, 1e-4, free))
        elif want == 1:
            value = f(z, 0)
            out = (value, forward_gradient(lambda q: f(q, 0), z, value, free=free))
        else:
            value = f(z, 0)
            out = (value, *value_derivatives(lambda q: f(q, 0), z, value, free=free))
        # The penalty is 0 without a penalizer, also where θ² overflows.
        v = out[0] / n - (penalizer * float(np.sum(theta**2)) if penalizer else 0.0)
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
        with np.errstate(all="ignore"):
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
    reference: np.ndarray | None = None,
    advice: str = "try a penalizer (e.g. penalizer=0.01)",
) -> MLEResult:
    """Maximise a log-likelihood of log-parameters: an interior maximum, an edge, or ConvergenceError.

    ``loglik(z, order)`` returns the log-likelihood (order 0), with its
    gradient (1) or with gradient and Hessian (2); ``order`` says the highest
    the model offers. The objective is ``loglik / n_customers − penalizer ·
    Σ θ²`` (lifetimes' ``penalizer_coef``). ``reference`` is the scale of each
    log-parameter that the data suggest (the first start by default): the
    boundary probes watch the drift away from it. ``advice`` ends the message
    of a ConvergenceError.

    The basin is found on ``warm_start_loglik`` (a subsample) when given, else
    on the full data: by Newton's method where the model has a Hessian, by
    L-BFGS otherwise. Newton's method with a backtracking line search then
    converges on the full data, with finite-difference Hessians where the
    model gives none; the last Hessian gives the covariance. Starts are tried
    in turn until one reaches an interior maximum higher than any edge found
    before it; failing that, the highest edge is returned (see :class:`MLEResult`).

    Raises :class:`~custvalue.errors.ConvergenceError` with the optimiser's
    message when no start reaches an interior maximum or an edge.
    """
    full = objective(loglik, n_customers, order, penalizer, n_positive)
    warm = objective(warm_start_loglik, 1.0, order, penalizer, n_positive) if warm_start_loglik is not None else full
    ref = np.asarray(starts[0] if reference is None else reference, dtype=float)
    edges: list[tuple[float, MLEResult]] = []
    messages = []
    for start in starts:
        with np.errstate(all="ignore"):
            outcome = _climb(full, warm, np.asarray(start, dtype=float), order, n_customers, ref)
        if isinstance(outcome, str):
            messages.append(outcome)
            continue
        value, result = outcome
        if not result.converged:
            edges.append((value, result))
            if len(edges) == 2:  # two starts led to an edge: a third would too
                break
        elif all(value >= other - _tolerance(value) for other, _ in edges):
            return _with_loglik(result, loglik)
        else:
            messages.append(f"an interior maximum below the likelihood at an edge ({result.message})")
    if edges:
        return _with_loglik(max(edges, key=lambda pair: pair[0])[1], loglik)
    raise ConvergenceError(
        f"{model_name}: maximum likelihood did not converge from {len(starts)} start(s): {messages[-1]}. "
        f"To fit: {advice}; check the summary for outliers; or fit on more customers.",
        optimizer_message=messages[-1],
    )


def _with_loglik(result: MLEResult, loglik: Callable) -> MLEResult:
    """``result`` with the log-likelihood (unpenalised, all customers) at its estimates."""
    with np.errstate(all="ignore"):
        value = float(loglik(result.log_params, 0))
    return MLEResult(result.log_params, value, result.message, result.covariance_log, result.converged,
                     result.unidentified)


def _tolerance(value: float) -> float:
    """How much two values of the mean objective may differ by rounding alone."""
    return 1e-10 * max(1.0, abs(value))


@dataclass(frozen=True)
class _Point:
    """The objective at ``z`` with its gradient and Hessian (per customer, log scale)."""

    z: np.ndarray
    value: float
    grad: np.ndarray
    hess: np.ndarray

    @classmethod
    def at(cls, evaluate: Objective, z: np.ndarray, free: np.ndarray | None = None) -> _Point:
        """The point ``z``, with derivatives with respect to the coordinates in ``free`` (all by default)."""
        value, grad, hess = evaluate(z, 2, free)
        return cls(z, value, grad, hess)


def _climb(full: Objective, warm: Objective, start: np.ndarray, order: int, n: float,
           ref: np.ndarray) -> tuple[float, MLEResult] | str:
    """One start: (objective value, result) at an interior maximum or an edge, or why neither was reached."""
    if not np.isfinite(warm(start, 0)):
        return "the log-likelihood is not finite at the starting point"
    watch = _Watch(warm, ref, profile=_profiler(warm, n))
    if order == 2:
        point, status = newton(warm, start, CLIMB_STEPS, 1e-10, watch=watch, n_customers=n, exact=True)
        z, message = point.z, f"Newton's method: {status}"
    else:
        z, message = _lbfgs(warm, start, watch)
    if not np.all(np.isfinite(z)):
        return f"non-finite estimates ({message})"
    if watch.direction is not None:
        direction = watch.direction if warm is full else _leads_to_edge(full, z, watch.direction, ref)
        if direction is not None:
            return _settle(full, z, direction, n, ref, order, message)
    elif watch.lost:
        return f"the estimates ran off (on the log scale to {np.round(z, 2)}) without a limit in sight ({message})"
    watch = _Watch(full, ref, start_drift=_drift(z, ref), profile=_profiler(full, n))
    point, status = newton(full, z, POLISH_STEPS[min(order, 2)], 1e-7 if order == 2 else 1e-6, watch=watch,
                           n_customers=n, se_stop=order < 2, exact=order == 2)
    message = f"{message}; then Newton's method: {status}"
    if watch.direction is not None:
        return _settle(full, point.z, watch.direction, n, ref, order, message)
    if watch.lost:
        return (f"the estimates ran off (on the log scale to {np.round(point.z, 2)}) without a limit in sight "
                f"({message})")
    verdict = _assess(point, n)
    if verdict.interior:
        return point.value, MLEResult(point.z, np.nan, message, verdict.covariance)
    direction = None if verdict.direction is None else _leads_to_edge(full, point.z, verdict.direction, ref)
    if direction is None and verdict.flat.any():
        # Where the likelihood is flat, it may still rise slowly towards an edge along its flattest directions.
        direction = _find_edge(full, point.z, point.z, ref, np.ones(len(point.z), dtype=bool), point.hess,
                               _profiler(full, n))
    if direction is not None or verdict.flat.any():
        return _settle(full, point.z, np.zeros_like(point.z) if direction is None else direction, n, ref, order,
                       message)
    return f"{message}; stopped short of a maximum: {verdict.problem}"


class _Watch:
    """Follows an optimiser's path; stops it once the path leads to an edge of the parameter space.

    Only the coordinates in ``free`` are watched (by default all).
    """

    def __init__(self, evaluate: Objective, ref: np.ndarray, free: np.ndarray | None = None,
                 start_drift: float = 0.0, profile: Profile | None = None):
        self.evaluate = evaluate
        self.profile = profile
        self.ref = ref
        self.free = np.ones(len(ref), dtype=bool) if free is None else free
        self.path: list[np.ndarray] = []
        self.next_check = max(DRIFT_CHECK, start_drift + DRIFT_STEP)
        self.direction: np.ndarray | None = None  # the way to the edge, once found
        self.lost = False  # far beyond any edge probe without finding one

    def __call__(self, z: np.ndarray, hess: np.ndarray | None = None) -> bool:
        """True to stop: the path leads to an edge (``direction`` set) or has run off (``lost``).

        ``hess``, the Hessian at ``z`` when the optimiser has it, saves computing it for the probes.
        """
        self.path.append(np.array(z, dtype=float))
        drift = _drift(z, self.ref, self.free)
        if drift < self.next_check:
            return False
        self.next_check = drift + DRIFT_STEP
        # Maximising the other parameters at each probe point finds ridges that bend as they run off; it is
        # kept for parameters already far out, so that nearer in the climb can choose between edges.
        profile = self.profile if drift >= EDGE_DRIFT else None
        self.direction = _find_edge(self.evaluate, z, self.path[max(0, len(self.path) - 4)], self.ref, self.free,
                                    hess, profile)
        self.lost = self.direction is None and drift > 2 * EDGE_DRIFT
        return self.direction is not None or self.lost


def _find_edge(evaluate: Objective, z: np.ndarray, earlier: np.ndarray, ref: np.ndarray, free: np.ndarray,
               hess: np.ndarray | None = None, profile: Profile | None = None) -> np.ndarray | None:
    """A direction from ``z`` along which the objective never falls (see :func:`_leads_to_edge`), or None.

    Tried in turn: the way the path came from ``earlier`` (all of it, then its largest moves only, each
    also with the other parameters maximised when ``profile`` is given: a ridge that bends as it runs
    off), then the least curved directions of the objective at ``z`` (those of a ridge running off, or
    of a parameter the likelihood does not depend on).
    """
    moved = np.where(free, z - earlier, 0.0)
    for share in (0.25, 0.9):
        direction = _leads_to_edge(evaluate, z, moved, ref, share, profile)
        if direction is not None:
            return direction
    if hess is None:
        hess = evaluate(z, 2, free)[2]
    if not np.all(np.isfinite(hess)):
        return None
    eigenvalues, vectors = np.linalg.eigh(-hess[np.ix_(free, free)])
    for i in range(min(2, len(eigenvalues))):
        v = np.zeros(len(z))
        v[free] = vectors[:, i]
        v = np.where(np.abs(v) >= 0.25 * np.max(np.abs(v)), v, 0.0)
        v = v if float(v @ (z - ref)) >= 0 else -v  # outward
        direction = _leads_to_edge(evaluate, z, v, ref, 0.0)
        if direction is not None:
            return direction
    return None


def _drift(z: np.ndarray, ref: np.ndarray, among: np.ndarray | None = None) -> float:
    """The largest distance of a log-parameter (of those in ``among``) from its reference scale."""
    away = np.abs(np.asarray(z) - ref)
    return float(np.max(away if among is None else np.where(among, away, 0.0), initial=0.0))


def _leads_to_edge(evaluate: Objective, z: np.ndarray, direction: np.ndarray, ref: np.ndarray,
                   share: float = 0.25, profile: Profile | None = None) -> np.ndarray | None:
    """The outward part of ``direction`` if the objective is no lower 2 and 6 log-units further along it,
    as it is or (with ``profile``) with the other coordinates maximised at each point.

    Only coordinates moving away from their reference scale, and by at least
    ``share`` of the largest move, count: the others are still settling.
    """
    size = float(np.max(np.abs(direction), initial=0.0))
    if not np.isfinite(size) or size < 1e-8:
        return None
    d = direction / size
    outward = (np.abs(d) >= share) & (d * (z - ref) >= 0)
    if not outward.any():
        return None
    d = np.where(outward, d, 0.0)

    def never_falls(values: list[float]) -> bool:
        tol = _tolerance(values[0])
        return bool(np.all(np.isfinite(values)) and values[1] >= values[0] - tol and values[2] >= values[1] - tol)

    if never_falls([evaluate(z + k * d, 0) for k in (0.0, 2.0, 6.0)]):
        return d
    if profile is not None and not outward.all() and never_falls([profile(z + k * d, outward)[1]
                                                                 for k in (0.0, 2.0, 6.0)]):
        return d
    return None


def _lbfgs(evaluate: Objective, start: np.ndarray, watch: _Watch) -> tuple[np.ndarray, str]:
    """L-BFGS from ``start``, stopped early by ``watch``; (the last point, the optimiser's message)."""
    from scipy import optimize  # loaded on the first fit, not at import

    def negated(z: np.ndarray) -> tuple[float, np.ndarray]:
        value, grad = evaluate(z, 1)
        if not np.isfinite(value) or not np.all(np.isfinite(grad)):
            return np.inf, np.zeros_like(z)
        return -value, -grad

    last = [start]

    def callback(intermediate_result: Any) -> None:
        last[0] = intermediate_result.x
        if watch(intermediate_result.x):
            raise StopIteration

    # Bounds far beyond any edge probe keep a long line search from leaping to e^100.
    bounds = [(r - 2 * EDGE_DRIFT, r + 2 * EDGE_DRIFT) for r in watch.ref]
    res = optimize.minimize(negated, start, jac=True, method="L-BFGS-B", callback=callback, bounds=bounds,
                            options={"maxiter": CLIMB_STEPS, "gtol": 1e-9, "ftol": 1e-13})
    z = res.x if np.all(np.isfinite(res.x)) else last[0]
    return np.asarray(z, dtype=float), f"L-BFGS-B: {res.message}"


def newton(objective: Objective, z: np.ndarray, max_steps: int = 100, tol: float = 1e-10,
           free: np.ndarray | None = None, watch: _Watch | None = None,
           n_customers: float | None = None, se_stop: bool = False,
           exact: bool = False) -> tuple[_Point, str]:
    """Newton's method with backtracking on the coordinates in ``free`` (all by default).

    With ``exact`` (a Hessian in closed form, a small multiple of the value's cost) the full step is
    evaluated with its derivatives at once and kept when the objective rose: one pass over the data
    per step instead of a value for the line search and then the derivatives. A step shorter than
    ``tol`` in every coordinate is not taken: the point is already the maximum to that precision. A
    step after which the next would be shorter than a tenth of ``tol`` (judged from the quadratic
    convergence of the last two) is the last: it is checked by the objective's value alone.

    Returns the last point (with the derivatives there) and why it stopped:
    ``"converged"`` (no coordinate moved, or would move, by more than ``tol`` or, with
    ``se_stop``, the next step is below a tenth of STEP_SE_SHARE of every
    standard error: for finite-difference Hessians, each costing many
    likelihood evaluations), ``"no further gain"`` (a step gained less than
    1e-9 in the total log-likelihood of ``n_customers``, or nothing),
    ``"line search failed"``, ``"edge"`` (``watch`` stopped it),
    ``"non-finite derivatives"`` or ``"step limit"``.
    """
    point = _Point.at(objective, np.asarray(z, dtype=float), free)
    free = np.ones(len(z), dtype=bool) if free is None else free
    if not np.isfinite(point.value):
        return point, "non-finite log-likelihood"
    previous = 0.0  # the largest move of the last full Newton step, 0 before one
    for _ in range(max_steps):
        if not (np.all(np.isfinite(point.grad)) and np.all(np.isfinite(point.hess))):
            return point, "non-finite derivatives"
        # Ascent direction from the negated Hessian, its eigenvalues made positive if needed.
        eigenvalues, vectors = np.linalg.eigh(-point.hess[np.ix_(free, free)])
        eigenvalues = np.maximum(np.abs(eigenvalues), 1e-10 * max(1.0, float(np.max(np.abs(eigenvalues)))))
        step = np.zeros_like(point.z)
        step[free] = vectors @ ((vectors.T @ point.grad[free]) / eigenvalues)
        if se_stop and n_customers and eigenvalues_positive(point.hess, free):
            se = np.sqrt(np.sum(vectors**2 / eigenvalues, axis=1) / n_customers)
            if np.all(np.abs(step[free]) <= 0.1 * STEP_SE_SHARE * se):
                return point, "converged"
        largest = float(np.max(np.abs(step)))
        if exact and largest < tol and eigenvalues_positive(point.hess, free):
            return point, "converged"
        if exact and previous and _last_step(largest, previous, tol) and eigenvalues_positive(point.hess, free):
            last = _final_step(objective, point, step)
            if last is not None:
                return last, "edge" if watch is not None and watch(last.z, last.hess) else "converged"
        # Far from the top the quadratic model is poor: move at most a factor e^1 per parameter.
        scale = min(1.0, 1.0 / max(largest, 1e-300))
        value = point.value
        accepted = None
        if exact and scale == 1.0 and np.all(np.abs(point.z + step) < 60):
            full_step = _Point.at(objective, point.z + step, free)
            if np.isfinite(full_step.value) and full_step.value >= value - 1e-15 * abs(value):
                accepted = full_step
            else:
                scale = 0.5
        while accepted is None:
            if scale <= 1e-3:  # ten halvings: beyond, the direction is noise
                return point, "line search failed"
            candidate = point.z + scale * step
            candidate_value = objective(candidate, 0) if np.all(np.abs(candidate) < 60) else -np.inf
            if np.isfinite(candidate_value) and candidate_value >= value - 1e-15 * abs(value):
                accepted = _Point.at(objective, candidate, free)
            else:
                scale /= 2
        point = accepted
        previous = largest if scale == 1.0 else 0.0
        if watch is not None and watch(point.z, point.hess):
            return point, "edge"
        if np.max(np.abs(scale * step)) < tol:
            return point, "converged"
        gain = point.value - value
        if 0 <= gain < max(1e-15 * max(1.0, abs(value)), 1e-9 / (n_customers or np.inf)):
            return point, "no further gain"
    return point, "step limit"


def _last_step(largest: float, previous: float, tol: float) -> bool:
    """Will the Newton step after one of ``largest`` move no coordinate by more than a tenth of ``tol``?

    Newton's method converges quadratically: each step is about c times the square of the one before,
    and c is measured by the last two (taken as at least 1, should they understate it).
    """
    rate = max(1.0, largest / previous**2)
    return rate * largest**2 <= 0.1 * tol


def _final_step(objective: Objective, point: _Point, step: np.ndarray) -> _Point | None:
    """``point`` moved by a last Newton ``step``, checked by the objective's value alone (None if it fell).

    The gradient there is the quadratic model's, wrong by about the square of the step (see
    :func:`_last_step`); the Hessian is that of ``point``, wrong by about the step (below 1e-4), which
    moves standard errors by as little.
    """
    z = point.z + step
    value = objective(z, 0)
    # The gain of so small a step may lie below the rounding of a sum over many rows (about 1e-14 of the
    # value): only a fall beyond that speaks against the quadratic model.
    if not (np.isfinite(value) and value >= point.value - 1e-12 * abs(point.value)):
        return None
    return _Point(z, float(value), point.grad + point.hess @ step, point.hess)


def eigenvalues_positive(hess: np.ndarray, free: np.ndarray) -> bool:
    """Is the negated Hessian positive definite on ``free`` (the Newton step a step towards a maximum)?"""
    return bool(np.all(np.linalg.eigvalsh(-hess[np.ix_(free, free)]) > 0))


@dataclass(frozen=True)
class _Verdict:
    interior: bool
    concave: bool  # the information matrix is positive definite
    covariance: np.ndarray
    flat: np.ndarray  # coordinates the data hardly inform (variance above FLAT_VARIANCE)
    direction: np.ndarray | None  # where the objective still rises, when not at an interior maximum
    problem: str


def _assess(point: _Point, n: float, free: np.ndarray | None = None) -> _Verdict:
    """Is ``point`` an interior maximum over the coordinates in ``free``? Gradient, step and information checks."""
    k = len(point.z)
    free = np.ones(k, dtype=bool) if free is None else free
    covariance = np.full((k, k), np.nan)
    flat = np.zeros(k, dtype=bool)
    if not (np.isfinite(point.value) and np.all(np.isfinite(point.grad)) and np.all(np.isfinite(point.hess))):
        return _Verdict(False, False, covariance, flat, None, "non-finite derivatives")
    index = np.flatnonzero(free)
    info = -(point.hess + point.hess.T)[np.ix_(free, free)] / 2
    g = point.grad[free]
    eigenvalues, vectors = np.linalg.eigh(info)
    # A direction carrying information below 1/FLAT_VARIANCE (total log-likelihood units) is not identified.
    weak = eigenvalues * n < 1.0 / FLAT_VARIANCE
    if weak.any():
        flat[index] = np.any(np.abs(vectors[:, weak]) > 0.3, axis=1)
    if eigenvalues[0] <= 0:
        # Not a maximum: the ascent lies along the least concave direction, whichever way the gradient points.
        v = vectors[:, 0]
        direction = np.zeros(k)
        direction[free] = v if float(v @ g) >= 0 else -v
        return _Verdict(False, False, covariance, flat, direction, "the information matrix is not positive definite")
    inverse = (vectors / eigenvalues) @ vectors.T
    variance = np.diag(inverse) / n
    flat[index] |= variance > FLAT_VARIANCE
    step = np.zeros(k)
    step[free] = inverse @ g
    ratio = float(np.max(np.abs(step[free]) / np.sqrt(variance)))
    gradient = float(np.max(np.abs(g), initial=0.0))
    covariance[np.ix_(free, free)] = inverse / n
    interior = bool(gradient <= max(GRADIENT_TOL, GRADIENT_TOL_TOTAL / n) and ratio <= STEP_SE_SHARE
                    and not flat.any())
    problem = (f"largest gradient {gradient:.2g}, remaining step {ratio:.2g} standard errors"
               + (", standard errors above 5 on the log scale" if flat.any() else ""))
    return _Verdict(interior, True, covariance, flat, None if interior else step, problem)


def _settle(evaluate: Objective, z: np.ndarray, direction: np.ndarray, n: float, ref: np.ndarray, order: int,
            message: str) -> tuple[float, MLEResult] | str:
    """Estimates at an edge: push the runaway coordinates to the limit, maximise the others given them.

    ``direction`` is the way to the edge (zero where the likelihood is flat at an interior point).
    Coordinates the data hardly inform once there are not identified either ("flat").
    """
    k = len(z)
    running = direction != 0
    profile = _profiler(evaluate, n)
    z = _push(evaluate, _pull_back(evaluate, z, direction, ref, n), direction, n, ref, profile)
    point = None
    for _ in range(k):  # each round may find another coordinate running off
        free = ~running
        if not free.any():
            break
        watch = _Watch(evaluate, ref, free, start_drift=_drift(z, ref, free), profile=profile)
        point, _ = newton(evaluate, z, POLISH_STEPS[min(order, 2)], 1e-7, free=free, watch=watch,
                          n_customers=n, se_stop=order < 2)
        z = point.z
        if watch.direction is None:
            break
        running |= watch.direction != 0
        z = _push(evaluate, _pull_back(evaluate, z, watch.direction, ref, n), watch.direction, n, ref, profile)
        point = None
    if point is None:
        point = _Point.at(evaluate, z, ~running)
    unidentified = {int(i): _side(z, ref, int(i)) for i in np.flatnonzero(running)}
    covariance = np.full((k, k), np.nan)
    free = ~running
    if free.any():
        verdict = _assess(point, n, free)
        if not (verdict.interior or verdict.flat.any()):
            return f"{message}; at the edge the other parameters have no maximum ({verdict.problem})"
        unidentified.update({int(i): _side(z, ref, int(i), "flat") for i in np.flatnonzero(verdict.flat)})
        known = free & ~verdict.flat
        if known.any():
            covariance = _assess(point, n, known).covariance
    if running.any():
        # A probe fooled by a slow approach to a maximum far out: the likelihood is curved in every direction
        # here. Newton's method on every parameter finds that maximum, or runs off again.
        whole = _assess(_Point.at(evaluate, z), n)
        if whole.concave and not whole.flat.any():
            watch = _Watch(evaluate, ref, start_drift=_drift(z, ref))
            polished, status = newton(evaluate, z, POLISH_STEPS[min(order, 2)], 1e-7, watch=watch,
                                      n_customers=n, se_stop=order < 2)
            verdict = _assess(polished, n)
            if watch.direction is None and verdict.interior:
                return polished.value, MLEResult(polished.z, np.nan, f"{message}; then Newton's method: {status}",
                                                 verdict.covariance)
    if not unidentified:
        return f"{message}; an edge was probed but not confirmed"
    # Parameters the likelihood does not tell apart beyond the edge drift go back to it (each by the same
    # amount), so that predictions are those of the limit without the numbers of a far-off point.
    far = np.zeros(k, dtype=bool)
    far[list(unidentified)] = True
    far &= np.abs(z - ref) > EDGE_DRIFT
    if far.any():
        back = _pull_back(evaluate, z, np.where(far, np.sign(z - ref), 0.0), ref, n)
        if back is not z:
            z, point = back, _Point.at(evaluate, back, ~running)
            known = ~running & ~np.isnan(np.diag(covariance))
            if known.any():
                covariance = _assess(point, n, known).covariance
    return point.value, MLEResult(z, np.nan, f"{message}; estimates at an edge of the parameter space",
                                  covariance, False, unidentified)


def _side(z: np.ndarray, ref: np.ndarray, i: int, near: str = "") -> str:
    """"down" or "up": the edge coordinate ``i`` went to; ``near`` when it is still near its reference scale."""
    if near and abs(z[i] - ref[i]) <= DRIFT_CHECK:
        return near
    return "down" if z[i] < ref[i] else "up"


def _pull_back(evaluate: Objective, z: np.ndarray, direction: np.ndarray, ref: np.ndarray, n: float) -> np.ndarray:
    """``z`` moved back along ``direction`` to the edge drift, if the optimiser overshot it and the
    log-likelihood there is lower by less than 1e-3 (nothing any test could tell): the limit is reached."""
    running = direction != 0
    excess = _drift(z, ref, running) - EDGE_DRIFT
    if excess <= 0:
        return z
    value = evaluate(z, 0)
    # Back along the way it came, or every runaway coordinate by the same amount (a ridge keeps its ratios).
    for back in (excess / float(np.max(np.abs(direction))) * direction, excess * np.sign(z - ref) * running):
        candidate = z - back
        if evaluate(candidate, 0) >= value - max(_tolerance(value), 1e-3 / n):
            return candidate
    return z


def _push(evaluate: Objective, z: np.ndarray, direction: np.ndarray, n: float, ref: np.ndarray,
          profile: Profile | None = None) -> np.ndarray:
    """Move along ``direction`` while the objective rises (the other coordinates maximised at each point,
    given ``profile``), until the gain is negligible or the edge drift.

    Negligible: less than 1e-4 in total log-likelihood for a further factor e^2.
    """
    running = direction != 0
    value = evaluate(z, 0)
    for _ in range(int(EDGE_DRIFT)):
        candidate = z + 2.0 * direction
        if _drift(candidate, ref, running) > EDGE_DRIFT:
            break
        candidate_value = evaluate(candidate, 0)
        if profile is not None and not running.all() and not candidate_value >= value - _tolerance(value):
            candidate, candidate_value = profile(candidate, running)
        if not np.isfinite(candidate_value) or candidate_value < value - _tolerance(value):
            break
        z, gain, value = candidate, candidate_value - value, candidate_value
        if gain * n < 1e-4:
            break
    return z


def _profiler(evaluate: Objective, n: float) -> Profile:
    """``profile(z, fixed)``: a few Newton steps on the coordinates not ``fixed``, from ``z``."""

    def profile(z: np.ndarray, fixed: np.ndarray) -> tuple[np.ndarray, float]:
        point, _ = newton(evaluate, z, PROFILE_STEPS, 1e-6, free=~fixed, n_customers=n)
        return point.z, float(point.value)

    return profile


def judge(loglik: Callable, z: np.ndarray, n: float, order: int, penalizer: float, reference: np.ndarray,
          n_positive: int | None = None, optimizer: str = "lifetimes") -> MLEResult:
    """The verdict on estimates ``z`` found by another optimiser: converged only at an interior maximum;
    otherwise the parameters the data do not identify there (flat, or far out at an edge).

    Raises :class:`~custvalue.errors.ConvergenceError` when ``z`` is neither.
    """
    full = objective(loglik, n, order, penalizer, n_positive)
    z = np.asarray(z, dtype=float)
    ref = np.asarray(reference, dtype=float)
    with np.errstate(all="ignore"):
        point = _Point.at(full, z)
        verdict = _assess(point, n)
        if verdict.interior:
            return _with_loglik(MLEResult(z, np.nan, optimizer, verdict.covariance), loglik)
        far = np.abs(z - ref) > DRIFT_CHECK
        unidentified = {int(i): _side(z, ref, int(i), "flat") for i in np.flatnonzero(verdict.flat | far)}
        if not unidentified:
            raise ConvergenceError(f"the estimates of {optimizer} are not a maximum of the likelihood: "
                                   f"{verdict.problem}", optimizer_message=verdict.problem)
        known = ~(verdict.flat | far)
        covariance = _assess(point, n, known).covariance if known.any() else np.full((len(z), len(z)), np.nan)
        return _with_loglik(MLEResult(z, np.nan, f"{optimizer}: estimates at an edge of the parameter space",
                                      covariance, False, unidentified), loglik)
