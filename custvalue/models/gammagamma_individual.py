"""Gamma-Gamma fitted on every repeat purchase's amount, not only each customer's mean.

Amounts z_ij ~ Gamma(p, ν) with ν ~ Gamma(q, v) across customers, as in the
Gamma-Gamma model; a customer with x repeat purchases contributes

    ∫ Π_j f(z_ij | p, ν) g(ν | q, v) dν
      = Π_j z_ij^(p−1) / Γ(p)^x · v^q / Γ(q) · Γ(px+q) / (v + Σ_j z_ij)^(px+q),

whose sufficient statistics are x, the mean m and the mean log amount
ℓ = mean_j ln z_ij. The mean-only model discards ℓ, which carries the
within-customer spread of amounts, the information that pins down p. This is
pymc-marketing's ``GammaGammaModelIndividual``, fitted by maximum likelihood
with an analytic gradient and Hessian.

The summary columns are ``frequency`` (x), ``monetary_value`` (m) and
``mean_log_value`` (ℓ: the mean natural log of the value of each repeat
purchase occasion of positive value; 0 for customers without one). Given x and m
the expected spend is Gamma-Gamma's.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from scipy.special import digamma, gammaln, polygamma

from custvalue.errors import invalid_values_error
from custvalue.models._weighted import wdot
from custvalue.models.gammagamma import GammaGamma, _repeat_counts, spenders
from custvalue.models.registry import register

if TYPE_CHECKING:
    from custvalue.models._mle import LogLikValue


def gammagamma_individual_loglik(log_params: np.ndarray, x: np.ndarray, m: np.ndarray, mean_log: np.ndarray,
                                 weights: np.ndarray, order: int = 1,
                                 x_index: tuple | None = None) -> LogLikValue:
    """Weighted log-likelihood of customers' repeat-purchase amounts, with log-space derivatives.

    ``ln f = (p−1) x ℓ − x lnΓ(p) + q ln v − lnΓ(q) + lnΓ(px+q) − (px+q) ln(v + x m)``
    per customer; lnΓ(px+q) is evaluated once per distinct x. ``order``: 0
    value, 1 with gradient, 2 with gradient and Hessian (with respect to
    log p, log q, log v).

    Examples
    --------
    >>> import numpy as np
    >>> one = [np.array([2.0]), np.array([15.0]), np.array([np.log(10.0) / 2 + np.log(20.0) / 2]), np.array([1.0])]
    >>> # amounts 10 and 20 at p = q = v = 1: 1/Γ(1)² · 1 · Γ(3) / (1 + 30)³
    >>> bool(np.isclose(gammagamma_individual_loglik(np.zeros(3), *one, order=0), np.log(2 / 31**3)))
    True
    """
    theta = np.exp(log_params)
    p, q, v = theta
    ux, inv = x_index if x_index is not None else np.unique(x, return_inverse=True)
    wx = np.bincount(inv, weights=weights, minlength=len(ux))
    W, WX = float(wx.sum()), wdot(wx, ux)
    SXL = wdot(weights, x * mean_log)
    pu = p * ux
    px = p * x
    log_vxm = np.log(v + x * m)
    ll = ((p - 1) * SXL - WX * gammaln(p) + W * (q * np.log(v) - gammaln(q))
          + wdot(wx, gammaln(pu + q)) - wdot(weights, (px + q) * log_vxm))
    if order == 0:
        return ll
    psi_pq = digamma(pu + q)
    inv_vxm = 1.0 / (v + x * m)
    g = np.array([
        SXL - WX * digamma(p) + wdot(wx, ux * psi_pq) - wdot(weights * x, log_vxm),
        W * (np.log(v) - digamma(q)) + wdot(wx, psi_pq) - wdot(weights, log_vxm),
        W * q / v - wdot(weights, (px + q) * inv_vxm),
    ])
    grad_z = theta * g
    if order == 1:
        return ll, grad_z
    tri_pq = polygamma(1, pu + q)
    H = np.empty((3, 3))
    H[0, 0] = -WX * polygamma(1, p) + wdot(wx, ux**2 * tri_pq)
    H[0, 1] = H[1, 0] = wdot(wx, ux * tri_pq)
    H[0, 2] = H[2, 0] = -wdot(weights * x, inv_vxm)
    H[1, 1] = -W * polygamma(1, q) + wdot(wx, tri_pq)
    H[1, 2] = H[2, 1] = W / v - wdot(weights, inv_vxm)
    H[2, 2] = -W * q / v**2 + wdot(weights, (px + q) * inv_vxm**2)
    return ll, grad_z, np.outer(theta, theta) * H + np.diag(grad_z)


@register
class GammaGammaIndividual(GammaGamma):
    """Gamma-Gamma fitted on individual repeat-purchase amounts; parameters ``p, q, v``.

    Reads ``frequency``, ``monetary_value`` and ``mean_log_value`` (see the
    module docstring); predicts spend like :class:`GammaGamma`, from
    frequency and monetary_value alone.

    Examples
    --------
    >>> from custvalue.models import GammaGammaIndividual
    >>> truth = GammaGammaIndividual.from_params(p=6.0, q=4.0, v=15.0)
    >>> customers = truth.sample(20_000, seed=1)
    >>> list(customers.columns)
    ['frequency', 'monetary_value', 'mean_log_value']
    >>> GammaGammaIndividual().fit(customers).params_.round(1).tolist()
    [6.0, 4.0, 14.9]
    """

    name = "gammagamma_individual"
    columns = ("frequency", "monetary_value", "mean_log_value")
    # pymc-marketing's simulation in its tests of GammaGammaModelIndividual (no published fit exists).
    example_params = {"p": 6.0, "q": 4.0, "v": 15.0}
    lifetimes_fitter = ""

    def loglik(self, log_params: np.ndarray, data: dict[str, Any], weights: np.ndarray,
               order: int = 0) -> LogLikValue:
        return gammagamma_individual_loglik(log_params, data["frequency"], data["monetary_value"],
                                            data["mean_log_value"], weights, order, data.get("_x_index"))

    def start_values(self, data: dict[str, np.ndarray]) -> list[np.ndarray]:
        # Within a customer, E[ln m − ℓ] ≈ (1 − 1/x)/(2p) for x iid Gamma(p, ν) amounts: a start for p.
        x, gap = data["frequency"], np.log(data["monetary_value"]) - data["mean_log_value"]
        several = x >= 2
        p = 1.0
        if several.any() and float(np.mean(gap[several])) > 0:
            p = float(np.clip(np.mean(1 - 1 / x[several]) / (2 * np.mean(gap[several])), 0.05, 1e3))
        mean = max(float(np.mean(data["monetary_value"])), 1e-300)
        return [np.log([p, 3.0, 2.0 * mean / p]), np.zeros(3), np.log([5.0, 3.0, 10.0])]

    def _fit_data(self, summary: pd.DataFrame,
                  weights: np.ndarray | None) -> tuple[dict[str, np.ndarray], np.ndarray | None]:
        data, w = super()._fit_data(summary, weights)
        x, m, mean_log = self._summary_arrays(summary, self.columns)
        repeat = spenders(x, m)
        mean_log = mean_log[repeat]
        # The mean of logs never exceeds the log of the mean (equal when all amounts are equal).
        with np.errstate(invalid="ignore", divide="ignore"):
            bad = ~np.isfinite(mean_log) | (mean_log > np.log(m[repeat]) + 1e-9 * (1 + np.abs(np.log(m[repeat]))))
        if bad.any():
            rows = summary.loc[repeat].loc[bad, list(self.columns)]
            raise invalid_values_error(
                "mean_log_value", "finite and <= log(monetary_value) for repeat buyers", rows,
                "mean_log_value is the mean of log(amount) over each customer's repeat purchase occasions; "
                "compute it from the transactions, or fit spend_model='gammagamma', which needs monetary_value "
                "only")
        return {**data, "mean_log_value": mean_log}, w

    def _scaled(self, data: dict[str, np.ndarray], factor: float) -> dict[str, np.ndarray]:
        return {**super()._scaled(data, factor), "mean_log_value": data["mean_log_value"] + np.log(factor)}

    def _spends_per_row(self, x: np.ndarray) -> np.ndarray:
        return x  # the density of x amounts

    def simulate(self, frequency: np.ndarray, seed: int | None = None) -> pd.DataFrame:
        """Customers with the given repeat-purchase counts, their amounts drawn from the model:
        ``frequency``, ``monetary_value`` and ``mean_log_value``.

        Examples
        --------
        >>> from custvalue.models import GammaGammaIndividual
        >>> sim = GammaGammaIndividual.from_params(p=6.0, q=4.0, v=15.0).simulate([0, 1, 3], seed=0)
        >>> one_purchase = sim.iloc[1]   # the mean log of one amount is the log of the mean
        >>> float(sim["mean_log_value"].iloc[0]), bool(np.isclose(one_purchase.mean_log_value,
        ...                                                         np.log(one_purchase.monetary_value)))
        (0.0, True)
        """
        x = _repeat_counts(frequency)
        counts = x.astype(np.int64)
        amounts = self.transaction_amounts(counts, seed)
        owner = np.repeat(np.arange(len(counts)), counts)
        with np.errstate(divide="ignore", invalid="ignore"):
            mean = np.where(counts > 0, np.bincount(owner, amounts, len(counts)) / np.maximum(counts, 1), 0.0)
            mean_log = np.where(counts > 0, np.bincount(owner, np.log(amounts), len(counts)) / np.maximum(counts, 1),
                                0.0)
        return pd.DataFrame({"frequency": x, "monetary_value": mean, "mean_log_value": mean_log},
                            index=pd.RangeIndex(len(x), name="customer_id"))
