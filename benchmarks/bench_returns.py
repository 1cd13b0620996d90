"""Netting returns: what clean(negative_amounts="net") costs next to dropping the returns.

Run:  python benchmarks/bench_returns.py [--rows 1000000] [--repeats 5]

Prints the median of ``--repeats`` runs of clean with the returns dropped, netted last purchase
first and netted by product, and the time netting adds per million rows.
"""

from __future__ import annotations

import argparse
import warnings

import numpy as np
import pandas as pd
from _timing import median_seconds

import custvalue as cv


def make_transactions(n_rows: int, seed: int = 0) -> pd.DataFrame:
    """Transactions of n_rows/10 customers over two years, 5% of them returns of half their value."""
    rng = np.random.default_rng(seed)
    amount = np.round(rng.lognormal(3.0, 0.8, n_rows), 2)
    returns = rng.random(n_rows) < 0.05
    amount[returns] *= -0.5
    return pd.DataFrame({
        "customer_id": rng.integers(0, max(n_rows // 10, 1), n_rows),
        "date": pd.Timestamp("2023-01-01") + pd.to_timedelta(rng.integers(0, 730, n_rows), unit="D"),
        "amount": amount,
        "sku": rng.integers(0, 500, n_rows),
    })



def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    tx = make_transactions(args.rows)
    runs = {
        "returns dropped": {},
        "netted, last purchase first": {"negative_amounts": "net"},
        "netted by product (net_by='sku')": {"negative_amounts": "net", "net_by": "sku"},
    }
    print(f"== clean on {args.rows:,} rows ({(tx['amount'] < 0).sum():,} returns), median of {args.repeats} ==")
    times = {}
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no warning may reach a user
        for label, options in runs.items():
            times[label] = median_seconds(lambda options=options: cv.clean(tx, **options), args.repeats)
            print(f"{label:<34} {times[label]:7.3f} s")
    base = times["returns dropped"]
    for label in list(runs)[1:]:
        print(f"netting adds ({label}): {(times[label] - base) / args.rows * 1e6:.3f} s per million rows "
              f"(ratio to dropping {times[label] / base:.2f}x)")


if __name__ == "__main__":
    main()
