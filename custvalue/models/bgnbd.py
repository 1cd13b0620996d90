"""BG/NBD: beta-geometric / negative binomial distribution model (Fader, Hardie & Lee 2005).

While alive a customer buys as a Poisson process with rate λ ~ Gamma(r, α);
after each repeat purchase they drop out with probability p ~ Beta(a, b).
Likelihood and predictions are those of :mod:`custvalue.models._betageo`.

Reference: P. S. Fader, B. G. S. Hardie and K. L. Lee (2005), "'Counting Your
Customers' the Easy Way: An Alternative to the Pareto/NBD Model", Marketing
Science 24(2), 275-284 — equations (6), (7), (8), (10) and (13).
"""

from __future__ import annotations

import numpy as np

from custvalue.models._base import Role
from custvalue.models._betageo import BetaGeoFamily, beta_geometric_loglik, prepare_rows


def bgnbd_loglik(log_params: np.ndarray, data: dict[str, np.ndarray], weights: np.ndarray,
                 order: int = 0) -> float | tuple:
    """Weighted BG/NBD log-likelihood (FHL 2005, eq. 6) with its gradient (order 1) and Hessian (order 2).

    ``log_params`` is (log r, log α, log a, log b) followed by the covariate coefficients γ_p of
    the columns ``zp0``, ``zp1``… of ``data`` and γ_d of ``zd0``…; ``data`` also holds
    ``frequency``, ``recency`` and ``T``. Derivatives are with respect to ``log_params``.

    Examples
    --------
    >>> import numpy as np
    >>> import custvalue as cv
    >>> summary = cv.datasets.load_cdnow_summary()
    >>> data = {c: summary[c].to_numpy(dtype=float) for c in ("frequency", "recency", "T")}
    >>> z = np.log([0.2426, 4.4136, 0.7929, 2.4259])
    >>> round(bgnbd_loglik(z, data, np.ones(len(summary))), 2)
    -9582.43
    """
    return beta_geometric_loglik(log_params, prepare_rows(data, weights), order, shift=0)


class BetaGeo(BetaGeoFamily):
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
    shift = 0
    example_params = {"r": 0.2426, "alpha": 4.4136, "a": 0.7929, "b": 2.4259}  # CDNOW, FHL (2005)
    lifetimes_fitter = "BetaGeoFitter"
