"""Gamma-Gamma model of spend per transaction (Fader & Hardie 2013 note; Colombo & Jiang 1999).

A customer's transaction values are Gamma(p, ν) with ν ~ Gamma(q, γ) across
customers; the observed mean of x transactions then has a closed-form marginal.
Parameters follow lifetimes: ``p, q, v`` (v is the paper's γ).

Reference: P. S. Fader and B. G. S. Hardie (2013), "The Gamma-Gamma Model of
Monetary Value", http://www.brucehardie.com/notes/025/ — equations (1) and (5).
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
from scipy.special import digamma, gammaln, polygamma

from custvalue.errors import ModelWarning, SchemaError, invalid_values_error
from custvalue.models._base import Ability, MLEModel, Role


def gammagamma_loglik(log_params: np.ndarray, x: np.ndarray, m: np.ndarray, weights: np.ndarray,
                      order: int = 1, x_index: tuple | None = None):
    """Weighted log-likelihood of mean spends ``m`` over ``x`` transactions, with log-space derivatives.

    ``ln f(m | x) = lnΓ(px+q) − lnΓ(px) − lnΓ(q) + q ln v + (px−1) ln m + px ln x − (px+q) ln(v + x m)``
    (Fader & Hardie 2013, eq. 1 marginalised). The gamma-function terms
    depend on x alone and are evaluated once per distinct x. ``order``: 0
    value, 1 with gradient, 2 with gradient and Hessian.
    """
    theta = np.exp(log_params)
    p, q, v = theta
    ux, inv = x_index if x_index is not None else np.unique(x, return_inverse=True)
    wx = np.bincount(inv, weights=weights, minlength=len(ux))
    pu = p * ux
    log_m, log_vxm = np.log(m), np.log(v + x * m)
    px = p * x
    W = float(wx.sum())
    ll = (float(np.dot(wx, gammaln(pu + q) - gammaln(pu) + pu * np.log(ux))) + W * (q * np.log(v) - gammaln(q))
          + float(np.dot(weights, (px - 1) * log_m - (px + q) * log_vxm)))
    if order == 0:
        return ll
    psi_pq, psi_p = digamma(pu + q), digamma(pu)
    inv_vxm = 1.0 / (v + x * m)
    wxm = weights * x
    g = np.array([
        float(np.dot(wx, ux * (psi_pq - psi_p + np.log(ux)))) + float(np.dot(wxm, log_m - log_vxm)),
        float(np.dot(wx, psi_pq)) + W * (np.log(v) - digamma(q)) - float(np.dot(weights, log_vxm)),
        W * q / v - float(np.dot(weights, (px + q) * inv_vxm)),
    ])
    grad_z = theta * g
    if order == 1:
        return ll, grad_z
    tri_pq, tri_p = polygamma(1, pu + q), polygamma(1, pu)
    H = np.empty((3, 3))
    H[0, 0] = float(np.dot(wx, ux**2 * (tri_pq - tri_p)))
    H[0, 1] = H[1, 0] = float(np.dot(wx, ux * tri_pq))
    H[1, 1] = float(np.dot(wx, tri_pq)) - W * polygamma(1, q)
    H[0, 2] = H[2, 0] = -float(np.dot(wxm, inv_vxm))
    H[1, 2] = H[2, 1] = W / v - float(np.dot(weights, inv_vxm))
    H[2, 2] = -W * q / v**2 + float(np.dot(weights, (px + q) * inv_vxm**2))
    return ll, grad_z, np.outer(theta, theta) * H + np.diag(grad_z)


class GammaGamma(MLEModel):
    """Gamma-Gamma spend model; parameters ``p, q, v``.

    Fits on the repeat buyers (frequency > 0) of the summary it is given,
    using ``monetary_value`` as their mean spend per repeat purchase.

    Examples
    --------
    >>> import custvalue as cv
    >>> summary = cv.datasets.load_cdnow_summary()
    >>> gg = cv.models.get("gammagamma").fit(summary)
    >>> gg.params_.round(1).tolist(), round(gg.log_likelihood_, 2)
    ([6.2, 3.7, 15.4], -4055.92)
    >>> gg.expected_spend(summary).head(3).round(1).tolist()
    [24.7, 18.9, 35.2]
    """

    name = "gammagamma"
    role = Role.SPEND
    abilities = frozenset({Ability.SPEND, Ability.SIMULATION, Ability.INTERVALS, Ability.WEIGHTED_ROWS})
    param_names = ("p", "q", "v")
    example_params = {"p": 6.25, "q": 3.74, "v": 15.44}  # CDNOW, Fader & Hardie (2013)
    lifetimes_fitter = "GammaGammaFitter"
    columns = ("frequency", "monetary_value")

    derivative_order = 2

    def loglik(self, log_params, data, weights, order=0):
        return gammagamma_loglik(log_params, data["frequency"], data["monetary_value"], weights, order,
                                 data.get("_x_index"))

    def start_values(self, data):
        m = data["monetary_value"]
        return [np.log([1.0, 1.0, max(float(np.mean(m)), 1e-3)]), np.zeros(3), np.log([5.0, 3.0, 10.0])]

    def _fit_data(self, summary, weights):
        x, m = self._summary_arrays(summary)
        repeat = x > 0
        if not repeat.any():
            raise SchemaError("GammaGamma needs repeat buyers (frequency > 0) to fit; this summary has none")
        bad = repeat & ~(np.isfinite(m) & (m > 0))
        if bad.any():
            raise invalid_values_error(
                "monetary_value", "> 0 for repeat buyers", summary.loc[bad, ["frequency", "monetary_value"]],
                "a repeat buyer's mean spend must be positive; drop zero-value or returned purchases "
                "(custvalue.clean does so by default) or remove these customers",
            )
        data = {"frequency": x[repeat], "monetary_value": m[repeat]}
        return data, None if weights is None else weights[repeat]

    def _after_fit(self) -> None:
        if self.params_["q"] <= 1:
            warnings.warn(
                f"GammaGamma: q = {self.params_['q']:.3f} <= 1, so the population mean spend p·v/(q−1) is "
                "undefined; expected spends of customers without repeat purchases are infinite. "
                "Check for extreme spend outliers or use a penalizer.", ModelWarning, stacklevel=3,
            )

    def population_mean_spend(self) -> float:
        """E[spend] = p v / (q − 1) for a customer with no repeat purchases (inf when q ≤ 1)."""
        p, q, v = self._p()
        return p * v / (q - 1) if q > 1 else np.inf

    def expected_spend(self, summary: pd.DataFrame) -> pd.Series:
        """E[spend per transaction | x, m_x] = (p(v + x m_x)) / (px + q − 1) (Fader & Hardie 2013, eq. 5).

        Customers without repeat purchases get the population mean p v / (q − 1).
        """
        x, m = self._summary_arrays(summary)
        p, q, v = self._p()
        m = np.where(x > 0, np.nan_to_num(m), 0.0)
        with np.errstate(divide="ignore", invalid="ignore"):
            spend = p * (v + x * m) / (p * x + q - 1)
        spend = np.where(x > 0, spend, self.population_mean_spend())
        return pd.Series(spend, index=summary.index, name="expected_spend")

    def simulate(self, frequency: np.ndarray, seed: int | None = None) -> pd.DataFrame:
        """Mean spends of customers with the given repeat-purchase counts, drawn from the model."""
        p, q, v = self._p()
        rng = np.random.default_rng(seed)
        x = np.asarray(frequency, dtype=float)
        nu = rng.gamma(q, 1 / v, len(x))
        mean = np.where(x > 0, rng.gamma(p * np.maximum(x, 1), 1 / (nu * np.maximum(x, 1))), 0.0)
        return pd.DataFrame({"frequency": x, "monetary_value": mean}, index=pd.RangeIndex(len(x), name="customer_id"))

    def simulate_like(self, data: pd.DataFrame, seed: int | None = None) -> pd.DataFrame:
        """Mean spends of customers with the purchase counts of ``data``, drawn from the model."""
        return self.simulate(data["frequency"].to_numpy(dtype=float), seed=seed)

    def sample(self, n_customers: int, seed: int | None = None) -> pd.DataFrame:
        """Mean spends of ``n_customers`` customers with 0 to 9 repeat purchases, drawn from the model."""
        rng = np.random.default_rng(seed)
        return self.simulate(rng.integers(0, 10, n_customers), seed=rng.integers(2**31))
