"""Model fitting speed: custvalue vs lifetimes on the same simulated customers, in one process.

Run:  python benchmarks/bench_fit.py [--repeats 3] [--quick]

* BG/NBD on 1M customers with continuous T;
* Pareto/NBD on 200k customers on a day grid (times in weeks, days / 7), and against BG/NBD on
  the same 1M customers; with two covariates on 200k;
* score (fit BG/NBD + Gamma-Gamma, all predictions, CLV) on 1M customers, and with weekly
  discounting on the same customers on a day grid;
* BG/CNBD-k and MBG/CNBD-k (no peer in Python) on 1M regular customers with continuous T, with k
  chosen and with k given, against a BG/NBD fit on the same customers.

Prints medians, the ratio lifetimes / custvalue, and the estimates of both.
"""

from __future__ import annotations

import argparse
import statistics
import time
import warnings

import numpy as np
import pandas as pd

import custvalue as cv
from custvalue.models import BetaGeo, BetaGeoCNBD, GammaGamma, ModifiedBetaGeoCNBD, ParetoNBD

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from lifetimes import BetaGeoFitter, ParetoNBDFitter


def timed(fn, repeats: int) -> tuple[float, object]:
    times, out = [], None
    for _ in range(repeats):
        start = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times), out


def bgnbd_data(n: int) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    T = rng.uniform(10, 80, n)  # continuous T: no two customers alike
    return BetaGeo.from_params(r=0.25, alpha=4.0, a=0.8, b=2.5).simulate(n, T, seed=1)


def paretonbd_data(n: int) -> pd.DataFrame:
    rng = np.random.default_rng(2)
    T = rng.integers(70, 546, n) / 7  # first purchases on a day grid over 1.5 years, in weeks
    summary = ParetoNBD.from_params(r=0.55, alpha=10.5, s=0.6, beta=11.7).simulate(n, T, seed=3)
    summary["recency"] = np.floor(summary["recency"] * 7) / 7
    return summary


def compare(label: str, ours, theirs, repeats: int, relative_difference: bool = False) -> None:
    t_ours, m = timed(ours, repeats)
    t_theirs, f = timed(theirs, max(1, repeats // 3)) if theirs else (np.nan, None)
    print(f"{label}")
    print(f"  custvalue  median {t_ours:8.3f} s   {np.round(m.params_.to_numpy(), 4)}")
    if f is not None:
        print(f"  lifetimes  median {t_theirs:8.3f} s   {np.round(f.params_.to_numpy(), 4)}")
        print(f"  ratio lifetimes / custvalue: {t_theirs / t_ours:.0f}x")
        if relative_difference:
            theirs_params = f.params_[list(m.params_.index)].to_numpy(dtype=float)
            gap = np.max(np.abs(m.params_.to_numpy() / theirs_params - 1))
            print(f"  largest relative difference of the estimates: {gap:.1e}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--quick", action="store_true", help="a tenth of the sizes")
    parser.add_argument("--only", choices=["bgnbd", "paretonbd", "score", "intervals", "regularity"],
                        help="run one part")
    args = parser.parse_args()
    scale = 10 if args.quick else 1
    warnings.simplefilter("ignore")
    if args.only in (None, "bgnbd"):
        bench_bgnbd(scale, args.repeats)
    if args.only in (None, "paretonbd"):
        bench_paretonbd(scale, args.repeats)
    if args.only in (None, "score"):
        bench_score(scale, args.repeats)
    if args.only in (None, "intervals"):
        bench_intervals(scale)
    if args.only in (None, "regularity"):
        bench_regularity(scale, args.repeats)


def bench_bgnbd(scale: int, repeats: int) -> None:
    data = bgnbd_data(1_000_000 // scale)
    compare(f"BG/NBD fit, {len(data):,} customers, continuous T",
            lambda: BetaGeo().fit(data),
            lambda: BetaGeoFitter().fit(data["frequency"], data["recency"], data["T"]), repeats)
    # Covariates (lifetimes has none): a purchase and a dropout covariate, Newton's method on the analytic Hessian.
    n = 200_000 // scale
    rng = np.random.default_rng(4)
    covariates = pd.DataFrame({"email": rng.integers(0, 2, n).astype(float), "age": rng.normal(0, 1, n)})
    hyper = {"purchase_covariates": ["email"], "dropout_covariates": ["age"]}
    truth = BetaGeo.from_params(hyper, r=0.6, alpha=5.0, a=0.8, b=2.5, **{"purchase[email]": 0.5,
                                                                         "dropout[age]": 0.4})
    sim = truth.simulate(n, rng.uniform(20, 60, n), seed=5, covariates=covariates).drop(columns="alive")
    compare(f"BG/NBD fit with two covariates, {n:,} customers, continuous T",
            lambda: BetaGeo(**hyper).fit(sim), None, repeats)


def bench_paretonbd(scale: int, repeats: int) -> None:
    """Pareto/NBD on a day grid: against lifetimes at 200k customers, against BG/NBD on the same 1M customers."""
    data = paretonbd_data(200_000 // scale)
    unique = len(data.drop_duplicates(["frequency", "recency", "T"]))
    compare(f"Pareto/NBD fit, {len(data):,} customers on a day grid ({unique:,} unique rows)",
            lambda: ParetoNBD().fit(data),
            lambda: ParetoNBDFitter().fit(data["frequency"], data["recency"], data["T"]), repeats,
            relative_difference=True)
    big = paretonbd_data(1_000_000 // scale)
    unique = len(big.drop_duplicates(["frequency", "recency", "T"]))
    t_pareto, _ = timed(lambda: ParetoNBD().fit(big), repeats)
    t_bgnbd, _ = timed(lambda: BetaGeo().fit(big), repeats)
    print(f"Pareto/NBD and BG/NBD fits on the same {len(big):,} customers on a day grid ({unique:,} unique rows)")
    print(f"  Pareto/NBD median {t_pareto:8.3f} s   BG/NBD median {t_bgnbd:8.3f} s   "
          f"ratio Pareto/NBD / BG/NBD: {t_pareto / t_bgnbd:.1f}x")
    # Covariates (lifetimes has none): continuous ones, so every customer is a distinct row.
    n = 200_000 // scale
    rng = np.random.default_rng(6)
    covariates = pd.DataFrame({"email": rng.integers(0, 2, n).astype(float), "age": rng.normal(0, 1, n)})
    hyper = {"purchase_covariates": ["email"], "dropout_covariates": ["age"]}
    truth = ParetoNBD.from_params(hyper, r=0.55, alpha=10.5, s=0.6, beta=11.7, **{"purchase[email]": 0.5,
                                                                                  "dropout[age]": 0.4})
    sim = truth.simulate(n, rng.integers(70, 546, n) / 7, seed=7, covariates=covariates).drop(columns="alive")
    compare(f"Pareto/NBD fit with two covariates, {n:,} customers on a day grid",
            lambda: ParetoNBD(**hyper).fit(sim), None, repeats)


def bench_score(scale: int, repeats: int) -> None:
    spend = GammaGamma.from_params(p=6.0, q=3.8, v=15.0)
    data = bgnbd_data(1_000_000 // scale)
    data["monetary_value"] = spend.simulate(data["frequency"].to_numpy(), seed=5)["monetary_value"].to_numpy()
    t_score, scored = timed(lambda: cv.score(data, horizon=52), repeats)
    print(f"score (fit BG/NBD + Gamma-Gamma, all predictions, CLV over 52 units), {len(data):,} customers, "
          "continuous T")
    print(f"  custvalue  median {t_score:8.3f} s   total CLV {scored['clv'].sum():,.0f}")

    grid = day_grid(data)
    t_disc, scored = timed(lambda: cv.score(grid, horizon=52, discount_rate=0.002), repeats)
    unique = len(grid.drop_duplicates(["frequency", "recency", "T", "monetary_value"]))
    print(f"score with weekly discounting (52 steps), {len(grid):,} customers on a day grid ({unique:,} distinct rows)")
    print(f"  custvalue  median {t_disc:8.3f} s   total CLV {scored['clv'].sum():,.0f}")


def bench_intervals(scale: int) -> None:
    spend = GammaGamma.from_params(p=6.0, q=3.8, v=15.0)
    data = bgnbd_data(1_000_000 // scale)
    data["monetary_value"] = spend.simulate(data["frequency"].to_numpy(), seed=5)["monetary_value"].to_numpy()
    grid = day_grid(data)
    for spend_model, label in ((None, "purchases and P(alive)"), ("gammagamma", "purchases, P(alive), spend, CLV")):
        keys = ["frequency", "recency", "T"] + (["monetary_value"] if spend_model else [])
        start = time.perf_counter()
        cv.score(grid, spend_model=spend_model, horizon=52, intervals=0.9)  # delta-method intervals
        elapsed = time.perf_counter() - start
        print(f"score with 90% delta-method intervals, {label}: {len(grid):,} day-grid customers "
              f"({len(grid.drop_duplicates(keys)):,} distinct rows): {elapsed:.1f} s")


def bench_regularity(scale: int, repeats: int) -> None:
    n = 1_000_000 // scale
    rng = np.random.default_rng(6)
    truth = BetaGeoCNBD.from_params(k=3, r=0.85, alpha=1.45, a=0.79, b=2.42)  # BTYDplus's test values
    data = truth.simulate(n, rng.uniform(10, 80, n), seed=7).drop(columns="alive")
    t_base, base = timed(lambda: BetaGeo().fit(data), repeats)
    print(f"regularity models, {n:,} customers simulated from BG/CNBD-3, continuous T")
    print(f"  BG/NBD               median {t_base:8.3f} s   {np.round(base.params_.to_numpy(), 4)}")
    for label, fit in (("BG/CNBD-k, k chosen ", lambda: BetaGeoCNBD().fit(data)),
                       ("BG/CNBD-k, k=3 given", lambda: BetaGeoCNBD(k=3).fit(data)),
                       ("MBG/CNBD-k, k chosen", lambda: ModifiedBetaGeoCNBD().fit(data))):
        t_fit, m = timed(fit, repeats)
        print(f"  {label} median {t_fit:8.3f} s   k={m.k_} {np.round(m.params_.to_numpy(), 4)}   "
              f"ratio to BG/NBD: {t_fit / t_base:.1f}x")


def day_grid(summary: pd.DataFrame) -> pd.DataFrame:
    """The same customers with times on a day grid (in weeks) and spend in cents, as real data has."""
    return summary.assign(
        T=np.ceil(summary["T"] * 7) / 7,
        recency=np.floor(summary["recency"] * 7) / 7,
        monetary_value=np.round(summary["monetary_value"], 0),
    )


if __name__ == "__main__":
    main()
