"""Command line: ``python -m custvalue demo`` and ``python -m custvalue summarize IN.csv``."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

import pandas as pd

from custvalue.clean import clean, cleaning_report
from custvalue.datasets import load_cdnow
from custvalue.errors import CustValueError
from custvalue.evaluation import compare_models
from custvalue.filtering import filter_customers
from custvalue.score import fitted_models, score
from custvalue.segment import segment, segment_summary
from custvalue.summary import calibration_holdout, summarize
from custvalue.uplift import uplift, uplift_summary


def demo(args: argparse.Namespace) -> int:
    """Clean the CDNOW master file and summarize its customers."""
    tx = load_cdnow()
    print(f"CDNOW master: {len(tx):,} raw transactions of {tx['customer_id'].nunique():,} customers\n")
    cleaned = clean(tx)
    print(cleaning_report(cleaned))
    summary = summarize(cleaned, unit="W", observation_end="1998-06-30")
    print(f"\nCustomer summary (weeks, observation end 1998-06-30): {len(summary):,} customers")
    columns = ["frequency", "recency", "T", "monetary_value", "n_transactions", "total_value"]
    with pd.option_context("display.width", 120, "display.max_columns", 12, "display.precision", 2):
        print(summary[columns].describe().T[["mean", "std", "min", "50%", "max"]])
        scored = score(summary, model="bgnbd", spend_model="gammagamma", horizon=52, unit="W")
        models = fitted_models(scored)
        print("\nBG/NBD purchase model (Fader, Hardie & Lee 2005):")
        print(models["model"].summary())
        print("\nGamma-Gamma spend model (Fader & Hardie 2013):")
        print(models["spend_model"].summary())
        shown = ["frequency", "recency", "T", "monetary_value",
                 "expected_purchases", "p_alive", "expected_spend", "clv"]
        print("\nTop 10 customers by expected value over the next 52 weeks (clv, $):")
        print(scored.nlargest(10, "clv")[shown])
        print(f"\nExpected value of all {len(scored):,} customers over 52 weeks: ${scored['clv'].sum():,.0f}")
        segmented = segment(scored, method="rfm")
        print("\nRFM segments:")
        table = segment_summary(segmented)
        print(table[["customers", "customer_share", "mean_value", "value_share", "mean_p_alive"]].round(3))
        at_risk = uplift(filter_customers(segmented, "At Risk"), purchase_rate=1.1, cost_per_customer=0.5)
        print("\nWhat if a $0.50-per-customer campaign lifts the purchase rate of 'At Risk' customers by 10%?")
        print(uplift_summary(at_risk))
    return 0


def summarize_file(args: argparse.Namespace) -> int:
    """Summarize a CSV of transactions into a CSV of customers."""
    tx = pd.read_csv(args.input)
    columns = {
        name: canonical
        for name, canonical in (
            (args.customer_col, "customer_id"),
            (args.date_col, "date"),
            (args.amount_col, "amount"),
        )
        if name != canonical
    }
    cleaned = clean(tx, columns=columns, observation_end=args.observation_end)
    print(cleaning_report(cleaned), file=sys.stderr)
    summary = summarize(cleaned, unit=args.unit, observation_end=args.observation_end, grain=args.grain)
    summary.to_csv(args.output if args.output else sys.stdout)
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


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="custvalue", description="Customer-value analytics.")
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("demo", help="run the main job on the bundled CDNOW data").set_defaults(run=demo)
    commands.add_parser("compare", help="compare the purchase models on CDNOW's holdout").set_defaults(run=compare)
    summary = commands.add_parser("summarize", help="summarize a CSV of transactions per customer")
    summary.add_argument("input", help="CSV file of transactions")
    summary.add_argument("-o", "--output", help="output CSV (default: standard output)")
    summary.add_argument("--unit", default="W", help="D, W, M or Y (default W)")
    summary.add_argument("--grain", default="D", help="purchases in one D, W, M or Y count as one")
    summary.add_argument("--observation-end", help="end of observation (default: last date)")
    summary.add_argument("--customer-col", default="customer_id")
    summary.add_argument("--date-col", default="date")
    summary.add_argument("--amount-col", default="amount")
    summary.set_defaults(run=summarize_file)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.run(args)
    except (CustValueError, FileNotFoundError, pd.errors.ParserError, pd.errors.EmptyDataError) as err:
        print(f"custvalue: error: {err}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
