"""What a campaign is worth: what-if scenarios with ROI, and measured lift from an A/B test."""

from __future__ import annotations

import warnings
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from custvalue.checks import (
    check_column,
    check_frame,
    check_int,
    check_level,
    check_number,
    check_seed,
    check_values,
    invalid,
)
from custvalue.errors import InvalidParameterError, MissingColumnError, SchemaError, invalid_values_error
from custvalue.expressions import parse_expression
from custvalue.filtering import segment_mask
from custvalue.models import Ability, Role, available, resolve
from custvalue.provenance import attach, provenance
from custvalue.score import fitted_models, predict

__all__ = ["uplift", "uplift_summary", "UpliftSummary", "measure_uplift", "simulate_campaign", "UpliftWarning"]


MIN_RESAMPLES = 100  # for the tails of a 95% percentile interval


class UpliftWarning(UserWarning):
    """A measured lift rests on groups too small or too unbalanced to trust."""


@dataclass(frozen=True)
class UpliftSummary:
    """Totals of a what-if scenario over the treated customers (see :func:`uplift`).

    ``roi`` is None without a cost (a return on nothing spent is undefined) and
    ``break_even_cost_per_customer`` is None without treated customers; ``note``
    then says why. In :meth:`table` they show as ``<NA>``.
    """

    treated: int
    baseline_value: float
    scenario_value: float
    incremental_value: float
    cost: float
    roi: float | None
    break_even_cost_per_customer: float | None
    by_segment: pd.DataFrame = field(repr=False)
    note: str = ""

    def table(self) -> pd.DataFrame:
        """The totals as a one-column frame (``value``; undefined ones ``<NA>``).

        Examples
        --------
        >>> out = uplift(pd.DataFrame({"clv": [100.0, 50.0]}), factor=1.1)
        >>> uplift_summary(out).table().loc["roi", "value"]
        <NA>
        """
        rows = {k: getattr(self, k) for k in ("treated", "baseline_value", "scenario_value", "incremental_value",
                                               "cost", "roi", "break_even_cost_per_customer")}
        return pd.DataFrame({"value": pd.Series(rows, dtype="Float64")})

    def __str__(self) -> str:
        lines = ["Uplift scenario", self.table().to_string(float_format=lambda v: f"{v:,.2f}")]
        if self.note:
            lines += [f"Note: {self.note}"]
        if len(self.by_segment):
            lines += ["By segment:", self.by_segment.to_string(float_format=lambda v: f"{v:,.2f}")]
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        html = "<p><b>Uplift scenario</b></p>" + self.table().to_html(float_format="{:,.2f}".format, border=0)
        if self.note:
            html += f"<p>Note: {self.note}</p>"
        if len(self.by_segment):
            html += self.by_segment.to_html(float_format="{:,.2f}".format, border=0)
        return html

    __repr__ = __str__


def uplift(
    frame: pd.DataFrame,
    *,
    segment: str | Sequence[str] | None = None,
    query: str | None = None,
    factor: float | None = None,
    column: str = "clv",
    purchase_rate: float = 1.0,
    spend: float = 1.0,
    dropout: float = 1.0,
    retention: float = 0.0,
    cost_per_customer: float = 0.0,
    fixed_cost: float = 0.0,
) -> pd.DataFrame:
    """Value a change on chosen customers: per customer and in total, with ROI and break-even cost.

    Two ways to state the change, on the customers picked by ``segment``
    and/or ``query`` (all customers when neither is given):

    * directly on a value column: ``factor=1.1`` multiplies ``column`` (``clv``);
    * through the fitted model's drivers, re-predicting with it:
      ``purchase_rate`` (× the purchase rate λ), ``spend`` (× spend per
      purchase), ``dropout`` (× the dropout rate or probability), and for the
      ``formula`` model ``retention`` (+ the retention rate).

    For BG/NBD and MBG/NBD, where dropout follows purchases, buying c times as
    fast over t is buying as over c·t, and a dropout probability k times as
    high gives E(c·k·t)/k. For Pareto/NBD, whose lifetimes run in calendar
    time, purchase rate × c gives c·E(t) and dropout × k gives c·E(k·t)/k.
    Expectations use today's posterior of each customer's rates; dropout × k
    assumes k·p stays below 1. Discounting, horizon and margin are those of
    the score.

    ROI = (incremental value − cost) / cost, with cost =
    ``cost_per_customer`` × treated + ``fixed_cost``; the break-even cost per
    customer is the one at which ROI is 0. Without a cost ROI is undefined:
    the summary's ``roi`` is None, with a note.

    Parameters
    ----------
    frame : DataFrame
        Scored (and segmented) customers. Never modified.
    segment, query : optional
        The customers treated: segment names, and/or a condition in the
        expression language of :func:`custvalue.filter_customers` (never run
        as Python code).
    factor : float, optional
        A finite number >= 0 multiplying ``column`` for the treated customers.
    column : str, default "clv"
        The numeric value column ``factor`` applies to.
    purchase_rate, spend, dropout : float, default 1
        Finite numbers >= 0 multiplying the purchase rate, the spend per
        purchase and the dropout rate.
    retention : float, default 0
        Added to the formula model's retention rate, in [-1, 1].
    cost_per_customer, fixed_cost : float, default 0
        Finite numbers >= 0.

    Returns
    -------
    DataFrame
        The frame with ``treated``, ``clv_baseline``, ``clv_scenario`` and
        ``incremental_value``; totals in :func:`uplift_summary`.

    Raises
    ------
    custvalue.errors.InvalidParameterError
        For an argument of the wrong type or value (naming it).
    custvalue.errors.SchemaError
        For a value column that is missing (a ``KeyError`` too) or holds missing or infinite values.

    Examples
    --------
    >>> import pandas as pd
    >>> df = pd.DataFrame({"clv": [100.0, 50.0, 10.0], "segment": ["high", "mid", "low"]})
    >>> out = uplift(df, segment="high", factor=1.5, cost_per_customer=20.0)
    >>> out["incremental_value"].tolist()
    [50.0, 0.0, 0.0]
    >>> s = uplift_summary(out)
    >>> s.incremental_value, s.cost, s.roi, s.break_even_cost_per_customer
    (50.0, 20.0, 1.5, 50.0)
    """
    frame = check_frame(frame, "frame")
    drivers = {name: check_number(value, name, low=0)
               for name, value in {"purchase_rate": purchase_rate, "spend": spend, "dropout": dropout}.items()}
    retention = check_number(retention, "retention", low=-1, high=1)
    cost_per_customer = check_number(cost_per_customer, "cost_per_customer", low=0)
    fixed_cost = check_number(fixed_cost, "fixed_cost", low=0)
    uses_drivers = any(v != 1.0 for v in drivers.values()) or retention != 0.0
    if factor is not None:
        factor = check_number(factor, "factor", low=0)
        if uses_drivers:
            raise InvalidParameterError(f"factor={factor!r} and a driver (purchase_rate=, spend=, dropout=, "
                                        "retention=): state the change one way, not both")
        check_column(frame, column, "column", numeric=True)
    elif not uses_drivers:
        raise InvalidParameterError(
            "no change given: pass factor= or one of purchase_rate=, spend=, dropout=, retention="
        )
    treated = _treated(frame, segment, query)
    if factor is not None:
        baseline = check_values(frame, column, fix="score the customers again (custvalue.score)")
        scenario = np.where(treated, baseline * factor, baseline)
    else:
        baseline, scenario = _driver_scenario(frame, treated, drivers, retention)
    with np.errstate(over="ignore", invalid="ignore"):
        incremental_values = scenario - baseline
        incremental = float(incremental_values.sum())
    if not (np.isfinite(scenario).all() and np.isfinite(incremental)):
        raise SchemaError("the scenario's values are too large to add up as floats; check the value column and "
                          "the factor or drivers")
    out = frame.assign(treated=treated, clv_baseline=baseline, clv_scenario=scenario,
                       incremental_value=incremental_values)
    n = int(treated.sum())
    cost = cost_per_customer * n + fixed_cost
    by_segment = pd.DataFrame()
    if "segment" in out.columns:
        groups = out[out["treated"]].groupby("segment", observed=True)
        by_segment = pd.DataFrame({"treated": groups.size(), "incremental_value": groups["incremental_value"].sum()})
    notes = []
    if cost <= 0:
        notes.append("ROI is undefined without a cost: pass cost_per_customer= or fixed_cost=")
    if n == 0:
        notes.append("no customer is treated, so there is no break-even cost per customer")
    summary = UpliftSummary(
        treated=n, baseline_value=float(baseline[treated].sum()), scenario_value=float(scenario[treated].sum()),
        incremental_value=incremental, cost=cost, roi=(incremental - cost) / cost if cost > 0 else None,
        break_even_cost_per_customer=(incremental - fixed_cost) / n if n else None, by_segment=by_segment,
        note="; ".join(notes),
    )
    return attach(out, uplift=summary)


def uplift_summary(frame: pd.DataFrame) -> UpliftSummary:
    """The totals of the scenario that produced ``frame`` (see :func:`uplift`).

    Examples
    --------
    >>> out = uplift(pd.DataFrame({"clv": [100.0, 50.0]}), factor=1.1, cost_per_customer=1.0)
    >>> round(uplift_summary(out).roi, 2)
    6.5
    """
    check_frame(frame, "frame", allow_empty=True)
    found = provenance(frame).get("uplift")
    if found is None:
        raise InvalidParameterError("this frame carries no uplift scenario: run custvalue.uplift first")
    return found


def _treated(frame: pd.DataFrame, segment: str | Sequence[str] | None, query: str | None) -> np.ndarray:
    treated = np.ones(len(frame), dtype=bool)
    parsed = None if query is None else parse_expression(query, "query")
    if segment is not None:
        treated &= segment_mask(frame, segment)
    if parsed is not None:
        treated &= parsed.mask(frame)
    return treated


def _driver_scenario(frame: pd.DataFrame, treated: np.ndarray, drivers: dict[str, float],
                     retention: float) -> tuple[np.ndarray, np.ndarray]:
    try:
        models = fitted_models(frame)
    except InvalidParameterError:
        raise InvalidParameterError(
            "changing purchase rate, spend, dropout or retention re-predicts with the fitted model: "
            "run custvalue.score first (or state the change as factor= on a column)"
        ) from None
    model, spend_model = models["model"], models["spend_model"]
    horizon, discount, margin = models["horizon"], models["discount_rate"], models["margin"]
    if "clv" not in frame.columns:
        raise MissingColumnError("the scored frame has no 'clv' column (score with a spend model)")
    baseline = check_values(frame, "clv", fix="score the customers again (custvalue.score)").copy()
    scenario = baseline.copy()
    if not treated.any():
        return baseline, scenario
    model.require(Ability.SCENARIOS, "a driver scenario (purchase_rate=, dropout=, retention=); use factor= instead")
    knobs = {"purchase_rate": drivers["purchase_rate"], "dropout": drivers["dropout"], "retention": retention}
    neutral = {"purchase_rate": 1.0, "dropout": 1.0, "retention": 0.0}
    changed = {k: v for k, v in knobs.items() if v != neutral[k]}
    unknown = sorted(set(changed) - set(model.scenario_knobs))
    if unknown:
        able = [name for name in available(ability=Ability.SCENARIOS)
                if set(unknown) <= set(resolve(name).scenario_knobs)]
        given = ", ".join(f"{k}=" for k in unknown)
        raise InvalidParameterError(f"{given} does not apply to the {model.name!r} model, whose scenario knobs are "
                                    f"{list(model.scenario_knobs)}; {given} applies to {able}")
    what_if = model.scenario(**{k: v for k, v in knobs.items() if k in model.scenario_knobs})
    if model.role is Role.PURCHASE and spend_model is None:
        raise SchemaError("a driver scenario needs the spend model: score with spend_model='gammagamma'")
    rows = frame[treated]
    with np.errstate(all="ignore"):  # extreme drivers: the result is checked by the caller
        value = predict(rows, what_if, spend_model, horizon, discount, margin)["clv"]
        scenario[treated] = value * drivers["spend"]
    return baseline, scenario


def measure_uplift(
    frame: pd.DataFrame,
    treatment: str = "treated",
    outcome: str = "revenue",
    segment: str | None = None,
    *,
    cost_per_customer: float = 0.0,
    fixed_cost: float = 0.0,
    confidence: float = 0.95,
    n_boot: int = 2000,
    seed: int = 0,
) -> pd.DataFrame:
    """Measured campaign effect from an A/B test or holdout group, overall and per segment.

    For each group: customers and mean outcome per arm, response rate
    (share with outcome > 0) per arm, absolute lift (difference of means)
    and relative lift, a Welch confidence interval and p-value, a bootstrap
    percentile interval (resampling customers within each arm),
    incremental revenue (lift × treated customers) and, with costs, ROMI =
    (incremental revenue − cost) / cost. Warns (:class:`UpliftWarning`) when
    an arm has fewer than 30 customers or one arm is over ten times the other.

    Parameters
    ----------
    frame : DataFrame
        One row per customer of the test.
    treatment : str, default "treated"
        Column of True/False (or 1/0): treated or control.
    outcome : str, default "revenue"
        Numeric column of each customer's outcome (finite numbers).
    segment : str, optional
        Column by which to measure the lift per group too.
    cost_per_customer, fixed_cost : float, default 0
        Finite numbers >= 0 for ROMI.
    confidence : float, default 0.95
        Level of the intervals, strictly between 0 and 1.
    n_boot : int, default 2000
        Bootstrap resamples (at least 100).
    seed : int, default 0
        Seed of the bootstrap (None: a fresh one each call).

    Returns
    -------
    DataFrame
        One row per group (``all``, then each segment). ``relative_lift``
        (without control revenue) and ``romi`` (without a cost) are ``<NA>``
        where undefined.

    Examples
    --------
    >>> sim = simulate_campaign(4000, effect=2.0, seed=1)
    >>> table = measure_uplift(sim, cost_per_customer=0.5)
    >>> row = table.loc["all"]
    >>> bool(row["ci_low"] < 2.0 < row["ci_high"]), int(row["treated"] + row["control"])
    (True, 4000)
    """
    frame = check_frame(frame, "frame")
    check_column(frame, treatment, "treatment")
    check_column(frame, outcome, "outcome", numeric=True)
    if segment is not None:
        check_column(frame, segment, "segment")
    cost_per_customer = check_number(cost_per_customer, "cost_per_customer", low=0)
    fixed_cost = check_number(fixed_cost, "fixed_cost", low=0)
    confidence = check_level(confidence, "confidence")
    n_boot = check_int(n_boot, "n_boot", low=MIN_RESAMPLES)
    rng = np.random.default_rng(check_seed(seed))
    arm = frame[treatment]
    if arm.isna().any() or not set(pd.unique(arm)) <= {0, 1}:
        bad = arm.isna() | ~arm.isin([0, 1])
        raise invalid_values_error(treatment, "True/False (or 1/0)", frame.loc[bad.to_numpy(), [treatment]],
                                   f"mark treated customers True (or 1) and control customers False (or 0) in "
                                   f"'{treatment}'")
    outcomes = check_values(frame, outcome, fix=f"fill or drop the rows whose '{outcome}' is missing or infinite")
    treated = arm.to_numpy().astype(bool)
    groups = [("all", np.ones(len(frame), dtype=bool))]
    if segment is not None:
        labels = frame[segment]
        if labels.isna().any():
            raise invalid_values_error(segment, "not missing", frame.loc[labels.isna().to_numpy(), [segment]],
                                       f"fill the missing '{segment}' values, or leave segment= out")
        names = [str(name) for name in pd.unique(labels)]
        if "all" in names:
            raise SchemaError(f"segment={segment!r}: a segment is named 'all', the name of the overall row; "
                              "rename it first")
        order = labels.cat.categories if isinstance(labels.dtype, pd.CategoricalDtype) else sorted(
            pd.unique(labels), key=str)
        groups += [(str(name), (labels == name).to_numpy()) for name in order if (labels == name).any()]
    rows = {}
    for name, members in groups:
        t, c = outcomes[members & treated], outcomes[members & ~treated]
        rows[name] = _lift_row(name, t, c, confidence, n_boot, rng, cost_per_customer, fixed_cost)
    table = pd.DataFrame.from_dict(rows, orient="index").rename_axis("group")
    # Undefined ratios (no control revenue, no cost) are <NA> in nullable float columns, never NaN or inf.
    return table.astype({"relative_lift": "Float64", "romi": "Float64"})


def _lift_row(name: str, t: np.ndarray, c: np.ndarray, confidence: float, n_boot: int, rng: np.random.Generator,
              cost_per_customer: float, fixed_cost: float) -> dict:
    if len(t) < 2 or len(c) < 2:
        raise SchemaError(f"group {name!r} needs at least two treated and two control customers")
    if min(len(t), len(c)) < 30 or max(len(t), len(c)) > 10 * min(len(t), len(c)):
        warnings.warn(f"group {name!r}: {len(t)} treated vs {len(c)} control customers; the lift is fragile",
                      UpliftWarning, stacklevel=3)
    with np.errstate(all="ignore"):
        lift = t.mean() - c.mean()
        var_t, var_c = t.var(ddof=1) / len(t), c.var(ddof=1) / len(c)
        se = np.sqrt(var_t + var_c)
        dof = (var_t + var_c) ** 2 / (var_t**2 / (len(t) - 1) + var_c**2 / (len(c) - 1)) if se > 0 else np.inf
    if not np.isfinite([lift, se, var_t, var_c]).all():
        raise SchemaError(f"group {name!r}: the outcomes are too large for their mean and variance to be computed "
                          "as floats; rescale them (e.g. to thousands)")
    from scipy import stats  # loaded when a lift is first measured, not at import

    q = stats.t.ppf(0.5 + confidence / 2, dof) if se > 0 else 0.0
    p_value = float(stats.ttest_ind(t, c, equal_var=False).pvalue) if se > 0 else float(lift == 0)
    with np.errstate(over="ignore", invalid="ignore"):
        boots = np.array([rng.choice(t, len(t)).mean() - rng.choice(c, len(c)).mean() for _ in range(n_boot)])
    alpha = (1 - confidence) / 2
    incremental = lift * len(t)
    cost = cost_per_customer * len(t) + fixed_cost
    return {
        "treated": float(len(t)), "control": float(len(c)),
        "mean_treated": t.mean(), "mean_control": c.mean(),
        "response_treated": float((t > 0).mean()), "response_control": float((c > 0).mean()),
        "lift": lift, "relative_lift": lift / c.mean() if c.mean() else None,
        "ci_low": lift - q * se, "ci_high": lift + q * se, "p_value": p_value,
        "boot_low": float(np.quantile(boots, alpha)), "boot_high": float(np.quantile(boots, 1 - alpha)),
        "incremental_revenue": incremental, "cost": cost,
        "romi": (incremental - cost) / cost if cost > 0 else None,
    }


def simulate_campaign(
    n: int,
    effect: float = 2.0,
    *,
    base_rate: float = 0.3,
    mean_spend: float = 30.0,
    treated_share: float = 0.5,
    segments: Sequence[str] = ("low", "mid", "high"),
    seed: int | None = None,
) -> pd.DataFrame:
    """Customers of a simulated A/B campaign whose treatment adds ``effect`` to expected revenue.

    Each customer buys with probability ``base_rate`` (control) and spends a
    gamma amount with mean ``mean_spend``; treated customers get the same plus
    an exponential extra with mean ``effect``, so the true mean lift is
    exactly ``effect``. ``segment`` is an ordered Categorical of ``segments``.

    Examples
    --------
    >>> sim = simulate_campaign(1000, effect=1.0, seed=0)
    >>> sim.columns.tolist(), len(sim)
    (['segment', 'treated', 'revenue'], 1000)
    """
    n = check_int(n, "n", low=1)
    effect = check_number(effect, "effect", low=0)
    base_rate = check_number(base_rate, "base_rate", low=0, high=1)
    mean_spend = check_number(mean_spend, "mean_spend", low=0, low_open=True)
    treated_share = check_number(treated_share, "treated_share", low=0, high=1, low_open=True, high_open=True)
    if isinstance(segments, str) or not isinstance(segments, Iterable) or not list(segments) or not all(
            isinstance(name, str) for name in segments):
        raise invalid("segments", segments, "it must be a non-empty list of segment names, e.g. ['high', 'low']")
    seed = check_seed(seed)
    rng = np.random.default_rng(seed)
    treated = rng.random(n) < treated_share
    buys = rng.random(n) < base_rate
    revenue = np.where(buys, rng.gamma(2.0, mean_spend / 2.0, n), 0.0)
    revenue = revenue + np.where(treated, rng.exponential(effect, n) if effect > 0 else 0.0, 0.0)
    names = list(segments)
    labels = pd.Categorical(rng.choice(names, n), categories=names, ordered=True)
    return pd.DataFrame({"segment": labels, "treated": treated, "revenue": revenue},
                        index=pd.RangeIndex(n, name="customer_id"))
