"""Reliability of fitting and loading: how every registered model's fits end, and what tampered files do.

Run:  python benchmarks/bench_reliability.py [--fits 200] [--models bgnbd,paretonbd] [--customers 5000]

For each model, ``--fits`` random data sets (tests/model_cases.py: drawn from the model around its
example parameters with 10 to 5,000 customers, or ``--customers`` each, or built by hand for models that
do not simulate) are fitted under ``np.seterr(all="raise")``. Printed per model, as a markdown table:

* fits, and how they ended: converged, ConvergenceError, IdentificationWarning (estimates at an edge of
  the parameter space, reported), other errors (a raw exception, or the model's simulator failing to
  draw the data set);
* silent non-convergence: ``converged_`` True with a parameter beyond e^±15 or a singular information
  matrix (non-finite standard errors);
* fitted models whose declared predictions are NaN/inf, or out of range (P(alive) outside [0, 1],
  negative purchases, ...), on the data they were fitted on;
* fits that let a warning other than custvalue's escape, fits slower than 2 s (CPU time) and the median.

Then the catalogue of tampered model files (tests/model_cases.py): how many load silently, raise a raw
error, a custvalue error other than ModelFileError, or ModelFileError naming the expected field.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
import warnings
from collections import Counter
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from model_cases import NAMES, make, prediction_problems, random_case, tampered_files  # noqa: E402

import custvalue as cv  # noqa: E402
from custvalue.errors import CustValueError  # noqa: E402

SLOW_SECONDS = 2.0
COLUMNS = ["fits", "converged", "ConvergenceError", "IdentificationWarning", "other errors",
           "silent non-convergence", "NaN/inf predictions", "out-of-range predictions", "raw warnings",
           f"slower than {SLOW_SECONDS:g} s", "median s"]


def fit_once(name: str, seed: int, customers: int | None) -> tuple[Counter, float, str]:
    """(what happened, CPU seconds, a note for failures) for random data set ``seed`` of model ``name``."""
    counts: Counter = Counter(fits=1)
    try:
        case = random_case(name, seed, customers)
    except Exception as err:  # the model's own simulator
        counts["other errors"] += 1
        return counts, 0.0, f"simulation: {type(err).__name__}: {err}"
    model = make(name)
    start = time.process_time()
    with warnings.catch_warnings(record=True) as caught, np.errstate(all="raise"):
        warnings.simplefilter("always")
        try:
            model.fit(case.data)
            error = None
        except Exception as err:
            error = err
    seconds = time.process_time() - start
    if seconds > SLOW_SECONDS:
        counts[f"slower than {SLOW_SECONDS:g} s"] += 1
    names = {w.category.__name__ for w in caught}
    custvalue_warnings = {w.category.__name__ for w in caught if w.category.__module__.startswith("custvalue")}
    if names - custvalue_warnings:
        counts["raw warnings"] += 1
    if error is not None:
        kind = "ConvergenceError" if type(error).__name__ == "ConvergenceError" else "other errors"
        counts[kind] += 1
        return counts, seconds, "" if kind == "ConvergenceError" else f"{type(error).__name__}: {error}"
    if "IdentificationWarning" in names:
        counts["IdentificationWarning"] += 1
    elif model.converged_:
        counts["converged"] += 1
        log_scale = model._is_log_scale()
        values = model.params_.to_numpy()
        with np.errstate(all="ignore"):
            far = np.any(np.abs(np.log(values[log_scale])) > 15) if log_scale.any() else False
        singular = model.can(cv.models.Ability.INTERVALS) and not np.all(np.isfinite(model.standard_errors_))
        if far or singular:
            counts["silent non-convergence"] += 1
    problems = prediction_problems(model, case.data)
    if any("non-finite" in p or "Error" in p for p in problems):
        counts["NaN/inf predictions"] += 1
    elif problems:
        counts["out-of-range predictions"] += 1
    return counts, seconds, "; ".join(problems)


def reliability(names: list[str], fits: int, customers: int | None, verbose: bool) -> None:
    size = "10 to 5,000 customers" if customers is None else f"{customers:,} customers"
    print(f"### Random fits ({fits} per model, {size} each)\n")
    print("| model | " + " | ".join(COLUMNS) + " |")
    print("|---|" + "---:|" * len(COLUMNS))
    for name in names:
        total: Counter = Counter()
        times = []
        notes = []
        for seed in range(fits):
            counts, seconds, note = fit_once(name, seed, customers)
            total += counts
            times.append(seconds)
            if note and verbose:
                notes.append(f"  {name} random-{seed}: {note[:200]}")
        row = [str(total[c]) for c in COLUMNS[:-1]] + [f"{statistics.median(times):.3f}"]
        print(f"| {name} | " + " | ".join(row) + " |", flush=True)
        for note in notes:
            print(note, file=sys.stderr)


def catalogue() -> None:
    cases = tampered_files()
    outcomes: Counter = Counter()
    misses = []
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "model.json"
        for case in cases:
            path.write_bytes(case.content)
            loader = getattr(cv.models, case.loader).load if case.loader else cv.models.load
            try:
                loader(path)
                outcomes["loaded silently"] += 1
                misses.append(f"{case.label}: loaded silently")
            except CustValueError as err:
                if type(err).__name__ == "ModelFileError" and getattr(err, "field", None) == case.field:
                    outcomes["ModelFileError naming the field"] += 1
                else:
                    outcomes["other custvalue error"] += 1
                    misses.append(f"{case.label}: {type(err).__name__}: {err}")
            except Exception as err:
                outcomes["raw error"] += 1
                misses.append(f"{case.label}: {type(err).__name__}")
    kinds = ["loaded silently", "raw error", "other custvalue error", "ModelFileError naming the field"]
    print(f"\n### Tampered model files ({len(cases)})\n")
    print("| " + " | ".join(kinds) + " |")
    print("|" + "---:|" * len(kinds))
    print("| " + " | ".join(str(outcomes[k]) for k in kinds) + " |")
    for miss in misses:
        print(f"  {miss[:160]}", file=sys.stderr)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fits", type=int, default=200, help="random data sets per model (default 200)")
    parser.add_argument("--models", default=",".join(NAMES), help="comma-separated registry names (default all)")
    parser.add_argument("--customers", type=int, default=None,
                        help="customers per data set (default: log-uniform from 10 to 5,000)")
    parser.add_argument("--verbose", action="store_true", help="print each failure to stderr")
    args = parser.parse_args()
    reliability([n for n in args.models.split(",") if n], args.fits, args.customers, args.verbose)
    catalogue()


if __name__ == "__main__":
    main()
