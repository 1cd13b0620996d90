"""Transaction logs drawn from a model: checked arguments, dates from purchase times, amounts from a spend model.

Every purchase model's ``simulate_transactions`` checks its arguments with :func:`log_arguments`, draws
its customers' purchase times and hands them to :func:`transaction_log`, which turns them into dates
and, with a spend model, amounts. Amounts follow Gamma-Gamma (Colombo & Jiang 1999; Fader, Hardie &
Lee 2005, "RFM and CLV"): each customer draws a scale ν ~ Gamma(q, v), then every one of their
transactions, the first one too, an amount ~ Gamma(p, ν). A customer's mean repeat spend then has the
distribution Gamma-Gamma is fitted on, and their amounts the spread an individual-level fit measures.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from custvalue.checks import check_int, check_seed, invalid
from custvalue.columns import as_timestamp
from custvalue.models.gammagamma import GammaGamma
from custvalue.timeunits import days_per_unit

#: First purchases of simulated transaction logs end here unless told otherwise (``observation_end``): a
#: fixed date, so that a seeded simulation gives the same log on any day.
DEFAULT_OBSERVATION_END = pd.Timestamp("2025-01-01")

MICROSECONDS_PER_DAY = 86_400e6
#: The earliest first purchase drawn: a day every pandas time resolution holds.
EARLIEST_DATE = pd.Timestamp("1678-01-01")


@dataclass(frozen=True)
class LogArguments:
    """The checked arguments of ``simulate_transactions``."""

    n_customers: int
    T: np.ndarray                    #: observation time of each customer, in units
    days: float                      #: days per unit
    end: pd.Timestamp                #: the last day observed
    spend_model: GammaGamma | None   #: draws the amounts, if given
    rng: np.random.Generator


def log_arguments(n_customers: object, T: object, unit: str, observation_end: object, spend_model: object,
                  seed: object, *, whole_T: bool = False) -> LogArguments:
    """The arguments of ``simulate_transactions`` checked, each error naming its parameter.

    ``T`` is one number >= 0 or one per customer (whole numbers with ``whole_T``: opportunities);
    ``observation_end`` defaults to :data:`DEFAULT_OBSERVATION_END`; ``spend_model`` must be a fitted
    Gamma-Gamma model, the spend model that draws single transaction amounts.

    Examples
    --------
    >>> args = log_arguments(3, 52.0, "W", None, None, 0)
    >>> args.T.tolist(), args.days, args.end
    ([52.0, 52.0, 52.0], 7.0, Timestamp('2025-01-01 00:00:00'))
    """
    n = check_int(n_customers, "n_customers", low=1)
    times = _observation_times(T, n, whole_T)
    days = days_per_unit(unit)
    end = DEFAULT_OBSERVATION_END if observation_end is None else as_timestamp(observation_end, "observation_end")
    # The earliest first purchase must be a date pandas can hold.
    if float(times.max()) > (end - EARLIEST_DATE) / pd.Timedelta(days=1) / days:
        raise invalid("T", T, f"the first purchases would fall before {EARLIEST_DATE.date()}; give observation "
                              f"times that end after it, in unit {unit!r}")
    spend = check_spend_model(spend_model)
    rng = np.random.default_rng(check_seed(seed))
    return LogArguments(n, times, days, end, spend, rng)


def _observation_times(T: object, n_customers: int, whole: bool) -> np.ndarray:
    """``T`` as one float per customer: finite, >= 0 (and whole with ``whole``), or an error naming T."""
    rule = "whole numbers of opportunities >= 0" if whole else "numbers >= 0"
    try:
        values = np.asarray(T, dtype=float)
    except (TypeError, ValueError):
        raise invalid("T", T, f"give one number or one per customer ({n_customers}), {rule}") from None
    if isinstance(T, bool | str) or values.shape not in ((), (n_customers,)):
        raise invalid("T", T, f"give one number or one per customer ({n_customers}), {rule}")
    if not np.all(np.isfinite(values) & (values >= 0)) or (whole and np.any(values != np.floor(values))):
        raise invalid("T", T, f"observation times must be finite {rule}")
    return np.broadcast_to(values, (n_customers,)).copy()


def check_spend_model(spend_model: object) -> GammaGamma | None:
    """``spend_model`` if it is None or a fitted Gamma-Gamma model, else an error saying how to get one.

    Examples
    --------
    >>> from custvalue.models import GammaGamma
    >>> check_spend_model(GammaGamma.from_params(p=6.25, q=3.74, v=15.44)) is not None
    True
    """
    if spend_model is None:
        return None
    if not isinstance(spend_model, GammaGamma):
        raise invalid("spend_model", spend_model,
                      "it must be a fitted Gamma-Gamma model (it draws every transaction's amount), "
                      "e.g. custvalue.models.get('gammagamma').fit(summary)")
    spend_model._check_fitted()
    return spend_model


def with_first_purchases(repeat_customer: np.ndarray, repeat_elapsed: np.ndarray, n_customers: int
                         ) -> tuple[np.ndarray, np.ndarray]:
    """(customer, elapsed) of every purchase, sorted by customer and time: each customer's first purchase
    (elapsed 0) before their repeat purchases at ``repeat_elapsed`` units after it.

    Examples
    --------
    >>> customer, elapsed = with_first_purchases(np.array([1, 0, 1]), np.array([2.0, 1.0, 0.5]), 2)
    >>> customer.tolist(), elapsed.tolist()
    ([0, 0, 1, 1, 1], [0.0, 1.0, 0.0, 0.5, 2.0])
    """
    customer = np.concatenate([np.arange(n_customers), repeat_customer])
    elapsed = np.concatenate([np.zeros(n_customers), repeat_elapsed])
    order = np.lexsort((elapsed, customer))  # stable: a first purchase stays before a repeat at the same time
    return customer[order], elapsed[order]


def transaction_log(customer: np.ndarray, elapsed: np.ndarray, args: LogArguments, *,
                    whole_days: bool = False) -> pd.DataFrame:
    """The log of purchases at ``elapsed`` units after each customer's first: ``customer_id``, ``date``
    and, with a spend model, ``amount``.

    ``customer`` (the customer of each purchase, first purchases included) and ``elapsed`` (0 for a first
    purchase) are sorted by customer and time; so is the log. Customer i's first purchase falls
    ``T_i`` units before the end, each date to the microsecond (pandas' resolution, so a first purchase a
    whole number of days before the end falls on its day), or to the day with ``whole_days``.

    Examples
    --------
    >>> from custvalue.models import GammaGamma
    >>> args = log_arguments(2, [1.0, 2.0], "D", "2024-01-10", GammaGamma.from_params(p=6, q=3, v=15), 0)
    >>> log = transaction_log(np.array([0, 1, 1]), np.array([0.0, 0.0, 0.5]), args)
    >>> log["date"].astype(str).tolist()
    ['2024-01-09 00:00:00', '2024-01-08 00:00:00', '2024-01-08 12:00:00']
    >>> log.columns.tolist(), bool((log["amount"] > 0).all())
    (['customer_id', 'date', 'amount'], True)
    """
    days_before_end = (args.T[customer] - elapsed) * args.days
    if whole_days:
        offsets = pd.to_timedelta(np.round(days_before_end), unit="D")
    else:
        offsets = pd.to_timedelta(np.round(days_before_end * MICROSECONDS_PER_DAY), unit="us")
    log = pd.DataFrame({"customer_id": customer, "date": args.end - offsets})
    if args.spend_model is not None:
        per_customer = np.bincount(customer, minlength=args.n_customers)
        log["amount"] = args.spend_model.transaction_amounts(per_customer, args.rng)
    return log
