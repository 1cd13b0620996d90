"""BG/BB: beta-geometric / beta-Bernoulli model for discrete-time data (Fader, Hardie & Berger 2010).

At each of n transaction opportunities an alive customer transacts with
probability p ~ Beta(α, β); before each opportunity they die with probability
θ ~ Beta(γ, δ). The summary has ``frequency`` (x, transactions after the
first opportunity), ``recency`` (t_x, the opportunity of the last one) and
``periods`` (n).

Reference: P. S. Fader, B. G. S. Hardie and P. D. Berger (2010), "Customer-Base
Analysis in a Discrete-Time Noncontractual Setting", Marketing Science 29(6),
1086-1108 — equations (5), (7), (11) and (13).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.special import betaln, gammaln

from custvalue.errors import SchemaError
from custvalue.models._base import Ability, MLEModel, Role


def _log_lik_terms(alpha: float, beta: float, gamma: float, delta: float, x: np.ndarray, t_x: np.ndarray,
                   n: np.ndarray) -> np.ndarray:
    """log of each row's likelihood (FHB 2010, eq. 5), the sum over death times done in log space."""
    base = betaln(alpha + x, beta + n - x) - betaln(alpha, beta) + betaln(gamma, delta + n) - betaln(gamma, delta)
    k = int(np.max(n - t_x)) if len(n) else 0
    terms = [base]
    for i in range(k):
        term = (betaln(alpha + x, beta + t_x - x + i) - betaln(alpha, beta)
                + betaln(gamma + 1, delta + t_x + i) - betaln(gamma, delta))
        terms.append(np.where(i < n - t_x, term, -np.inf))
    return np.logaddexp.reduce(np.vstack(terms), axis=0)


def bgbb_loglik(log_params: np.ndarray, x: np.ndarray, t_x: np.ndarray, n: np.ndarray,
                weights: np.ndarray) -> float:
    """Weighted BG/BB log-likelihood (FHB 2010, eq. 5)."""
    alpha, beta, gamma, delta = np.exp(log_params)
    return float(np.dot(weights, _log_lik_terms(alpha, beta, gamma, delta, x, t_x, n)))


class BetaGeoBetaBinom(MLEModel):
    """BG/BB model; parameters ``alpha, beta, gamma, delta``.

    Examples
    --------
    >>> import custvalue as cv
    >>> m = cv.models.get("bgbb").fit(cv.datasets.load_donations())
    >>> m.params_.round(3).tolist()
    [1.204, 0.75, 0.657, 2.783]
    """

    name = "bgbb"
    role = Role.PURCHASE
    abilities = frozenset({Ability.P_ALIVE, Ability.CONDITIONAL, Ability.NEW_CUSTOMER, Ability.SIMULATION,
                           Ability.INTERVALS, Ability.WEIGHTED_ROWS})
    param_names = ("alpha", "beta", "gamma", "delta")
    example_params = {"alpha": 1.204, "beta": 0.750, "gamma": 0.657, "delta": 2.783}  # donations, FHB (2010)
    lifetimes_fitter = "BetaGeoBetaBinomFitter"
    columns = ("frequency", "recency", "periods")
    derivative_order = 0

    def loglik(self, log_params: np.ndarray, data: dict[str, np.ndarray], weights: np.ndarray,
               order: int = 0) -> float:
        return bgbb_loglik(log_params, data["frequency"], data["recency"], data["periods"], weights)

    def _fit_data(
        self, summary: pd.DataFrame, weights: np.ndarray | None
    ) -> tuple[dict[str, np.ndarray], np.ndarray | None]:
        x, t_x, n = self._summary_arrays(summary)
        bad = (x < 0) | (x != np.floor(x)) | (t_x < x) | (t_x > n) | ((x == 0) & (t_x != 0)) | (n != np.floor(n))
        if bad.any():
            raise SchemaError(
                "BG/BB needs whole numbers with 0 <= frequency <= recency <= periods (recency 0 when "
                f"frequency is 0); offending rows:\n{summary.loc[bad, list(self.columns)].head()}"
            )
        return {"frequency": x, "recency": t_x, "periods": n}, weights

    def start_values(self, data: dict[str, np.ndarray]) -> list[np.ndarray]:
        return [np.zeros(4), np.log([0.5, 0.5, 0.5, 2.0]), np.log([2.0, 1.0, 1.0, 3.0])]

    def _lik(self, x: np.ndarray, t_x: np.ndarray, n: np.ndarray) -> np.ndarray:
        alpha, beta, gamma, delta = self._p()
        return _log_lik_terms(alpha, beta, gamma, delta, x, t_x, n)

    def p_alive(self, summary: pd.DataFrame) -> pd.Series:
        """P(alive at period n+1 | x, t_x, n) (FHB 2010, eq. 11)."""
        x, t_x, n = self._summary_arrays(summary)
        alpha, beta, gamma, delta = self._p()
        log_num = (betaln(alpha + x, beta + n - x) - betaln(alpha, beta)
                   + betaln(gamma, delta + n + 1) - betaln(gamma, delta))
        return pd.Series(np.exp(log_num - self._lik(x, t_x, n)), index=summary.index, name="p_alive")

    def expected_purchases(self, summary: pd.DataFrame, t: float) -> pd.Series:
        """E[transactions in the next t opportunities | x, t_x, n] (FHB 2010, eq. 13)."""
        x, t_x, n = self._summary_arrays(summary)
        alpha, beta, gamma, delta = self._p()
        t = float(t)
        log_lead = (betaln(alpha + x + 1, beta + n - x) - betaln(alpha, beta) - self._lik(x, t_x, n)
                    + gammaln(gamma + delta) - gammaln(1 + delta))
        bracket = np.exp(gammaln(1 + delta + n) - gammaln(gamma + delta + n)) - np.exp(
            gammaln(1 + delta + n + t) - gammaln(gamma + delta + n + t))
        value = np.exp(log_lead) * delta / (gamma - 1) * bracket
        return pd.Series(value, index=summary.index, name="expected_purchases")

    def expected_purchases_new(self, t: float | np.ndarray) -> np.ndarray | float:
        """E[X(n)] for a new customer over n = t opportunities (FHB 2010, eq. 7)."""
        alpha, beta, gamma, delta = self._p()
        t = np.asarray(t, dtype=float)
        ratio = np.exp(gammaln(gamma + delta) - gammaln(gamma + delta + t)
                       + gammaln(1 + delta + t) - gammaln(1 + delta))
        value = alpha / (alpha + beta) * delta / (gamma - 1) * (1 - ratio)
        return value if value.ndim else float(value)

    def probability_of_purchases(self, k: int | np.ndarray, t: float) -> np.ndarray | float:
        """P(X(n) = k) over n = t opportunities for a new customer (FHB 2010, eq. 6)."""
        alpha, beta, gamma, delta = self._p()
        n = int(t)
        k = np.atleast_1d(np.asarray(k))
        out = []
        for x in k:
            log_choose = gammaln(n + 1) - gammaln(x + 1) - gammaln(n - x + 1)
            value = np.exp(log_choose + betaln(alpha + x, beta + n - x) - betaln(alpha, beta)
                           + betaln(gamma, delta + n) - betaln(gamma, delta)) if x <= n else 0.0
            for i in range(int(x), n):
                value += np.exp(gammaln(i + 1) - gammaln(x + 1) - gammaln(i - x + 1)
                                + betaln(alpha + x, beta + i - x) - betaln(alpha, beta)
                                + betaln(gamma + 1, delta + i) - betaln(gamma, delta))
            out.append(value)
        result = np.array(out)
        return result if result.size > 1 else float(result[0])

    def simulate(self, n_customers: int, periods: int | np.ndarray, seed: int | None = None) -> pd.DataFrame:
        """Draw (frequency, recency, periods) for customers with ``periods`` opportunities (one number,
        or one per customer)."""
        alpha, beta, gamma, delta = self._p()
        rng = np.random.default_rng(seed)
        n_periods = np.broadcast_to(np.asarray(periods, dtype=np.int64), (n_customers,))
        most = int(n_periods.max()) if n_customers else 0
        p = rng.beta(alpha, beta, n_customers)
        theta = rng.beta(gamma, delta, n_customers)
        # Opportunities survived before death: geometric, counted from the first opportunity.
        alive_for = np.minimum(rng.geometric(theta) - 1, n_periods)
        buys = rng.random((n_customers, most)) < p[:, None]
        buys &= np.arange(1, most + 1)[None, :] <= alive_for[:, None]
        x = buys.sum(axis=1)
        last = np.where(x > 0, most - np.argmax(buys[:, ::-1], axis=1), 0)
        return pd.DataFrame({"frequency": x.astype(float), "recency": last.astype(float),
                             "periods": n_periods.astype(float)},
                            index=pd.RangeIndex(n_customers, name="customer_id"))

    def simulate_like(self, data: pd.DataFrame, seed: int | None = None) -> pd.DataFrame:
        """Customers with the same number of opportunities as those of ``data``, drawn from the model."""
        return self.simulate(len(data), data["periods"].to_numpy(dtype=float), seed=seed)

    def sample(self, n_customers: int, seed: int | None = None) -> pd.DataFrame:
        """Customers with six opportunities each (as in the donations data), drawn from the model."""
        return self.simulate(n_customers, 6, seed=seed)
