"""Exact grouping of identical rows: each distinct row once, with how many rows it stands for.

Customers with identical summaries get identical fits and predictions, so the
models are fitted on distinct rows weighted by their counts and each distinct
row is predicted once. Real summaries live on a day grid, where millions of
customers share a few hundred thousand distinct (x, t_x, T) rows.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = ["group_rows", "sorted_distinct"]


CHUNK_ROWS = 1 << 18  # rows hashed at a time: the hash table stays small next to the data


def group_rows(frame: pd.DataFrame, weights: np.ndarray | None = None
               ) -> tuple[pd.DataFrame, np.ndarray, np.ndarray]:
    """The distinct rows of ``frame`` in lexicographic order, the total weight of each, and each row's group.

    The result depends only on which rows occur how often, not on their
    order, so a fit on distinct rows gathered from Dask partitions sees
    exactly the input of a fit on the whole pandas frame. Each column is
    factorized to sorted codes; the codes are combined column by column into
    an integer key that is ranked again after each column, which keeps the key
    space small on a day grid (few distinct values per column). Exact: no
    row hashing. Columns are factorized one at a time and in slices, so the
    memory it takes stays within a few columns' worth.

    Examples
    --------
    >>> frame = pd.DataFrame({"x": [1, 0, 1, 1], "T": [5.0, 3.0, 5.0, 4.0]})
    >>> rows, counts, group = group_rows(frame)
    >>> rows.values.tolist(), counts.tolist(), group.tolist()
    ([[0.0, 3.0], [1.0, 4.0], [1.0, 5.0]], [1.0, 1.0, 2.0], [2, 0, 2, 1])
    """
    key, first_uniques = factorize_sorted(frame[frame.columns[0]].to_numpy())
    size = len(first_uniques)
    uniques_of = [first_uniques]
    levels = [(np.arange(size), size)]  # per column: the sorted combined keys present so far, and its width
    for column in frame.columns[1:]:
        code, uniques = factorize_sorted(frame[column].to_numpy())
        uniques_of.append(uniques)
        width = max(len(uniques), 1)
        key *= width  # size × width ≤ rows², far below 2⁶³
        key += code
        del code
        present, key = _dense_rank(key, size * width)
        levels.append((present, width))
        size = len(present)
    values, rank = {}, np.arange(size)
    for column, uniques, (present, width) in zip(frame.columns[::-1], uniques_of[::-1], levels[::-1]):
        combined = present[rank]
        values[column] = np.asarray(uniques)[combined % width]
        rank = combined // width
    rows = pd.DataFrame({c: values[c] for c in frame.columns}, copy=False)  # the arrays are new: no copy
    w = None if weights is None else np.asarray(weights, dtype=float)
    return rows, np.bincount(key, weights=w, minlength=size).astype(float), key


def factorize_sorted(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """int64 codes of ``values`` into their sorted distinct values (missing values last), and those values.

    Numbers are hashed :data:`CHUNK_ROWS` at a time and the slices' distinct values merged, so
    the hash table stays small (one for a million floats takes several times their memory).

    Examples
    --------
    >>> codes, uniques = factorize_sorted(np.array([2.5, 1.0, np.nan, 2.5]))
    >>> codes.tolist(), uniques.tolist()
    ([1, 0, 2, 1], [1.0, 2.5, nan])
    """
    if values.dtype.kind not in "biuf" or len(values) <= CHUNK_ROWS:
        codes, uniques = pd.factorize(values, sort=True, use_na_sentinel=False)
        return codes.astype(np.int64, copy=False), np.asarray(uniques)
    parts = [pd.factorize(values[start:start + CHUNK_ROWS], use_na_sentinel=False)
             for start in range(0, len(values), CHUNK_ROWS)]
    uniques = sorted_distinct(np.concatenate([np.asarray(u) for _, u in parts]))
    codes = np.empty(len(values), dtype=np.int64)
    for i, (part_codes, part_uniques) in enumerate(parts):
        part_uniques = np.asarray(part_uniques)
        # Needles in sorted order: the binary searches then walk the table in order (several times faster).
        sorter = np.argsort(part_uniques)
        position = np.empty(len(part_uniques), dtype=np.int64)
        position[sorter] = np.searchsorted(uniques, part_uniques[sorter])
        codes[i * CHUNK_ROWS:i * CHUNK_ROWS + len(part_codes)] = position[part_codes]
    return codes, uniques


def sorted_distinct(values: np.ndarray) -> np.ndarray:
    """The distinct values of a numeric array, sorted, NaN last and once: ``np.unique`` by a sort (numpy's
    hash-based ``np.unique`` of integers takes a hundred times as long on a million distinct keys).

    Examples
    --------
    >>> sorted_distinct(np.array([3.0, np.nan, 1.0, 3.0, np.nan])).tolist()
    [1.0, 3.0, nan]
    """
    ordered = np.sort(values)
    keep = np.ones(len(ordered), dtype=bool)
    np.not_equal(ordered[1:], ordered[:-1], out=keep[1:])
    if ordered.dtype.kind == "f" and len(ordered) and np.isnan(ordered[-1]):
        nan = np.isnan(ordered)
        keep[nan] = False
        keep[np.argmax(nan)] = True  # one NaN, as np.unique gives
    return ordered[keep]


def _dense_rank(key: np.ndarray, space: int) -> tuple[np.ndarray, np.ndarray]:
    """The sorted distinct values of ``key`` (all in [0, space)) and each entry's rank among them."""
    if space <= max(8 * len(key), 2**20):
        seen = np.zeros(space, dtype=bool)
        seen[key] = True
        present = np.flatnonzero(seen)
        # Only the entries at present keys are written and read; ranks fit 32 bits (half the memory).
        rank = np.empty(space, dtype=np.int32 if len(present) < 2**31 else np.int64)
        rank[present] = np.arange(len(present))
        return present, rank[key].astype(np.int64)
    codes, present = factorize_sorted(key)
    return present, codes
