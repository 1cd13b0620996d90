"""Static covariates for the purchase and the dropout process (BG/NBD, Pareto/NBD).

Each customer's scale parameters move with their covariates through the
exp(γ′z) link of Fader & Hardie's (2007) note "Incorporating time-invariant
covariates into the Pareto/NBD and BG/NBD models", as CLVTools applies it:
the purchase rate's scale α_i = α·exp(−γ_p′z_p) (a positive γ_p means more
purchases), and for the dropout process Pareto/NBD's β_i = β·exp(−γ_d′z_d)
(a positive γ_d means earlier dropout) or BG/NBD's a_i = a·exp(γ_d′z_d),
b_i = b·exp(γ_d′z_d). Covariate columns are read from the summary frame.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from custvalue.errors import InvalidParameterError, SchemaError

if TYPE_CHECKING:
    from custvalue.models._base import MLEModel as _MixinBase  # what the mixin is mixed into
else:
    _MixinBase = object

#: A parameter that is one number, or one per customer when the model has covariates.
PerCustomer = float | np.ndarray


class CovariateMixin(_MixinBase):
    """Covariate bookkeeping for an MLE model with ``purchase_covariates`` / ``dropout_covariates``."""

    def __init__(self, penalizer: float = 0.0, engine: str = "native",
                 purchase_covariates: list[str] | None = None, dropout_covariates: list[str] | None = None):
        super().__init__(penalizer, engine)
        self.purchase_covariates = purchase_covariates
        self.dropout_covariates = dropout_covariates

    def _fit_data(
        self, summary: pd.DataFrame, weights: np.ndarray | None
    ) -> tuple[dict[str, np.ndarray], np.ndarray | None]:
        data, weights = super()._fit_data(summary, weights)
        return {**data, **self._covariate_data(summary)}, weights

    def _covariate_lists(self) -> tuple[list[str], list[str]]:
        lists = []
        for name in ("purchase_covariates", "dropout_covariates"):
            value = getattr(self, name) or []
            if not isinstance(value, list | tuple) or not all(isinstance(c, str) for c in value):
                raise InvalidParameterError(f"{name} must be a list of column names, got {value!r}")
            lists.append(list(value))
        return lists[0], lists[1]

    def has_covariates(self) -> bool:
        purchase, dropout = self._covariate_lists()
        return bool(purchase or dropout)

    def parameter_names(self) -> tuple[str, ...]:
        purchase, dropout = self._covariate_lists()
        return (*self.param_names, *(f"purchase[{c}]" for c in purchase), *(f"dropout[{c}]" for c in dropout))

    def required_columns(self) -> tuple[str, ...]:
        purchase, dropout = self._covariate_lists()
        return tuple(dict.fromkeys((*self.columns, *purchase, *dropout)))

    def covariate_matrices(self, frame: pd.DataFrame | dict) -> tuple[np.ndarray, np.ndarray]:
        """(Z_purchase, Z_dropout) as float matrices (n × k), validated."""
        purchase, dropout = self._covariate_lists()
        out = []
        for columns in (purchase, dropout):
            missing = [c for c in columns if c not in frame]
            if missing:
                raise SchemaError(f"covariate column(s) {missing} are not in the summary; add them as columns "
                                  "(one value per customer)")
            matrix = np.column_stack([np.asarray(frame[c], dtype=float) for c in columns]) if columns else \
                np.zeros((len(frame["frequency"]), 0))
            if not np.all(np.isfinite(matrix)):
                raise SchemaError(f"covariates {columns} must be finite numbers (encode categories as 0/1 columns)")
            out.append(matrix)
        return out[0], out[1]

    def covariate_effects(self, frame: pd.DataFrame | dict) -> tuple[np.ndarray | float, np.ndarray | float]:
        """Per customer exp(γ_p′z_p) and exp(γ_d′z_d) (1.0 without covariates)."""
        if not self.has_covariates():
            return 1.0, 1.0
        purchase, dropout = self._covariate_lists()
        gp = self.params_[[f"purchase[{c}]" for c in purchase]].to_numpy()
        gd = self.params_[[f"dropout[{c}]" for c in dropout]].to_numpy()
        zp, zd = self.covariate_matrices(frame)
        return np.exp(zp @ gp), np.exp(zd @ gd)

    @staticmethod
    def _simulation_frame(covariates: pd.DataFrame | None) -> pd.DataFrame | None:
        """The covariates of customers to simulate, shaped like a summary for covariate_effects."""
        return None if covariates is None else covariates.reset_index(drop=True).assign(frequency=0.0)

    @staticmethod
    def _with_covariates(simulated: pd.DataFrame, covariates: pd.DataFrame | None) -> pd.DataFrame:
        """Simulated summaries with the covariates they were drawn with, row for row."""
        if covariates is None:
            return simulated
        return simulated.join(covariates.reset_index(drop=True).set_axis(simulated.index))

    def _covariate_data(self, summary: pd.DataFrame) -> dict[str, np.ndarray]:
        zp, zd = self.covariate_matrices(summary)
        data = {f"zp{i}": zp[:, i] for i in range(zp.shape[1])}
        data.update({f"zd{i}": zd[:, i] for i in range(zd.shape[1])})
        return data

    @staticmethod
    def _split(log_params: np.ndarray, k: int, data: dict) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Model parameters and the exp(γ′z) effects of a parameter vector on the optimiser's scale."""
        kp = sum(1 for key in data if key.startswith("zp"))
        kd = sum(1 for key in data if key.startswith("zd"))
        theta = np.exp(log_params[:k])
        n = len(data["frequency"])
        zp = np.column_stack([data[f"zp{i}"] for i in range(kp)]) if kp else np.zeros((n, 0))
        zd = np.column_stack([data[f"zd{i}"] for i in range(kd)]) if kd else np.zeros((n, 0))
        return theta, np.exp(zp @ log_params[k:k + kp]), np.exp(zd @ log_params[k + kp:k + kp + kd])
