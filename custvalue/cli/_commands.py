"""The commands: ``demo`` and ``compare`` on the bundled CDNOW data; ``summarize``, ``score`` and ``segment``
on a user's file."""

from __future__ import annotations

import argparse
import inspect
from typing import Any

import pandas as pd

from custvalue.clean import clean, cleaning_report
from custvalue.cli._files import check_output, write_table
from custvalue.cli._messages import UsageError
from custvalue.cli._transactions import read_transactions
from custvalue.datasets import load_cdnow
from custvalue.evaluation import compare_models
from custvalue.filtering import filter_customers
from custvalue.models import BaseModel, resolve
from custvalue.score import fitted_models, score
from custvalue.segment import segment, segment_summary
from custvalue.summary import calibration_holdout, summarize
from custvalue.uplift import uplift, uplift_summary

__all__ = ["demo", "compare", "summarize_file", "score_file", "segment_file", "AUTO", "NO_SPEND_MODEL"]

AUTO = "auto"
NO_SPEND_MODEL = "none"


def demo(args: argparse.Namespace) -> int:
    """Clean the CDNOW master file, summarize, score and segment its customers, and size a campaign."""
    tx = load_cdnow()
    print(f"CDNOW master: {len(tx):,} raw transactions of {tx['customer_id'].nunique():,} customers\n")
    cleaned = clean(tx)
    print(cleaning_report(cleaned))
    summary = summarize(cleaned, unit="W", observation_end="1998-06-30")
    print(f"\nCustomer summary (times in weeks, observation end 1998-06-30): {len(summary):,} customers")
    columns = ["frequency", "recency", "T", "monetary_value", "n_transactions", "total_value"]
    described = summary[columns].describe().T[["mean", "std", "min", "50%", "max"]].rename(columns={"50%": "median"})
    print(described.to_string(float_format=lambda v: f"{v:,.2f}", col_space=10))
    scored = score(summary, model="bgnbd", spend_model="gammagamma", horizon=52, unit="W")
    models = fitted_models(scored)
    for title, model in (("BG/NBD purchase model (Fader, Hardie & Lee 2005)", models["model"]),
                         ("Gamma-Gamma spend model (Fader & Hardie 2013)", models["spend_model"])):
        print(f"\n{title}, log-likelihood {model.log_likelihood_:,.2f}:")
        print(model.summary().to_string(float_format=lambda v: f"{v:.4f}"))
    shown = ["frequency", "recency", "T", "monetary_value", "expected_purchases", "p_alive", "expected_spend", "clv"]
    print("\nTop 10 customers by expected value over the next 52 weeks (clv, $):")
    print(scored.nlargest(10, "clv")[shown].to_string(float_format=lambda v: f"{v:,.2f}", col_space=9))
    print(f"\nExpected value of all {len(scored):,} customers over 52 weeks: ${scored['clv'].sum():,.0f}")
    one_time = scored["frequency"] == 0
    print(f"{one_time.mean():.0%} of customers have made no repeat purchase; BG/NBD gives each of them P(alive) = 1 "
          "(see the note under the segments).")
    segmented = segment(scored, method="rfm")
    print("\nRFM segments (R and F scored 1-5 by rank, 5 = best):")
    table = segment_summary(segmented, styled=True)
    print(table)
    target = "Loyal Customers"  # valuable, and slipping away
    plan = uplift_summary(uplift(filter_customers(segmented, target), purchase_rate=1.1, cost_per_customer=0.5))
    print(f"\nUplift scenario: what if a $0.50-per-customer campaign lifted the purchase rate of the {target}\n"
          f"({plan.treated:,} customers, mean P(alive) {table.data.loc[target, 'mean_p_alive']:.2f}) by 10%?")
    rows = [("expected value without it", f"${plan.baseline_value:,.2f}"),
            ("expected value with it", f"${plan.scenario_value:,.2f}"),
            ("incremental value", f"${plan.incremental_value:,.2f}"), ("cost", f"${plan.cost:,.2f}")]
    if plan.roi is not None:
        rows.append(("return on the cost", f"{plan.roi:.0%}"))
    if plan.break_even_cost_per_customer is not None:
        rows.append(("break-even cost per customer", f"${plan.break_even_cost_per_customer:,.2f}"))
    width = max(len(label) for label, _ in rows)
    print("\n".join(f"  {label:<{width}}  {value:>12}" for label, value in rows))
    return 0


def compare(args: argparse.Namespace) -> int:
    """Compare the purchase models on CDNOW: calibration to 1997-09-30, holdout to 1998-06-30."""
    tx = clean(load_cdnow())
    calhold = calibration_holdout(tx, "1997-09-30", "1998-06-30", unit="W")
    table = compare_models(calhold, ["bgnbd", "mbgnbd", "paretonbd"])
    print(f"CDNOW master, {len(calhold):,} customers: fitted on 1997-01-01..1997-09-30, "
          "checked on the 39 weeks to 1998-06-30 (repeat purchases per customer)")
    with pd.option_context("display.width", 140, "display.max_columns", 12):
        print(table.round(4))
    return 0


def summarize_file(args: argparse.Namespace) -> int:
    """Summarize a file of transactions into one row per customer."""
    check_output(args.output)
    tx = read_transactions(args)
    write_table(summarize(tx, unit=args.unit, observation_end=args.observation_end, grain=args.grain), args.output)
    return 0


def score_file(args: argparse.Namespace) -> int:
    """Score the customers of a file of transactions."""
    check_output(args.output)
    write_table(scored_customers(args), args.output)
    return 0


def segment_file(args: argparse.Namespace) -> int:
    """Score the customers of a file of transactions and put them in segments."""
    check_output(args.output)
    write_table(segment(scored_customers(args), method=args.method), args.output)
    return 0


def scored_customers(args: argparse.Namespace) -> pd.DataFrame:
    """Clean, summarize and score the transactions of ``args.input`` as the flags say."""
    model = purchase_model(args.model, dict(args.model_option or []))
    spend_model: str | BaseModel | None = None if args.spend_model == NO_SPEND_MODEL else args.spend_model
    options: dict[str, Any] = {}
    if args.penalizer is not None:
        if "penalizer" in inspect.signature(score).parameters:
            options["penalizer"] = args.penalizer
        else:  # a score() without penalizer=: set it on each model that takes one
            if model == AUTO:
                raise UsageError("--penalizer with --model auto needs a newer custvalue",
                                 "name the model, e.g. --model bgnbd, or leave --penalizer out")
            model, spend_model = (with_penalizer(m, args.penalizer) for m in (model, spend_model))
    tx = read_transactions(args)
    return score(tx, model=model, spend_model=spend_model, horizon=args.horizon, unit=args.unit,
                 discount_rate=args.discount_rate, margin=args.margin, observation_end=args.observation_end,
                 grain=args.grain, intervals=args.intervals, interval_draws=args.interval_draws, **options)


def with_penalizer(spec: str | BaseModel | None, penalizer: float) -> Any:
    """The model ``spec`` with ``penalizer`` set, when it takes one."""
    if spec is None:
        return None
    model = resolve(spec)
    return resolve(model, penalizer=penalizer) if "penalizer" in model.get_params() else spec


def purchase_model(name: str, options: dict[str, object]) -> str | BaseModel:
    """The model ``--model`` names, with the hyper-parameters of ``--model-option``."""
    if not options:
        return name
    if name == AUTO:
        raise UsageError("--model-option sets a hyper-parameter of one model, and --model auto chooses among "
                         "several", "name the model, e.g. --model bgnbd, or leave --model-option out")
    known = resolve(name).get_params()
    unknown = [key for key in options if key not in known]
    if unknown:
        raise UsageError(f"--model-option {unknown[0]}: the {name} model has no such option",
                         f"use one of {sorted(known)}")
    return resolve(name, **options)
