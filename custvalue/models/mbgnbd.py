"""MBG/NBD: the modified BG/NBD of Batislam, Denizel & Filiztekin (2007).

As BG/NBD, but a customer may also drop out right after the first purchase
(time 0), so one-time buyers are not all assumed alive.

Reference: E. P. Batislam, M. Denizel and A. Filiztekin (2007), "Empirical
validation and comparison of models for customer base analysis",
International Journal of Research in Marketing 24(3), 201-209.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from scipy.special import betaln, digamma, gammaln, hyp2f1, polygamma

from custvalue.models._base import Ability, BaseModel, MLEModel, Role
from custvalue.models._math import check_horizon, logistic_neg
from custvalue.models._nbd import (
    mean_purchase_rate,
    nbd_pmf_terms,
    observation_times,
    simulate_summary,
    two_term_loglik,
    x_terms,
)
from custvalue.models._scenario import ScaledPurchases

if TYPE_CHECKING:
    from custvalue.models._mle import LogLikValue


def mbgnbd_loglik(log_params: np.ndarray, x: np.ndarray, t_x: np.ndarray, T: np.ndarray,
                  weights: np.ndarray, order: int = 1, x_index: tuple | None = None) -> LogLikValue:
    """Weighted MBG/NBD log-likelihood with its gradient (and Hessian) in log space.

    ``L = Γ(r+x)α^r/Γ(r) [B(a, b+x+1)/B(a,b) (α+T)^−(r+x) + B(a+1, b+x)/B(a,b) (α+t_x)^−(r+x)]``,
    written as ``ln L = C + ln(e^D3 + e^D4)`` with
    ``C = lnΓ(r+x) − lnΓ(r) + r ln α + lnΓ(a+b) − lnΓ(b) + lnΓ(b+x) − lnΓ(a+b+x+1)``,
    ``D3 = ln(b+x) − (r+x) ln(α+T)`` and ``D4 = ln a − (r+x) ln(α+t_x)``.
    """
    theta = np.exp(log_params)
    r, alpha, a, b = theta
    ux, inv = x_index if x_index is not None else np.unique(x, return_inverse=True)
    wx = np.bincount(inv, weights=weights, minlength=len(ux))
    q = 2 if order == 2 else 1
    rx_terms, bx_terms, ab1x_terms = (x_terms(v, ux, q) for v in (r, b, a + b + 1))
    C = (rx_terms[0] - gammaln(r) + r * np.log(alpha) + gammaln(a + b) - gammaln(b) + bx_terms[0] - ab1x_terms[0])
    grad_C = [rx_terms[1] - digamma(r) + np.log(alpha), r / alpha,
              digamma(a + b) - ab1x_terms[1], digamma(a + b) - digamma(b) + bx_terms[1] - ab1x_terms[1]]
    rx = r + x
    log_aT, log_atx = np.log(alpha + T), np.log(alpha + t_x)
    D3 = np.log(b + ux)[inv] - rx * log_aT
    D4 = np.log(a) - rx * log_atx
    if order == 0:
        return two_term_loglik(theta, wx, C, [], {}, weights, D3, [], {}, D4, [], {}, 0)
    inv_bx = (1.0 / (b + ux))[inv]
    inv_aT, inv_atx = 1.0 / (alpha + T), 1.0 / (alpha + t_x)
    grad_3 = [-log_aT, -rx * inv_aT, 0.0, inv_bx]
    grad_4 = [-log_atx, -rx * inv_atx, 1.0 / a, 0.0]
    hess_C = hess_3 = hess_4 = {}
    if order == 2:
        tri = polygamma(1, a + b) - ab1x_terms[2]
        hess_C = {(0, 0): rx_terms[2] - polygamma(1, r), (0, 1): 1 / alpha, (1, 1): -r / alpha**2,
                  (2, 2): tri, (2, 3): tri, (3, 3): tri - polygamma(1, b) + bx_terms[2]}
        hess_3 = {(0, 1): -inv_aT, (1, 1): rx * inv_aT**2, (3, 3): -inv_bx**2}
        hess_4 = {(0, 1): -inv_atx, (1, 1): rx * inv_atx**2, (2, 2): -1 / a**2}
    return two_term_loglik(theta, wx, C, grad_C, hess_C, weights, D3, grad_3, hess_3, D4, grad_4, hess_4, order)


class ModifiedBetaGeo(MLEModel):
    """MBG/NBD model (Batislam et al. 2007); parameters ``r, alpha, a, b``.

    Examples
    --------
    >>> import custvalue as cv
    >>> m = cv.models.get("mbgnbd").fit(cv.datasets.load_cdnow_summary())
    >>> m.params_.round(3).tolist()
    [0.525, 6.183, 0.891, 1.614]
    """

    name = "mbgnbd"
    role = Role.PURCHASE
    abilities = frozenset({Ability.P_ALIVE, Ability.CONDITIONAL, Ability.NEW_CUSTOMER, Ability.SIMULATION,
                           Ability.SCENARIOS, Ability.INTERVALS, Ability.WEIGHTED_ROWS})
    param_names = ("r", "alpha", "a", "b")
    example_params = {"r": 0.525, "alpha": 6.183, "a": 0.891, "b": 1.614}  # CDNOW, Batislam et al. (2007)
    scenario_knobs = ("purchase_rate", "dropout")
    lifetimes_fitter = "ModifiedBetaGeoFitter"

    derivative_order = 2

    def loglik(self, log_params: np.ndarray, data: dict[str, Any], weights: np.ndarray,
               order: int = 0) -> LogLikValue:
        return mbgnbd_loglik(log_params, data["frequency"], data["recency"], data["T"], weights, order,
                             data.get("_x_index"))

    def start_values(self, data: dict[str, np.ndarray]) -> list[np.ndarray]:
        return [np.log([1.0, 1.0 / mean_purchase_rate(data), 1.0, 1.0]), np.zeros(4), np.log([0.5, 5.0, 0.5, 3.0])]

    def _log_death_odds(self, x: np.ndarray, t_x: np.ndarray, T: np.ndarray) -> np.ndarray:
        r, alpha, a, b = self._p()
        return np.log(a) - np.log(b + x) + (r + x) * (np.log(alpha + T) - np.log(alpha + t_x))

    def p_alive(self, summary: pd.DataFrame) -> pd.Series:
        """P(alive) = 1 / (1 + a/(b+x) ((α+T)/(α+t_x))^(r+x)), one-time buyers included."""
        x, t_x, T = self._summary_arrays(summary)
        return pd.Series(logistic_neg(self._log_death_odds(x, t_x, T)), index=summary.index, name="p_alive")

    def expected_purchases(self, summary: pd.DataFrame, t: float) -> pd.Series:
        """E[purchases in (T, T+t] | x, t_x, T], with the hypergeometric term after Euler's transformation."""
        x, t_x, T = self._summary_arrays(summary)
        r, alpha, a, b = self._p()
        t = check_horizon(t)
        z = t / (alpha + T + t)
        bracket = 1.0 - np.exp((a - 1) * np.log1p(-z)) * hyp2f1(a + b - r, a - 1, a + b + x, z)
        value = (a + b + x) / (a - 1) * bracket * logistic_neg(self._log_death_odds(x, t_x, T))
        return pd.Series(value, index=summary.index, name="expected_purchases")

    def expected_purchases_new(self, t: float | np.ndarray) -> np.ndarray | float:
        """E[X(t)] = b/(a−1) [1 − (α/(α+t))^r 2F1(r, b+1; a+b; t/(α+t))] for a new customer."""
        r, alpha, a, b = self._p()
        t = np.asarray(t, dtype=float)
        z = t / (alpha + t)
        value = b / (a - 1) * (1 - np.exp((a - 1) * np.log1p(-z)) * hyp2f1(a + b - r, a - 1, a + b, z))
        return value if value.ndim else float(value)

    def probability_of_purchases(self, n: int | np.ndarray, t: float) -> np.ndarray | float:
        """P(X(t) = n) = B(a, b+n+1)/B(a,b) NBD(n) + B(a+1, b+n)/B(a,b) P(N(t) ≥ n) for a new customer."""
        r, alpha, a, b = self._p()
        n = np.asarray(n)
        log_nbd, tail = nbd_pmf_terms(r, alpha, n, check_horizon(t))
        alive = np.exp(betaln(a, b + n + 1) - betaln(a, b) + log_nbd)
        value = alive + np.exp(betaln(a + 1, b + n) - betaln(a, b)) * tail
        return value if value.ndim else float(value)

    def simulate(self, n_customers: int, T: float | np.ndarray, seed: int | None = None) -> pd.DataFrame:
        """Draw a customer summary from the model, each customer observed for ``T`` units."""
        r, alpha, a, b = self._p()
        rng = np.random.default_rng(seed)
        T = np.broadcast_to(np.asarray(T, dtype=float), (n_customers,)).copy()
        lam = rng.gamma(r, 1 / alpha, n_customers)
        # Dropout may also happen at time 0: after j >= 0 repeat purchases with probability p(1-p)^j.
        cap = rng.geometric(rng.beta(a, b, n_customers)) - 1
        return simulate_summary(rng, lam, T, cap)

    def simulate_like(self, data: pd.DataFrame, seed: int | None = None) -> pd.DataFrame:
        """Customers observed for the same T as those of ``data``, drawn from the model."""
        return self.simulate(len(data), data["T"].to_numpy(dtype=float), seed=seed)

    def sample(self, n_customers: int, seed: int | None = None) -> pd.DataFrame:
        """A summary of ``n_customers`` customers acquired over 78 weeks (a day grid), drawn from the model."""
        rng = np.random.default_rng(seed)
        out = self.simulate(n_customers, observation_times(rng, n_customers), seed=int(rng.integers(2**31)))
        return out.assign(recency=np.round(out["recency"] * 7) / 7)

    def scenario(self, **knobs: float) -> BaseModel:
        """Purchases if customers bought ``purchase_rate`` times as fast with a ``dropout`` times higher
        dropout probability: E(c·k·t)/k, as for BG/NBD."""
        k = self._check_knobs(knobs, {"purchase_rate": 1.0, "dropout": 1.0})
        return ScaledPurchases(self, time_scale=k["purchase_rate"] * k["dropout"], value_scale=1 / k["dropout"])
