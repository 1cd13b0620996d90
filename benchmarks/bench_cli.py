"""What the command line costs over the same steps called from Python, on one file of transactions.

Run:  python benchmarks/bench_cli.py [--rows 2000000] [--repeats 7]

Writes simulated transactions (integer customer ids, ISO dates, amounts) as CSV and as Parquet to a
temporary folder, then times ``custvalue summarize FILE -o out.csv`` against
``summarize(clean(read(FILE))).to_csv(...)``, alternating the two so that both see the same load on the
machine. Prints medians and the median ratio CLI / library (1.00: the command line costs nothing extra).
"""

from __future__ import annotations

import argparse
import contextlib
import io
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd

import custvalue as cv
from custvalue.cli import main


def timed(run: Callable[[Path, Path], object], source: Path, target: Path) -> float:
    start = time.perf_counter()
    run(source, target)
    return time.perf_counter() - start


def library(source: Path, target: Path) -> None:
    raw = pd.read_parquet(source) if source.suffix == ".parquet" else pd.read_csv(source)
    cv.summarize(cv.clean(raw)).to_csv(target)


def command_line(source: Path, target: Path) -> None:
    with contextlib.redirect_stderr(io.StringIO()):  # the cleaning report
        assert main(["summarize", str(source), "-o", str(target)]) == 0


def bench(rows: int, repeats: int) -> None:
    rng = np.random.default_rng(0)
    days = pd.to_timedelta(rng.integers(0, 700, rows), unit="D")
    tx = pd.DataFrame({"customer_id": rng.integers(1, rows // 10, rows),
                       "date": (pd.Timestamp("2022-01-01") + days).strftime("%Y-%m-%d"),
                       "amount": np.round(rng.gamma(2.0, 10.0, rows), 2)})
    with tempfile.TemporaryDirectory() as folder:
        for name in ("tx.csv", "tx.parquet"):
            source = Path(folder) / name
            tx.to_csv(source, index=False) if name.endswith(".csv") else tx.to_parquet(source)
            target = Path(folder) / "out.csv"
            pairs = [(timed(library, source, target), timed(command_line, source, target)) for _ in range(repeats)]
            ours, theirs = statistics.median(p[1] for p in pairs), statistics.median(p[0] for p in pairs)
            ratio = statistics.median(p[1] / p[0] for p in pairs)
            print(f"{name}, {rows:,} rows: library {theirs:.2f} s, command line {ours:.2f} s, "
                  f"median ratio command line / library {ratio:.2f}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=2_000_000)
    parser.add_argument("--repeats", type=int, default=7)
    options = parser.parse_args()
    bench(options.rows, options.repeats)
