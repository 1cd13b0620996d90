"""BG/BB: beta-geometric / beta-Bernoulli model for discrete-time data (Fader, Hardie & Shang 2010).

After a first transaction (opportunity 0) a customer has transaction
opportunities 1, 2, ... (one per unit of time: a yearly fundraiser, a weekly
event). At each one an alive customer transacts with probability
p ~ Beta(α, β); before each one they die with probability θ ~ Beta(γ, δ),
so they are alive at opportunity t with probability (1−θ)^t. The summary
has ``frequency`` (x, transactions at opportunities 1..n), ``recency`` (t_x,
the opportunity of the last one, 0 if none) and ``periods`` (n).

Given alive at n, the posteriors are p ~ Beta(α+x, β+n−x) and
θ ~ Beta(γ, δ+n), independent; every prediction is P(alive at n | x, t_x, n)
times an expectation under them (sums over future opportunities and death
times), so all are evaluated in log space and are finite for any positive
parameters, γ = 1 included.

Reference: P. S. Fader, B. G. S. Hardie and J. Shang (2010), "Customer-Base
Analysis in a Discrete-Time Noncontractual Setting", Marketing Science 29(6),
1086-1108 (circulated earlier as Fader, Hardie & Berger; "FHS" below) —
equations (5) likelihood, (6)-(7) new customers, (11) P(alive), (13)
conditional expectation, (14) DERT; Hardie's note 010 has the spreadsheet.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from scipy.special import betaln, digamma, gammaln, polygamma

from custvalue.checks import check_counts, check_int, check_number, invalid
from custvalue.errors import InvalidParameterError, SchemaError, format_examples
from custvalue.models._base import Ability, BaseModel, MLEModel, Role
from custvalue.models._beta_geometric import log_discounted_survival_sum, log_survival, log_survival_sum
from custvalue.models._transactions import log_arguments, transaction_log, with_first_purchases
from custvalue.models._weighted import wdot
from custvalue.models.gammagamma import customer_counts

if TYPE_CHECKING:
    from custvalue.models._mle import LogLikValue

# Random draws per block when simulating: keeps the (customers × opportunities) matrix small.
_DRAW_CELLS = 1 << 22
# Cells (rows × death times) per block of likelihood work: keeps the temporaries in cache.
_LIK_CELLS = 1 << 18


def _term_tables(theta: np.ndarray, top: int, order: int) -> list[dict[str, np.ndarray]]:
    """lnΓ (and ψ, ψ' up to ``order``) of α+j, β+j, α+β+j, δ+j, γ+δ+j for j = 0..top: every beta function in
    the likelihood is a combination of these, so each is computed once per evaluation, not once per cell."""
    alpha, beta, gamma, delta = theta
    j = np.arange(top + 2, dtype=float)
    functions = [gammaln, digamma, lambda v: polygamma(1, v)][: order + 1]
    return [{"a": f(alpha + j), "b": f(beta + j), "ab": f(alpha + beta + j), "d": f(delta + j),
             "gd": f(gamma + delta + j), "g": f(np.array([gamma, gamma + 1.0]))} for f in functions]


def _block(theta: np.ndarray, tables: list[dict[str, np.ndarray]], x: np.ndarray, t_x: np.ndarray,
           n: np.ndarray, weights: np.ndarray, order: int) -> tuple:
    """Row log-likelihoods of one block (order 0), or their weighted sum with gradient (and Hessian) in θ.

    Column 0 is "alive at n": B(α+x, β+n−x)/B(α,β) · B(γ, δ+n)/B(γ,δ); column i+1 is "died at
    opportunity t_x+i+1": B(α+x, β+t_x−x+i)/B(α,β) · B(γ+1, δ+t_x+i)/B(γ,δ), for i < n − t_x.
    """
    x, t_x, n = (v.astype(np.int64) for v in (x, t_x, n))
    width = int(np.max(n - t_x)) if len(n) else 0
    i = np.arange(width)
    died = t_x[:, None] + i                                   # the last opportunity alive
    valid = np.concatenate([np.ones((len(n), 1), bool), i < (n - t_x)[:, None]], axis=1)
    died = np.minimum(died, n[:, None])                       # (masked cells) keep indices in the tables
    # Index of each table per cell: β+(m−x), α+β+m, δ+m, γ+δ+m' with m the last opportunity alive.
    m = np.concatenate([n[:, None], died], axis=1)
    m_gd = np.concatenate([n[:, None], died + 1], axis=1)
    g_index = np.concatenate([np.zeros((len(n), 1), np.int64), np.ones_like(died)], axis=1)  # γ or γ+1
    xs = x[:, None]

    def parts(table: dict[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Per cell, the (α, β) pieces and (γ, δ) pieces: ln Γ(α+x), ln Γ(β+m−x) − ln Γ(α+β+m), ..."""
        return (np.broadcast_to(table["a"][xs], m.shape), table["b"][m - xs], table["ab"][m],
                table["g"][g_index] + table["d"][m] - table["gd"][m_gd])

    alpha, beta, gamma, delta = theta
    a_x, b_m, ab_m, death = parts(tables[0])
    log_terms = np.where(valid, a_x + b_m - ab_m + death, -np.inf) - betaln(alpha, beta) - betaln(gamma, delta)
    with np.errstate(under="ignore"):
        top = np.max(log_terms, axis=1, keepdims=True)
        shares = np.exp(log_terms - top)
        total = shares.sum(axis=1, keepdims=True)
        ll = (top + np.log(total))[:, 0]
        if order == 0:
            return (ll,)
        shares /= total                                       # each cell's share of its row's likelihood
        wshares = shares * weights[:, None]
    psi = tables[1]
    # Gradient of each cell's log: digamma differences, less those of the normalising beta functions.
    c_ab = digamma(alpha + beta)
    c_gd = digamma(gamma + delta)
    grads = [psi["a"][xs] - psi["ab"][m] - (digamma(alpha) - c_ab),
             psi["b"][m - xs] - psi["ab"][m] - (digamma(beta) - c_ab),
             psi["g"][g_index] - psi["gd"][m_gd] - (digamma(gamma) - c_gd),
             psi["d"][m] - psi["gd"][m_gd] - (digamma(delta) - c_gd)]
    grads = [np.where(valid, g, 0.0) for g in grads]
    row_grads = [np.sum(shares * g, axis=1) for g in grads]
    gradient = np.array([wdot(weights, g) for g in row_grads])
    if order == 1:
        return wdot(weights, ll), gradient
    tri = tables[2]
    t_ab, t_gd = polygamma(1, alpha + beta), polygamma(1, gamma + delta)
    second = {(0, 0): tri["a"][xs] - tri["ab"][m] - (polygamma(1, alpha) - t_ab),
              (0, 1): t_ab - tri["ab"][m],
              (1, 1): tri["b"][m - xs] - tri["ab"][m] - (polygamma(1, beta) - t_ab),
              (2, 2): tri["g"][g_index] - tri["gd"][m_gd] - (polygamma(1, gamma) - t_gd),
              (2, 3): t_gd - tri["gd"][m_gd],
              (3, 3): tri["d"][m] - tri["gd"][m_gd] - (polygamma(1, delta) - t_gd)}
    hessian = np.zeros((4, 4))
    for a in range(4):
        for b in range(a, 4):
            # Hessian of a log-sum-exp: Σ shares·(H + g gᵀ) − G Gᵀ, per row, weighted.
            cell = grads[a] * grads[b]
            if (a, b) in second:
                cell = cell + np.where(valid, second[(a, b)], 0.0)
            hessian[a, b] = hessian[b, a] = float(np.sum(wshares * cell)) - wdot(weights,
                                                                                 row_grads[a] * row_grads[b])
    return wdot(weights, ll), gradient, hessian


def _blocks(x: np.ndarray, t_x: np.ndarray, n: np.ndarray) -> list[slice]:
    """Row slices with about ``_LIK_CELLS`` cells each (a row has n − t_x + 1 cells)."""
    width = int(np.max(n - t_x)) + 1 if len(n) else 1
    step = max(1, _LIK_CELLS // width)
    return [slice(start, start + step) for start in range(0, len(n), step)]


def _log_lik_terms(alpha: float, beta: float, gamma: float, delta: float, x: np.ndarray, t_x: np.ndarray,
                   n: np.ndarray) -> np.ndarray:
    """log of each row's likelihood (FHS 2010, eq. 5): the customer is alive at n, or died at one of the
    opportunities t_x+1..n, the sum over those done in log space.

    ``L = B(α+x, β+n−x)/B(α,β) · B(γ, δ+n)/B(γ,δ)``
    ``+ Σ_{i=0}^{n−t_x−1} B(α+x, β+t_x−x+i)/B(α,β) · B(γ+1, δ+t_x+i)/B(γ,δ)``.
    """
    theta = np.array([alpha, beta, gamma, delta], dtype=float)
    tables = _term_tables(theta, int(np.max(n)) if len(n) else 0, 0)
    out = np.empty(len(n))
    for part in _blocks(x, t_x, n):
        out[part] = _block(theta, tables, x[part], t_x[part], n[part], np.ones(0), 0)[0]
    return out


def bgbb_loglik(log_params: np.ndarray, x: np.ndarray, t_x: np.ndarray, n: np.ndarray,
                weights: np.ndarray, order: int = 0) -> LogLikValue:
    """Weighted BG/BB log-likelihood (FHS 2010, eq. 5) of the log-parameters; with its gradient (order 1)
    and Hessian (order 2) with respect to them.

    Examples
    --------
    >>> import numpy as np, custvalue as cv
    >>> d = cv.datasets.load_donations()
    >>> z = np.log([1.204, 0.750, 0.657, 2.783])
    >>> round(bgbb_loglik(z, *(d[c].to_numpy(float) for c in ("frequency", "recency", "periods", "weights"))), 1)
    -33225.6
    """
    theta = np.exp(log_params)
    if order == 0:
        alpha, beta, gamma, delta = theta
        return wdot(weights, _log_lik_terms(alpha, beta, gamma, delta, x, t_x, n))
    tables = _term_tables(theta, int(np.max(n)) if len(n) else 0, order)
    total: list = [0.0, np.zeros(4), np.zeros((4, 4))][: order + 1]
    for part in _blocks(x, t_x, n):
        for k, piece in enumerate(_block(theta, tables, x[part], t_x[part], n[part], weights[part], order)):
            total[k] = total[k] + piece
    grad_z = theta * total[1]
    if order == 1:
        return total[0], grad_z
    return total[0], grad_z, np.outer(theta, theta) * total[2] + np.diag(grad_z)


def _distinct_rows(x: np.ndarray, t_x: np.ndarray,
                   n: np.ndarray) -> tuple[tuple[np.ndarray, np.ndarray, np.ndarray], np.ndarray]:
    """The distinct (x, t_x, n) of checked whole-number rows, and the index of each row's: discrete summaries
    repeat a few patterns many times, so predictions are computed per pattern."""
    top = int(np.max(n)) + 1 if len(n) else 1
    if top**3 < 2**62:
        key = (n.astype(np.int64) * top + t_x.astype(np.int64)) * top + x.astype(np.int64)
        unique, inverse = np.unique(key, return_inverse=True)
        ux, rest = unique % top, unique // top
        return (ux.astype(float), (rest % top).astype(float), (rest // top).astype(float)), inverse
    rows, inverse = np.unique(np.column_stack([x, t_x, n]), axis=0, return_inverse=True)
    return (rows[:, 0], rows[:, 1], rows[:, 2]), inverse.ravel()


def count_probabilities(A: np.ndarray, B: np.ndarray, G: float, D: np.ndarray, counts: Sequence[int],
                        t: int) -> np.ndarray:
    """P(k transactions in the next t opportunities) for customers alive now with p ~ Beta(A, B) and
    θ ~ Beta(G, D): one row per customer, one column per k in ``counts``.

    A customer who survives j of the t opportunities (probability E[(1−θ)^j θ] for j < t, E[(1−θ)^t]
    for j = t) transacts Binomial(j, p) times, so
    ``P(k) = Σ_{j=k}^{t−1} C(j,k) B(A+k, B+j−k)/B(A,B) · B(G+1, D+j)/B(G,D) + C(t,k) B(A+k, B+t−k)/B(A,B) ·
    B(G, D+t)/B(G,D)`` (FHS 2010, eq. 6, for a customer with history).

    Examples
    --------
    >>> import numpy as np
    >>> one = count_probabilities(np.array([1.0]), np.array([1.0]), 1.0, np.array([1.0]), [0, 1], t=1)
    >>> one.round(4).tolist()   # survives with probability 1/2, then buys with probability 1/2
    [[0.75, 0.25]]
    """
    A, B, D = (np.asarray(v, dtype=float)[:, None] for v in np.broadcast_arrays(A, B, D))
    out = np.zeros((A.shape[0], len(counts)))
    with np.errstate(under="ignore"):
        for col, k in enumerate(counts):
            if k > t:
                continue
            j = np.arange(k, t + 1, dtype=float)
            log_choose = gammaln(j + 1) - gammaln(k + 1) - gammaln(j - k + 1)
            purchase = betaln(A + k, B + j - k) - betaln(A, B)
            death = np.where(j < t, betaln(G + 1, D + j), betaln(G, D + j)) - betaln(G, D)
            out[:, col] = np.exp(log_choose + purchase + death).sum(axis=1)
    return np.clip(out, 0.0, 1.0)


class BetaGeoBetaBinom(MLEModel):
    """BG/BB model; parameters ``alpha, beta, gamma, delta``.

    Times count transaction opportunities (one per unit): ``t``, ``future_t``
    and ``horizon`` are whole numbers of them.

    Examples
    --------
    >>> import custvalue as cv
    >>> donations = cv.datasets.load_donations()
    >>> m = cv.models.get("bgbb").fit(donations)
    >>> m.params_.round(3).tolist(), round(m.log_likelihood_, 1)
    ([1.204, 0.75, 0.657, 2.783], -33225.6)
    >>> m.expected_purchases(donations, t=5).round(3).head(3).tolist()
    [0.073, 0.086, 0.314]
    """

    name = "bgbb"
    role = Role.PURCHASE
    abilities = frozenset({Ability.P_ALIVE, Ability.CONDITIONAL, Ability.PURCHASE_PROBABILITY, Ability.DISCOUNTING,
                           Ability.NEW_CUSTOMER, Ability.TRANSACTIONS, Ability.SIMULATION, Ability.INTERVALS,
                           Ability.WEIGHTED_ROWS})
    param_names = ("alpha", "beta", "gamma", "delta")
    parameter_meaning = {"alpha": "the transaction probability", "beta": "the transaction probability",
                         "gamma": "the dropout probability", "delta": "the dropout probability"}
    example_params = {"alpha": 1.204, "beta": 0.750, "gamma": 0.657, "delta": 2.783}  # donations, FHS (2010)
    lifetimes_fitter = "BetaGeoBetaBinomFitter"
    columns = ("frequency", "recency", "periods")
    derivative_order = 2

    def loglik(self, log_params: np.ndarray, data: dict[str, Any], weights: np.ndarray,
               order: int = 0) -> LogLikValue:
        return bgbb_loglik(log_params, data["frequency"], data["recency"], data["periods"], weights, order)

    def _arrays(self, summary: pd.DataFrame) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(x, t_x, n) of ``summary``, checked: whole numbers with 0 <= x <= t_x <= n, t_x = 0 when x = 0."""
        x, t_x, n = self._summary_arrays(summary)
        with np.errstate(invalid="ignore"):
            bad = ~(np.isfinite(x) & np.isfinite(t_x) & np.isfinite(n)) | (x < 0) | (x != np.floor(x)) \
                | (t_x != np.floor(t_x)) | (n != np.floor(n)) | (t_x < x) | (t_x > n) | ((x == 0) & (t_x != 0))
        if bad.any():
            raise SchemaError(
                "BG/BB needs whole numbers with 0 <= frequency <= recency <= periods (recency 0 when frequency is "
                f"0); {int(bad.sum()):,} row(s) break this, for example:\n"
                f"{format_examples(summary.loc[bad, list(self.columns)])}\nHow to fix: per customer, frequency "
                "counts the opportunities with a transaction after the first, recency is the last of them and "
                "periods the opportunities observed (see custvalue.datasets.load_donations() for the shape)")
        return x, t_x, n

    def _fit_data(self, summary: pd.DataFrame,
                  weights: np.ndarray | None) -> tuple[dict[str, np.ndarray], np.ndarray | None]:
        x, t_x, n = self._arrays(summary)
        return {"frequency": x, "recency": t_x, "periods": n}, weights

    def start_values(self, data: dict[str, np.ndarray]) -> list[np.ndarray]:
        return [np.zeros(4), np.log([0.5, 0.5, 0.5, 2.0]), np.log([2.0, 1.0, 1.0, 3.0])]

    def _log_alive(self, x: np.ndarray, t_x: np.ndarray, n: np.ndarray) -> np.ndarray:
        """ln P(alive at opportunity n | x, t_x, n): the first term of the likelihood over the whole,
        computed once per distinct (x, t_x, n)."""
        alpha, beta, gamma, delta = self._p()
        (ux, ut, un), inverse = _distinct_rows(x, t_x, n)
        first = (betaln(alpha + ux, beta + un - ux) - betaln(alpha, beta)
                 + betaln(gamma, delta + un) - betaln(gamma, delta))
        return np.minimum(first - _log_lik_terms(alpha, beta, gamma, delta, ux, ut, un), 0.0)[inverse]

    def _alive_and_rate(self, summary: pd.DataFrame) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """P(alive at n), E[p | alive, x, n] = (α+x)/(α+β+n), and n, per customer."""
        x, t_x, n = self._arrays(summary)
        alpha, beta, _, _ = self._p()
        with np.errstate(under="ignore"):
            return np.exp(self._log_alive(x, t_x, n)), (alpha + x) / (alpha + beta + n), n

    def _per_distinct(self, n: np.ndarray, log_sum: Any) -> np.ndarray:
        """``log_sum(b)`` with b = δ + n, evaluated once per distinct n."""
        unique, inverse = np.unique(n, return_inverse=True)
        return np.asarray(log_sum(self._p()[3] + unique))[inverse]

    def p_alive(self, summary: pd.DataFrame, future_t: float = 0.0) -> pd.Series:
        """P(alive at opportunity n + future_t | x, t_x, n).

        ``future_t = 1`` is FHS (2010) eq. 11 and lifetimes' ``conditional_probability_alive(1, ...)``;
        the default, 0, is the probability of being alive at the last opportunity observed.

        Examples
        --------
        >>> import custvalue as cv
        >>> m = cv.models.BetaGeoBetaBinom.from_params(**cv.models.BetaGeoBetaBinom.example_params)
        >>> d = cv.datasets.load_donations().iloc[[1, 21]]   # gave at opportunity 1 only; at all six
        >>> m.p_alive(d).round(4).tolist(), m.p_alive(d, future_t=1).round(4).tolist()
        ([0.0746, 1.0], [0.0694, 0.9304])
        """
        m = check_int(future_t, "future_t", low=0)
        x, t_x, n = self._arrays(summary)
        gamma = self._p()[2]
        with np.errstate(under="ignore"):
            value = np.exp(self._log_alive(x, t_x, n) + self._per_distinct(n, lambda b: log_survival(gamma, b, m)))
        return pd.Series(np.clip(value, 0.0, 1.0), index=summary.index, name="p_alive")

    def expected_purchases(self, summary: pd.DataFrame, t: float) -> pd.Series:
        """E[transactions in opportunities n+1..n+t | x, t_x, n] (FHS 2010, eq. 13).

        Evaluated as P(alive at n) · (α+x)/(α+β+n) · Σ_{k=1}^{t} E[(1−θ)^k] with
        θ ~ Beta(γ, δ+n); the sum in a closed form that stays finite at γ = 1
        (``custvalue.models._beta_geometric.log_survival_sum``).

        Examples
        --------
        >>> import custvalue as cv
        >>> m = cv.models.BetaGeoBetaBinom.from_params(alpha=1.2, beta=0.75, gamma=1.0, delta=2.8)
        >>> one = pd.DataFrame({"frequency": [3.0], "recency": [5.0], "periods": [6.0]})
        >>> round(float(m.expected_purchases(one, t=10).iloc[0]), 4)
        2.5623
        """
        t = check_int(t, "t", low=0)
        alive, rate, n = self._alive_and_rate(summary)
        if t == 0:
            value = np.zeros(len(n))
        else:
            gamma = self._p()[2]
            with np.errstate(under="ignore"):
                value = alive * rate * np.exp(self._per_distinct(n, lambda b: log_survival_sum(gamma, b, t)))
        return pd.Series(value, index=summary.index, name="expected_purchases")

    def discounted_purchases(self, summary: pd.DataFrame, horizon: float, delta: float) -> pd.Series:
        """Expected transactions in opportunities n+1..n+horizon, the one k opportunities ahead discounted
        by e^(−delta·k); ``horizon=numpy.inf`` gives DERT.

        ``delta`` is a continuous rate per opportunity: FHS (2010, eq. 14) discount
        by (1+d)^−k, so their DERT at rate d is ``dert(summary, delta=log(1+d))``.
        A finite horizon is the finite sum; the infinite one the closed form
        (in its integral form, evaluated to ~1e-11).

        Examples
        --------
        >>> import numpy as np, custvalue as cv
        >>> m = cv.models.BetaGeoBetaBinom.from_params(**cv.models.BetaGeoBetaBinom.example_params)
        >>> d = cv.datasets.load_donations().tail(1)   # gave at all 6 opportunities
        >>> round(float(m.dert(d, delta=np.log(1.1)).iloc[0]), 3)
        5.909
        """
        delta = check_number(delta, "delta", low=0)
        horizon = check_number(horizon, "horizon", low=0, finite=False)
        if np.isfinite(horizon):
            horizon = check_int(horizon, "horizon", low=0)
        alive, rate, n = self._alive_and_rate(summary)
        gamma = self._p()[2]
        if np.isinf(horizon) and delta == 0 and gamma <= 1:
            raise InvalidParameterError(
                f"with gamma = {gamma:.4g} <= 1 the expected number of all future transactions is infinite; "
                "discount them (delta > 0, e.g. dert(summary, delta=0.1)) or give a finite horizon")
        if horizon == 0:
            value = np.zeros(len(n))
        else:
            with np.errstate(under="ignore"):
                value = alive * rate * np.exp(self._per_distinct(
                    n, lambda b: log_discounted_survival_sum(gamma, b, delta, horizon)))
        return pd.Series(value, index=summary.index, name="discounted_purchases")

    def purchase_probability(self, summary: pd.DataFrame, n: int | Sequence[int],
                             t: float) -> pd.Series | pd.DataFrame:
        """P(exactly n transactions in opportunities n_obs+1..n_obs+t | x, t_x, n_obs): a Series for one n,
        a frame with a column per n for several.

        A customer dead by the last opportunity makes none; an alive one
        survives j of the t opportunities and transacts Binomial(j, p) times
        (``count_probabilities`` in this module), under the posteriors given alive.

        Examples
        --------
        >>> import custvalue as cv
        >>> m = cv.models.BetaGeoBetaBinom.from_params(**cv.models.BetaGeoBetaBinom.example_params)
        >>> d = cv.datasets.load_donations().tail(1)   # gave at all six opportunities
        >>> m.purchase_probability(d, [0, 1, 5], t=5).round(4).values.tolist()
        [[0.0768, 0.0668, 0.496]]
        """
        counts, single = check_counts(n)
        t = check_int(t, "t", low=0)
        x, t_x, n_obs = self._arrays(summary)
        alpha, beta, gamma, delta = self._p()
        (ux, ut, un), inverse = _distinct_rows(x, t_x, n_obs)
        with np.errstate(under="ignore"):
            alive = np.exp(self._log_alive(ux, ut, un))[:, None]
            given_alive = count_probabilities(alpha + ux, beta + un - ux, gamma, delta + un, counts, t)
            none = np.array([k == 0 for k in counts], dtype=float)[None, :]
            table = np.clip(alive * given_alive + (1 - alive) * none, 0.0, 1.0)[inverse]
        if single:
            return pd.Series(table[:, 0], index=summary.index, name="purchase_probability")
        return pd.DataFrame(table, index=summary.index, columns=pd.Index(counts, name="n"))

    def expected_purchases_new(self, t: float | np.ndarray) -> np.ndarray | float:
        """E[X(t)] of a new customer over t opportunities: α/(α+β) · Σ_{k=1}^{t} E[(1−θ)^k] (FHS 2010, eq. 7).

        Examples
        --------
        >>> import custvalue as cv
        >>> m = cv.models.get("bgbb").fit(cv.datasets.load_donations())
        >>> m.expected_purchases_new([1, 2, 11]).round(4).tolist()   # Hardie's note 010: 0.4985, 0.9233, 3.3887
        [0.4985, 0.9233, 3.3887]
        """
        alpha, beta, gamma, delta = self._p()
        steps = np.asarray(t, dtype=float)
        whole = np.array([check_int(v, "t", low=0) for v in steps.ravel()], dtype=int)
        unique, inverse = np.unique(whole, return_inverse=True)
        with np.errstate(under="ignore"):
            sums = np.array([0.0 if k == 0 else float(np.exp(log_survival_sum(gamma, delta, int(k))))
                             for k in unique])
            value = (alpha / (alpha + beta) * sums[inverse]).reshape(steps.shape)
        return value if value.ndim else float(value)

    def probability_of_purchases(self, n: int | np.ndarray, t: float) -> np.ndarray | float:
        """P(X(t) = n) over t opportunities for a new customer (FHS 2010, eq. 6).

        Examples
        --------
        >>> import numpy as np, custvalue as cv
        >>> m = cv.models.BetaGeoBetaBinom.from_params(**cv.models.BetaGeoBetaBinom.example_params)
        >>> round(float(np.sum(m.probability_of_purchases(np.arange(7), 6))), 12)
        1.0
        """
        alpha, beta, gamma, delta = self._p()
        t = check_int(t, "t", low=0)
        counts = np.asarray(n)
        ks = [check_int(k, "n", low=0) for k in counts.ravel()]
        value = count_probabilities(np.array([alpha]), np.array([beta]), gamma, np.array([delta]), ks, t)[0]
        value = value.reshape(counts.shape)
        return value if value.ndim else float(value)

    # -- simulation ---------------------------------------------------------------------------------
    @staticmethod
    def _opportunities(periods: Any, n_customers: int, name: str) -> np.ndarray:
        """Opportunities per customer: one whole number >= 0, or one per customer."""
        try:
            values = np.broadcast_to(np.asarray(periods, dtype=float), (n_customers,))
        except (TypeError, ValueError):
            raise invalid(name, periods, f"give a whole number of opportunities or one per customer "
                                         f"({n_customers})") from None
        if not np.all(np.isfinite(values)) or np.any(values < 0) or np.any(values != np.floor(values)):
            raise invalid(name, periods, "opportunities must be whole numbers >= 0")
        return values.astype(np.int64)

    def _draw(self, rng: np.random.Generator, periods: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(transactions: customers × opportunities 1..max(periods), alive at their last opportunity)."""
        alpha, beta, gamma, delta = self._p()
        count = len(periods)
        most = int(periods.max()) if count else 0
        p = rng.beta(alpha, beta, count)
        theta = rng.beta(gamma, delta, count)
        # Opportunities survived: geometric, P(survived >= k) = (1−θ)^k, drawn by inversion (θ may be 0 or 1).
        with np.errstate(divide="ignore", invalid="ignore"):
            survived = np.floor(np.log1p(-rng.random(count)) / np.log1p(-theta))
        survived = np.where(np.isnan(survived), np.inf, survived)
        buys = np.zeros((count, most), dtype=bool)
        step = max(1, _DRAW_CELLS // max(most, 1))
        opportunity = np.arange(1, most + 1)
        for start in range(0, count, step):
            part = slice(start, start + step)
            lived = np.minimum(survived[part], periods[part])
            buys[part] = (rng.random((len(lived), most)) < p[part, None]) & (opportunity <= lived[:, None])
        return buys, survived >= periods

    def simulate(self, n_customers: int, periods: int | np.ndarray, seed: int | None = None) -> pd.DataFrame:
        """Draw customers with ``periods`` opportunities (one number, or one per customer): ``frequency``,
        ``recency``, ``periods`` and ``alive`` (whether alive at their last opportunity).

        Examples
        --------
        >>> import custvalue as cv
        >>> m = cv.models.BetaGeoBetaBinom.from_params(**cv.models.BetaGeoBetaBinom.example_params)
        >>> sim = m.simulate(100_000, periods=6, seed=1)
        >>> list(sim.columns), round(float(sim["alive"].mean()), 2)   # E[(1−θ)^6] = 0.458
        (['frequency', 'recency', 'periods', 'alive'], 0.46)
        """
        n_customers = check_int(n_customers, "n_customers", low=0)
        n_periods = self._opportunities(periods, n_customers, "periods")
        buys, alive = self._draw(np.random.default_rng(None if seed is None else check_int(seed, "seed", low=0)),
                                 n_periods)
        x = buys.sum(axis=1)
        last = np.where(x > 0, buys.shape[1] - np.argmax(buys[:, ::-1], axis=1), 0) if buys.shape[1] else x
        return pd.DataFrame({"frequency": x.astype(float), "recency": last.astype(float),
                             "periods": n_periods.astype(float), "alive": alive},
                            index=pd.RangeIndex(n_customers, name="customer_id"))

    def simulate_like(self, data: pd.DataFrame, seed: int | None = None) -> pd.DataFrame:
        """Customers with the same number of opportunities as those of ``data``, drawn from the model; a row
        with a ``weights`` column stands for that many customers (as in the donations data).

        Examples
        --------
        >>> import custvalue as cv
        >>> m = cv.models.BetaGeoBetaBinom.from_params(**cv.models.BetaGeoBetaBinom.example_params)
        >>> like = m.simulate_like(cv.datasets.load_donations(), seed=0)
        >>> len(like), like["periods"].unique().tolist()
        (11104, [6.0])
        """
        (periods,) = self._summary_arrays(data, ("periods",))
        periods = np.repeat(periods, customer_counts(data))
        return self.simulate(len(periods), periods, seed=seed)

    def sample(self, n_customers: int, seed: int | None = None) -> pd.DataFrame:
        """Customers with six opportunities each (as in the donations data), drawn from the model.

        Examples
        --------
        >>> import custvalue as cv
        >>> m = cv.models.BetaGeoBetaBinom.from_params(**cv.models.BetaGeoBetaBinom.example_params)
        >>> len(m.sample(1000, seed=0))
        1000
        """
        return self.simulate(n_customers, 6, seed=seed)

    def simulate_transactions(self, n_customers: int, T: float | np.ndarray, *, unit: str = "W",
                              observation_end: Any = None, spend_model: BaseModel | None = None,
                              seed: int | None = None) -> pd.DataFrame:
        """A transaction log drawn from the model: ``customer_id``, ``date`` (and ``amount`` with a spend model).

        Customer i buys first at ``observation_end − T_i`` units, and then has
        one opportunity per unit, the last on ``observation_end``; ``T`` (a
        whole number, or one per customer) is their number of opportunities.
        Dates fall on whole days (opportunity dates are rounded to the day for
        ``unit`` "M" and "Y"). ``observation_end`` defaults to 2025-01-01.

        ``custvalue.summarize(log, unit=unit, observation_end=observation_end)``
        then gives frequency x, recency t_x and T = n (for "M" and "Y" within a
        day of whole numbers: round them), the BG/BB summary once ``T`` is
        renamed ``periods``. A fitted Gamma-Gamma ``spend_model`` draws every
        transaction's amount (the first one's too) from its customer's spend
        distribution.

        Examples
        --------
        >>> import custvalue as cv
        >>> m = cv.models.BetaGeoBetaBinom.from_params(**cv.models.BetaGeoBetaBinom.example_params)
        >>> spend = cv.models.GammaGamma.from_params(**cv.models.GammaGamma.example_params)
        >>> log = m.simulate_transactions(3, 6, unit="W", observation_end="2024-01-01", spend_model=spend, seed=2)
        >>> log[["customer_id", "date"]].head(4)
           customer_id       date
        0            0 2023-11-20
        1            0 2023-12-04
        2            0 2023-12-11
        3            0 2023-12-18
        >>> s = cv.summarize(log, unit="W", observation_end="2024-01-01")
        >>> s[["frequency", "recency", "T"]].values.tolist()
        [[3.0, 4.0, 6.0], [3.0, 3.0, 6.0], [3.0, 5.0, 6.0]]
        """
        self._check_fitted()
        args = log_arguments(n_customers, T, unit, observation_end, spend_model, seed, whole_T=True)
        # Opportunities fall on whole days, counted back from the day observation ends.
        args = replace(args, end=args.end.normalize())
        buys, _ = self._draw(args.rng, args.T.astype(np.int64))
        repeat_customer, repeat_at = np.nonzero(buys)
        return transaction_log(*with_first_purchases(repeat_customer, repeat_at + 1.0, args.n_customers), args,
                               whole_days=True)
