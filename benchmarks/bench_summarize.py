"""Summarize speed: custvalue vs lifetimes (and plain pandas) on the same generated data.

Run:  python benchmarks/bench_summarize.py [--repeats 5] [--skip-large]

Prints the median of ``--repeats`` runs per tool, the ratio to custvalue and
the peak memory (tracemalloc) of one run of each.
"""

from __future__ import annotations

import argparse
import tracemalloc
import warnings

import numpy as np
import pandas as pd
from _timing import median_seconds

import custvalue as cv


def make_transactions(n_tx: int, n_customers: int, seed: int = 0, string_ids: bool = False) -> pd.DataFrame:
    """Random transactions over two years; ids are integers (or strings) in random order."""
    rng = np.random.default_rng(seed)
    ids = rng.permutation(n_customers)[rng.integers(0, n_customers, n_tx)] + 100_000
    days = rng.integers(0, 730, n_tx)
    frame = pd.DataFrame(
        {
            "customer_id": ids.astype(str) if string_ids else ids,
            "date": pd.Timestamp("2023-01-01") + pd.to_timedelta(days, unit="D"),
            "amount": np.round(rng.lognormal(3.0, 0.8, n_tx), 2),
        }
    )
    return frame



def peak_mib(fn) -> float:
    tracemalloc.start()
    fn()
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return peak / 2**20


def pandas_groupby(tx: pd.DataFrame) -> pd.DataFrame:
    """The textbook pandas way: nunique days per customer, min/max dates."""
    day = tx["date"].dt.floor("D")
    g = tx.assign(day=day).groupby("customer_id")
    out = g.agg(n_days=("day", "nunique"), first=("day", "min"), last=("day", "max"))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--skip-large", action="store_true", help="skip the 20M-row run")
    args = parser.parse_args()

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from lifetimes.utils import summary_data_from_transaction_data

    print("== 2M transactions, 200k customers: custvalue vs lifetimes ==")
    tx = make_transactions(2_000_000, 200_000)
    end = tx["date"].max()

    def ours():
        return cv.summarize(tx, unit="D", observation_end=end)

    def theirs():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return summary_data_from_transaction_data(
                tx, "customer_id", "date", monetary_value_col="amount", observation_period_end=end, freq="D"
            )

    a, b = ours(), theirs()
    same = np.allclose(a[["frequency", "recency", "T", "monetary_value"]].to_numpy(),
                       b.loc[a.index, ["frequency", "recency", "T", "monetary_value"]].to_numpy())
    t_ours = median_seconds(ours, args.repeats)
    t_theirs = median_seconds(theirs, args.repeats)
    print(f"custvalue.summarize   median {t_ours:7.3f} s   peak {peak_mib(ours):7.0f} MiB")
    print(f"lifetimes summary     median {t_theirs:7.3f} s   peak {peak_mib(theirs):7.0f} MiB")
    print(f"ratio lifetimes / custvalue: {t_theirs / t_ours:.1f}x   identical results: {same}")

    if args.skip_large:
        return
    for label, string_ids in (("integer ids", False), ("string ids", True)):
        print(f"== 20M transactions, 2M customers ({label}): custvalue vs plain pandas groupby ==")
        run_large(make_transactions(20_000_000, 2_000_000, seed=1, string_ids=string_ids), args.repeats,
                  with_pandas=not string_ids)


def run_large(big: pd.DataFrame, repeats: int, with_pandas: bool) -> None:
    frame_mib = big.memory_usage(deep=True).sum() / 2**20

    def ours():
        return cv.summarize(big, unit="W")

    t_big = median_seconds(ours, repeats)
    print(f"custvalue.summarize   median {t_big:7.3f} s   peak {peak_mib(ours):7.0f} MiB"
          f"   (input frame {frame_mib:.0f} MiB)")
    if with_pandas:
        t_pd = median_seconds(lambda: pandas_groupby(big), 1)
        print(f"pandas groupby nunique       {t_pd:7.3f} s   ratio {t_pd / t_big:.1f}x")

if __name__ == "__main__":
    main()
