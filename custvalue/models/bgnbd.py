"""BG/NBD: beta-geometric / negative binomial distribution model (Fader, Hardie & Lee 2005).

While alive a customer buys as a Poisson process with rate λ ~ Gamma(r, α);
after each purchase they drop out with probability p ~ Beta(a, b).

Reference: P. S. Fader, B. G. S. Hardie and K. L. Lee (2005), "'Counting Your
Customers' the Easy Way: An Alternative to the Pareto/NBD Model", Marketing
Science 24(2), 275-284 — equations (3), (10), (11) and (12).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, overload

import numpy as np
import pandas as pd
from scipy.special import betaln, digamma, gammaln, hyp2f1, polygamma

from custvalue.models._base import Ability, BaseModel, MLEModel, Role
from custvalue.models._covariates import CovariateMixin, PerCustomer
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


def bgnbd_loglik(log_params: np.ndarray, x: np.ndarray, t_x: np.ndarray, T: np.ndarray,
                 weights: np.ndarray, order: int = 1, x_index: tuple | None = None) -> LogLikValue:
    """Weighted BG/NBD log-likelihood (FHL 2005, eq. 6) with its gradient (and Hessian) in log space.

    ``ln L = A1 + A2 + ln(e^A3 + δ(x>0) e^A4)`` with
    ``A1 = lnΓ(r+x) − lnΓ(r) + r ln α``,
    ``A2 = lnΓ(a+b) + lnΓ(b+x) − lnΓ(b) − lnΓ(a+b+x)``,
    ``A3 = −(r+x) ln(α+T)`` and ``A4 = ln a − ln(b+x−1) − (r+x) ln(α+t_x)``.
    ``x_index`` is ``np.unique(x, return_inverse=True)`` when the caller has it.
    """
    theta = np.exp(log_params)
    r, alpha, a, b = theta
    ux, inv = x_index if x_index is not None else np.unique(x, return_inverse=True)
    wx = np.bincount(inv, weights=weights, minlength=len(ux))
    q = 2 if order == 2 else 1
    rx_terms, bx_terms, abx_terms = (x_terms(v, ux, q) for v in (r, b, a + b))
    # Per distinct x: the terms of A1 + A2, and b+x-1 (a huge log for x = 0 removes A4 there).
    C = (rx_terms[0] - gammaln(r) + r * np.log(alpha) + gammaln(a + b) + bx_terms[0] - gammaln(b) - abx_terms[0])
    grad_C = [rx_terms[1] - digamma(r) + np.log(alpha), r / alpha,
              digamma(a + b) - abx_terms[1], digamma(a + b) + bx_terms[1] - digamma(b) - abx_terms[1]]
    with np.errstate(divide="ignore", invalid="ignore"):
        inv_bx1 = np.where(ux > 0, 1.0 / (b + ux - 1), 0.0)[inv]
        log_bx1 = np.where(ux > 0, np.log(b + ux - 1), 1e4)[inv]
    rx = r + x
    log_aT, log_atx = np.log(alpha + T), np.log(alpha + t_x)
    D3 = -rx * log_aT
    D4 = np.log(a) - log_bx1 - rx * log_atx
    if order == 0:
        return two_term_loglik(theta, wx, C, [], {}, weights, D3, [], {}, D4, [], {}, 0)
    inv_aT, inv_atx = 1.0 / (alpha + T), 1.0 / (alpha + t_x)
    grad_3 = [-log_aT, -rx * inv_aT, 0.0, 0.0]
    grad_4 = [-log_atx, -rx * inv_atx, 1.0 / a, -inv_bx1]
    hess_C = hess_3 = hess_4 = {}
    if order == 2:
        tri_ab = polygamma(1, a + b) - abx_terms[2]
        hess_C = {(0, 0): rx_terms[2] - polygamma(1, r), (0, 1): 1 / alpha, (1, 1): -r / alpha**2,
                  (2, 2): tri_ab, (2, 3): tri_ab, (3, 3): tri_ab + bx_terms[2] - polygamma(1, b)}
        hess_3 = {(0, 1): -inv_aT, (1, 1): rx * inv_aT**2}
        hess_4 = {(0, 1): -inv_atx, (1, 1): rx * inv_atx**2, (2, 2): -1 / a**2, (3, 3): inv_bx1**2}
    return two_term_loglik(theta, wx, C, grad_C, hess_C, weights, D3, grad_3, hess_3, D4, grad_4, hess_4, order)


def bgnbd_covariate_loglik(log_params: np.ndarray, data: dict, weights: np.ndarray) -> float:
    """BG/NBD log-likelihood with per-customer α_i = α·e^(−γ_p′z_p), a_i = a·e^(γ_d′z_d), b_i = b·e^(γ_d′z_d)."""
    (r, alpha, a, b), purchase, dropout = BetaGeo._split(log_params, 4, data)
    x, t_x, T = data["frequency"], data["recency"], data["T"]
    alpha_i, a_i, b_i = alpha / purchase, a * dropout, b * dropout
    rx = r + x
    alive = -rx * np.log(alpha_i + T)
    with np.errstate(divide="ignore", invalid="ignore"):
        died = np.where(x > 0, np.log(a_i) - np.log(np.maximum(b_i + x - 1, 1e-300)) - rx * np.log(alpha_i + t_x),
                        -np.inf)
    ll = (gammaln(rx) - gammaln(r) + r * np.log(alpha_i) + gammaln(a_i + b_i) + gammaln(b_i + x) - gammaln(b_i)
          - gammaln(a_i + b_i + x) + np.logaddexp(alive, died))
    return float(np.dot(weights, ll))


class BetaGeo(CovariateMixin, MLEModel):
    """BG/NBD model (Fader, Hardie & Lee 2005); parameters ``r, alpha, a, b``.

    Parameters
    ----------
    penalizer : float, default 0
        L2 penalty: the fit maximises ``mean log-likelihood − penalizer · Σ θ²``
        (the form of lifetimes' ``penalizer_coef``, without its time rescaling).
    engine : {"native", "lifetimes"}, default "native"
        ``"lifetimes"`` fits with lifetimes' fitter of the same model (for
        cross-checks); log-likelihood, standard errors and predictions are
        still computed here.
    purchase_covariates, dropout_covariates : list of str, optional
        Summary columns that shift each customer's purchase rate and dropout
        (see :mod:`custvalue.models._covariates`); Pareto/NBD takes the same.

    Examples
    --------
    >>> import custvalue as cv
    >>> m = cv.models.get("bgnbd").fit(cv.datasets.load_cdnow_summary())
    >>> m.params_.round(3).tolist()
    [0.243, 4.414, 0.793, 2.426]
    >>> round(m.log_likelihood_, 2)
    -9582.43
    """

    name = "bgnbd"
    role = Role.PURCHASE
    abilities = frozenset({Ability.P_ALIVE, Ability.CONDITIONAL, Ability.NEW_CUSTOMER, Ability.SIMULATION,
                           Ability.SCENARIOS, Ability.INTERVALS, Ability.COVARIATES, Ability.WEIGHTED_ROWS})
    param_names = ("r", "alpha", "a", "b")
    example_params = {"r": 0.2426, "alpha": 4.4136, "a": 0.7929, "b": 2.4259}  # CDNOW, FHL (2005)
    scenario_knobs = ("purchase_rate", "dropout")
    lifetimes_fitter = "BetaGeoFitter"

    derivative_order = 2

    def loglik(self, log_params: np.ndarray, data: dict[str, Any], weights: np.ndarray,
               order: int = 0) -> LogLikValue:
        if self.has_covariates():
            return bgnbd_covariate_loglik(log_params, data, weights)
        return bgnbd_loglik(log_params, data["frequency"], data["recency"], data["T"], weights, order,
                            data.get("_x_index"))

    @overload
    def _p(self) -> tuple[float, float, float, float]: ...
    @overload
    def _p(self, summary: pd.DataFrame | None) -> tuple[float, PerCustomer, PerCustomer, PerCustomer]: ...

    def _p(self, summary: pd.DataFrame | None = None) -> tuple[float, PerCustomer, PerCustomer, PerCustomer]:
        """(r, α, a, b), per customer of ``summary`` when the model has covariates."""
        r, alpha, a, b = super()._p()
        if summary is None or not self.has_covariates():
            return r, alpha, a, b
        purchase, dropout = self.covariate_effects(summary)
        return r, alpha / purchase, a * dropout, b * dropout

    def start_values(self, data: dict[str, np.ndarray]) -> list[np.ndarray]:
        return [np.log([1.0, 1.0 / mean_purchase_rate(data), 1.0, 1.0]), np.zeros(4), np.log([0.5, 5.0, 0.5, 3.0])]

    def _death_odds(self, x: np.ndarray, t_x: np.ndarray, T: np.ndarray,
                    summary: pd.DataFrame | None = None) -> np.ndarray:
        r, alpha, a, b = self._p(summary)
        with np.errstate(divide="ignore", over="ignore"):
            log_odds = (np.log(a) - np.log(np.maximum(b + x - 1, 1e-300))
                        + (r + x) * (np.log(alpha + T) - np.log(alpha + t_x)))
        return np.where(x > 0, log_odds, -np.inf)

    def p_alive(self, summary: pd.DataFrame) -> pd.Series:
        """P(alive at T | x, t_x, T) = 1 / (1 + δ(x>0) a/(b+x−1) ((α+T)/(α+t_x))^(r+x)) (FHL 2005, eq. 13)."""
        x, t_x, T = self._summary_arrays(summary)
        return pd.Series(logistic_neg(self._death_odds(x, t_x, T, summary)), index=summary.index, name="p_alive")

    def expected_purchases(self, summary: pd.DataFrame, t: float) -> pd.Series:
        """E[purchases in (T, T+t] | x, t_x, T] (FHL 2005, eq. 10), evaluated without overflow.

        The hypergeometric term is taken through Euler's transformation,
        ``((α+T)/(α+T+t))^(r+x) 2F1(r+x, b+x; a+b+x−1; z) = (1−z)^(a−1) 2F1(a+b−1−r, a−1; a+b+x−1; z)``
        with ``z = t/(α+T+t)``, which stays bounded for any x.
        """
        x, t_x, T = self._summary_arrays(summary)
        r, alpha, a, b = self._p(summary)
        t = check_horizon(t)
        z = t / (alpha + T + t)
        bracket = 1.0 - np.exp((a - 1) * np.log1p(-z)) * hyp2f1(a + b - 1 - r, a - 1, a + b + x - 1, z)
        value = (a + b + x - 1) / (a - 1) * bracket * logistic_neg(self._death_odds(x, t_x, T, summary))
        return pd.Series(value, index=summary.index, name="expected_purchases")

    def expected_purchases_new(self, t: float | np.ndarray) -> np.ndarray | float:
        """E[X(t)] for a new customer (FHL 2005, eq. 7)."""
        r, alpha, a, b = self._p()
        t = np.asarray(t, dtype=float)
        z = t / (alpha + t)
        # (α/(α+t))^r 2F1(r, b; a+b−1; z) = (1−z)^(a−1) 2F1(a+b−1−r, a−1; a+b−1; z) by Euler.
        tail = np.exp((a - 1) * np.log1p(-z)) * hyp2f1(a + b - 1 - r, a - 1, a + b - 1, z)
        value = (a + b - 1) / (a - 1) * (1 - tail)
        return value if value.ndim else float(value)

    def probability_of_purchases(self, n: int | np.ndarray, t: float) -> np.ndarray | float:
        """P(X(t) = n) for a new customer (FHL 2005, eq. 8)."""
        r, alpha, a, b = self._p()
        n = np.asarray(n)
        log_nbd, tail = nbd_pmf_terms(r, alpha, n, float(t))
        alive = np.exp(betaln(a, b + n) - betaln(a, b) + log_nbd)
        dead = np.where(n > 0, np.exp(betaln(a + 1, np.maximum(b + n - 1, 1e-300)) - betaln(a, b)) * tail, 0.0)
        value = alive + dead
        return value if value.ndim else float(value)

    def simulate(self, n_customers: int, T: float | np.ndarray, seed: int | None = None,
                 covariates: pd.DataFrame | None = None) -> pd.DataFrame:
        """Draw a customer summary from the model, each customer observed for ``T`` units.

        With covariates, ``covariates`` holds their columns, one row per customer, and is joined to the result.
        """
        frame = self._simulation_frame(covariates)
        r, alpha, a, b = self._p(frame)
        rng = np.random.default_rng(seed)
        T = np.broadcast_to(np.asarray(T, dtype=float), (n_customers,)).copy()
        lam = rng.gamma(r, 1 / np.broadcast_to(alpha, (n_customers,)))
        # Dropout follows the j-th repeat purchase with probability p(1-p)^(j-1), j >= 1.
        cap = rng.geometric(rng.beta(np.broadcast_to(a, (n_customers,)), np.broadcast_to(b, (n_customers,))))
        out = simulate_summary(rng, lam, T, cap)
        return self._with_covariates(out, covariates)

    def simulate_like(self, data: pd.DataFrame, seed: int | None = None) -> pd.DataFrame:
        """Customers observed for the same T as those of ``data`` (with their covariates), drawn from the model."""
        covariates = data[self.required_columns()[3:]].reset_index(drop=True) if self.has_covariates() else None
        return self.simulate(len(data), data["T"].to_numpy(dtype=float), seed=seed, covariates=covariates)

    def sample(self, n_customers: int, seed: int | None = None) -> pd.DataFrame:
        """A summary of ``n_customers`` customers acquired over 78 weeks (a day grid), drawn from the model."""
        rng = np.random.default_rng(seed)
        out = self.simulate(n_customers, observation_times(rng, n_customers), seed=int(rng.integers(2**31)))
        return out.assign(recency=np.round(out["recency"] * 7) / 7)

    def scenario(self, **knobs: float) -> BaseModel:
        """Purchases if customers bought ``purchase_rate`` times as fast and dropped out with a ``dropout``
        times higher probability after each purchase: E(c·k·t)/k (dropout follows purchases; valid
        while k·p stays below 1)."""
        k = self._check_knobs(knobs, {"purchase_rate": 1.0, "dropout": 1.0})
        return ScaledPurchases(self, time_scale=k["purchase_rate"] * k["dropout"], value_scale=1 / k["dropout"])
