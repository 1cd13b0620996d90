"""clean → summarize → score on one machine at scale, with time and peak memory per step.

Run:  python benchmarks/bench_scale.py [--transactions 100_000_000] [--customers 10_000_000]

Transactions are generated customer by customer from a Pareto/NBD-like process (gamma purchase
rates, exponential lifetimes, first purchases over a year, observation over two), so the models
have dropout to find. Peak memory is what Python and numpy allocate during the step (tracemalloc),
next to the size of the input frame, measured on a second run so that it does not slow the timed
one. lifetimes and plain pandas run on a 1M-transaction slice.
"""

from __future__ import annotations

import argparse
import time
import tracemalloc
import warnings

import numpy as np
import pandas as pd

import custvalue as cv


def generate(n_transactions: int, n_customers: int, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    mean_extra = n_transactions / n_customers - 1
    first = rng.integers(0, 365, n_customers)
    lifetime = np.minimum(rng.exponential(300, n_customers), 730 - first)
    rate = rng.gamma(0.8, 1.0, n_customers)
    expected = rate * lifetime
    rate *= mean_extra / expected.mean()
    extra = rng.poisson(rate * lifetime)
    counts = 1 + extra
    ids = np.repeat(np.arange(n_customers), counts)
    offset = np.repeat(lifetime, counts) * rng.random(len(ids))
    starts = np.r_[0, np.cumsum(counts)[:-1]]
    offset[starts] = 0.0  # each customer's first transaction opens their history
    seconds = (np.repeat(first, counts) * 86400 + offset * 86400).astype("int64")
    return pd.DataFrame({
        "customer_id": ids + 1_000_000,
        "date": np.datetime64("2023-01-01T00:00:00") + seconds.astype("timedelta64[s]"),
        "amount": np.round(rng.gamma(2.0, 15.0, len(ids)), 2),
    })


def step(label: str, fn, *args, **kwargs):
    """Time one run, then measure the peak memory of a second (tracemalloc slows allocation-heavy code)."""
    start = time.perf_counter()
    fn(*args, **kwargs)
    elapsed = time.perf_counter() - start
    tracemalloc.start()
    out = fn(*args, **kwargs)
    peak = tracemalloc.get_traced_memory()[1] / 2**30
    tracemalloc.stop()
    print(f"{label:<48s} {elapsed:8.1f} s   peak {peak:6.2f} GiB")
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--transactions", type=int, default=100_000_000)
    parser.add_argument("--customers", type=int, default=10_000_000)
    args = parser.parse_args()
    tx = generate(args.transactions, args.customers)
    print(f"{len(tx):,} transactions of {tx['customer_id'].nunique():,} customers, "
          f"input frame {tx.memory_usage(deep=True).sum() / 2**30:.2f} GiB")
    clean = step("custvalue.clean", cv.clean, tx)
    del tx  # keep one frame in memory at a time
    summary = step("custvalue.summarize (weeks)", cv.summarize, clean, unit="W")
    del clean
    step("custvalue.score (BG/NBD + Gamma-Gamma fit, CLV)", cv.score, summary, horizon=52)

    print("\n== 1M-transaction slice, side by side ==")
    small = generate(1_000_000, 100_000, seed=1)
    step("custvalue.summarize", cv.summarize, small, unit="W")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from lifetimes.utils import summary_data_from_transaction_data

        step("lifetimes summary_data_from_transaction_data", lambda: summary_data_from_transaction_data(
            small, "customer_id", "date", monetary_value_col="amount", freq="D", freq_multiplier=7))
    step("pandas groupby (nunique days, min, max)", lambda: small.assign(day=small["date"].dt.floor("D"))
         .groupby("customer_id").agg(n=("day", "nunique"), first=("day", "min"), last=("day", "max")))


if __name__ == "__main__":
    main()
