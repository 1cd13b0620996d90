"""Latency at a million customers: every ratio of the latency targets, in one run, in one process.

Run:  python benchmarks/bench_latency.py [--repeats 3] [--quick] [--skip-lifetimes] [--only PART ...]

Prints, each a median over ``--repeats`` runs (interleaved where two things are compared):

* ``import custvalue`` against ``import pandas``, each in a fresh interpreter (target ≤ 2×);
* BG/NBD fit against lifetimes, 1M customers with continuous T (target ≥ 50×), and the largest
  relative difference of the estimates (target ≤ 1e-3);
* Pareto/NBD fit against lifetimes, 200k customers on a day grid (target ≥ 100×);
* every other purchase model's fit against BG/NBD's on the same 1M day-grid customers
  (Pareto/NBD ≤ 3×, the regularity models ≤ 5×);
* for every purchase model that gives intervals: ``score`` with ``intervals=0.9`` against the
  point score (target ≤ 5×), and with ``discount_rate`` against without (target ≤ 1.5×); each
  score fits the purchase model and Gamma-Gamma and predicts every column;
* the peak memory each step allocates (tracemalloc) against the size of its input frame (target ≤ 3×),
  with the size of the columns it returns beyond the input's beside it: that part of the peak is the
  answer itself. A score with intervals adds twelve float64 columns, which alone are 3× a summary of
  four columns: its peak cannot be below 3×.

The machine these run on is shared: read the ratios, which compare runs made side by side.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
import tracemalloc
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

import custvalue as cv
from custvalue.models import Ability, BetaGeo, GammaGamma, ParetoNBD

ROWS: list[tuple[str, str, str]] = []  # (what, measured, target)


def report(what: str, measured: str, target: str) -> None:
    ROWS.append((what, measured, target))
    print(f"{what:<62} {measured:>22}   target {target}", flush=True)


def medians(functions: list[Callable[[], Any]], repeats: int) -> list[float]:
    """Median seconds of each function, the runs interleaved so that the machine's load hits all alike."""
    times: list[list[float]] = [[] for _ in functions]
    for _ in range(repeats):
        for i, fn in enumerate(functions):
            start = time.perf_counter()
            fn()
            times[i].append(time.perf_counter() - start)
    return [statistics.median(t) for t in times]


def peak_ratio(fn: Callable[[], Any], frame: pd.DataFrame) -> str:
    """Peak memory allocated while ``fn`` runs, over the memory of ``frame``, and beside it the memory of the
    columns the frame ``fn`` returns holds beyond ``frame``'s own (the part of the peak that is the answer),
    e.g. "4.7x (result 3.0x)"."""
    tracemalloc.start()
    try:
        result = fn()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    size = frame.memory_usage(deep=True).sum()
    given = [frame[c].to_numpy() for c in frame.columns]
    new = sum(result[c].to_numpy().nbytes for c in result.columns
              if not any(np.shares_memory(result[c].to_numpy(), g) for g in given))
    return f"{peak / size:.1f}x (result {new / size:.1f}x)"


# --- data ------------------------------------------------------------------------------------------


def continuous_customers(n: int) -> pd.DataFrame:
    T = np.random.default_rng(0).uniform(10, 80, n)  # continuous T: no two customers alike
    return BetaGeo.from_params(r=0.25, alpha=4.0, a=0.8, b=2.5).simulate(n, T, seed=1)[["frequency", "recency", "T"]]


def day_grid_customers(n: int, seed: int = 2) -> pd.DataFrame:
    """CDNOW-like customers acquired over 78 weeks, times in weeks on a day grid, with spend."""
    rng = np.random.default_rng(seed)
    T = rng.integers(1, 546, n) / 7
    truth = BetaGeo.from_params(**BetaGeo.example_params)
    summary = truth.simulate(n, T, seed=seed + 1)[["frequency", "recency", "T"]]
    summary["recency"] = np.minimum(np.round(summary["recency"] * 7) / 7, summary["T"])
    spend = GammaGamma.from_params(**GammaGamma.example_params).simulate(summary["frequency"].to_numpy(), seed=seed)
    return summary.assign(monetary_value=np.round(spend["monetary_value"].to_numpy(), 2))


def model_data(name: str, grid: pd.DataFrame) -> pd.DataFrame:
    """The data a purchase model fits and scores: the day-grid customers, or for a model that reads other
    columns (BG/BB's opportunities, the regularity models' litt) as many customers drawn from the model."""
    model = cv.models.get(name)
    if set(model.required_columns()) <= set(grid.columns):
        return grid
    sample = type(model).from_params(model.get_params(), **model.example_params).sample(len(grid), seed=5)
    spend = GammaGamma.from_params(**GammaGamma.example_params).simulate(sample["frequency"].to_numpy(), seed=6)
    return sample.assign(monetary_value=np.round(spend["monetary_value"].to_numpy(), 2))


# --- the parts ---------------------------------------------------------------------------------------


def bench_import(repeats: int) -> None:
    def seconds(module: str) -> float:
        code = f"import time; t = time.perf_counter(); import {module}; print(time.perf_counter() - t)"
        out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True).stdout
        return float(out)

    pandas, custvalue = [], []
    for _ in range(max(repeats, 5)):
        pandas.append(seconds("pandas"))
        custvalue.append(seconds("custvalue"))
    p, c = statistics.median(pandas), statistics.median(custvalue)
    report("import custvalue / import pandas (fresh interpreters)", f"{c:.2f} s / {p:.2f} s = {c / p:.2f}x",
           "<= 2x")


def bench_fits_against_lifetimes(scale: int, repeats: int) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from lifetimes import BetaGeoFitter, ParetoNBDFitter

    data = continuous_customers(1_000_000 // scale)
    x, t_x, T = data["frequency"], data["recency"], data["T"]
    ours = BetaGeo().fit(data)
    theirs = BetaGeoFitter().fit(x, t_x, T)
    t_ours, t_theirs = medians([lambda: BetaGeo().fit(data), lambda: BetaGeoFitter().fit(x, t_x, T)],
                               max(1, repeats))
    gap = np.max(np.abs(ours.params_.to_numpy() / theirs.params_[list(ours.params_.index)].to_numpy() - 1))
    report(f"BG/NBD fit, {len(data):,} customers, continuous T: lifetimes / custvalue",
           f"{t_theirs:.2f} / {t_ours:.3f} s = {t_theirs / t_ours:.0f}x", ">= 50x")
    report("  largest relative difference of the estimates", f"{gap:.1e}", "<= 1e-3")

    grid = day_grid_customers(200_000 // scale)
    x, t_x, T = grid["frequency"], grid["recency"], grid["T"]
    ours = ParetoNBD().fit(grid)
    theirs = ParetoNBDFitter().fit(x, t_x, T)
    t_ours, t_theirs = medians([lambda: ParetoNBD().fit(grid), lambda: ParetoNBDFitter().fit(x, t_x, T)], 1)
    gap = np.max(np.abs(ours.params_.to_numpy() / theirs.params_[list(ours.params_.index)].to_numpy() - 1))
    report(f"Pareto/NBD fit, {len(grid):,} customers, day grid: lifetimes / custvalue",
           f"{t_theirs:.1f} / {t_ours:.2f} s = {t_theirs / t_ours:.0f}x", ">= 100x")
    report("  largest relative difference of the estimates", f"{gap:.1e}", "<= 1e-3")


def purchase_models_with_intervals() -> list[str]:
    return cv.models.available(role="purchase", ability=Ability.INTERVALS)


def bench_fits_against_bgnbd(grid: pd.DataFrame, repeats: int) -> None:
    targets = {"paretonbd": "<= 3x", "bgcnbd": "<= 5x", "mbgcnbd": "<= 5x"}
    for name in purchase_models_with_intervals():
        data = model_data(name, grid)
        if name == "bgnbd" or "T" not in data.columns:  # BG/BB counts opportunities: no BG/NBD fit to compare
            continue
        t_bg, t_model = medians([lambda d=data: cv.models.get("bgnbd").fit(d),
                                 lambda d=data, n=name: cv.models.get(n).fit(d)], repeats)
        report(f"{name} fit / BG/NBD fit, same {len(data):,} customers", f"{t_model:.2f} / {t_bg:.2f} s = "
               f"{t_model / t_bg:.1f}x", targets.get(name, "(no target)"))


def bench_scores(grid: pd.DataFrame, repeats: int) -> None:
    for name in purchase_models_with_intervals():
        data = model_data(name, grid)

        def point(d: pd.DataFrame = data, n: str = name) -> pd.DataFrame:
            return cv.score(d, model=n, horizon=52)

        def with_intervals(d: pd.DataFrame = data, n: str = name) -> pd.DataFrame:
            return cv.score(d, model=n, horizon=52, intervals=0.9)

        def discounted(d: pd.DataFrame = data, n: str = name) -> pd.DataFrame:
            return cv.score(d, model=n, horizon=52, discount_rate=0.002)

        t_point, t_intervals, t_discounted = medians([point, with_intervals, discounted], repeats)
        rows = f"{len(data):,} customers"
        report(f"{name}: score with intervals=0.9 / point score, {rows}",
               f"{t_intervals:.2f} / {t_point:.2f} s = {t_intervals / t_point:.1f}x", "<= 5x")
        report(f"{name}: discounted score / undiscounted score, {rows}",
               f"{t_discounted:.2f} / {t_point:.2f} s = {t_discounted / t_point:.2f}x", "<= 1.5x")
        for what, fn in (("point score", point), ("score with intervals", with_intervals),
                         ("discounted score", discounted)):
            report(f"{name}: peak memory of the {what} / the input frame", peak_ratio(fn, data), "<= 3x")


PARTS = ("import", "fits", "models", "scores")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--quick", action="store_true", help="a tenth of the sizes")
    parser.add_argument("--skip-lifetimes", action="store_true", help="leave out the (slow) lifetimes fits")
    parser.add_argument("--only", nargs="+", choices=PARTS, default=list(PARTS),
                        help="run only these parts (fits: the fits against lifetimes)")
    args = parser.parse_args()
    scale = 10 if args.quick else 1
    warnings.simplefilter("ignore")
    if "import" in args.only:
        bench_import(args.repeats)
    if "fits" in args.only and not args.skip_lifetimes:
        bench_fits_against_lifetimes(scale, args.repeats)
    if {"models", "scores"} & set(args.only):
        grid = day_grid_customers(1_000_000 // scale)
        if "models" in args.only:
            bench_fits_against_bgnbd(grid, args.repeats)
        if "scores" in args.only:
            bench_scores(grid, args.repeats)
    print("\n| measure | result | target |\n|---|---|---|")
    for what, measured, target in ROWS:
        print(f"| {what.strip()} | {measured} | {target} |")


if __name__ == "__main__":
    main()
