"""clean → summarize → score on one machine at scale, with time and peak memory per step.

Run:  python benchmarks/bench_scale.py [--transactions 100_000_000] [--customers 10_000_000] [--dask N]

Transactions are generated customer by customer from a Pareto/NBD-like process (gamma purchase
rates, exponential lifetimes, first purchases over a year, observation over two), so the models
have dropout to find. Per step: wall time, the process's peak resident memory during the step
(Linux: the high-water mark is reset before each step) and how far that peak rose above the
memory in use when the step began, next to the size of the input frame. lifetimes and plain
pandas run on a 1M-transaction slice. ``--dask N`` also runs the three steps on N transactions
through Dask (a local cluster of two single-threaded worker processes) next to pandas, and checks
that the scores are equal.
"""

from __future__ import annotations

import argparse
import re
import time
import tracemalloc
import warnings
from pathlib import Path

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


STATUS = Path("/proc/self/status")


def resident_gib(field: str) -> float:
    """A memory figure of this process from /proc (VmRSS now, VmHWM the peak since the last reset)."""
    return int(re.search(rf"{field}:\s+(\d+)", STATUS.read_text()).group(1)) / 2**20


def step(label: str, fn, *args, traced: bool = False, **kwargs):
    """Run one step; print its time and its peak memory.

    By default the process's peak resident memory during the step and its rise above the memory in
    use when the step began (Linux). ``traced`` (and elsewhere): the peak of what numpy and Python
    allocate during the step (tracemalloc), which is comparable across small steps whose
    allocations fit in memory the process already holds.
    """
    if STATUS.exists() and not traced:
        Path("/proc/self/clear_refs").write_text("5")  # reset the peak (VmHWM) to the current size
        before = resident_gib("VmRSS")
        start = time.perf_counter()
        out = fn(*args, **kwargs)
        elapsed = time.perf_counter() - start
        peak = resident_gib("VmHWM")
        print(f"{label:<52s} {elapsed:8.1f} s   peak RSS {peak:6.2f} GiB (+{peak - before:5.2f} GiB)")
        return out
    tracemalloc.start()
    start = time.perf_counter()
    out = fn(*args, **kwargs)
    elapsed = time.perf_counter() - start
    peak = tracemalloc.get_traced_memory()[1] / 2**20
    tracemalloc.stop()
    print(f"{label:<52s} {elapsed:8.2f} s   peak allocated {peak:6.0f} MiB")
    return out


def run_dask(n_transactions: int) -> None:
    """The three steps through Dask on a local two-worker cluster, next to pandas on the same rows."""
    import logging

    import dask.dataframe as dd
    from distributed import Client, LocalCluster

    logging.getLogger("distributed").setLevel(logging.ERROR)  # p2p shuffle notices
    warnings.filterwarnings("ignore", message=".*large graph", category=UserWarning)
    tx = generate(n_transactions, n_transactions // 10, seed=2)
    print(f"\n== Dask: {len(tx):,} transactions, 2 single-threaded worker processes, 8 partitions ==")
    with LocalCluster(n_workers=2, threads_per_worker=1, dashboard_address=None) as cluster, Client(cluster):
        ddf = dd.from_pandas(tx, npartitions=8).persist()
        start = time.perf_counter()
        scored = cv.score(cv.clean(ddf), horizon=52).persist()
        len(scored)
        dask_time = time.perf_counter() - start
        result = scored.compute().sort_index()
    start = time.perf_counter()
    expected = cv.score(cv.clean(tx), horizon=52)
    pandas_time = time.perf_counter() - start
    same = result.equals(expected)
    print(f"clean → summarize → score   Dask {dask_time:6.1f} s   pandas {pandas_time:6.1f} s   "
          f"ratio {dask_time / pandas_time:4.1f}   equal: {same}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--transactions", type=int, default=100_000_000)
    parser.add_argument("--customers", type=int, default=10_000_000)
    parser.add_argument("--dask", type=int, default=0, metavar="N", help="also run Dask on N transactions")
    args = parser.parse_args()
    tx = generate(args.transactions, args.customers)
    print(f"{len(tx):,} transactions of {tx['customer_id'].nunique():,} customers, "
          f"input frame {tx.memory_usage(deep=True).sum() / 2**30:.2f} GiB")
    clean = step("custvalue.clean", cv.clean, tx)
    del tx  # keep one frame in memory at a time
    summary = step("custvalue.summarize (weeks)", cv.summarize, clean, unit="W")
    del clean
    step("custvalue.score (BG/NBD + Gamma-Gamma fit, CLV)", cv.score, summary, horizon=52)

    print("\n== 1M-transaction slice, side by side (memory: peak allocated during the step) ==")
    small = generate(1_000_000, 100_000, seed=1)
    step("custvalue.summarize", cv.summarize, small, unit="W", traced=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from lifetimes.utils import summary_data_from_transaction_data

        step("lifetimes summary_data_from_transaction_data", lambda: summary_data_from_transaction_data(
            small, "customer_id", "date", monetary_value_col="amount", freq="D", freq_multiplier=7), traced=True)
    step("pandas groupby (nunique days, min, max)", lambda: small.assign(day=small["date"].dt.floor("D"))
         .groupby("customer_id").agg(n=("day", "nunique"), first=("day", "min"), last=("day", "max")),
         traced=True)
    if args.dask:
        run_dask(args.dask)


if __name__ == "__main__":
    main()
