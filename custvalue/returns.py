"""Net returns against the purchases they undo, last purchase first, without a loop over rows.

A return (a negative amount) takes back value from the same customer's
purchases made at or before it, the most recent first; with keys (an order
id, a product code) only from purchases with the same key values. Returns are
taken in date order, each from what the earlier ones left.

Picture each group's purchases as a stack of value, the latest on top: a
purchase of p raises the level by p, a return of r lowers it by r, but never
below 0 (what it cannot take back has nothing to net against). The running
level is a cumulative sum reflected at zero,

    L_k = S_k − min(0, min_{j≤k} S_j),    S_k = a_1 + … + a_k,

and value pushed at a level y is taken back exactly when the level later
drops to y or below. So a purchase pushed from level L_before to L_before + p
keeps ``clip(min_{j≥k} L_j − L_before, 0, p)``, and a return takes
``L_before − L_k``: two cumulative sums and two cumulative minimums per group,
after one sort.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

__all__ = ["Netting", "net_returns", "UNTOUCHED", "REDUCED", "REMOVED", "NETTED", "UNMATCHED"]

#: What netting did to a row (:attr:`Netting.status`).
UNTOUCHED, REDUCED, REMOVED, NETTED, UNMATCHED = 0, 1, 2, 3, 4
#: Cumulative sums of n values are exact to about n · eps · Σ|value|; within that, a value is 0 (or whole).
_ROUNDING = 4 * np.finfo(float).eps


@dataclass(frozen=True)
class Netting:
    """The outcome of :func:`net_returns`, per input row.

    Attributes
    ----------
    status : ndarray of int8
        ``UNTOUCHED`` (0), ``REDUCED`` (1: a purchase partly returned),
        ``REMOVED`` (2: a purchase returned in full), ``NETTED`` (3: a
        return netted in full) or ``UNMATCHED`` (4: a return with nothing,
        or not enough, to net against).
    amount : ndarray of float
        A purchase's amount after netting (0 when removed); for a return,
        the part of it that found nothing to net against (as a positive number).
    """

    status: np.ndarray
    amount: np.ndarray


def net_returns(group: np.ndarray, time: np.ndarray, amount: np.ndarray) -> Netting:
    """Net each return (negative ``amount``) against the earlier purchases of its ``group``, latest first.

    Parameters
    ----------
    group : ndarray of int
        The group of each row (a customer, or a customer and the values of the
        keys returns are matched on); rows with a negative group take no part.
    time : ndarray of int
        When each row happened (any integer clock). A return nets against
        purchases at the same time or before; at equal times and in a group,
        the later row of the input is the more recent purchase.
    amount : ndarray of float
        Finite amounts: purchases > 0 (rows of 0 take no part), returns < 0.

    Returns
    -------
    Netting

    Examples
    --------
    Purchases of 10 (day 1) and 20 (day 2), then a return of 25 (day 3): the
    purchase of day 2 goes, and 5 of day 1's.

    >>> import numpy as np
    >>> out = net_returns(np.zeros(3, dtype=int), np.array([1, 2, 3]), np.array([10.0, 20.0, -25.0]))
    >>> out.status.tolist(), out.amount.tolist()
    ([1, 2, 3], [5.0, 0.0, 0.0])

    A return before any purchase finds nothing to net against:

    >>> out = net_returns(np.zeros(2, dtype=int), np.array([1, 2]), np.array([-4.0, 10.0]))
    >>> out.status.tolist(), out.amount.tolist()
    ([4, 0], [4.0, 10.0])
    """
    status = np.zeros(len(amount), dtype=np.int8)
    result = np.where(amount < 0, 0.0, amount)
    rows = np.flatnonzero((group >= 0) & (amount != 0))
    if not len(rows) or not (amount[rows] < 0).any():
        return Netting(status, result)
    is_return = amount[rows] < 0
    # By group, then time, purchases before returns at the same time, then input order (the sort is stable).
    order = np.lexsort((time[rows].astype(np.int64) * 2 + is_return, group[rows]))
    rows, is_return = rows[order], is_return[order]
    g, a = group[rows], amount[rows]
    new_group = np.r_[True, g[1:] != g[:-1]]
    starts = np.flatnonzero(new_group)
    label = np.cumsum(new_group) - 1  # 0, 1, ... per group, in sorted order
    by_group = pd.Series(a).groupby(label, sort=False)
    level_sum = by_group.cumsum().to_numpy()
    floor = np.minimum(pd.Series(level_sum).groupby(label, sort=False).cummin().to_numpy(), 0.0)
    level = level_sum - floor
    before = np.r_[0.0, level[:-1]]
    before[starts] = 0.0
    # Where a group's level ever goes after each row: its minimum from that row on.
    ahead = pd.Series(level[::-1]).groupby(label[::-1], sort=False).cummin().to_numpy()[::-1]
    sizes = np.diff(np.r_[starts, len(g)])
    tolerance = (_ROUNDING * sizes * np.add.reduceat(np.abs(a), starts))[label]

    bought = a
    kept = np.clip(ahead - before, 0.0, bought)
    purchase = ~is_return
    kept = np.where(kept <= tolerance, 0.0, np.where(bought - kept <= tolerance, bought, kept))
    status[rows[purchase & (kept == 0)]] = REMOVED
    status[rows[purchase & (kept > 0) & (kept < bought)]] = REDUCED
    result[rows[purchase]] = kept[purchase]

    wanted = -a
    taken = before - level
    left = np.where(wanted - taken <= tolerance, 0.0, np.where(taken <= tolerance, wanted, wanted - taken))
    status[rows[is_return]] = np.where(left[is_return] > 0, UNMATCHED, NETTED)
    result[rows[is_return]] = left[is_return]
    return Netting(status, result)
