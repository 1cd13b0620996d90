"""Gamma-Gamma model of spend per transaction (Fader & Hardie 2013 note; Colombo & Jiang 1999).

A customer's transaction values are Gamma(p, ν) with ν ~ Gamma(q, γ) across
customers; the observed mean of x transactions then has a closed-form marginal.
Parameters follow lifetimes: ``p, q, v`` (v is the paper's γ).

The fit does not depend on the currency unit: it runs on spends divided by
their (weighted) mean, then scales v back; p and q are unchanged and the
log-likelihood is shifted by the Jacobian of the rescaling.

Reference: P. S. Fader and B. G. S. Hardie (2013), "The Gamma-Gamma Model of
Monetary Value", http://www.brucehardie.com/notes/025/ — equations (1) and (5).
"""

from __future__ import annotations

import warnings
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np
import pandas as pd
from scipy.special import digamma, gammaincinv, gammaln, polygamma

from custvalue.checks import check_int, invalid
from custvalue.errors import CustValueWarning, SchemaError, invalid_values_error
from custvalue.models._base import Ability, MLEModel, Role, summary_weights
from custvalue.models._weighted import wdot

if TYPE_CHECKING:
    from custvalue.models._mle import LogLikValue

#: exp() of this is just below the largest double: expected spends are capped there.
_LOG_MAX = 709.0


class SpendWarning(CustValueWarning):
    """A spend model's estimates leave some expected spends infinite; the message says what custvalue
    returns instead and what to check in the data."""


def gammagamma_loglik(log_params: np.ndarray, x: np.ndarray, m: np.ndarray, weights: np.ndarray,
                      order: int = 1, x_index: tuple | None = None) -> LogLikValue:
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
    ll = (wdot(wx, gammaln(pu + q) - gammaln(pu) + pu * np.log(ux)) + W * (q * np.log(v) - gammaln(q))
          + wdot(weights, (px - 1) * log_m - (px + q) * log_vxm))
    if order == 0:
        return ll
    psi_pq, psi_p = digamma(pu + q), digamma(pu)
    inv_vxm = 1.0 / (v + x * m)
    wxm = weights * x
    g = np.array([
        wdot(wx, ux * (psi_pq - psi_p + np.log(ux))) + wdot(wxm, log_m - log_vxm),
        wdot(wx, psi_pq) + W * (np.log(v) - digamma(q)) - wdot(weights, log_vxm),
        W * q / v - wdot(weights, (px + q) * inv_vxm),
    ])
    grad_z = theta * g
    if order == 1:
        return ll, grad_z
    tri_pq, tri_p = polygamma(1, pu + q), polygamma(1, pu)
    H = np.empty((3, 3))
    H[0, 0] = wdot(wx, ux**2 * (tri_pq - tri_p))
    H[0, 1] = H[1, 0] = wdot(wx, ux * tri_pq)
    H[1, 1] = wdot(wx, tri_pq) - W * polygamma(1, q)
    H[0, 2] = H[2, 0] = -wdot(wxm, inv_vxm)
    H[1, 2] = H[2, 1] = W / v - wdot(weights, inv_vxm)
    H[2, 2] = -W * q / v**2 + wdot(weights, (px + q) * inv_vxm**2)
    return ll, grad_z, np.outer(theta, theta) * H + np.diag(grad_z)


def _repeat_counts(counts: Any, name: str = "frequency") -> np.ndarray:
    """One whole number >= 0 per customer, as floats, or a clear error."""
    try:
        values = np.asarray(counts, dtype=float)
    except (TypeError, ValueError):
        raise invalid(name, counts, "give one whole number >= 0 per customer") from None
    if values.ndim != 1 or not np.all(np.isfinite(values)) or np.any(values < 0) or np.any(values != np.floor(values)):
        raise invalid(name, counts, "give one whole number >= 0 per customer")
    return values


def customer_counts(data: pd.DataFrame) -> np.ndarray:
    """How many customers each row of ``data`` stands for: its whole-number ``weights``, else one."""
    if "weights" not in data.columns:
        return np.ones(len(data), dtype=np.int64)
    weights = summary_weights(data, "weights")
    if weights is None or np.any(weights != np.floor(weights)):
        raise invalid("weights", "the weights column", "simulating customers like these needs whole-number "
                      "weights (counts of identical customers)")
    return weights.astype(np.int64)


def posterior_spend(p: float, q: float, v: float, x: np.ndarray, m: np.ndarray) -> np.ndarray:
    """Expected spend per transaction of customers with x repeat purchases of mean m.

    Given them, ν ~ Gamma(s, R) with s = px + q and R = v + xm, and a
    transaction's expected value is E[p/ν] = pR/(s − 1) (Fader & Hardie 2013,
    eq. 5; x = 0 gives the population mean pv/(q − 1)). That mean is infinite
    when s ≤ 1; those customers get the posterior median of p/ν instead,
    pR / Q(s, ½) with Q the gamma quantile (evaluated in log space, since
    Q(s, ½) underflows for small s). Values are capped at the largest double.

    Examples
    --------
    >>> import numpy as np
    >>> posterior_spend(6.25, 3.74, 15.44, np.array([0, 2]), np.array([0.0, 20.0])).round(2).tolist()
    [35.22, 22.74]
    >>> posterior_spend(2.0, 0.8, 10.0, np.array([0]), np.array([0.0])).round(2).tolist()   # median: no mean
    [39.89]
    """
    x = np.asarray(x, dtype=float)
    m = np.where(x > 0, m, 0.0)
    shape, log_rate = p * x + q, np.log(v + x * m)
    with np.errstate(divide="ignore", invalid="ignore", under="ignore"):
        log_mean = np.log(p) + log_rate - np.log(np.where(shape > 1, shape - 1, 1.0))
        median = gammaincinv(np.minimum(shape, 1.0), 0.5)
        # P(s, y) ≈ y^s / Γ(s+1) for small y, so ln Q(s, ½) ≈ (ln ½ + lnΓ(s+1)) / s where Q underflows.
        log_quantile = np.where(median > 1e-300, np.log(np.maximum(median, 1e-300)),
                                (np.log(0.5) + gammaln(np.minimum(shape, 1.0) + 1)) / np.minimum(shape, 1.0))
        log_median = np.log(p) + log_rate - log_quantile
    return np.exp(np.minimum(np.where(shape > 1, log_mean, log_median), _LOG_MAX))


def spenders(x: np.ndarray, m: np.ndarray) -> np.ndarray:
    """The customers a spend model fits on: repeat buyers with a positive mean spend (those whose repeat
    purchases were all worth $0 have no spend to fit)."""
    with np.errstate(invalid="ignore"):
        return (x > 0) & (m > 0) & np.isfinite(m)


class GammaGamma(MLEModel):
    """Gamma-Gamma spend model; parameters ``p, q, v``.

    Fits on the repeat buyers (frequency > 0) with a positive
    ``monetary_value`` in the summary it is given, using it as their mean
    spend per repeat purchase (:func:`custvalue.summarize` averages the repeat
    purchases of positive value, so $0 purchases never enter a fit). The
    ``penalizer`` acts on (p, q, v) with v on the scale of spends divided by
    their mean, so it means the same in any currency.

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
    parameter_meaning = {"p": "the spread of each customer's spends", "q": "the spread of spends across customers",
                         "v": "the spread of spends across customers"}
    example_params = {"p": 6.25, "q": 3.74, "v": 15.44}  # CDNOW, Fader & Hardie (2013)
    lifetimes_fitter = "GammaGammaFitter"
    columns: ClassVar[tuple[str, ...]] = ("frequency", "monetary_value")

    derivative_order = 2

    def loglik(self, log_params: np.ndarray, data: dict[str, Any], weights: np.ndarray,
               order: int = 0) -> LogLikValue:
        return gammagamma_loglik(log_params, data["frequency"], data["monetary_value"], weights, order,
                                 data.get("_x_index"))

    def start_values(self, data: dict[str, np.ndarray]) -> list[np.ndarray]:
        m = data["monetary_value"]
        return [np.log([1.0, 1.0, max(float(np.mean(m)), 1e-3)]), np.zeros(3), np.log([5.0, 3.0, 10.0])]

    def _fit_data(self, summary: pd.DataFrame,
                  weights: np.ndarray | None) -> tuple[dict[str, np.ndarray], np.ndarray | None]:
        x, m = self._summary_arrays(summary, ("frequency", "monetary_value"))
        repeat = spenders(x, m)
        if not repeat.any():
            raise SchemaError(f"{type(self).__name__} needs repeat buyers (frequency > 0) with a positive "
                              "monetary_value to fit; this summary has none")
        bad = (x > 0) & ~(np.isfinite(m) & (m >= 0))
        if bad.any():
            raise invalid_values_error(
                "monetary_value", ">= 0 for repeat buyers", summary.loc[bad, ["frequency", "monetary_value"]],
                "a repeat buyer's mean spend cannot be negative: net returns against their purchases "
                "(custvalue.clean(tx, negative_amounts='net')) or remove these customers",
            )
        data = {"frequency": x[repeat], "monetary_value": m[repeat]}
        return data, None if weights is None else weights[repeat]

    # -- currency-free fitting ------------------------------------------------------------------------
    def _scaled(self, data: dict[str, np.ndarray], factor: float) -> dict[str, np.ndarray]:
        """The fit data with every spend multiplied by ``factor``."""
        return {**data, "monetary_value": data["monetary_value"] * factor}

    def _spends_per_row(self, x: np.ndarray) -> np.ndarray:
        """How many spends each row's likelihood is a density of (one mean per customer here)."""
        return np.ones_like(x)

    def fit(self, summary: pd.DataFrame, weights: np.ndarray | pd.Series | str | None = None) -> GammaGamma:
        """Fit by maximum likelihood on the repeat buyers of ``summary`` and return ``self``.

        The optimiser sees spends divided by their weighted mean s; the
        estimates are mapped back (v·s, p and q as they are, log-likelihood
        less ln s per spend), so the result is the same in cents or in
        millions.

        Examples
        --------
        >>> import custvalue as cv
        >>> summary = cv.datasets.load_cdnow_summary()
        >>> in_cents = summary.assign(monetary_value=summary["monetary_value"] * 100)
        >>> (cv.models.get("gammagamma").fit(in_cents).params_ / [1, 1, 100]).round(2).tolist()
        [6.25, 3.74, 15.45]
        """
        if not isinstance(summary, pd.DataFrame):
            raise SchemaError(f"{type(self).__name__} needs a customer summary DataFrame, got "
                              f"{type(summary).__name__}")
        data, w = self._fit_data(summary, summary_weights(summary, weights))
        w_rows = np.ones(len(data["frequency"])) if w is None else w
        scale = wdot(w_rows, data["monetary_value"]) / max(float(w_rows.sum()), 1e-300)
        if not (np.isfinite(scale) and scale > 0):
            scale = 1.0
        super().fit(pd.DataFrame(self._scaled(data, 1.0 / scale)), w)
        jacobian = np.log(scale) * wdot(w_rows, self._spends_per_row(data["frequency"]))
        params = self.params_.to_dict()
        params["v"] *= scale
        self._set_fitted(params, self.log_likelihood_ - jacobian, self.n_customers_, self.converged_,
                         self.covariance_log_.to_numpy())
        return self

    def _after_fit(self) -> None:
        q = float(self.params_["q"])
        if q <= 1:
            warnings.warn(
                f"{type(self).__name__}: q = {q:.3f} <= 1, so spends are heavy-tailed enough that the population "
                "mean spend p·v/(q−1) is infinite. Customers without repeat purchases (and any whose p·x + q "
                "<= 1) get their median expected spend instead of the mean (see expected_spend). A handful of "
                "extreme orders or data errors usually causes this: look at "
                "summary.nlargest(10, 'monetary_value') and clean or cap them before fitting.",
                SpendWarning, stacklevel=3,
            )

    def population_mean_spend(self) -> float:
        """E[spend] = p v / (q − 1) for a customer with no repeat purchases; inf when q ≤ 1 (the mean does
        not exist; :meth:`expected_spend` then gives the median).

        Examples
        --------
        >>> from custvalue.models import GammaGamma
        >>> round(GammaGamma.from_params(p=6.25, q=3.74, v=15.44).population_mean_spend(), 2)
        35.22
        """
        p, q, v = self._p()
        return p * v / (q - 1) if q > 1 else np.inf

    def expected_spend(self, summary: pd.DataFrame) -> pd.Series:
        """E[spend per transaction | x, m_x] = p(v + x m_x)/(px + q − 1) (Fader & Hardie 2013, eq. 5).

        Reads ``frequency`` (x) and ``monetary_value`` (m_x). Customers without
        repeat purchases get the population mean p v/(q − 1). Where p·x + q ≤ 1
        the mean is infinite (always so for x = 0 when q ≤ 1): those customers
        get the median of their posterior spend instead (see
        ``posterior_spend`` in this module), so every value is finite and positive.

        Examples
        --------
        >>> import pandas as pd
        >>> from custvalue.models import GammaGamma
        >>> customers = pd.DataFrame({"frequency": [0, 2, 10], "monetary_value": [0.0, 20.0, 50.0]})
        >>> GammaGamma.from_params(p=6.25, q=3.74, v=15.44).expected_spend(customers).round(2).tolist()
        [35.22, 22.74, 49.38]
        """
        x, m = self._summary_arrays(summary, ("frequency", "monetary_value"))
        with np.errstate(invalid="ignore"):
            bad = ~np.isfinite(x) | (x < 0) | ((x > 0) & ~(np.isfinite(m) & (m >= 0)))
        if bad.any():
            raise invalid_values_error(
                "monetary_value", "frequency >= 0 and, for repeat buyers, monetary_value >= 0",
                summary.loc[bad, ["frequency", "monetary_value"]],
                "use the summary custvalue.summarize gives, or drop these customers")
        p, q, v = self._p()
        return pd.Series(posterior_spend(p, q, v, x, m), index=summary.index, name="expected_spend")

    def transaction_amounts(self, n_transactions: np.ndarray, seed: int | np.random.Generator | None = None
                            ) -> np.ndarray:
        """Amounts of every transaction of customers with ``n_transactions`` each, drawn from the model: one
        ν ~ Gamma(q, v) per customer, then Gamma(p, ν) amounts; customer 0's first, then customer 1's, ...

        Examples
        --------
        >>> from custvalue.models import GammaGamma
        >>> amounts = GammaGamma.from_params(p=6.25, q=3.74, v=15.44).transaction_amounts([2, 0, 3], seed=0)
        >>> len(amounts), bool((amounts > 0).all())
        (5, True)
        """
        counts = _repeat_counts(n_transactions, "n_transactions")
        p, q, v = self._p()
        rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(
            None if seed is None else check_int(seed, "seed", low=0))
        nu = np.maximum(rng.gamma(q, 1 / v, len(counts)), np.finfo(float).tiny)
        with np.errstate(over="ignore"):
            amounts = rng.gamma(p, 1 / np.repeat(nu, counts.astype(np.int64)))
        return np.minimum(amounts, np.finfo(float).max)

    def simulate(self, frequency: np.ndarray, seed: int | None = None) -> pd.DataFrame:
        """Mean spends of customers with the given repeat-purchase counts, drawn from the model.

        Examples
        --------
        >>> from custvalue.models import GammaGamma
        >>> GammaGamma.from_params(p=6.25, q=3.74, v=15.44).simulate([0, 3], seed=0).columns.tolist()
        ['frequency', 'monetary_value']
        """
        p, q, v = self._p()
        rng = np.random.default_rng(None if seed is None else check_int(seed, "seed", low=0))
        x = _repeat_counts(frequency)
        nu = np.maximum(rng.gamma(q, 1 / v, len(x)), np.finfo(float).tiny)
        # The mean of x Gamma(p, ν) amounts is Gamma(px, xν).
        with np.errstate(over="ignore"):
            mean = np.where(x > 0, rng.gamma(p * np.maximum(x, 1), 1 / (nu * np.maximum(x, 1))), 0.0)
        return pd.DataFrame({"frequency": x, "monetary_value": np.minimum(mean, np.finfo(float).max)},
                            index=pd.RangeIndex(len(x), name="customer_id"))

    def simulate_like(self, data: pd.DataFrame, seed: int | None = None) -> pd.DataFrame:
        """Spends of customers with the purchase counts of ``data``, drawn from the model; a row with a
        ``weights`` column stands for that many customers.

        Examples
        --------
        >>> import custvalue as cv
        >>> gg = cv.models.GammaGamma.from_params(**cv.models.GammaGamma.example_params)
        >>> len(gg.simulate_like(cv.datasets.load_cdnow_summary(), seed=0))
        2357
        """
        (frequency,) = self._summary_arrays(data, ("frequency",))
        return self.simulate(np.repeat(frequency, customer_counts(data)), seed=seed)

    def sample(self, n_customers: int, seed: int | None = None) -> pd.DataFrame:
        """Spends of ``n_customers`` customers with 0 to 9 repeat purchases, drawn from the model.

        Examples
        --------
        >>> import custvalue as cv
        >>> gg = cv.models.GammaGamma.from_params(**cv.models.GammaGamma.example_params)
        >>> int(gg.sample(1000, seed=0)["frequency"].max())
        9
        """
        n_customers = check_int(n_customers, "n_customers", low=0)
        rng = np.random.default_rng(None if seed is None else check_int(seed, "seed", low=0))
        return self.simulate(rng.integers(0, 10, n_customers), seed=int(rng.integers(2**31)))
