"""BG/BB and Gamma-Gamma speed: custvalue vs lifetimes on the same simulated customers, in one process.

Run:  python benchmarks/bench_bgbb_spend.py [--repeats 5] [--customers 1000000]

* BG/BB fit: custvalue on every customer (it groups identical rows itself), lifetimes on the distinct
  (frequency, recency, periods) rows with their counts, as its documentation advises;
* BG/BB predictions for every customer: P(alive) one opportunity ahead and expected transactions in
  the next 10 opportunities (lifetimes has no purchase probabilities or DERT for BG/BB);
* Gamma-Gamma fit on every repeat buyer, and the individual-amount model (no lifetimes counterpart).

Prints medians and the ratio lifetimes / custvalue.
"""

from __future__ import annotations

import argparse
import statistics
import time
import warnings

import numpy as np
import pandas as pd

from custvalue.models import BetaGeoBetaBinom, GammaGamma, GammaGammaIndividual

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from lifetimes import BetaGeoBetaBinomFitter, GammaGammaFitter


def timed(fn, repeats: int) -> tuple[float, object]:
    times, out = [], None
    for _ in range(repeats):
        start = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times), out


def report(label: str, ours: float, theirs: float | None) -> None:
    ratio = f"   lifetimes / custvalue = {theirs / ours:6.1f}" if theirs is not None else ""
    peer = f"   lifetimes {theirs:8.3f} s" if theirs is not None else ""
    print(f"{label:<44} custvalue {ours:8.3f} s{peer}{ratio}")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--customers", type=int, default=1_000_000)
    args = parser.parse_args()
    n, repeats = args.customers, args.repeats

    truth = BetaGeoBetaBinom.from_params(alpha=1.204, beta=0.750, gamma=0.657, delta=2.783)
    periods = np.random.default_rng(0).integers(1, 21, n)
    customers = truth.simulate(n, periods, seed=1).drop(columns="alive")
    rows = customers.value_counts().reset_index()
    print(f"BG/BB: {n:,} customers, {len(rows):,} distinct rows")

    t_ours, fitted = timed(lambda: BetaGeoBetaBinom().fit(customers), repeats)
    t_theirs, peer = timed(lambda: BetaGeoBetaBinomFitter().fit(
        rows["frequency"], rows["recency"], rows["periods"], weights=rows["count"]), max(1, repeats // 2))
    report("fit", t_ours, t_theirs)
    print(f"  estimates: custvalue {np.round(fitted.params_.to_numpy(), 4)}, "
          f"lifetimes {np.round(peer.params_[['alpha', 'beta', 'gamma', 'delta']].to_numpy(), 4)}")
    peer.params_ = fitted.params_.copy()  # predictions at the same parameters
    x, t_x, n_obs = (customers[c] for c in ("frequency", "recency", "periods"))
    t_ours, _ = timed(lambda: fitted.p_alive(customers, future_t=1), repeats)
    t_theirs, _ = timed(lambda: peer.conditional_probability_alive(1, x, t_x, n_obs), repeats)
    report("P(alive) one opportunity ahead", t_ours, t_theirs)
    t_ours, _ = timed(lambda: fitted.expected_purchases(customers, 10), repeats)
    t_theirs, _ = timed(lambda: peer.conditional_expected_number_of_purchases_up_to_time(10, x, t_x, n_obs),
                        repeats)
    report("expected transactions, next 10", t_ours, t_theirs)
    t_ours, _ = timed(lambda: fitted.purchase_probability(customers, list(range(11)), 10), repeats)
    report("P(0..10 transactions in the next 10)", t_ours, None)
    t_ours, _ = timed(lambda: fitted.dert(customers, 0.1), repeats)
    report("DERT", t_ours, None)

    spend = GammaGammaIndividual.from_params(p=6.0, q=4.0, v=15.0).simulate(
        np.random.default_rng(2).poisson(3, n), seed=3)
    repeat = spend[spend["frequency"] > 0]
    print(f"Gamma-Gamma: {len(repeat):,} repeat buyers")
    t_ours, _ = timed(lambda: GammaGamma().fit(repeat), repeats)
    t_theirs, _ = timed(lambda: GammaGammaFitter().fit(repeat["frequency"], repeat["monetary_value"]),
                        max(1, repeats // 2))
    report("fit (customer means)", t_ours, t_theirs)
    t_ours, _ = timed(lambda: GammaGammaIndividual().fit(repeat), repeats)
    report("fit (individual amounts)", t_ours, None)
    pd.set_option("display.width", 120)


if __name__ == "__main__":
    main()
