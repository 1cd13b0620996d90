"""The alive path against lifetimes' calculate_alive_path, and RFM scoring by rank at a million customers.

Run:  python benchmarks/bench_alive_path.py [--repeats 5]

1. P(alive) after every day of a customer's 1997 history (273 points), for CDNOW sample customers, with
   the same BG/NBD parameters: ``custvalue.alive_path(model, tx, id, unit="D")`` against lifetimes'
   ``calculate_alive_path(fitter, history, "date", t=272, freq="D")`` (which needs a small pandas 3 shim:
   it calls ``fillna(method="ffill")``). Prints the median time per customer of each, their ratio and
   the largest difference between the two paths.
2. ``custvalue.segment(summary, method="rfm")`` on a million simulated customers (most with frequency 0),
   where the scores are given by rank with the tie rule of ``custvalue.segment.rank_scores``.

Times are medians of ``--repeats`` runs (the machine may be shared).
"""

from __future__ import annotations

import argparse
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd
from _timing import median_seconds

import custvalue as cv


def lifetimes_alive_path() -> Callable[..., pd.Series]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from lifetimes.utils import calculate_alive_path
    fillna = pd.Series.fillna

    def fillna_with_method(self: pd.Series, value: Any = None, *, method: str | None = None, **kwargs: Any) -> Any:
        return self.ffill() if method == "ffill" else fillna(self, value, **kwargs)

    pd.Series.fillna = fillna_with_method  # type: ignore[method-assign]
    return calculate_alive_path


def alive_paths(repeats: int) -> None:
    import lifetimes

    tx = cv.datasets.load_cdnow(sample=True)
    end = "1997-09-30"
    model = cv.models.get("bgnbd").fit(cv.summarize(tx, unit="D", observation_end=end))
    peer = lifetimes.BetaGeoFitter()
    peer.params_ = model.params_.copy()
    peer_path = lifetimes_alive_path()
    customers = [1, 6, 11, 3, 9]
    histories = {c: tx[(tx["customer_id"] == c) & (tx["date"] <= end)] for c in customers}
    ours = median_seconds(lambda: [cv.alive_path(model, tx, c, unit="D", observation_end=end)
                                   for c in customers], repeats) / len(customers)
    theirs = median_seconds(lambda: [peer_path(peer, histories[c], "date", t=272, freq="D")
                                     for c in customers], repeats) / len(customers)
    gap = max(float(np.max(np.abs(cv.alive_path(model, tx, c, unit="D", observation_end=end)["p_alive"].to_numpy()
                                  - np.hstack(peer_path(peer, histories[c], "date", t=272, freq="D").to_list()))))
              for c in customers)
    print(f"alive path, 273 daily points: custvalue {ours * 1e3:.1f} ms per customer (from all 6,919 "
          f"transactions), lifetimes {theirs * 1e3:.1f} ms (from the customer's own rows): "
          f"{theirs / ours:.1f}x; largest difference {gap:.1e}")


def rfm_at_scale(repeats: int) -> None:
    model = cv.models.BetaGeo.from_params(r=0.2426, alpha=4.4136, a=0.7929, b=2.4259)
    summary = model.sample(1_000_000, seed=1)[["frequency", "recency", "T"]]
    seconds = median_seconds(lambda: cv.segment(summary, method="rfm"), repeats)
    f_scores = np.bincount(cv.segment(summary, method="rfm")["f_score"].to_numpy())[1:]
    print(f"segment(method='rfm') on 1,000,000 customers ({(summary['frequency'] == 0).mean():.0%} with "
          f"frequency 0): {seconds:.2f} s; customers per F score 1..5: {f_scores.tolist()}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    repeats = parser.parse_args().repeats
    alive_paths(repeats)
    rfm_at_scale(repeats)
