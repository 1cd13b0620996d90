"""Reading transactions from CSV and Parquet: time, peak memory and the frame each way gives.

Run:  python benchmarks/bench_read.py [--transactions 10_000_000]

The file has string customer ids (the case where memory runs out), ISO dates and amounts, plus
two columns summarize does not need. Each way of reading is followed by ``custvalue.summarize``
so that the whole path from file to summary is timed. Peak RSS is the process's high-water mark
during the step (Linux), and in brackets its rise above the memory in use when the step began.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd

sys.path.insert(0, str(Path(__file__).parent))
from bench_scale import generate, resident_gib  # noqa: E402

import custvalue as cv  # noqa: E402

NEEDED = ["customer_id", "date", "amount"]


def measure(label: str, read) -> None:
    Path("/proc/self/clear_refs").write_text("5")
    before = resident_gib("VmRSS")
    start = time.perf_counter()
    tx = read()
    read_time = time.perf_counter() - start
    summary = cv.summarize(tx, unit="W")
    total = time.perf_counter() - start
    peak = resident_gib("VmHWM")
    frame = tx.memory_usage(deep=True).sum() / 2**30
    print(f"{label:<58s} read {read_time:6.1f} s  +summarize {total:6.1f} s  frame {frame:5.2f} GiB  "
          f"peak RSS {peak:5.2f} GiB (+{peak - before:5.2f})  customers {len(summary):,}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--transactions", type=int, default=10_000_000)
    args = parser.parse_args()
    tx = generate(args.transactions, args.transactions // 10)
    tx = tx.assign(customer_id="C" + tx["customer_id"].astype(str), store=7, channel="web")
    with tempfile.TemporaryDirectory() as folder:
        csv, parquet = Path(folder) / "tx.csv", Path(folder) / "tx.parquet"
        tx.to_csv(csv, index=False, date_format="%Y-%m-%d %H:%M:%S")
        tx.to_parquet(parquet, index=False)
        del tx
        print(f"{args.transactions:,} transactions; CSV {csv.stat().st_size / 2**30:.2f} GiB, "
              f"Parquet {parquet.stat().st_size / 2**30:.2f} GiB")
        measure("pd.read_csv(path)", lambda: pd.read_csv(csv))
        measure("pd.read_csv(usecols, category ids, parse_dates)", lambda: pd.read_csv(
            csv, usecols=NEEDED, dtype={"customer_id": "category"}, parse_dates=["date"]))
        measure("pd.read_csv(usecols, category ids, parse_dates, pyarrow)", lambda: pd.read_csv(
            csv, usecols=NEEDED, dtype={"customer_id": "category"}, parse_dates=["date"], engine="pyarrow"))
        measure("pd.read_parquet(path)", lambda: pd.read_parquet(parquet))
        measure("pd.read_parquet(columns), category ids", lambda: pd.read_parquet(parquet, columns=NEEDED)
                .astype({"customer_id": "category"}))


if __name__ == "__main__":
    main()
