"""Pareto/NBD model (Schmittlein, Morrison & Colombo 1987).

While alive a customer buys as a Poisson process with rate λ ~ Gamma(r, α)
and dies after an exponential lifetime with rate μ ~ Gamma(s, β).

The likelihood follows Fader, Hardie & Lee (2005a), "A Note on Deriving the
Pareto/NBD Model and Related Expressions", http://brucehardie.com/notes/009/,
equations (20)-(23). Its Gaussian hypergeometric terms are evaluated after
Euler's transformation as ``2F1(1, k; m+1; z)``, which stays bounded for any
purchase count, and everything is combined in log space; that is what keeps
customers with hundreds of purchases and very long T finite.
"""

from __future__ import annotations

from typing import Any, overload

import numpy as np
import pandas as pd
from scipy.special import gammaln, hyp2f1, roots_legendre

from custvalue.models._base import Ability, BaseModel, MLEModel, Role
from custvalue.models._covariates import CovariateMixin, PerCustomer
from custvalue.models._math import check_horizon, expm1_ratio, log1mexp
from custvalue.models._nbd import mean_purchase_rate, nbd_pmf_terms, observation_times, simulate_summary
from custvalue.models._scenario import ScaledPurchases


def _log_F(u: np.ndarray, r: float, alpha: PerCustomer, s: float, beta: PerCustomer, x: np.ndarray) -> np.ndarray:
    """log of the FHL (2005a) term ``2F1(·)/(max(α,β)+u)^(r+s+x)`` at time u, by Euler's transformation.

    α and β may be arrays (customers with covariates): each row takes the branch its own α ≥ β selects.
    """
    m = r + s + x
    if np.ndim(alpha) == 0 and np.ndim(beta) == 0:
        if alpha >= beta:
            z = (alpha - beta) / (alpha + u)
            return -(r + x) * np.log(alpha + u) - s * np.log(beta + u) + np.log(hyp2f1(1.0, r + x, m + 1.0, z))
        z = (beta - alpha) / (beta + u)
        return (-(r + x - 1) * np.log(alpha + u) - (s + 1) * np.log(beta + u)
                + np.log(hyp2f1(1.0, s + 1.0, m + 1.0, z)))
    upper = alpha >= beta
    z = np.where(upper, (alpha - beta) / (alpha + u), (beta - alpha) / (beta + u))
    hyper = np.where(upper, hyp2f1(1.0, r + x, m + 1.0, np.where(upper, z, 0.0)),
                     hyp2f1(1.0, s + 1.0, m + 1.0, np.where(upper, 0.0, z)))
    return (-(r + x - np.where(upper, 0.0, 1.0)) * np.log(alpha + u) - (s + np.where(upper, 0.0, 1.0))
            * np.log(beta + u) + np.log(hyper))


def _log_terms(r: float, alpha: PerCustomer, s: float, beta: PerCustomer, x: np.ndarray, t_x: np.ndarray,
               T: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(log of the alive term, log of the died-in-(t_x, T] term) of the Pareto/NBD likelihood, without A."""
    alive = -(r + x) * np.log(alpha + T) - s * np.log(beta + T)
    log_f_tx = _log_F(t_x, r, alpha, s, beta, x)
    log_f_T = _log_F(T, r, alpha, s, beta, x)
    with np.errstate(divide="ignore"):
        died = np.log(s) - np.log(r + s + x) + log_f_tx + log1mexp(log_f_T - log_f_tx)
    return alive, died


def paretonbd_loglik(log_params: np.ndarray, x: np.ndarray, t_x: np.ndarray, T: np.ndarray,
                     weights: np.ndarray, x_index: tuple | None = None, alpha: PerCustomer | None = None,
                     beta: PerCustomer | None = None) -> float:
    """Weighted Pareto/NBD log-likelihood (FHL 2005a, eq. 22), in log space.

    ``alpha`` and ``beta``, when given, replace the scales of ``log_params`` (per customer, for covariates).
    """
    r, alpha_0, s, beta_0 = np.exp(log_params)
    alpha = alpha_0 if alpha is None else alpha
    beta = beta_0 if beta is None else beta
    ux, inv = x_index if x_index is not None else np.unique(x, return_inverse=True)
    log_a = gammaln(r + ux)[inv] - gammaln(r) + r * np.log(alpha) + s * np.log(beta)
    alive, died = _log_terms(r, alpha, s, beta, x, t_x, T)
    return float(np.dot(weights, log_a + np.logaddexp(alive, died)))


def paretonbd_covariate_loglik(log_params: np.ndarray, data: dict, weights: np.ndarray) -> float:
    """Pareto/NBD log-likelihood with per-customer α_i = α·e^(−γ_p′z_p) and β_i = β·e^(−γ_d′z_d)."""
    (r, alpha, s, beta), purchase, dropout = ParetoNBD._split(log_params, 4, data)
    return paretonbd_loglik(np.log([r, 1.0, s, 1.0]), data["frequency"], data["recency"], data["T"], weights,
                            data.get("_x_index"), alpha=alpha / purchase, beta=beta / dropout)


class ParetoNBD(CovariateMixin, MLEModel):
    """Pareto/NBD model; parameters ``r, alpha, s, beta``.

    Examples
    --------
    >>> import custvalue as cv
    >>> m = cv.models.get("paretonbd").fit(cv.datasets.load_cdnow_summary())
    >>> m.params_.round(2).tolist(), round(m.log_likelihood_, 2)
    ([0.55, 10.58, 0.61, 11.67], -9594.97)
    """

    name = "paretonbd"
    role = Role.PURCHASE
    abilities = frozenset({Ability.P_ALIVE, Ability.CONDITIONAL, Ability.NEW_CUSTOMER, Ability.SIMULATION,
                           Ability.SCENARIOS, Ability.INTERVALS, Ability.COVARIATES, Ability.WEIGHTED_ROWS})
    param_names = ("r", "alpha", "s", "beta")
    example_params = {"r": 0.5532, "alpha": 10.5763, "s": 0.6062, "beta": 11.6715}  # CDNOW, FHL (2005a)
    scenario_knobs = ("purchase_rate", "dropout")
    lifetimes_fitter = "ParetoNBDFitter"
    derivative_order = 0

    def loglik(self, log_params: np.ndarray, data: dict[str, Any], weights: np.ndarray, order: int = 0) -> float:
        if self.has_covariates():
            return paretonbd_covariate_loglik(log_params, data, weights)
        return paretonbd_loglik(log_params, data["frequency"], data["recency"], data["T"], weights,
                                data.get("_x_index"))

    @overload
    def _p(self) -> tuple[float, float, float, float]: ...
    @overload
    def _p(self, summary: pd.DataFrame | None) -> tuple[float, PerCustomer, float, PerCustomer]: ...

    def _p(self, summary: pd.DataFrame | None = None) -> tuple[float, PerCustomer, float, PerCustomer]:
        """(r, α, s, β), per customer of ``summary`` when the model has covariates."""
        r, alpha, s, beta = super()._p()
        if summary is None or not self.has_covariates():
            return r, alpha, s, beta
        purchase, dropout = self.covariate_effects(summary)
        return r, alpha / purchase, s, beta / dropout

    def start_values(self, data: dict[str, np.ndarray]) -> list[np.ndarray]:
        starts = [1.0, 1.0 / mean_purchase_rate(data), 1.0, float(np.mean(data["T"]))]
        return [np.log(starts), np.zeros(4), np.log([0.5, 10.0, 0.5, 10.0])]

    def _log_p_alive(self, x: np.ndarray, t_x: np.ndarray, T: np.ndarray,
                     summary: pd.DataFrame | None = None) -> np.ndarray:
        r, alpha, s, beta = self._p(summary)
        alive, died = _log_terms(r, alpha, s, beta, x, t_x, T)
        return alive - np.logaddexp(alive, died)

    def p_alive(self, summary: pd.DataFrame) -> pd.Series:
        """P(alive at T | x, t_x, T) (FHL 2005a, eq. 24)."""
        x, t_x, T = self._summary_arrays(summary)
        return pd.Series(np.exp(self._log_p_alive(x, t_x, T, summary)), index=summary.index, name="p_alive")

    def expected_purchases(self, summary: pd.DataFrame, t: float) -> pd.Series:
        """E[purchases in (T, T+t] | x, t_x, T] = (r+x)(β+T)/((α+T)(s−1)) [1 − ((β+T)/(β+T+t))^(s−1)] P(alive)."""
        x, t_x, T = self._summary_arrays(summary)
        r, alpha, s, beta = self._p(summary)
        t = check_horizon(t)
        life = (beta + T) * expm1_ratio(s - 1, np.log1p(t / (beta + T)))
        value = (r + x) / (alpha + T) * life * np.exp(self._log_p_alive(x, t_x, T, summary))
        return pd.Series(value, index=summary.index, name="expected_purchases")

    def expected_purchases_new(self, t: float | np.ndarray) -> np.ndarray | float:
        """E[X(t)] = rβ/(α(s−1)) [1 − (β/(β+t))^(s−1)] for a new customer (FHL 2005a, eq. 17)."""
        r, alpha, s, beta = self._p()
        t = np.asarray(t, dtype=float)
        value = r / alpha * beta * expm1_ratio(s - 1, np.log1p(t / beta))
        return value if value.ndim else float(value)

    def probability_of_purchases(self, n: int | np.ndarray, t: float, nodes: int = 64) -> np.ndarray | float:
        """P(X(t) = n) for a new customer.

        Alive through t with probability (β/(β+t))^s, or dead at τ < t with
        density sβ^s/(β+τ)^(s+1); the count is NBD(r, α) over the time alive.
        The integral over τ is evaluated by Gauss-Legendre quadrature.
        """
        r, alpha, s, beta = self._p()
        t = check_horizon(t)
        n = np.atleast_1d(np.asarray(n))
        log_nbd_t, _ = nbd_pmf_terms(r, alpha, n, t)
        alive = np.exp(s * (np.log(beta) - np.log(beta + t)) + log_nbd_t)
        u, w = roots_legendre(nodes)
        tau = (u + 1) * t / 2
        density = s * beta**s / (beta + tau) ** (s + 1) * w * t / 2
        dead = np.array([np.dot(density, np.exp(_log_nbd(r, alpha, k, tau))) for k in n])
        value = alive + dead
        return value if value.size > 1 else float(value[0])

    def simulate(self, n_customers: int, T: float | np.ndarray, seed: int | None = None,
                 covariates: pd.DataFrame | None = None) -> pd.DataFrame:
        """Draw a customer summary from the model, each customer observed for ``T`` units.

        With covariates, ``covariates`` holds their columns, one row per customer, and is joined to the result.
        """
        frame = self._simulation_frame(covariates)
        r, alpha, s, beta = self._p(frame)
        rng = np.random.default_rng(seed)
        T = np.broadcast_to(np.asarray(T, dtype=float), (n_customers,)).copy()
        lam = rng.gamma(r, 1 / np.broadcast_to(alpha, (n_customers,)))
        lifetime = rng.exponential(1 / rng.gamma(s, 1 / np.broadcast_to(beta, (n_customers,))))
        observed = np.minimum(lifetime, T)
        out = simulate_summary(rng, lam, observed, np.full(n_customers, np.iinfo(np.int64).max)).assign(T=T)
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
        """Purchases if customers bought ``purchase_rate`` times as fast and dropped out ``dropout`` times
        as fast: lifetimes run in calendar time, so purchase rate × c gives c·E(t) and dropout × k gives
        the expected alive time E(k·t)/k."""
        k = self._check_knobs(knobs, {"purchase_rate": 1.0, "dropout": 1.0})
        return ScaledPurchases(self, time_scale=k["dropout"], value_scale=k["purchase_rate"] / k["dropout"])


def _log_nbd(r: float, alpha: float, k: float, tau: np.ndarray) -> np.ndarray:
    return gammaln(r + k) - gammaln(r) - gammaln(k + 1) + r * (np.log(alpha) - np.log(alpha + tau)) + (
        k * (np.log(tau) - np.log(alpha + tau)) if k > 0 else 0.0
    )
