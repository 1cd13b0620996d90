"""P(alive) along one customer's history: the alive path.

After every period of ``unit`` since the customer's first purchase, the path
gives the summary the customer had then (as :func:`custvalue.summarize` would
have made it with ``observation_end`` on that date) and the model's P(alive)
for it. Between purchases P(alive) falls as the silence grows; a purchase
lifts it. Under BG/NBD it stays at 1 until the first repeat purchase, since a
BG/NBD customer can drop out only right after a purchase.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from custvalue.checks import check_date, check_number, invalid
from custvalue.errors import MissingColumnError
from custvalue.models import Ability, BaseModel
from custvalue.provenance import attach
from custvalue.summary import checked_transactions, tick_date
from custvalue.timeunits import (
    check_grain,
    check_unit,
    days_per_unit,
    period_start_ticks,
    tick_numbers,
    tick_of,
    ticks_per_day,
    ticks_to_dates,
)

__all__ = ["alive_path"]

SUMMARY_TIME = ("frequency", "recency", "T")        # continuous time, in units (BG/NBD, Pareto/NBD, ...)
OPPORTUNITIES = ("frequency", "recency", "periods")  # discrete opportunities, one per unit (BG/BB)


def alive_path(model: BaseModel, transactions: pd.DataFrame, customer_id: Any, unit: str = "W", *,
               observation_end: str | pd.Timestamp | None = None, grain: str = "D",
               columns: Mapping[str, str] | None = None,
               covariates: Mapping[str, float] | None = None) -> pd.DataFrame:
    """P(alive) of one customer after each period of their history, by date.

    Parameters
    ----------
    model : fitted model with the ``p_alive`` ability
        E.g. ``custvalue.models.get("bgnbd").fit(summary)`` or ``scored.cv.models["model"]``; its
        parameters must be per ``unit``.
    transactions : DataFrame
        Clean transactions (``customer_id``, ``date``, ``amount``); only this customer's rows are used.
    customer_id : scalar
        The customer, as in the ``customer_id`` column.
    unit : {"h", "D", "W", "M", "Y"}, default "W"
        Length of a period: the path has a point at the first purchase and at the end of every
        period after it (whole days: a month ends 30 or 31 days after the last, as the calendar-exact
        unit adds up), and a last one at ``observation_end`` when that falls inside a period.
    observation_end : date-like, optional
        Where the path ends; by default the last date in ``transactions``, as in :func:`custvalue.summarize`,
        so that the last point is the customer's P(alive) in :func:`custvalue.score`.
    grain : {"h", "D", "W", "M", "Y"}, default "D"
        Purchases in the same day (week, ...) are one purchase occasion, as in :func:`custvalue.summarize`.
    columns : mapping, optional
        Your column names to canonical ones, e.g. ``{"cust": "customer_id"}``.
    covariates : mapping, optional
        This customer's covariate values, for a model fitted with covariates (``{"zp0": 1.0}``).

    Returns
    -------
    DataFrame
        Indexed by ``date``: ``purchases`` (purchase occasions since the previous point; the first
        purchase at the first point), the summary the model sees at that date (``frequency``,
        ``recency`` and ``T`` in ``unit``; for a model of transaction opportunities such as BG/BB,
        ``frequency``, ``recency`` and ``periods`` counted in whole periods, a purchase counting for
        the period in which it falls, and no point at an ``observation_end`` inside a period), any
        covariates, and ``p_alive``. The model travels with the frame, so ``path.cv.plot.alive_path()``
        draws it.

    Raises
    ------
    custvalue.errors.AbilityError
        For a model that cannot give P(alive) (formula models, spend models).
    custvalue.errors.InvalidParameterError
        For a customer without transactions, an ``observation_end`` before their first purchase,
        or another bad argument (naming it).

    Examples
    --------
    >>> import custvalue as cv
    >>> tx = cv.datasets.load_cdnow(sample=True)
    >>> model = cv.models.BetaGeo.from_params(r=0.2426, alpha=4.4136, a=0.7929, b=2.4259)
    >>> path = alive_path(model, tx, customer_id=1, observation_end="1997-09-30")
    >>> path[path["purchases"] > 0].round(4)
                purchases  frequency  recency     T  p_alive
    date
    1997-01-01          1          0   0.0000   0.0   1.0000
    1997-01-22          1          1   2.4286   3.0   0.7347
    1997-08-06          1          2  30.4286  31.0   0.8064
    >>> path.tail(2).round(4)   # the last point: the customer's summary and P(alive) at observation_end
                purchases  frequency  recency        T  p_alive
    date
    1997-09-24          0          2  30.4286  38.0000   0.7354
    1997-09-30          0          2  30.4286  38.8571   0.7266
    """
    if not isinstance(model, BaseModel):
        raise invalid("model", model, "it must be a fitted custvalue model that gives P(alive), e.g. "
                      "custvalue.models.get('bgnbd').fit(summary) or scored.cv.models['model']")
    model.require(Ability.P_ALIVE, "the alive path")
    model._check_fitted()
    check_unit(unit)
    check_grain(grain)
    if observation_end is not None:
        check_date(observation_end, "observation_end")
    reads = model.required_columns()
    discrete = "periods" in reads and "T" not in reads
    extra = _covariates(reads, OPPORTUNITIES if discrete else SUMMARY_TIME, covariates)
    tx = checked_transactions(transactions, columns, "transactions")
    # Times are ticks on the clock of the grain: hours for the hourly grain, days for the others.
    end = int(tick_numbers(tx["date"], grain).max()) if observation_end is None else tick_of(
        observation_end, "observation_end", grain)
    occasions = _occasions(tx, customer_id, end, grain, observation_end)
    first = int(occasions[0])
    starts = _period_starts(first, end, unit, grain)
    if discrete:  # a point after each whole period (opportunity), on its last day
        ends = starts[1:][starts[1:] - 1 <= end] - 1
    else:  # a point at the first purchase and at each period's end (the next one's start), then at the end
        ends = starts[starts <= end]
        ends = ends if ends[-1] == end else np.append(ends, end)
    if len(ends) == 0:
        raise invalid("observation_end", observation_end, f"the model counts whole periods (opportunities) and "
                      f"customer {customer_id!r}'s first period is not over by then; pass a later date")
    seen = np.searchsorted(occasions, ends, side="right")  # occasions up to each point, the first included
    path = pd.DataFrame({"purchases": np.diff(seen, prepend=0)},
                        index=pd.Index(ticks_to_dates(ends, grain), name="date"))
    if discrete:
        path = path.assign(**_opportunity_summaries(occasions, starts, len(ends)))
    else:
        step = days_per_unit(unit) * ticks_per_day(grain)
        path = path.assign(frequency=seen - 1, recency=(occasions[seen - 1] - first) / step,
                           T=(period_start_ticks(ends, grain) - first) / step)
    path = path.assign(**extra)
    path["p_alive"] = model.p_alive(path).to_numpy()
    return attach(path, model=model, unit=unit, customer_id=customer_id, observation_end=tick_date(end, grain))


def _occasions(tx: pd.DataFrame, customer_id: Any, end: int, grain: str, observation_end: object) -> np.ndarray:
    """Ticks of the customer's purchase occasions up to ``end``, sorted (refused when there are none)."""
    if customer_id is None or not pd.api.types.is_scalar(customer_id) or pd.isna(customer_id):
        raise invalid("customer_id", customer_id, "it must be one customer's id, e.g. customer_id=42")
    mine = (tx["customer_id"] == customer_id).to_numpy()
    if not mine.any():
        examples = ", ".join(repr(v) for v in pd.unique(tx["customer_id"])[:3])
        raise invalid("customer_id", customer_id, f"no transaction of this customer; ids in the transactions "
                      f"look like {examples} (a text id such as '007' is not the number 7)")
    days = period_start_ticks(tick_numbers(tx.loc[mine, "date"], grain), grain)
    occasions = np.unique(days[days <= end]).astype(np.int64)
    if len(occasions) == 0:
        first = tick_date(int(days.min()), grain).date()
        raise invalid("observation_end", observation_end, f"it is before customer {customer_id!r}'s first purchase "
                      f"({first}); pass a later date or leave it out (the last date of the transactions)")
    return occasions


def _opportunity_summaries(occasions: np.ndarray, starts: np.ndarray, n_points: int) -> dict[str, np.ndarray]:
    """frequency, recency and periods after each whole period 0..n_points-1, counting periods (transaction
    opportunities): a period with a purchase counts once, the first purchase's period is period 0."""
    with_purchase = np.unique(np.searchsorted(starts, occasions, side="right") - 1)
    repeat = with_purchase[with_purchase > 0]
    periods = np.arange(n_points)
    frequency = np.searchsorted(repeat, periods, side="right")
    recency = np.where(frequency > 0, np.append(repeat, 0)[frequency - 1], 0)
    return {"frequency": frequency, "recency": recency, "periods": periods}


def _period_starts(first: int, end: int, unit: str, grain: str) -> np.ndarray:
    """Ticks on which the periods 0, 1, ... of ``unit`` since ``first`` start, up to the first past
    ``end``: ``first + k·unit`` to the nearest tick (a unit shorter than a tick gives each tick once); with
    a calendar grain equal to the unit (months or years), the starts of the calendar periods."""
    step = days_per_unit(unit) * ticks_per_day(grain)
    k = np.arange(int((end - first) / step) + 3)
    if grain == unit and unit in ("M", "Y"):
        return period_start_ticks(first + np.rint((k + 0.5) * step).astype(np.int64), grain).astype(np.int64)
    return np.unique(first + np.rint(k * step).astype(np.int64))


def _covariates(reads: tuple[str, ...], summary: tuple[str, ...],
                covariates: Mapping[str, float] | None) -> dict[str, float]:
    """The covariate values the model reads beyond the summary, checked."""
    needed = [c for c in reads if c not in summary]
    given = {} if covariates is None else covariates
    if not isinstance(given, Mapping):
        raise invalid("covariates", covariates, "it must map covariate names to this customer's values, e.g. "
                      "covariates={'zp0': 1.0}")
    missing = [c for c in needed if c not in given]
    if missing:
        example = ", ".join(f"{c!r}: 1.0" for c in missing)
        raise MissingColumnError(f"the model reads the covariate(s) {missing}: pass this customer's values, "
                                 f"e.g. covariates={{{example}}}")
    unknown = sorted(map(str, set(given) - set(needed)))
    if unknown:
        raise invalid("covariates", covariates, f"the model reads no covariate(s) {unknown}"
                      + (f"; it reads {needed}" if needed else "; it takes none"))
    return {c: check_number(given[c], f"covariates[{c!r}]") for c in needed}
