"""What a campaign is worth: what-if scenarios with ROI, and measured lift from an A/B test."""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from custvalue.errors import InvalidParameterError, SchemaError
from custvalue.filtering import query_mask, segment_mask
from custvalue.models import Ability, Role, available, resolve
from custvalue.provenance import attach, provenance
from custvalue.score import fitted_models, predict

__all__ = ["uplift", "uplift_summary", "UpliftSummary", "measure_uplift", "simulate_campaign", "UpliftWarning"]


class UpliftWarning(UserWarning):
    """A measured lift rests on groups too small or too unbalanced to trust."""


@dataclass(frozen=True)
class UpliftSummary:
    """Totals of a what-if scenario over the treated customers (see :func:`uplift`)."""

    treated: int
    baseline_value: float
    scenario_value: float
    incremental_value: float
    cost: float
    roi: float
    break_even_cost_per_customer: float
    by_segment: pd.DataFrame = field(repr=False)

    def table(self) -> pd.DataFrame:
        rows = {k: getattr(self, k) for k in ("treated", "baseline_value", "scenario_value", "incremental_value",
                                               "cost", "roi", "break_even_cost_per_customer")}
        return pd.DataFrame({"value": pd.Series(rows, dtype=float)})

    def __str__(self) -> str:
        lines = ["Uplift scenario", self.table().to_string(float_format=lambda v: f"{v:,.2f}")]
        if len(self.by_segment):
            lines += ["", self.by_segment.to_string(float_format=lambda v: f"{v:,.2f}")]
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        html = "<p><b>Uplift scenario</b></p>" + self.table().to_html(float_format="{:,.2f}".format, border=0)
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
    customer is the one at which ROI is 0.

    Returns
    -------
    DataFrame
        The frame with ``treated``, ``clv_baseline``, ``clv_scenario`` and
        ``incremental_value``; totals in :func:`uplift_summary`.

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
    if not isinstance(frame, pd.DataFrame) or len(frame) == 0:
        raise SchemaError("uplift needs a non-empty DataFrame of scored customers")
    treated = _treated(frame, segment, query)
    drivers = {"purchase_rate": purchase_rate, "spend": spend, "dropout": dropout}
    uses_drivers = any(v != 1.0 for v in drivers.values()) or retention != 0.0
    if factor is not None and uses_drivers:
        raise InvalidParameterError("state the change either as factor= on a column or through the drivers, not both")
    for name, value in {**drivers, "cost_per_customer": cost_per_customer, "fixed_cost": fixed_cost}.items():
        if not np.isfinite(value) or value < 0:
            raise InvalidParameterError(f"{name} must be a finite number >= 0, got {value}")
    if factor is not None:
        if column not in frame.columns:
            raise SchemaError(f"column {column!r} is not in the frame; run custvalue.score first or pass column=")
        baseline = frame[column].to_numpy(dtype=float)
        scenario = np.where(treated, baseline * factor, baseline)
    elif uses_drivers:
        baseline, scenario = _driver_scenario(frame, treated, drivers, retention)
    else:
        raise InvalidParameterError(
            "no change given: pass factor= or one of purchase_rate=, spend=, dropout=, retention="
        )
    out = frame.assign(treated=treated, clv_baseline=baseline, clv_scenario=scenario,
                       incremental_value=scenario - baseline)
    n = int(treated.sum())
    cost = cost_per_customer * n + fixed_cost
    incremental = float(out["incremental_value"].sum())
    by_segment = pd.DataFrame()
    if "segment" in out.columns:
        groups = out[out["treated"]].groupby("segment", observed=True)
        by_segment = pd.DataFrame({"treated": groups.size(), "incremental_value": groups["incremental_value"].sum()})
    summary = UpliftSummary(
        treated=n, baseline_value=float(baseline[treated].sum()), scenario_value=float(scenario[treated].sum()),
        incremental_value=incremental, cost=cost, roi=(incremental - cost) / cost if cost > 0 else np.inf,
        break_even_cost_per_customer=(incremental - fixed_cost) / n if n else 0.0, by_segment=by_segment,
    )
    return attach(out, uplift=summary)


def uplift_summary(frame: pd.DataFrame) -> UpliftSummary:
    """The totals of the scenario that produced ``frame`` (see :func:`uplift`)."""
    found = provenance(frame).get("uplift")
    if found is None:
        raise InvalidParameterError("this frame carries no uplift scenario: run custvalue.uplift first")
    return found


def _treated(frame: pd.DataFrame, segment: str | Sequence[str] | None, query: str | None) -> np.ndarray:
    treated = np.ones(len(frame), dtype=bool)
    if segment is not None:
        treated &= segment_mask(frame, segment)
    if query is not None:
        treated &= query_mask(frame, query)
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
        raise SchemaError("the scored frame has no 'clv' column (score with a spend model)")
    baseline = frame["clv"].to_numpy(dtype=float).copy()
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

    Examples
    --------
    >>> sim = simulate_campaign(4000, effect=2.0, seed=1)
    >>> table = measure_uplift(sim, cost_per_customer=0.5)
    >>> row = table.loc["all"]
    >>> bool(row["ci_low"] < 2.0 < row["ci_high"]), int(row["treated"] + row["control"])
    (True, 4000)
    """
    for column in (treatment, outcome) + ((segment,) if segment else ()):
        if column not in frame.columns:
            raise SchemaError(f"measure_uplift needs column {column!r}; the frame has {list(frame.columns)}")
    arm = frame[treatment]
    if not set(pd.unique(arm.dropna())) <= {0, 1}:
        raise SchemaError(f"column {treatment!r} must be True/False (or 1/0) for treated/control")
    if arm.isna().any() or frame[outcome].isna().any():
        raise SchemaError(f"columns {treatment!r} and {outcome!r} must not have missing values")
    if not 0 < confidence < 1:
        raise InvalidParameterError(f"confidence must be in (0, 1), got {confidence}")
    rng = np.random.default_rng(seed)
    groups = [("all", frame)]
    if segment:
        groups += [(str(name), part) for name, part in frame.groupby(segment, observed=True)]
    rows = {}
    for name, part in groups:
        t = part.loc[part[treatment].astype(bool), outcome].to_numpy(dtype=float)
        c = part.loc[~part[treatment].astype(bool), outcome].to_numpy(dtype=float)
        rows[name] = _lift_row(name, t, c, confidence, n_boot, rng, cost_per_customer, fixed_cost)
    return pd.DataFrame.from_dict(rows, orient="index").rename_axis("group")


def _lift_row(name: str, t: np.ndarray, c: np.ndarray, confidence: float, n_boot: int, rng: np.random.Generator,
              cost_per_customer: float, fixed_cost: float) -> dict:
    if len(t) < 2 or len(c) < 2:
        raise SchemaError(f"group {name!r} needs at least two treated and two control customers")
    if min(len(t), len(c)) < 30 or max(len(t), len(c)) > 10 * min(len(t), len(c)):
        warnings.warn(f"group {name!r}: {len(t)} treated vs {len(c)} control customers; the lift is fragile",
                      UpliftWarning, stacklevel=3)
    lift = t.mean() - c.mean()
    var_t, var_c = t.var(ddof=1) / len(t), c.var(ddof=1) / len(c)
    se = np.sqrt(var_t + var_c)
    dof = (var_t + var_c) ** 2 / (var_t**2 / (len(t) - 1) + var_c**2 / (len(c) - 1)) if se > 0 else np.inf
    from scipy import stats  # loaded when a lift is first measured, not at import

    q = stats.t.ppf(0.5 + confidence / 2, dof) if se > 0 else 0.0
    p_value = float(stats.ttest_ind(t, c, equal_var=False).pvalue) if se > 0 else float(lift == 0)
    boots = np.array([rng.choice(t, len(t)).mean() - rng.choice(c, len(c)).mean() for _ in range(n_boot)])
    alpha = (1 - confidence) / 2
    incremental = lift * len(t)
    cost = cost_per_customer * len(t) + fixed_cost
    return {
        "treated": float(len(t)), "control": float(len(c)),
        "mean_treated": t.mean(), "mean_control": c.mean(),
        "response_treated": float((t > 0).mean()), "response_control": float((c > 0).mean()),
        "lift": lift, "relative_lift": lift / c.mean() if c.mean() else np.nan,
        "ci_low": lift - q * se, "ci_high": lift + q * se, "p_value": p_value,
        "boot_low": float(np.quantile(boots, alpha)), "boot_high": float(np.quantile(boots, 1 - alpha)),
        "incremental_revenue": incremental, "cost": cost,
        "romi": (incremental - cost) / cost if cost > 0 else np.nan,
    }


def simulate_campaign(
    n: int,
    effect: float = 2.0,
    *,
    base_rate: float = 0.3,
    mean_spend: float = 30.0,
    treated_share: float = 0.5,
    segments: Sequence[str] = ("high", "mid", "low"),
    seed: int | None = None,
) -> pd.DataFrame:
    """Customers of a simulated A/B campaign whose treatment adds ``effect`` to expected revenue.

    Each customer buys with probability ``base_rate`` (control) and spends a
    gamma amount with mean ``mean_spend``; treated customers get the same plus
    an exponential extra with mean ``effect``, so the true mean lift is
    exactly ``effect``.
    """
    rng = np.random.default_rng(seed)
    treated = rng.random(n) < treated_share
    buys = rng.random(n) < base_rate
    revenue = np.where(buys, rng.gamma(2.0, mean_spend / 2.0, n), 0.0)
    revenue = revenue + np.where(treated, rng.exponential(effect, n) if effect > 0 else 0.0, 0.0)
    return pd.DataFrame({
        "segment": rng.choice(list(segments), n), "treated": treated, "revenue": revenue,
    }, index=pd.RangeIndex(n, name="customer_id"))
