"""Exact grouping of identical rows: each distinct row once, with how many rows it stands for.

Customers with identical summaries get identical fits and predictions, so the
models are fitted on distinct rows weighted by their counts and each distinct
row is predicted once. Real summaries live on a day grid, where millions of
customers share a few hundred thousand distinct (x, t_x, T) rows.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = ["group_rows"]


def group_rows(frame: pd.DataFrame, weights: np.ndarray | None = None
               ) -> tuple[pd.DataFrame, np.ndarray, np.ndarray]:
    """The distinct rows of ``frame`` in lexicographic order, the total weight of each, and each row's group.

    The result depends only on which rows occur how often, not on their
    order, so a fit on distinct rows gathered from Dask partitions sees
    exactly the input of a fit on the whole pandas frame. Each column is
    factorized to sorted codes; the codes are combined column by column into
    an integer key that is ranked again after each column, which keeps the key
    space small on a day grid (few distinct values per column). Exact: no
    row hashing.
    """
    factorized = [pd.factorize(frame[c].to_numpy(), sort=True, use_na_sentinel=False) for c in frame.columns]
    key = factorized[0][0].astype(np.int64, copy=False)  # the codes are ours to overwrite
    size = len(factorized[0][1])
    levels = [(np.arange(size), size)]  # per column: the sorted combined keys present so far, and its width
    for code, uniques in factorized[1:]:
        width = max(len(uniques), 1)
        key *= width  # size × width ≤ rows², far below 2⁶³
        key += code
        present, key = _dense_rank(key, size * width)
        levels.append((present, width))
        size = len(present)
    values, rank = {}, np.arange(size)
    for column, (_, uniques), (present, width) in zip(frame.columns[::-1], factorized[::-1], levels[::-1]):
        combined = present[rank]
        values[column] = np.asarray(uniques)[combined % width]
        rank = combined // width
    rows = pd.DataFrame({c: values[c] for c in frame.columns})
    w = None if weights is None else np.asarray(weights, dtype=float)
    return rows, np.bincount(key, weights=w, minlength=size).astype(float), key


def _dense_rank(key: np.ndarray, space: int) -> tuple[np.ndarray, np.ndarray]:
    """The sorted distinct values of ``key`` (all in [0, space)) and each entry's rank among them."""
    if space <= max(8 * len(key), 2**20):
        seen = np.zeros(space, dtype=bool)
        seen[key] = True
        present = np.flatnonzero(seen)
        rank = np.empty(space, dtype=np.int64)  # only the entries at present keys are written and read
        rank[present] = np.arange(len(present))
        return present, rank[key]
    codes, present = pd.factorize(key)
    order = np.argsort(present)
    rank = np.empty(len(present), dtype=np.int64)
    rank[order] = np.arange(len(present))
    return present[order], rank[codes]
