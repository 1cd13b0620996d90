"""What-if models: a fitted model's predictions under a changed purchase rate, dropout or retention.

A model's :meth:`~custvalue.models.BaseModel.scenario` returns one of these;
the model it was made from is never changed.
"""

from __future__ import annotations

from typing import ClassVar

import numpy as np
import pandas as pd

from custvalue.errors import InvalidParameterError
from custvalue.models._base import Ability, BaseModel, Role


class ScaledPurchases(BaseModel):
    """Purchases ``value_scale · E(time_scale · t)`` of a fitted purchase model; P(alive) as today.

    A model turns its knobs into the two scales: for BG/NBD, buying c times
    as fast with a k times higher dropout probability gives E(c·k·t)/k
    (dropout follows purchases); for Pareto/NBD, whose lifetimes run in
    calendar time, c·E(k·t)/k.

    Examples
    --------
    >>> from custvalue.models import BetaGeo
    >>> m = BetaGeo.from_params(**BetaGeo.example_params)
    >>> summary = pd.DataFrame({"frequency": [2.0], "recency": [30.0], "T": [39.0]})
    >>> faster = m.scenario(purchase_rate=1.5)
    >>> round(float(faster.expected_purchases(summary, 10).iloc[0] / m.expected_purchases(summary, 15).iloc[0]), 12)
    1.0
    """

    name = "scaled_purchases"
    role = Role.PURCHASE
    abilities: ClassVar[frozenset[Ability]] = frozenset({Ability.CONDITIONAL, Ability.P_ALIVE, Ability.DISCOUNTING})

    def __init__(self, base: BaseModel, time_scale: float = 1.0, value_scale: float = 1.0):
        if not (base.is_fitted and base.can(Ability.CONDITIONAL) and base.can(Ability.P_ALIVE)):
            raise InvalidParameterError("a purchase scenario needs a fitted model that predicts purchases and P(alive)")
        if not (np.isfinite(time_scale) and np.isfinite(value_scale) and time_scale > 0 and value_scale > 0):
            raise InvalidParameterError(f"scenario scales must be finite and > 0, got {time_scale}, {value_scale}")
        self.base = base
        self.time_scale = float(time_scale)
        self.value_scale = float(value_scale)
        self._set_fitted({})

    def required_columns(self) -> tuple[str, ...]:
        return self.base.required_columns()

    def expected_purchases(self, summary: pd.DataFrame, t: float) -> pd.Series:
        return self.value_scale * self.base.expected_purchases(summary, self.time_scale * float(t))

    def discounted_purchases(self, summary: pd.DataFrame, horizon: float, delta: float) -> pd.Series:
        # ∫₀ᴴ e^(−δs) d[v·E(k·s)] = v·∫₀^(kH) e^(−(δ/k)u) dE(u)
        k = self.time_scale
        return self.value_scale * self.base.discounted_purchases(summary, k * float(horizon), float(delta) / k)

    def p_alive(self, summary: pd.DataFrame, future_t: float = 0.0) -> pd.Series:
        # P(alive) today is unchanged; later, dropout runs time_scale times as fast.
        if future_t == 0:
            return self.base.p_alive(summary)
        return self.base.p_alive(summary, future_t=self.time_scale * float(future_t))


class ScaledValue(BaseModel):
    """Customer value, purchases and spend of a fitted value model, with value and purchases × ``value_scale``."""

    name = "scaled_value"
    role = Role.VALUE
    abilities: ClassVar[frozenset[Ability]] = frozenset({Ability.VALUE, Ability.CONDITIONAL, Ability.SPEND})

    def __init__(self, base: BaseModel, value_scale: float = 1.0):
        if not (base.is_fitted and all(base.can(a) for a in self.abilities)):
            raise InvalidParameterError("a value scenario needs a fitted model that values customers")
        if not (np.isfinite(value_scale) and value_scale >= 0):
            raise InvalidParameterError(f"the scenario's value scale must be finite and >= 0, got {value_scale}")
        self.base = base
        self.value_scale = float(value_scale)
        self._set_fitted({})

    def required_columns(self) -> tuple[str, ...]:
        return self.base.required_columns()

    def customer_value(self, summary: pd.DataFrame, horizon: float | None = None,
                       discount_rate: float | None = None, margin: float | None = None) -> pd.Series:
        return self.value_scale * self.base.customer_value(summary, horizon, discount_rate, margin)

    def expected_purchases(self, summary: pd.DataFrame, t: float) -> pd.Series:
        return self.value_scale * self.base.expected_purchases(summary, t)

    def expected_spend(self, summary: pd.DataFrame) -> pd.Series:
        return self.base.expected_spend(summary)
