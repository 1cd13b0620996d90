"""BG/CNBD-k and MBG/CNBD-k: BG/NBD and MBG/NBD for customers who buy on a rhythm.

The times between a customer's purchases are Erlang-k (the sum of k exponential stages) instead of
exponential: for k > 1 purchases come more regularly than a Poisson process's, and a long silence
says more about dropout. k = 1 is BG/NBD (MBG/NBD) exactly. The regularity k is a whole number
chosen by maximum likelihood (which needs each customer's ``litt``, the sum of the logs of the
times between their purchases: :func:`custvalue.summarize` gives it), or fixed with ``k=``.
Likelihood and predictions are those of :mod:`custvalue.models._regularity`.

References: T. Reutterer, M. Platzer and N. Schröder (2021), "Leveraging purchase regularity for
predicting customer behavior the easy way", International Journal of Research in Marketing 38(1),
doi:10.1016/j.ijresmar.2020.09.002; the R package BTYDplus (M. Platzer), which implements the same
likelihood; P. S. Fader, B. G. S. Hardie and K. L. Lee (2005) for BG/NBD and E. P. Batislam, M. Denizel
and A. Filiztekin (2007) for MBG/NBD.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, ClassVar, cast

import numpy as np
import pandas as pd

from custvalue.checks import check_counts, check_int, check_number
from custvalue.errors import ConvergenceError, InvalidParameterError, SchemaError
from custvalue.models._base import BaseModel, Role, summary_weights
from custvalue.models._betageo import LIKELIHOOD_ROWS, BetaGeoFamily, Rows, prepare_rows
from custvalue.models._mle import MLEResult, compress, maximize, natural, subsample
from custvalue.models._nbd import observation_times
from custvalue.models._regularity import (
    PhasePosterior,
    alive_later,
    count_distribution,
    discounted_and_mean_given_alive,
    discounted_given_alive,
    litt_term,
    mean_given_alive,
    phase_posterior,
    regular_loglik,
)
from custvalue.models._scenario import ScaledPurchases
from custvalue.models._transactions import log_arguments, transaction_log, with_first_purchases

#: The regularities the search tries, as BTYDplus does.
SEARCH_TICKS = range(1, 13)


def bgcnbd_loglik(log_params: np.ndarray, data: dict[str, np.ndarray], weights: np.ndarray, k: int,
                  order: int = 0) -> float | tuple:
    """Weighted BG/CNBD-k log-likelihood with its gradient (order 1) and Hessian (order 2) in the
    log-parameters (log r, log α, log a, log b, covariate coefficients…).

    ``data`` holds ``frequency``, ``recency``, ``T`` and, optionally, ``litt``; without ``litt``
    the value leaves out the term (k−1)·Σ litt, which does not involve the parameters.

    Examples
    --------
    >>> import numpy as np
    >>> import custvalue as cv
    >>> summary = cv.summarize(cv.datasets.load_cdnow(sample=True), observation_end="1997-09-30")
    >>> data = {c: summary[c].to_numpy(dtype=float) for c in ("frequency", "recency", "T", "litt")}
    >>> z = np.log([0.2426, 4.4136, 0.7929, 2.4259])
    >>> round(bgcnbd_loglik(z, data, np.ones(len(summary)), k=1), 2)  # BG/NBD's (Fader et al. 2005)
    -9582.43
    """
    return _loglik_of(log_params, data, weights, k, order, shift=0)


def mbgcnbd_loglik(log_params: np.ndarray, data: dict[str, np.ndarray], weights: np.ndarray, k: int,
                   order: int = 0) -> float | tuple:
    """Weighted MBG/CNBD-k log-likelihood, as :func:`bgcnbd_loglik` with a dropout chance at the first purchase.

    Examples
    --------
    >>> import numpy as np
    >>> import custvalue as cv
    >>> summary = cv.summarize(cv.datasets.load_cdnow(sample=True), observation_end="1997-09-30")
    >>> data = {c: summary[c].to_numpy(dtype=float) for c in ("frequency", "recency", "T", "litt")}
    >>> z = np.log([0.525, 6.183, 0.891, 1.614])
    >>> bool(mbgcnbd_loglik(z, data, np.ones(len(summary)), k=1) > mbgcnbd_loglik(z, data, np.ones(len(summary)), k=2))
    True
    """
    return _loglik_of(log_params, data, weights, k, order, shift=1)


def _loglik_of(log_params: np.ndarray, data: dict[str, np.ndarray], weights: np.ndarray, k: int, order: int,
               shift: int) -> float | tuple:
    ticks = check_int(k, "k", low=1)
    weights = np.asarray(weights, dtype=float)
    rows = prepare_rows({key: v for key, v in data.items() if key != "litt"}, weights)
    out = regular_loglik(log_params, rows, order, shift, ticks)
    if "litt" not in data:
        return out
    extra = litt_term(ticks, float(weights @ np.asarray(data["litt"], dtype=float)), float(weights @ rows.x))
    if isinstance(out, tuple):
        return (out[0] + extra, *out[1:])
    return out + extra


def _same_rate(log_params: np.ndarray, k_from: int, k_to: int) -> np.ndarray:
    """Log-parameters at regularity ``k_to`` with the purchase rate λ/k of ``k_from``'s: α times k_from/k_to."""
    out = np.array(log_params, dtype=float)
    out[1] -= np.log(k_to / k_from)
    return out


class RegularBetaGeoFamily(BetaGeoFamily):
    """What BG/CNBD-k and MBG/CNBD-k share; a subclass sets ``shift`` as for BG/NBD and MBG/NBD.

    The fitted regularity is ``k_``; with ``k=None`` the log-likelihood of each k fitted to the end is in
    ``log_likelihood_by_k_`` (and the AIC and BIC of :meth:`summary` count k as a parameter).
    """

    scenario_knobs: ClassVar[tuple[str, ...]] = ("purchase_rate",)  # type: ignore[assignment]
    extra_state_fields: ClassVar[tuple[str, ...]] = ("k", "log_likelihood_by_k")

    def __init__(self, k: int | None = None, penalizer: float = 0.0, engine: str = "native",
                 purchase_covariates: list[str] | None = None, dropout_covariates: list[str] | None = None):
        super().__init__(penalizer, engine, purchase_covariates, dropout_covariates)
        self.k = k

    def _check_hyper_parameters(self) -> None:
        super()._check_hyper_parameters()
        self._given_ticks()

    # -- regularity ------------------------------------------------------------------------------
    def _given_ticks(self) -> int | None:
        return None if self.k is None else check_int(self.k, "k", low=1)

    @property
    def ticks(self) -> int:
        """The regularity in use: the fitted ``k_``."""
        self._check_fitted()
        return int(self.k_)

    def required_columns(self) -> tuple[str, ...]:
        """The prediction columns; an unfitted model that must choose k also reads ``litt``."""
        base = super().required_columns()
        return (*base, "litt") if self.k is None and not self.is_fitted else base

    @classmethod
    def from_params(cls, hyper_parameters: dict | None = None, **params: float) -> BaseModel:
        """A fitted model with known parameters; ``k`` is one of them unless the hyper-parameters fix it.

        Examples
        --------
        >>> from custvalue.models import BetaGeoCNBD
        >>> BetaGeoCNBD.from_params(k=2, r=0.85, alpha=1.45, a=0.79, b=2.42).k_
        2
        """
        given = params.pop("k", None)
        fixed = (hyper_parameters or {}).get("k")
        if given is None and fixed is None:
            raise InvalidParameterError(f"{cls.__name__}.from_params needs the regularity k, e.g. "
                                        f"{cls.__name__}.from_params(k=2, r=0.85, alpha=1.45, a=0.79, b=2.42)")
        if given is not None and fixed is not None and check_int(given, "k", low=1) != check_int(fixed, "k", low=1):
            raise InvalidParameterError(f"k={given!r} differs from the hyper-parameter k={fixed!r}; give one of them")
        model = cast(RegularBetaGeoFamily, super().from_params(hyper_parameters, **params))
        model.k_ = check_int(given if given is not None else fixed, "k", low=1)
        model.log_likelihood_by_k_ = None
        return model

    def _extra_state(self) -> dict[str, Any]:
        by_k = getattr(self, "log_likelihood_by_k_", None)
        return {"k": self.k_, "log_likelihood_by_k": None if by_k is None else
                {str(key): float(value) for key, value in by_k.items()}}

    def _restore_extra_state(self, data: dict[str, Any]) -> None:
        self.k_ = int(data["k"])
        by_k = data.get("log_likelihood_by_k")
        self.log_likelihood_by_k_ = None if by_k is None else \
            pd.Series({int(key): float(value) for key, value in by_k.items()}, name="log_likelihood").rename_axis("k")

    def summary(self) -> pd.DataFrame:
        """Estimates with standard errors (given k) and 95% intervals; ``attrs`` add ``k`` and, when k was
        chosen, count it in the AIC and BIC."""
        table = super().summary()
        searched = getattr(self, "log_likelihood_by_k_", None) is not None
        size = len(self.params_) + searched
        table.attrs.update(k=self.k_, aic=2 * size - 2 * self.log_likelihood_,
                           bic=size * np.log(max(self.n_customers_, 1)) - 2 * self.log_likelihood_)
        return table

    def __repr__(self) -> str:
        text = super().__repr__()
        return text.replace("  fitted: ", f"  fitted: k={self.k_}, ", 1) if self.is_fitted else text

    # -- fitting -----------------------------------------------------------------------------------
    def loglik(self, log_params: np.ndarray, data: dict[str, np.ndarray], weights: np.ndarray,
               order: int = 0) -> float | tuple:
        return regular_loglik(log_params, prepare_rows(data, weights), order, self.shift, self.ticks)

    def _starts_for(self, data: dict[str, np.ndarray], ticks: int) -> list[np.ndarray]:
        """The BG/NBD starts with α divided by k: the same purchase rate λ/k at r = 1."""
        return [_same_rate(start, 1, ticks) for start in self._starts(data)]

    @staticmethod
    def _blocks(data: dict[str, np.ndarray], weights: np.ndarray) -> list[Rows]:
        size = LIKELIHOOD_ROWS
        return [prepare_rows({key: v[start:start + size] for key, v in data.items()}, weights[start:start + size])
                for start in range(0, len(weights), size)]

    def _bound(self, blocks: list[Rows], ticks: int, scale: float = 1.0) -> Callable[[np.ndarray, int], Any]:
        """loglik(z, order) of prepared blocks at regularity ``ticks``, divided by ``scale``; the last
        evaluation is kept (the optimiser asks again for the value where it has the derivatives)."""
        last: dict[str, Any] = {}

        def bound(z: np.ndarray, order: int) -> Any:
            key = np.asarray(z, dtype=float).tobytes()
            if last.get("key") != key or last["order"] < order:
                total: list[Any] = [0.0] * (order + 1)
                for rows in blocks:
                    parts = regular_loglik(z, rows, order, self.shift, ticks)
                    total = [t + part for t, part in zip(total, parts if isinstance(parts, tuple) else (parts,))]
                last.update(key=key, order=order, out=tuple(t / scale for t in total))
            out = last["out"]
            return out[0] if order == 0 else out[:order + 1]

        return bound

    def fit(self, summary: pd.DataFrame, weights: np.ndarray | pd.Series | str | None = None
            ) -> RegularBetaGeoFamily:
        """Fit r, α, a, b by maximum likelihood, at the given k or at the k (1 to 12) that fits best.

        Without ``k=``, the search climbs from k = 1 and stops once the log-likelihood (with its litt
        term) has fallen twice in a row, as BTYDplus does; on more than ``warm_start_rows`` distinct
        rows the climb runs on a subsample first and then from its best k on all rows, to a k whose
        neighbours fit worse. The standard errors are those given the chosen k.

        Parameters
        ----------
        summary : DataFrame
            Customer summary with ``frequency``, ``recency``, ``T`` and, to choose k, ``litt``
            (:func:`custvalue.summarize` gives them all).
        weights : array-like or str, optional
            How many identical customers each row stands for.

        Examples
        --------
        >>> import custvalue as cv
        >>> summary = cv.summarize(cv.datasets.load_cdnow(sample=True), observation_end="1997-09-30")
        >>> m = cv.models.get("mbgcnbd").fit(summary)
        >>> m.k_, m.params_.round(3).tolist()  # no regularity in CDNOW: MBG/NBD (Batislam et al. 2007)
        (1, [0.525, 6.183, 0.891, 1.614])
        """
        self._check_hyper_parameters()
        ticks = self._given_ticks()
        if self.engine != "native":
            raise InvalidParameterError(f"engine={self.engine!r} is not available for {type(self).__name__}: "
                                        "lifetimes has no regularity model; use engine='native'")
        if not isinstance(summary, pd.DataFrame):
            raise SchemaError(f"{type(self).__name__} needs a customer summary DataFrame, got {type(summary).__name__}")
        has_litt = "litt" in summary.columns
        if ticks is None and not has_litt:
            raise SchemaError(
                f"{type(self).__name__} chooses its regularity k from the column 'litt' (the sum of the logs of "
                "each customer's times between purchases), which the summary lacks. How to fix: build the "
                "summary with custvalue.summarize(transactions), which adds litt, or fix k, e.g. "
                f"custvalue.models.get({self.name!r}, k=2)")
        given_weights = summary_weights(summary, weights)
        data, w = self._fit_data(summary, given_weights)
        every = np.ones(len(summary)) if w is None else np.asarray(w, dtype=float)
        litt_total = None
        if has_litt:
            litt = summary["litt"].to_numpy(dtype=float)
            if not np.all(np.isfinite(litt)):
                raise SchemaError("litt must be finite numbers (0 for customers without repeat purchases); "
                                  "rebuild the summary with custvalue.summarize")
            litt_total = float(every @ litt)
        x_total = float(every @ data["frequency"])
        data, w = compress(data, w)
        n = float(w.sum())
        blocks = self._blocks(data, w)
        warm_blocks, warm_scale = None, 1.0
        if len(w) > self.warm_start_rows:
            sub_data, sub_w = subsample(data, w, self.warm_start_rows, seed=0)
            warm_blocks, warm_scale = self._blocks(sub_data, sub_w), float(sub_w.sum())

        def constant(k: int, share: float = 1.0) -> float:
            if litt_total is None:
                return 0.0 if k == 1 else np.nan
            return litt_term(k, litt_total * share, x_total * share)

        def fit_at(k: int, starts: list[np.ndarray], on_subsample: bool = False) -> MLEResult:
            # Runaways are judged against the scales the data suggest at k, not against a start taken from
            # another k's fit (which may itself lie at an edge).
            reference = self._starts_for(data, k)[0]
            if on_subsample:
                return maximize(self._bound(cast(list, warm_blocks), k), starts, warm_scale, 2, float(self.penalizer),
                                type(self).__name__, n_positive=len(self.param_names), reference=reference)
            warm = self._bound(warm_blocks, k, warm_scale) if warm_blocks is not None else None
            return maximize(self._bound(blocks, k), starts, n, 2, float(self.penalizer), type(self).__name__,
                            warm_start_loglik=warm, n_positive=len(self.param_names), reference=reference)

        if ticks is not None:
            result, chosen, by_k = fit_at(ticks, self._starts_for(data, ticks)), ticks, None
        else:
            chosen, results = self._search(data, fit_at, constant, warm_blocks is not None, warm_scale / n,
                                           lambda k, z: self._bound(blocks, k)(z, 2))
            result = results[chosen]
            by_k = pd.Series({k: res.log_likelihood + constant(k) for k, res in sorted(results.items())},
                             name="log_likelihood").rename_axis("k")
        params = dict(zip(self.parameter_names(), natural(result.log_params, len(self.param_names))))
        self.k_ = int(chosen)
        self._finish_fit(params, result, n, summary, given_weights, result.log_likelihood + constant(chosen))
        self.log_likelihood_by_k_ = by_k
        return self

    def _search(self, data: dict[str, np.ndarray], fit_at: Callable[..., MLEResult],
                constant: Callable[..., float], large: bool, share: float,
                at_point: Callable[[int, np.ndarray], tuple]) -> tuple[int, dict[int, MLEResult]]:
        """The chosen k and the fits run to the end: BTYDplus's climb on the rows (or on the subsample of a
        large summary, then a climb on all rows from its best k to a k whose neighbours both fit worse).

        On all rows a neighbour is dismissed without fitting it to the end when, at its subsample
        optimum, its log-likelihood plus ten times the Newton decrement ½gᵀ(−H)⁻¹g (the quadratic
        estimate of what fitting could still gain) plus one stays below the best k's.
        """
        results: dict[int, MLEResult] = {}
        climbed = self._climb(data, lambda k, starts: fit_at(k, starts, on_subsample=large),
                              lambda k, res: res.log_likelihood + constant(k, share if large else 1.0), results)
        if not large:
            return climbed, results
        guides, results = results, {}
        full: dict[int, float] = {}

        def guide_at(k: int) -> np.ndarray:
            # The subsample's optimum at k (or at the nearest k tried, at the same purchase rate λ/k).
            nearest = min(guides, key=lambda g: abs(g - k))
            return _same_rate(guides[nearest].log_params, nearest, k)

        def dismissed(k: int) -> float | None:
            best = max(full.values(), default=-np.inf)
            if not np.isfinite(best):
                return None
            value, grad, hess = at_point(k, guide_at(k))
            try:
                gain = 0.5 * float(grad @ np.linalg.solve(-hess, grad))
                np.linalg.cholesky(-hess)
            except np.linalg.LinAlgError:
                return None
            total = float(value) + constant(k)
            return total if np.isfinite(total) and total + 10.0 * gain + 1.0 < best else None

        def evaluate(k: int) -> float:
            if k not in full:
                lower = dismissed(k)
                if lower is not None:
                    full[k] = lower
                    return lower
                try:
                    results[k] = fit_at(k, [guide_at(k), *self._starts_for(data, k)])
                    full[k] = results[k].log_likelihood + constant(k)
                except ConvergenceError:
                    if k == climbed:
                        raise
                    full[k] = -np.inf
            return full[k]

        k = climbed
        while True:
            here = evaluate(k)
            up = evaluate(k + 1) if k + 1 in SEARCH_TICKS else -np.inf
            down = evaluate(k - 1) if k - 1 in SEARCH_TICKS else -np.inf
            if here >= up and here >= down:
                return k, results
            k = k + 1 if up > down else k - 1

    def _climb(self, data: dict[str, np.ndarray], fit_at: Callable[[int, list[np.ndarray]], MLEResult],
               total: Callable[[int, MLEResult], float], results: dict[int, MLEResult]) -> int:
        """BTYDplus's search: k = 1, 2, … 12, each started from the last optimum, until the log-likelihood
        falls twice in a row or a fit fails; the best k tried."""
        values: dict[int, float] = {}
        previous: np.ndarray | None = None
        for k in SEARCH_TICKS:
            starts = self._starts_for(data, k)
            if previous is not None:
                starts = [_same_rate(previous, k - 1, k), *starts]
            try:
                results[k] = fit_at(k, starts)
            except ConvergenceError:
                if k == 1:
                    raise
                break
            previous = results[k].log_params
            values[k] = total(k, results[k])
            if k > 2 and values[k] < values[k - 1] < values[k - 2]:
                break
        return max(values, key=lambda key: values[key])

    # -- predictions -------------------------------------------------------------------------------
    def _phase_posterior(self, x: np.ndarray, t_x: np.ndarray, T: np.ndarray, r: float, alpha: Any, a: Any,
                         b: Any, horizon: np.ndarray | None = None) -> PhasePosterior:
        with np.errstate(all="ignore"):
            return phase_posterior(np.asarray(x, dtype=float), np.asarray(t_x, dtype=float),
                                   np.asarray(T, dtype=float), r, alpha, a, b, self.ticks, self.shift, horizon)

    def _grouped_posterior(self, summary: pd.DataFrame) -> PhasePosterior:
        """The posterior of the customers of ``summary``, grouped by what their predictions given the phase
        depend on: (x, α_i + T, a_i, b_i)."""
        x, t_x, T = self._summary_arrays(summary)
        return self._phase_posterior(x, t_x, T, *self._p(summary))

    def _new_customer(self, size: int, horizon: np.ndarray | None = None) -> Any:
        """Customers just acquired (no repeat purchase, T = 0), ``size`` of them, each with a ``horizon``."""
        zeros = np.zeros(size)
        r, alpha, a, b = self._p()
        return self._phase_posterior(zeros, zeros, zeros, r, alpha, a, b, horizon)

    def p_alive(self, summary: pd.DataFrame, future_t: float = 0.0) -> pd.Series:
        """P(alive at T + future_t | x, t_x, T).

        At T it is 1 / (1 + δ(n>0) a/(b+n−1) (1−u)^−c / S(c, u)) (the ratio of the likelihood's two
        terms; BG/NBD's at k = 1); later it is multiplied by P(no dropout at the purchases in
        (T, T + future_t] | alive at T).

        Examples
        --------
        >>> import pandas as pd
        >>> from custvalue.models import BetaGeoCNBD
        >>> m = BetaGeoCNBD.from_params(k=3, r=0.85, alpha=1.45, a=0.79, b=2.42)
        >>> customers = pd.DataFrame({"frequency": [5.0, 5.0], "recency": [20.0, 30.0], "T": [32.0, 32.0]})
        >>> m.p_alive(customers).round(3).tolist()  # silent for 12 weeks after a purchase every 4 weeks
        [0.145, 0.881]
        """
        self._check_fitted()
        f = check_number(future_t, "future_t", low=0)
        post = self._grouped_posterior(summary)
        with np.errstate(all="ignore"):
            value = post.alive * alive_later(post, f)
        return self._series(summary, value, "p_alive")

    def expected_purchases(self, summary: pd.DataFrame, t: float) -> pd.Series:
        """E[purchases in (T, T+t] | x, t_x, T]: P(alive) × Σ_i E[(1−p)^(i−1)] P(i-th purchase by T + t),
        summed until the rest is below 1e-13 of the sum (no closed form for k > 1).

        Examples
        --------
        >>> import pandas as pd
        >>> from custvalue.models import BetaGeoCNBD
        >>> m = BetaGeoCNBD.from_params(k=3, r=0.85, alpha=1.45, a=0.79, b=2.42)
        >>> customers = pd.DataFrame({"frequency": [5.0, 5.0], "recency": [20.0, 30.0], "T": [32.0, 32.0]})
        >>> m.expected_purchases(customers, 12).round(3).tolist()
        [0.31, 1.577]
        """
        self._check_fitted()
        t = check_number(t, "horizon t", low=0)
        post = self._grouped_posterior(summary)
        with np.errstate(all="ignore"):
            value = post.alive * mean_given_alive(post, t)
        return self._series(summary, value, "expected_purchases")

    def purchase_probability(self, summary: pd.DataFrame, n: int | Sequence[int],
                             t: float) -> pd.Series | pd.DataFrame:
        """P(exactly n purchases in (T, T + t] | x, t_x, T): a Series for one n, a frame with a column per n.

        Examples
        --------
        >>> import pandas as pd
        >>> from custvalue.models import BetaGeoCNBD
        >>> m = BetaGeoCNBD.from_params(k=3, r=0.85, alpha=1.45, a=0.79, b=2.42)
        >>> customer = pd.DataFrame({"frequency": [5.0], "recency": [30.0], "T": [32.0]})
        >>> m.purchase_probability(customer, [0, 1, 2, 3], 12).round(3).values.tolist()
        [[0.171, 0.326, 0.313, 0.143]]
        """
        self._check_fitted()
        counts, single = check_counts(n)
        t = check_number(t, "horizon t", low=0)
        post = self._grouped_posterior(summary)
        with np.errstate(all="ignore"):
            table = count_distribution(post, np.array(counts, dtype=float), t)
        if single:
            return self._series(summary, table[:, 0], "purchase_probability")
        return pd.DataFrame(table, index=summary.index, columns=pd.Index(counts, name="n"))

    def discounted_purchases(self, summary: pd.DataFrame, horizon: float, delta: float) -> pd.Series:
        """Expected purchases in (T, T + horizon], each discounted by e^(−delta·s) at its time s after T.

        Up to delta·horizon = 5 an exact series: given the stages by T + horizon, the purchase times are
        uniform order statistics and each discount factor's expectation a Kummer function. Beyond it, and
        for an endless horizon, the discounted sum given the purchase rate (closed, or a bounded series)
        integrated over the posterior rate. ``horizon`` may be ``numpy.inf`` (then ``delta`` must be > 0).

        Examples
        --------
        >>> import pandas as pd
        >>> from custvalue.models import BetaGeoCNBD
        >>> m = BetaGeoCNBD.from_params(k=3, r=0.85, alpha=1.45, a=0.79, b=2.42)
        >>> customer = pd.DataFrame({"frequency": [5.0], "recency": [30.0], "T": [32.0]})
        >>> round(float(m.discounted_purchases(customer, 12, 0.0).iloc[0]), 3)  # undiscounted: expected_purchases
        1.577
        >>> round(float(m.dert(customer, 0.01).iloc[0]), 2)
        7.49
        """
        self._check_fitted()
        horizon = check_number(horizon, "horizon", low=0, finite=False)
        delta = check_number(delta, "delta", low=0)
        if np.isinf(horizon) and delta == 0:
            raise InvalidParameterError("delta=0 is not valid with horizon=inf: undiscounted purchases over an "
                                        "endless horizon need not be finite; pass a discount rate, e.g. delta=0.01")
        post = self._grouped_posterior(summary)
        with np.errstate(all="ignore"):
            given_alive = mean_given_alive(post, horizon) if delta == 0 else \
                discounted_given_alive(post, horizon, delta)
            value = post.alive * given_alive
        return self._series(summary, value, "discounted_purchases")

    def _scored_purchases(self, summary: pd.DataFrame, horizon: float, delta: float) -> dict[str, np.ndarray]:
        """Expected purchases, P(alive) and discounted purchases from one posterior, the first and last from one
        pass over the stage counts where the discounted purchases are a series."""
        self._check_fitted()
        horizon = check_number(horizon, "horizon", low=0)
        delta = check_number(delta, "delta", low=0)
        post = self._grouped_posterior(summary)
        with np.errstate(all="ignore"):
            alive = post.alive
            if delta == 0:
                mean = mean_given_alive(post, horizon)
                discounted = mean
            else:
                discounted, both_mean = discounted_and_mean_given_alive(post, horizon, delta)
                mean = cast(np.ndarray, both_mean)
            return {"expected_purchases": alive * mean, "p_alive": alive, "discounted_purchases": alive * discounted}

    def expected_purchases_new(self, t: float | np.ndarray) -> np.ndarray | float:
        """E[X(t)] for a customer just acquired: the conditional expectation for an empty history at T = 0.

        Examples
        --------
        >>> from custvalue.models import BetaGeoCNBD
        >>> m = BetaGeoCNBD.from_params(k=3, r=0.85, alpha=1.45, a=0.79, b=2.42)
        >>> m.expected_purchases_new([4.0, 52.0]).round(3).tolist()
        [0.472, 4.013]
        """
        self._check_fitted()
        times = np.asarray(t, dtype=float)
        if not np.all(np.isfinite(times) & (times >= 0)):
            raise InvalidParameterError(f"t={t!r} is not valid: times must be finite numbers >= 0")
        post = self._new_customer(times.size, horizon=times.ravel())
        with np.errstate(all="ignore"):
            value = (post.alive * mean_given_alive(post)).reshape(times.shape)
        return value if value.ndim else float(value)

    def probability_of_purchases(self, n: int | np.ndarray, t: float) -> np.ndarray | float:
        """P(X(t) = n) for a customer just acquired.

        Examples
        --------
        >>> from custvalue.models import BetaGeoCNBD
        >>> m = BetaGeoCNBD.from_params(k=3, r=0.85, alpha=1.45, a=0.79, b=2.42)
        >>> m.probability_of_purchases([0, 1, 2], 12).round(3).tolist()
        [0.359, 0.314, 0.145]
        """
        self._check_fitted()
        counts = np.asarray(n, dtype=float)
        if not np.all((counts >= 0) & (counts == np.floor(counts))):
            raise InvalidParameterError(f"n={n!r} is not valid: counts must be whole numbers >= 0")
        t = check_number(t, "horizon t", low=0)
        with np.errstate(all="ignore"):
            value = count_distribution(self._new_customer(1), counts.ravel(), t)[0].reshape(counts.shape)
        return value if value.ndim else float(value)

    # -- simulation --------------------------------------------------------------------------------
    def _draw_stages(self, rng: np.random.Generator, n_customers: int, T: np.ndarray,
                     frame: pd.DataFrame | None = None) -> tuple[np.ndarray, np.ndarray]:
        """(stages M of the unstopped process in (0, T], repeat purchase after which they drop out)."""
        r, alpha, a, b = self._p(frame)
        lam = rng.gamma(r, 1 / np.broadcast_to(alpha, (n_customers,)))
        p = rng.beta(np.broadcast_to(a, (n_customers,)), np.broadcast_to(b, (n_customers,)))
        # As BG/NBD: dropout follows the j-th dropout chance with probability p(1-p)^(j-1).
        return rng.poisson(lam * T), rng.geometric(p) - self.shift

    def simulate(self, n_customers: int, T: float | np.ndarray, seed: int | None = None,
                 covariates: pd.DataFrame | None = None) -> pd.DataFrame:
        """A customer summary drawn from the model, each customer observed for ``T`` units, with ``litt`` and
        the true state at T in ``alive``.

        The unstopped process makes M ~ Poisson(λT) stages in (0, T] and ⌊M/k⌋ purchases; the last
        purchase kept, the (kx)-th stage, is at T·Beta(kx, M − kx + 1), and the x times between purchases
        split it as t_x·Dirichlet(k, …, k) (the earlier stages are uniform on (0, t_x)).

        Examples
        --------
        >>> from custvalue.models import BetaGeoCNBD
        >>> m = BetaGeoCNBD.from_params(k=3, r=0.85, alpha=1.45, a=0.79, b=2.42)
        >>> list(m.simulate(3, 52.0, seed=1).columns)
        ['frequency', 'recency', 'T', 'litt', 'alive']
        """
        self._check_fitted()
        n_customers = check_int(n_customers, "n_customers", low=1)
        T = np.broadcast_to(np.asarray(T, dtype=float), (n_customers,)).copy()
        if not np.all(np.isfinite(T) & (T >= 0)):
            raise InvalidParameterError(f"T={T!r} is not valid: observation times must be finite numbers >= 0")
        k = self.ticks
        rng = np.random.default_rng(seed)
        stages, cap = self._draw_stages(rng, n_customers, T, self._simulation_frame(covariates))
        x = np.minimum(stages // k, cap)
        kx = k * x
        t_x = np.where(x > 0, T * rng.beta(np.maximum(kx, 1), np.maximum(stages - kx + 1, 1)), 0.0)
        shares = rng.gamma(k, 1.0, int(x.sum()))
        owner = np.repeat(np.arange(n_customers), x)
        log_share_sum = np.bincount(owner, weights=np.log(shares), minlength=n_customers)
        share_total = np.bincount(owner, weights=shares, minlength=n_customers)
        with np.errstate(divide="ignore", invalid="ignore"):
            litt = np.where(x > 0, x * (np.log(t_x) - np.log(np.where(x > 0, share_total, 1.0))) + log_share_sum, 0.0)
        out = pd.DataFrame({"frequency": x.astype(float), "recency": t_x, "T": T, "litt": litt,
                            "alive": stages // k < cap}, index=pd.RangeIndex(n_customers, name="customer_id"))
        return self._with_covariates(out, covariates)

    def sample(self, n_customers: int, seed: int | None = None) -> pd.DataFrame:
        """A summary of ``n_customers`` customers acquired over 78 weeks, drawn from the model (continuous
        times: rounding them to days would merge purchases and change litt).

        Examples
        --------
        >>> from custvalue.models import ModifiedBetaGeoCNBD
        >>> m = ModifiedBetaGeoCNBD.from_params(k=2, r=0.85, alpha=1.45, a=0.79, b=2.42)
        >>> len(m.sample(100, seed=0))
        100
        """
        rng = np.random.default_rng(seed)
        return self.simulate(n_customers, observation_times(rng, n_customers), seed=int(rng.integers(2**31)))

    def simulate_transactions(self, n_customers: int, T: float | np.ndarray, *, unit: str = "W",
                              observation_end: Any = None, spend_model: BaseModel | None = None,
                              seed: int | None = None) -> pd.DataFrame:
        """A transaction log drawn from the model: ``customer_id``, ``date`` and, with a fitted spend model,
        ``amount``; as :meth:`custvalue.models.BetaGeo.simulate_transactions`, with purchases at every k-th
        stage of the customer's Poisson process.

        Examples
        --------
        >>> from custvalue.models import BetaGeoCNBD
        >>> m = BetaGeoCNBD.from_params(k=3, r=0.85, alpha=1.45, a=0.79, b=2.42)
        >>> log = m.simulate_transactions(5, 52.0, observation_end="2024-12-31", seed=0)
        >>> list(log.columns), int(log["customer_id"].nunique())
        (['customer_id', 'date'], 5)
        """
        self._check_fitted()
        args = log_arguments(n_customers, T, unit, observation_end, spend_model, seed)
        n, T, k = args.n_customers, args.T, self.ticks
        stages, cap = self._draw_stages(args.rng, n, T)
        x = np.minimum(stages // k, cap)
        owner = np.repeat(np.arange(n), stages)
        times = args.rng.uniform(0.0, 1.0, len(owner)) * T[owner]
        order = np.lexsort((times, owner))
        owner, times = owner[order], times[order]
        rank = np.arange(len(owner)) - np.repeat(np.cumsum(stages) - stages, stages)
        kept = (rank % k == k - 1) & (rank // k < x[owner])  # every k-th stage, up to the dropout
        return transaction_log(*with_first_purchases(owner[kept], times[kept], n), args)

    def scenario(self, **knobs: float) -> BaseModel:
        """Purchases if customers bought ``purchase_rate`` times as fast: E(c·t), exact for any k (the stage
        process runs c times as fast). A ``dropout`` knob has no such exact form here, so there is none.

        Examples
        --------
        >>> from custvalue.models import BetaGeoCNBD
        >>> m = BetaGeoCNBD.from_params(k=3, r=0.85, alpha=1.45, a=0.79, b=2.42)
        >>> m.scenario(purchase_rate=1.2).time_scale
        1.2
        """
        k = self._check_knobs(knobs, {"purchase_rate": 1.0})
        return ScaledPurchases(self, time_scale=k["purchase_rate"])


class BetaGeoCNBD(RegularBetaGeoFamily):
    """BG/CNBD-k (Reutterer, Platzer & Schröder 2021): BG/NBD with Erlang-k times between purchases;
    parameters ``r, alpha, a, b`` and the regularity ``k_``.

    Parameters
    ----------
    k : int, optional
        The regularity (k = 1: BG/NBD). By default the k from 1 to 12 that fits best, which needs the
        summary's ``litt`` column (:func:`custvalue.summarize`).
    penalizer, purchase_covariates, dropout_covariates
        As for :class:`~custvalue.models.BetaGeo`.
    engine : {"native"}
        lifetimes has no regularity model.

    Examples
    --------
    >>> from custvalue.models import BetaGeoCNBD
    >>> truth = BetaGeoCNBD.from_params(k=3, r=0.85, alpha=1.45, a=0.79, b=2.42)  # BTYDplus's test values
    >>> m = BetaGeoCNBD().fit(truth.simulate(5000, 52.0, seed=1))
    >>> m.k_
    3
    """

    name = "bgcnbd"
    role = Role.PURCHASE
    shift = 0
    # BTYDplus's tests simulate from these (k = 3 there).
    example_params: ClassVar[dict[str, float]] = {"k": 2, "r": 0.85, "alpha": 1.45, "a": 0.79, "b": 2.42}


class ModifiedBetaGeoCNBD(RegularBetaGeoFamily):
    """MBG/CNBD-k (Reutterer, Platzer & Schröder 2021): MBG/NBD with Erlang-k times between purchases;
    the hyper-parameters of :class:`BetaGeoCNBD`.

    Examples
    --------
    >>> from custvalue.models import ModifiedBetaGeoCNBD
    >>> truth = ModifiedBetaGeoCNBD.from_params(k=2, r=0.85, alpha=1.45, a=0.79, b=2.42)
    >>> ModifiedBetaGeoCNBD().fit(truth.simulate(5000, 52.0, seed=2)).k_
    2
    """

    name = "mbgcnbd"
    role = Role.PURCHASE
    shift = 1
    example_params: ClassVar[dict[str, float]] = {"k": 2, "r": 0.85, "alpha": 1.45, "a": 0.79, "b": 2.42}
