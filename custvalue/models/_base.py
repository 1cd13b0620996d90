"""The model contract (scikit-learn's estimator conventions) shared by every CLV model.

Every model class declares its **role**, the slot it fills in a score, and the
**abilities** it has, the questions it can answer. Steps ask a model through
these declarations, never by its name or with ``hasattr``. Each ability is a
set of methods; :class:`BaseModel` defines them all, raising
:class:`~custvalue.errors.AbilityError` for a model that does not declare the
ability, and refuses (at class creation) a model that declares an ability
without its methods or implements one it does not declare.
"""

from __future__ import annotations

import copy
import inspect
import json
import os
import warnings
from collections.abc import Callable, Mapping, Sequence
from enum import StrEnum
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import pandas as pd

from custvalue.checks import check_choice, check_number
from custvalue.errors import (
    AbilityError,
    ConvergenceError,
    IdentificationWarning,
    InvalidParameterError,
    NotFittedError,
    SchemaError,
)
from custvalue.models import _files
from custvalue.validation import validate_summary

BLOCK_ROWS = 131_072


class Role(StrEnum):
    """The slot a model fills in :func:`custvalue.score`."""

    PURCHASE = "purchase"        #: predicts purchases (and often P(alive)) from each customer's history
    SPEND = "spend"              #: predicts spend per purchase
    VALUE = "value"              #: gives each customer's value directly (formula models)
    CONTRACTUAL = "contractual"  #: renewals of a subscription cohort (fitted on survivor counts)


class Ability(StrEnum):
    """What a model can answer; see :data:`ABILITY_METHODS` for the methods behind each."""

    P_ALIVE = "p_alive"
    CONDITIONAL = "conditional"
    PURCHASE_PROBABILITY = "purchase_probability"
    DISCOUNTING = "discounting"
    NEW_CUSTOMER = "new_customer"
    TRANSACTIONS = "transactions"
    SPEND = "spend"
    VALUE = "value"
    SIMULATION = "simulation"
    SCENARIOS = "scenarios"
    INTERVALS = "intervals"
    COVARIATES = "covariates"
    WEIGHTED_ROWS = "weighted_rows"


#: The methods that make up each ability (abilities with none are properties of the fit).
ABILITY_METHODS: dict[Ability, tuple[str, ...]] = {
    Ability.P_ALIVE: ("p_alive",),
    Ability.CONDITIONAL: ("expected_purchases",),
    Ability.PURCHASE_PROBABILITY: ("purchase_probability",),
    Ability.DISCOUNTING: ("discounted_purchases",),  # dert() is the infinite horizon
    Ability.NEW_CUSTOMER: ("expected_purchases_new", "probability_of_purchases"),
    Ability.TRANSACTIONS: ("simulate_transactions",),
    Ability.SPEND: ("expected_spend",),
    Ability.VALUE: ("customer_value",),
    Ability.SIMULATION: ("simulate", "simulate_like", "sample"),
    Ability.SCENARIOS: ("scenario",),
    Ability.INTERVALS: (),       # a parameter covariance from the fit: asymptotic prediction intervals
    Ability.COVARIATES: (),      # purchase_covariates= / dropout_covariates= hyper-parameters
    Ability.WEIGHTED_ROWS: (),   # fit(distinct rows, weights=counts) equals the fit on every customer
}

ABILITY_TEXT: dict[Ability, str] = {
    Ability.P_ALIVE: "give the probability that a customer is still alive",
    Ability.CONDITIONAL: "predict a customer's purchases from their history",
    Ability.PURCHASE_PROBABILITY: "give the probability of n purchases in a future period",
    Ability.DISCOUNTING: "give discounted expected purchases (DERT)",
    Ability.NEW_CUSTOMER: "predict the purchases of a new customer",
    Ability.TRANSACTIONS: "simulate transaction logs",
    Ability.SPEND: "predict spend per purchase",
    Ability.VALUE: "value customers directly",
    Ability.SIMULATION: "simulate data from its parameters",
    Ability.SCENARIOS: "re-predict under changed purchase rate, dropout or retention",
    Ability.INTERVALS: "give prediction intervals from a parameter covariance",
    Ability.COVARIATES: "take covariates",
    Ability.WEIGHTED_ROWS: "be fitted on distinct rows with counts",
}

# Registered model classes by name (filled by custvalue.models.registry.register).
REGISTRY: dict[str, type[BaseModel]] = {}


class BaseModel:
    """Base of every model: hyper-parameters in ``__init__``, ``fit`` returns ``self``.

    Learned state ends in ``_``: ``params_`` (a Series named as in the papers),
    ``log_likelihood_``, ``n_customers_``, ``converged_``, ``unidentified_``
    (the parameters the data did not identify, see
    :class:`~custvalue.errors.IdentificationWarning`), ``standard_errors_`` and
    ``confidence_intervals_``. A fitted model holds no reference to the data
    it was fitted on.

    A subclass sets ``name`` (its registry name), ``role``, ``abilities``,
    ``param_names`` and ``columns`` (the summary columns it reads), and
    implements the methods of each ability it declares. It checks its
    hyper-parameters in :meth:`_check_hyper_parameters` (run by ``fit``,
    ``from_params`` and ``load``) and declares ``param_ranges`` where a
    parameter's allowed values are not the default ones.
    """

    name: ClassVar[str] = ""
    role: ClassVar[Role] = Role.PURCHASE
    abilities: ClassVar[frozenset[Ability]] = frozenset()
    param_names: ClassVar[tuple[str, ...]] = ()
    columns: ClassVar[tuple[str, ...]] = ("frequency", "recency", "T")
    #: Parameters typical of real data (published estimates where there are some): for examples,
    #: simulations and the contract test every registered model runs through.
    example_params: ClassVar[dict[str, float]] = {}
    #: Hyper-parameters for examples, where a model has required ones.
    example_hyper_parameters: ClassVar[dict[str, Any]] = {}
    #: The knobs :meth:`scenario` takes.
    scenario_knobs: ClassVar[tuple[str, ...]] = ()
    #: Allowed values of parameters, as closed intervals (low, high). Parameters not listed: the papers'
    #: parameters of a model fitted on the log scale must be positive, every other one finite.
    param_ranges: ClassVar[dict[str, tuple[float, float]]] = {}
    #: What parameters describe, in a few words (parameters with the same words are named together in
    #: messages, e.g. "the dropout probability (a, b)").
    parameter_meaning: ClassVar[dict[str, str]] = {}

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        for ability, methods in ABILITY_METHODS.items():
            implemented = [m for m in methods if getattr(cls, m) is not getattr(BaseModel, m)]
            declared = ability in cls.abilities
            if declared and len(implemented) < len(methods):
                missing = sorted(set(methods) - set(implemented))
                raise TypeError(f"{cls.__name__} declares the ability {ability.value!r} but does not "
                                f"implement {missing}")
            if implemented and not declared:
                raise TypeError(f"{cls.__name__} implements {implemented} but does not declare the ability "
                                f"{ability.value!r}: add Ability.{ability.name} to its abilities")

    # -- abilities ------------------------------------------------------------------------------
    def can(self, ability: Ability | str) -> bool:
        """Whether the model declares ``ability`` (an :class:`Ability` or its name).

        Examples
        --------
        >>> from custvalue.models import BetaGeo, FormulaCLV
        >>> BetaGeo().can("p_alive"), FormulaCLV(retention=0.8).can("p_alive")
        (True, False)
        """
        return Ability(ability) in self.abilities

    def require(self, ability: Ability, purpose: str = "") -> None:
        """Raise :class:`AbilityError` unless the model declares ``ability``; ``purpose`` says what needed it."""
        if ability not in self.abilities:
            raise self._lacks(ability, purpose)

    def _lacks(self, ability: Ability, purpose: str = "") -> AbilityError:
        able = sorted(name for name, cls in REGISTRY.items() if ability in cls.abilities)
        need = f" ({purpose} needs it)" if purpose else ""
        return AbilityError(
            f"{type(self).__name__} ({self.name!r}, a {self.role.value} model) cannot {ABILITY_TEXT[ability]}"
            f"{need}. Models that can: {able} (custvalue.models.available(ability={ability.value!r}))"
        )

    # The methods of each ability: a model that declares the ability overrides them.
    def expected_purchases(self, summary: pd.DataFrame, t: float) -> pd.Series:
        """Expected purchases of each customer in the next ``t`` units, given their history."""
        raise self._lacks(Ability.CONDITIONAL)

    def p_alive(self, summary: pd.DataFrame, future_t: float = 0.0) -> pd.Series:
        """P(alive) of each customer ``future_t`` units after the end of observation (at T + future_t)."""
        raise self._lacks(Ability.P_ALIVE)

    def purchase_probability(self, summary: pd.DataFrame, n: int | Sequence[int], t: float) -> pd.Series | pd.DataFrame:
        """P(exactly n purchases in (T, T + t]) for each customer given their history: a Series for one
        n, a frame with a column per n for several. Over n = 0, 1, ... it sums to 1 and its mean is
        :meth:`expected_purchases`."""
        raise self._lacks(Ability.PURCHASE_PROBABILITY)

    def discounted_purchases(self, summary: pd.DataFrame, horizon: float, delta: float) -> pd.Series:
        """Expected purchases in (T, T + horizon], each discounted by e^(−delta·s) at its time s after T
        (a continuous discount rate ``delta`` per unit; ``horizon`` may be ``numpy.inf``)."""
        raise self._lacks(Ability.DISCOUNTING)

    def _scored_purchases(self, summary: pd.DataFrame, horizon: float, delta: float) -> dict[str, np.ndarray]:
        """Expected purchases, P(alive) (with that ability) and discounted purchases over ``horizon``, as a score
        asks for them together; a model with the discounting ability may compute them in one pass."""
        out = {"expected_purchases": self.expected_purchases(summary, horizon).to_numpy(dtype=float)}
        if self.can(Ability.P_ALIVE):
            out["p_alive"] = self.p_alive(summary).to_numpy(dtype=float)
        out["discounted_purchases"] = self.discounted_purchases(summary, horizon, delta).to_numpy(dtype=float)
        return out

    def dert(self, summary: pd.DataFrame, delta: float) -> pd.Series:
        """Discounted expected residual transactions (Fader, Hardie & Lee 2005, "RFM and CLV: Using
        Iso-Value Curves"): every future purchase discounted continuously at ``delta`` per unit."""
        self.require(Ability.DISCOUNTING, "DERT")
        return self.discounted_purchases(summary, np.inf, delta).rename("dert")

    def simulate_transactions(self, n_customers: int, T: float | np.ndarray, *, unit: str = "W",
                              observation_end: Any = None, spend_model: BaseModel | None = None,
                              seed: int | None = None) -> pd.DataFrame:
        """A transaction log drawn from the model: ``customer_id``, ``date`` (and ``amount`` with a
        spend model), sorted by customer and date; customer i buys first at ``observation_end − T_i``
        (``T`` in ``unit``; ``observation_end`` defaults to 2025-01-01, so a seed gives the same log on
        any day). A fitted Gamma-Gamma ``spend_model`` draws each customer's ν ~ Gamma(q, v) and then
        every transaction's amount, the first one's too, from Gamma(p, ν)."""
        raise self._lacks(Ability.TRANSACTIONS)

    def expected_purchases_new(self, t: float | np.ndarray) -> np.ndarray | float:
        """Expected purchases of a new customer in ``t`` units after their first purchase."""
        raise self._lacks(Ability.NEW_CUSTOMER)

    def probability_of_purchases(self, n: int | np.ndarray, t: float) -> np.ndarray | float:
        """P(n repeat purchases in ``t`` units) for a new customer."""
        raise self._lacks(Ability.NEW_CUSTOMER)

    def expected_spend(self, summary: pd.DataFrame) -> pd.Series:
        """Expected spend per purchase of each customer."""
        raise self._lacks(Ability.SPEND)

    def customer_value(self, summary: pd.DataFrame, horizon: float | None = None,
                       discount_rate: float | None = None, margin: float | None = None) -> pd.Series:
        """Value of each customer over ``horizon`` units."""
        raise self._lacks(Ability.VALUE)

    def simulate(self, *args: Any, **kwargs: Any) -> Any:
        """Data drawn from the model (its arguments depend on the model)."""
        raise self._lacks(Ability.SIMULATION)

    def simulate_like(self, data: pd.DataFrame, seed: int | None = None) -> Any:
        """Data of the shape the model is fitted on, drawn from the model, for the customers of ``data``
        (same observation times, or the same purchase counts): the parametric bootstrap's samples."""
        raise self._lacks(Ability.SIMULATION)

    def sample(self, n_customers: int, seed: int | None = None) -> Any:
        """Data of the shape :meth:`fit` takes for ``n_customers`` customers, drawn from the model."""
        raise self._lacks(Ability.SIMULATION)

    def scenario(self, **knobs: float) -> BaseModel:
        """A new fitted model that predicts as this one would with the changes ``knobs``
        (see ``scenario_knobs``); this model is left as it is."""
        raise self._lacks(Ability.SCENARIOS)

    def _check_knobs(self, knobs: dict[str, float], neutral: dict[str, float]) -> dict[str, float]:
        """``knobs`` checked against ``scenario_knobs``, with the ``neutral`` value of each knob not given."""
        unknown = sorted(set(knobs) - set(self.scenario_knobs))
        if unknown:
            raise InvalidParameterError(
                f"{type(self).__name__} ({self.name!r}) has no scenario knob(s) {unknown}; its knobs are "
                f"{list(self.scenario_knobs)}")
        out = dict(neutral)
        for key, value in knobs.items():
            if isinstance(value, bool) or not isinstance(value, int | float | np.integer | np.floating) \
                    or not np.isfinite(value):
                raise InvalidParameterError(f"{key} must be a finite number, got {value!r}")
            out[key] = float(value)
        return out

    def fit(self, summary: Any, weights: np.ndarray | pd.Series | str | None = None) -> BaseModel:
        """Learn the parameters from ``summary`` and return ``self``."""
        raise NotImplementedError(f"{type(self).__name__} does not implement fit")

    def clone(self) -> BaseModel:
        """A new, unfitted model with the same hyper-parameters (scikit-learn's ``clone``).

        Examples
        --------
        >>> from custvalue.models import BetaGeo
        >>> BetaGeo(penalizer=0.01).clone()
        BetaGeo(penalizer=0.01)
        """
        return type(self)(**copy.deepcopy(self.get_params()))

    # -- hyper-parameters -------------------------------------------------------------------
    @classmethod
    def _hyper_names(cls) -> list[str]:
        signature = inspect.signature(cls.__init__)
        return [p.name for p in signature.parameters.values() if p.name != "self" and p.kind != p.VAR_KEYWORD]

    def get_params(self, deep: bool = True) -> dict[str, Any]:
        """Hyper-parameters, as given to ``__init__``."""
        return {name: getattr(self, name) for name in self._hyper_names()}

    def set_params(self, **params: Any) -> BaseModel:
        """Set hyper-parameters; unknown names raise :class:`InvalidParameterError`."""
        self._check_hyper_names(params)
        for key, value in params.items():
            setattr(self, key, value)
        return self

    @classmethod
    def _check_hyper_names(cls, params: Mapping[str, Any]) -> None:
        valid = cls._hyper_names()
        unknown = [key for key in params if key not in valid]
        if unknown:
            raise InvalidParameterError(f"{cls.__name__} has no hyper-parameter {unknown[0]!r}; it has {valid}")

    def _check_hyper_parameters(self) -> None:
        """Raise :class:`InvalidParameterError` naming a hyper-parameter whose value the model cannot use.

        The one place a model checks its hyper-parameters: ``fit``, ``from_params`` and ``load`` run it.
        """

    # -- fitted state -----------------------------------------------------------------------
    @property
    def is_fitted(self) -> bool:
        return hasattr(self, "params_")

    def _check_fitted(self) -> None:
        if not self.is_fitted:
            raise NotFittedError(
                f"This {type(self).__name__} instance is not fitted yet. Call 'fit' with a customer "
                "summary before using this method, or build one from known parameters with from_params()."
            )

    def _set_fitted(self, params: Mapping[str, float] | pd.Series, log_likelihood: float = np.nan,
                    n_customers: float = 0, converged: bool = True,
                    covariance_log: np.ndarray | None = None,
                    unidentified: Mapping[str, str] | None = None) -> BaseModel:
        values = pd.Series({k: float(params[k]) for k in self.parameter_names()}, dtype=float, name="estimate")
        self.params_ = values
        self.log_likelihood_ = float(log_likelihood)
        self.n_customers_ = float(n_customers)
        if unidentified is None:  # estimates transformed after a fit (rescaled, say) keep what was not identified
            unidentified = {} if converged else getattr(self, "unidentified_", {})
        self.converged_ = bool(converged)
        self.unidentified_ = dict(unidentified)
        k = len(values)
        cov = np.full((k, k), np.nan) if covariance_log is None else np.asarray(covariance_log, dtype=float)
        self.covariance_log_ = pd.DataFrame(cov, index=values.index, columns=values.index)
        positive = self._is_log_scale()
        with np.errstate(all="ignore"):
            se_scale = np.sqrt(np.clip(np.diag(cov), 0, None))
            # Delta method for log-parameters; coefficients are estimated on their own scale.
            self.standard_errors_ = pd.Series(np.where(positive, values.to_numpy() * se_scale, se_scale),
                                              index=values.index, name="se")
        self.confidence_intervals_ = self.parameter_intervals(0.95)
        return self

    def parameter_names(self) -> tuple[str, ...]:
        """Names of the fitted parameters: the paper's, then any covariate coefficients."""
        return tuple(self.param_names)

    def required_columns(self) -> tuple[str, ...]:
        """Summary columns the model reads (its predictions depend on these alone)."""
        return tuple(self.columns)

    def fit_columns(self, available: list[str]) -> list[str]:
        """The columns of a summary with ``available`` columns that :meth:`fit` reads."""
        return list(self.required_columns())

    def _is_log_scale(self) -> np.ndarray:
        """Which parameters are positive and estimated on the log scale (those of :class:`MLEModel` models)."""
        return np.zeros(len(self.parameter_names()), dtype=bool)

    def _check_params(self, params: Mapping[str, object], call: str) -> dict[str, float]:
        """``params`` as floats, if they are exactly the model's parameters, each a finite number in range."""
        names = self.parameter_names()
        missing = [p for p in names if p not in params]
        unknown = [p for p in params if p not in names]
        if missing or unknown:
            what = f"missing {missing}" if missing else f"got unknown {unknown}"
            raise InvalidParameterError(f"{call} needs the parameters {list(names)}; {what}")
        return {name: self._check_param(name, params[name], bool(log_scale))
                for name, log_scale in zip(names, self._is_log_scale())}

    def _check_param(self, name: str, value: object, log_scale: bool) -> float:
        """``value`` as a float if it is a finite number in the range of parameter ``name``."""
        if name in self.param_ranges:
            low, high = self.param_ranges[name]
            return check_number(value, name, low=low, high=high)
        return check_number(value, name, low=0.0 if log_scale else None, low_open=log_scale, high_open=log_scale)

    def parameter_intervals(self, level: float = 0.95) -> pd.DataFrame:
        """Intervals for the parameters at ``level``: symmetric on the log scale for the positive
        parameters (so always positive), on their own scale for covariate coefficients.

        Examples
        --------
        >>> import custvalue as cv
        >>> m = cv.models.get("bgnbd").fit(cv.datasets.load_cdnow_summary())
        >>> m.parameter_intervals(0.9).round(3).loc["r"].tolist()
        [0.223, 0.264]
        """
        from scipy.stats import norm

        from custvalue.checks import check_level

        self._check_fitted()
        level = check_level(level, "level")
        z = norm.ppf(0.5 + level / 2)
        positive, values = self._is_log_scale(), self.params_.to_numpy()
        with np.errstate(all="ignore"):
            se = np.sqrt(np.clip(np.diag(self.covariance_log_.to_numpy()), 0, None))
            lower = np.where(positive, values * np.exp(-z * se), values - z * se)
            upper = np.where(positive, values * np.exp(z * se), values + z * se)
        return pd.DataFrame({"lower": lower, "upper": upper}, index=self.params_.index)

    @classmethod
    def from_params(cls, hyper_parameters: dict[str, Any] | None = None, **params: float) -> BaseModel:
        """A fitted model with known parameters (for what-ifs and for checking against papers).

        Every parameter must be a finite number in the model's range (the papers' parameters of the
        likelihood models are positive), and the hyper-parameters valid for the model.

        Examples
        --------
        >>> from custvalue.models import BetaGeo
        >>> BetaGeo.from_params(r=0.2426, alpha=4.4136, a=0.7929, b=2.4259).params_["alpha"]
        np.float64(4.4136)
        >>> try:
        ...     BetaGeo.from_params(r=-1, alpha=4.4136, a=0.7929, b=2.4259)
        ... except ValueError as err:
        ...     print(err)
        r=-1 is not valid: it must lie in (0, inf)
        """
        if hyper_parameters is not None and not isinstance(hyper_parameters, Mapping):
            raise InvalidParameterError(f"hyper_parameters={hyper_parameters!r} is not valid: it must be a dict of "
                                        "hyper-parameters, e.g. {'penalizer': 0.01}, or None")
        hyper = dict(hyper_parameters or {})
        cls._check_hyper_names(hyper)
        model = cls(**hyper)
        model._check_hyper_parameters()
        return model._set_fitted(model._check_params(params, f"{cls.__name__}.from_params"))

    def summary(self) -> pd.DataFrame:
        """Estimates with standard errors and 95% intervals; fit statistics in ``.attrs``."""
        self._check_fitted()
        table = pd.DataFrame(
            {"estimate": self.params_, "se": self.standard_errors_,
             "lower_95": self.confidence_intervals_["lower"], "upper_95": self.confidence_intervals_["upper"]}
        )
        k = len(self.params_)
        table.attrs.update(
            log_likelihood=self.log_likelihood_, n_customers=self.n_customers_,
            aic=2 * k - 2 * self.log_likelihood_,
            bic=k * np.log(max(self.n_customers_, 1)) - 2 * self.log_likelihood_,
            converged=self.converged_, unidentified=dict(self.unidentified_),
        )
        return table

    @property
    def aic(self) -> float:
        return float(self.summary().attrs["aic"])

    @property
    def bic(self) -> float:
        return float(self.summary().attrs["bic"])

    def __repr__(self) -> str:
        # Like scikit-learn, show only the hyper-parameters that differ from their defaults.
        defaults = {p.name: p.default for p in inspect.signature(type(self).__init__).parameters.values()}
        hyper = ", ".join(f"{k}={v!r}" for k, v in self.get_params().items() if defaults.get(k) != v)
        text = f"{type(self).__name__}({hyper})"
        if self.is_fitted:
            fitted = ", ".join(f"{k}={v:.4g}" for k, v in self.params_.items())
            text += f"  fitted: {fitted}"
            if self.n_customers_:
                text += f"; log-likelihood {self.log_likelihood_:.2f} on {self.n_customers_:,.0f} customers"
            if self.unidentified_:
                text += f"; not identified: {', '.join(self.unidentified_)}"
        return text

    def _repr_html_(self) -> str:
        head = f"<p><b>{type(self).__name__}</b> ({self.name})</p>"
        if not self.is_fitted:
            return head + "<p>not fitted</p>"
        table = self.summary()
        stats = ", ".join(f"{k} {v:,.2f}" if isinstance(v, float) else f"{k} {v}" for k, v in table.attrs.items())
        return head + table.to_html(float_format="{:.4g}".format, border=0) + f"<p>{stats}</p>"

    # -- persistence --------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready description of the model and, when fitted, its estimates (format version 1).

        Examples
        --------
        >>> from custvalue.models import BetaGeo
        >>> data = BetaGeo.from_params(r=0.2426, alpha=4.4136, a=0.7929, b=2.4259).to_dict()
        >>> data["format_version"], data["model"], data["params"]["r"], data["converged"]
        (1, 'bgnbd', 0.2426, True)
        >>> BetaGeo.from_dict(data).params_.tolist()
        [0.2426, 4.4136, 0.7929, 2.4259]
        """
        out: dict[str, Any] = {"format_version": _files.FORMAT_VERSION, "model": self.name,
                               "hyper_parameters": _files.jsonable(self.get_params())}
        if self.is_fitted:
            cov = self.covariance_log_.to_numpy()
            out.update(
                params=self.params_.to_dict(),
                log_likelihood=None if np.isnan(self.log_likelihood_) else self.log_likelihood_,
                n_customers=self.n_customers_, converged=self.converged_,
                covariance_log=[[float(v) if np.isfinite(v) else None for v in row] for row in cov],
            )
            if self.unidentified_:
                out["unidentified"] = dict(self.unidentified_)
            out.update(self._extra_state())
        return out

    #: Fields a subclass adds to its saved state (in :meth:`_extra_state`), beyond those of every model.
    extra_state_fields: ClassVar[tuple[str, ...]] = ()

    def _extra_state(self) -> dict[str, Any]:
        return {}

    def _restore_extra_state(self, data: dict[str, Any]) -> None:
        return None

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> BaseModel:
        """Rebuild a model saved with :meth:`to_dict`, after checking every field (see :mod:`custvalue.models._files`).

        Raises :class:`~custvalue.errors.ModelFileError` naming the first field that is missing, unknown,
        of the wrong type or out of range.

        Examples
        --------
        >>> from custvalue.models import BetaGeo
        >>> data = BetaGeo.from_params(r=0.2426, alpha=4.4136, a=0.7929, b=2.4259).to_dict()
        >>> data["params"]["r"] = -1.0
        >>> try:
        ...     BetaGeo.from_dict(data)
        ... except ValueError as err:
        ...     print(err)  # doctest: +ELLIPSIS
        model data: field 'params.r' has a value the model cannot use: r=-1.0 is not valid: it must lie in (0, inf); ...
        """
        return cls._from_dict(data, "model data")

    @classmethod
    def _from_dict(cls, data: object, source: str) -> BaseModel:
        checked = _files.check_layout(data, source, cls.extra_state_fields)
        if checked["model"] != cls.name:
            known = checked["model"] in REGISTRY
            fix = ("load it with custvalue.models.load(path), which reads any registered model" if known else
                   f"the registered models are {sorted(REGISTRY)}")
            raise _files.problem(source, "model", f"is {checked['model']!r}, not {cls.name!r} ({cls.__name__})", fix)
        hyper = checked["hyper_parameters"]
        try:
            cls._check_hyper_names(hyper)
            model = cls(**hyper)
            model._check_hyper_parameters()
            names = model.parameter_names()
        except InvalidParameterError as err:
            raise _files.problem(source, "hyper_parameters", f"has a value the model cannot use: {err}") from None
        if "params" not in checked:
            return model
        log_scale = dict(zip(names, model._is_log_scale()))
        values = _files.check_params(checked["params"], names, lambda p, v: model._check_param(p, v, log_scale[p]),
                                     f"{cls.__name__} has {list(names)}", source)
        state = _files.check_fitted_state(checked, names, source)
        model._set_fitted(values, state["log_likelihood"], state["n_customers"], state["converged"],
                          state["covariance_log"], state["unidentified"])
        try:
            model._restore_extra_state(checked)
        except (KeyError, TypeError, ValueError) as err:  # the model's own fields, read by its own code
            field = ", ".join(cls.extra_state_fields) or "file"
            raise _files.problem(source, field, f"holds a state the model cannot restore ({err!r})") from None
        return model

    def save(self, path: str | os.PathLike[str]) -> None:
        """Write the model as JSON (no pickle); :func:`custvalue.models.load` reads it back.

        Examples
        --------
        >>> import tempfile, pathlib
        >>> from custvalue.models import BetaGeo
        >>> path = pathlib.Path(tempfile.mkdtemp()) / "bgnbd.json"
        >>> BetaGeo.from_params(r=0.2426, alpha=4.4136, a=0.7929, b=2.4259).save(path)
        >>> BetaGeo.load(path).params_["b"]
        np.float64(2.4259)
        """
        Path(path).write_text(json.dumps(self.to_dict(), indent=2, allow_nan=False), encoding="utf-8")

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> BaseModel:
        """Read a model of this class written by :meth:`save`, checking every field.

        Raises :class:`~custvalue.errors.ModelFileError` (naming the field and the file) for a file
        that is not a saved model of this class; :func:`custvalue.models.load` reads any registered model.
        """
        return cls._from_dict(_files.read_json(path), _files.describe(path))

    # -- data helpers ---------------------------------------------------------------------------
    def _summary_arrays(self, summary: pd.DataFrame, columns: tuple[str, ...] | None = None) -> list[np.ndarray]:
        columns = columns or self.columns
        if not isinstance(summary, pd.DataFrame):
            raise SchemaError(f"{type(self).__name__} needs a customer summary DataFrame, got {type(summary).__name__}")
        missing = [c for c in columns if c not in summary.columns]
        if missing:
            hint = " (run custvalue.summarize on your transactions first)" if "frequency" in missing else ""
            raise SchemaError(
                f"{type(self).__name__} needs the columns {list(columns)}; missing {missing}{hint}"
            )
        if len(summary) == 0:
            raise SchemaError(f"{type(self).__name__}: the customer summary is empty")
        return [summary[c].to_numpy(dtype=float) for c in columns]

    def _validate_summary(self, summary: pd.DataFrame) -> None:
        if set(("frequency", "recency", "T")) <= set(summary.columns):
            validate_summary(summary[[c for c in ("frequency", "recency", "T", "monetary_value")
                                      if c in summary.columns]])


def count_index(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(distinct values, index of each row's value): for whole-number counts, without sorting."""
    if len(x) and np.all(x >= 0) and x.max() < 1e6 and np.all(x == np.floor(x)):
        low = int(x.min())
        return np.arange(low, int(x.max()) + 1, dtype=float), x.astype(np.int64) - low
    return np.unique(x, return_inverse=True)


def summary_weights(summary: pd.DataFrame, weights: np.ndarray | pd.Series | str | None) -> np.ndarray | None:
    """Weights from the ``weights`` argument, else a ``weights`` column, else None (all ones)."""
    if weights is None and "weights" in summary.columns:
        weights = "weights"
    if isinstance(weights, str):
        weights = summary[weights]
    if weights is None:
        return None
    values = np.asarray(weights, dtype=float)
    if values.shape != (len(summary),) or not np.all(np.isfinite(values)) or np.any(values < 0):
        raise InvalidParameterError("weights must be one finite, non-negative number per customer")
    return values


class MLEModel(BaseModel):
    """A model fitted by maximum likelihood on (compressed) summary rows.

    Subclasses give ``loglik(log_params, data, weights, order)`` returning the
    total weighted log-likelihood (order 0), with its gradient (1) or with
    gradient and Hessian (2), all in log-parameter space, up to their
    ``derivative_order``; and ``start_values(data)``.
    """

    derivative_order: ClassVar[int] = 1
    # Above this many distinct rows, a subsample finds the basin before the full data is used.
    warm_start_rows: ClassVar[int] = 20_000

    # The lifetimes fitter of the same model, for engine="lifetimes".
    lifetimes_fitter: ClassVar[str] = ""

    def __init__(self, penalizer: float = 0.0, engine: str = "native"):
        self.penalizer = penalizer
        self.engine = engine

    def loglik(self, log_params: np.ndarray, data: dict[str, Any], weights: np.ndarray, order: int = 0) -> Any:
        """The weighted log-likelihood of ``data`` at ``log_params`` (with its derivatives up to ``order``)."""
        raise NotImplementedError

    def start_values(self, data: dict[str, np.ndarray]) -> list[np.ndarray]:
        return [np.zeros(len(self.param_names)), np.log(np.full(len(self.param_names), 0.5))]

    def _starts(self, data: dict[str, np.ndarray]) -> list[np.ndarray]:
        """Starting points on the optimiser's scale: the model's, with covariate coefficients at 0."""
        extra = len(self.parameter_names()) - len(self.param_names)
        return [np.concatenate([start, np.zeros(extra)]) for start in self.start_values(data)]

    def _is_log_scale(self) -> np.ndarray:
        """The papers' parameters are positive and fitted on the log scale; covariate coefficients are not."""
        return np.arange(len(self.parameter_names())) < len(self.param_names)

    def _check_hyper_parameters(self) -> None:
        """penalizer: a finite number >= 0; engine: "native" or "lifetimes"; the covariate lists of models with
        covariates."""
        check_number(self.penalizer, "penalizer", low=0)
        check_choice(self.engine, "engine", ("native", "lifetimes"))
        self.parameter_names()  # covariate models check their column lists here

    def _order(self) -> int:
        """Highest derivative the likelihood gives (covariate versions use finite differences)."""
        return self.derivative_order if len(self.parameter_names()) == len(self.param_names) else 0

    def _fit_data(
        self, summary: pd.DataFrame, weights: np.ndarray | None
    ) -> tuple[dict[str, np.ndarray], np.ndarray | None]:
        """The arrays the likelihood needs, and their weights."""
        self._validate_summary(summary)
        return dict(zip(self.columns, self._summary_arrays(summary))), weights

    def _after_fit(self) -> None:
        """Checks on the estimates (warnings), run at the end of :meth:`fit`."""

    def fit(self, summary: pd.DataFrame, weights: np.ndarray | pd.Series | str | None = None) -> MLEModel:
        """Fit by maximum likelihood and return ``self``.

        The fit ends at an interior maximum (``converged_`` True, with standard errors), or raises
        :class:`~custvalue.errors.ConvergenceError`, or, when the data do not identify some parameters
        (the likelihood is highest as they run to 0 or infinity), returns the estimates of that limit
        with ``converged_`` False, those parameters in ``unidentified_`` and an
        :class:`~custvalue.errors.IdentificationWarning` saying why and what to do.

        Parameters
        ----------
        summary : DataFrame
            Customer summary (see :func:`custvalue.summarize`).
        weights : array-like or str, optional
            How many identical customers each row stands for; by default the
            ``weights`` column when there is one, else one per row.

        Examples
        --------
        >>> import warnings
        >>> import custvalue as cv
        >>> m = cv.models.get("bgnbd").fit(cv.datasets.load_cdnow_summary())
        >>> m.converged_, m.unidentified_
        (True, {})
        >>> tx = cv.datasets.load_cdnow()
        >>> two_weeks = cv.summarize(tx[tx["date"] < "1997-01-15"], unit="W", observation_end="1997-01-14")
        >>> with warnings.catch_warnings(record=True) as caught:
        ...     warnings.simplefilter("always")
        ...     short = cv.models.get("bgnbd").fit(two_weeks)
        >>> short.converged_, short.unidentified_
        (False, {'a': 'flat', 'b': 'to infinity'})
        >>> print(caught[0].message)  # doctest: +ELLIPSIS
        BetaGeo ('bgnbd'): the data do not identify the dropout probability (a, b). ... The data: 3,216 customers; ...
        """
        from custvalue.models._identification import penalizer_call
        from custvalue.models._mle import compress, maximize, natural, subsample

        self._check_hyper_parameters()
        given = summary_weights(summary, weights) if isinstance(summary, pd.DataFrame) else None
        data, w = self._fit_data(summary, given)
        with np.errstate(all="ignore"):
            data, w = compress(data, w)
            n = float(w.sum())
            if self.engine == "lifetimes":
                if len(self.parameter_names()) > len(self.param_names):
                    raise InvalidParameterError("lifetimes has no covariate models; use engine='native'")
                return self._fit_with_lifetimes(data, w, summary, given)
            starts = self._starts(data)
            warm = None
            if len(w) > self.warm_start_rows:
                sub_data, sub_w = subsample(data, w, self.warm_start_rows, seed=0)
                warm = self._bound_loglik(sub_data, sub_w, scale=float(sub_w.sum()))
            result = maximize(
                self._bound_loglik(data, w), starts, n, self._order(),
                penalizer=float(self.penalizer), model_name=type(self).__name__, warm_start_loglik=warm,
                n_positive=len(self.param_names), reference=starts[0],
                advice=f"try a penalizer, {penalizer_call(self, REGISTRY)}",
            )
            params = dict(zip(self.parameter_names(), natural(result.log_params, len(self.param_names))))
            self._finish_fit(params, result, n, summary, given)
        return self

    def _finish_fit(self, params: dict[str, float], result: Any, n: float, summary: Any,
                    weights: np.ndarray | None, log_likelihood: float | None = None) -> None:
        """Store the estimates of ``result`` (an :class:`~custvalue.models._mle.MLEResult`, with
        ``log_likelihood`` instead of its own when given); warn when the data do not identify some
        parameters. Every maximum-likelihood fit ends here, so that none reports more than it found."""
        from custvalue.models._identification import identification_message, way

        names = self.parameter_names()
        positive = self._is_log_scale()
        unidentified = {names[i]: way(how, bool(positive[i])) for i, how in sorted(result.unidentified.items())}
        value = result.log_likelihood if log_likelihood is None else log_likelihood
        self._set_fitted(params, value, n, result.converged, result.covariance_log, unidentified)
        if not result.converged:
            message = identification_message(self, summary, weights, unidentified, REGISTRY)
            warnings.warn(IdentificationWarning(message, unidentified), stacklevel=3)
        self._after_fit()

    def _fit_with_lifetimes(self, data: dict[str, np.ndarray], weights: np.ndarray, summary: Any,
                            given: np.ndarray | None) -> MLEModel:
        """Fit with the lifetimes fitter of the same model; the log-likelihood and covariance are ours,
        and so is the verdict (an interior maximum, or parameters the data do not identify).

        This is how users cross-check custvalue against its peer: the same
        data, the other optimiser, and answers through the same contract.
        """
        from custvalue.models._mle import judge

        if not self.lifetimes_fitter:
            raise InvalidParameterError(f"lifetimes has no fitter for the {self.name!r} model; use engine='native'")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            import lifetimes

            fitter = getattr(lifetimes, self.lifetimes_fitter)(penalizer_coef=float(self.penalizer))
            try:
                with np.errstate(all="ignore"):
                    fitter.fit(*(pd.Series(data[c]) for c in self.columns), weights=pd.Series(weights))
            except Exception as err:  # lifetimes' own ConvergenceError, or a numerical failure inside it
                raise ConvergenceError(f"{type(self).__name__}: lifetimes' {self.lifetimes_fitter} failed: {err}. "
                                       "Fit with engine='native' instead", optimizer_message=str(err)) from None
        params = {k: float(fitter.params_[k]) for k in self.param_names}
        if not all(np.isfinite(v) and v > 0 for v in params.values()):
            raise ConvergenceError(f"{type(self).__name__}: lifetimes returned {params}", optimizer_message=str(params))
        n = float(weights.sum())
        result = judge(self._bound_loglik(data, weights), np.log([params[k] for k in self.param_names]), n,
                       self.derivative_order, float(self.penalizer), self._starts(data)[0])
        self._finish_fit(params, result, n, summary, given)
        return self

    def _bound_loglik(self, data: dict[str, np.ndarray], weights: np.ndarray,
                      scale: float = 1.0) -> Callable[[np.ndarray, int], Any]:
        """loglik(z, order) on fixed data, divided by ``scale``.

        The rows are cut into blocks of :data:`BLOCK_ROWS` (each with its
        purchase counts indexed once) and the block sums added: temporaries
        that fit in cache make each evaluation several times faster than
        whole-array numpy on a million rows.
        """
        blocks = []
        for start in range(0, len(weights), BLOCK_ROWS):
            part: dict[str, Any] = {k: v[start:start + BLOCK_ROWS] for k, v in data.items()}
            if "frequency" in part:
                part["_x_index"] = count_index(part["frequency"])
            blocks.append((part, weights[start:start + BLOCK_ROWS]))

        def bound(z: np.ndarray, order: int) -> Any:
            total: tuple[Any, ...] = ()
            for part, w in blocks:
                out = self.loglik(z, part, w, order)
                out = out if isinstance(out, tuple) else (out,)
                total = tuple(a + b for a, b in zip(total, out)) if total else out
            return total[0] / scale if order == 0 else tuple(value / scale for value in total)

        return bound

    def _p(self) -> tuple[float, ...]:
        self._check_fitted()
        return tuple(float(self.params_[k]) for k in self.param_names)
