"""MBG/NBD: the modified BG/NBD of Batislam, Denizel & Filiztekin (2007).

As BG/NBD, but a customer may also drop out right after the first purchase
(time 0), so one-time buyers are not all assumed alive. Likelihood and
predictions are those of :mod:`custvalue.models._betageo` with one more dropout
chance.

Reference: E. P. Batislam, M. Denizel and A. Filiztekin (2007), "Empirical
validation and comparison of models for customer base analysis",
International Journal of Research in Marketing 24(3), 201-209.
"""

from __future__ import annotations

import numpy as np

from custvalue.models._base import Role
from custvalue.models._betageo import BetaGeoFamily, beta_geometric_loglik, prepare_rows


def mbgnbd_loglik(log_params: np.ndarray, data: dict[str, np.ndarray], weights: np.ndarray,
                  order: int = 0) -> float | tuple:
    """Weighted MBG/NBD log-likelihood with its gradient (order 1) and Hessian (order 2), as :func:`bgnbd_loglik`:

    ``L = Γ(r+x)α^r/Γ(r) [B(a, b+x+1)/B(a,b) (α+T)^−(r+x) + B(a+1, b+x)/B(a,b) (α+t_x)^−(r+x)]``.

    Examples
    --------
    >>> import numpy as np
    >>> import custvalue as cv
    >>> summary = cv.datasets.load_cdnow_summary()
    >>> data = {c: summary[c].to_numpy(dtype=float) for c in ("frequency", "recency", "T")}
    >>> value, gradient = mbgnbd_loglik(np.log([0.525, 6.183, 0.891, 1.614]), data, np.ones(len(summary)), 1)
    >>> bool(np.abs(gradient).max() < 0.5)  # the published estimates are (close to) the maximum
    True
    """
    return beta_geometric_loglik(log_params, prepare_rows(data, weights), order, shift=1)


class ModifiedBetaGeo(BetaGeoFamily):
    """MBG/NBD model (Batislam et al. 2007); parameters ``r, alpha, a, b``; the hyper-parameters of
    :class:`~custvalue.models.BetaGeo`.

    Examples
    --------
    >>> import custvalue as cv
    >>> m = cv.models.get("mbgnbd").fit(cv.datasets.load_cdnow_summary())
    >>> m.params_.round(3).tolist()
    [0.525, 6.183, 0.891, 1.614]
    """

    name = "mbgnbd"
    role = Role.PURCHASE
    shift = 1
    example_params = {"r": 0.525, "alpha": 6.183, "a": 0.891, "b": 1.614}  # CDNOW, Batislam et al. (2007)
    lifetimes_fitter = "ModifiedBetaGeoFitter"
