"""How bad inputs end: runs the catalogue of tests/test_bad_inputs.py and counts the outcomes.

Run:  python benchmarks/bench_bad_inputs.py [--by function|kind] [--show raw|silent|unnamed]

Each case is a call with one bad argument (or one bad column). It ends in one of:

* **named** — a custvalue error that subclasses the matching builtin and names the parameter or column;
* **unnamed** — a custvalue error that does not name it (or is not the matching builtin);
* **raw** — an exception from Python, numpy, pandas or scipy;
* **silent** — no error at all: an answer computed from a bad input.

Raw warnings (numpy's "overflow encountered", say) are counted too. Prints a markdown table (for the
"Reliability" page). To measure another version of custvalue, put it first on PYTHONPATH.
"""

from __future__ import annotations

import argparse
import collections
import signal
import sys
import time
import warnings
from pathlib import Path
from types import FrameType

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

import custvalue as cv  # noqa: E402
from custvalue.errors import CustValueError  # noqa: E402

OUTCOMES = ("named", "unnamed", "raw", "silent")
TIMEOUT_SECONDS = 60


class CaseTimeoutError(Exception):
    """A case still running after TIMEOUT_SECONDS."""


def _alarm(signum: int, frame: FrameType | None) -> None:
    raise CaseTimeoutError


def outcome(case: object) -> tuple[str, int, str]:
    """How the case ends, the number of raw warnings it let through, and the error's first line."""
    signal.signal(signal.SIGALRM, _alarm)
    signal.alarm(TIMEOUT_SECONDS)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            case.call()  # type: ignore[attr-defined]
        except CaseTimeoutError:
            return "silent", 0, f"still running after {TIMEOUT_SECONDS} s"
        except CustValueError as err:
            text = str(err)
            named = isinstance(err, case.builtin) and any(n in text for n in case.names)  # type: ignore[attr-defined]
            kind = "named" if named else "unnamed"
            message = f"{type(err).__name__}: {text.splitlines()[0] if text else ''}"
        except Exception as err:  # noqa: BLE001 - what the benchmark measures
            kind, message = "raw", f"{type(err).__module__}.{type(err).__name__}: {str(err)[:120]}"
        else:
            kind, message = "silent", "returned"
        finally:
            signal.alarm(0)
    raw_warnings = sum(1 for w in caught if not issubclass(w.category, cv.uplift.__globals__["UpliftWarning"]))
    return kind, raw_warnings, message


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--by", choices=["function", "kind"], default="function",
                        help="rows of the table: the function called, or the kind of bad value")
    parser.add_argument("--show", choices=["raw", "silent", "unnamed"], action="append", default=[],
                        help="also list the cases that end this way")
    args = parser.parse_args()

    import matplotlib

    matplotlib.use("Agg")
    started = time.perf_counter()
    import matplotlib.pyplot as plt
    from test_bad_inputs import CASES

    counts: dict[str, collections.Counter[str]] = collections.defaultdict(collections.Counter)
    listed: dict[str, list[str]] = collections.defaultdict(list)
    for case in CASES:
        kind, raw_warnings, message = outcome(case)
        parts = case.id.split("/")
        row = parts[0] if args.by == "function" else parts[-1]
        counts[row][kind] += 1
        counts[row]["warnings"] += raw_warnings
        listed[kind].append(f"{case.id}: {message}")
        plt.close("all")
    elapsed = time.perf_counter() - started

    total = collections.Counter[str]()
    for row in counts.values():
        total.update(row)
    header = f"| {args.by} | cases | " + " | ".join(OUTCOMES) + " | raw warnings |"
    print(f"custvalue {cv.__version__} from {Path(cv.__file__).parent}; {len(CASES):,} cases in {elapsed:.0f} s\n")
    print(header)
    print("|" + "---|" * (len(OUTCOMES) + 3))
    for name in sorted(counts):
        row = counts[name]
        cells = " | ".join(str(row[o]) for o in OUTCOMES)
        print(f"| {name} | {sum(row[o] for o in OUTCOMES)} | {cells} | {row['warnings']} |")
    cells = " | ".join(f"**{total[o]}**" for o in OUTCOMES)
    print(f"| **all** | **{len(CASES)}** | {cells} | **{total['warnings']}** |")
    for kind in args.show:
        print(f"\n{kind} ({len(listed[kind])}):")
        for line in listed[kind]:
            print(f"  {line}")


if __name__ == "__main__":
    main()
