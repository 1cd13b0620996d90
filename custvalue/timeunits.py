"""Calendar-exact time units and purchase-period grains.

A unit measures durations (recency, T, horizons): ``"D"`` is one day, ``"W"``
seven days, ``"M"`` a twelfth of the mean Gregorian year (30.436875 days, never
30) and ``"Y"`` the mean Gregorian year of 365.2425 days. A grain groups
purchases into periods: all purchases of a customer in the same grain period
count as one purchase occasion.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from custvalue.checks import invalid

DAYS_PER_UNIT: dict[str, float] = {
    "D": 1.0,
    "W": 7.0,
    "M": 365.2425 / 12.0,
    "Y": 365.2425,
}

GRAINS = ("D", "W", "M", "Y")


def days_per_unit(unit: str, name: str = "unit") -> float:
    """Return the number of days in one ``unit`` (``name``: the parameter that gave it, for errors).

    Examples
    --------
    >>> days_per_unit("W")
    7.0
    >>> round(days_per_unit("M"), 6)
    30.436875
    """
    return DAYS_PER_UNIT[check_unit(unit, name)]


def check_unit(unit: object, name: str = "unit") -> str:
    """``unit`` if it is a time unit: "D", "W", "M" (365.2425/12 days) or "Y" (365.2425 days).

    Examples
    --------
    >>> check_unit("M")
    'M'
    """
    if isinstance(unit, str) and unit in DAYS_PER_UNIT:
        return unit
    raise invalid(name, unit, f"unknown time unit; use one of {list(DAYS_PER_UNIT)} (days, weeks, months of "
                  "365.2425/12 days, years of 365.2425 days)")


def check_grain(grain: object, name: str = "grain") -> str:
    """``grain`` if it is a purchase-period grain: purchases in the same day, week, month or year count as one.

    Examples
    --------
    >>> check_grain("D")
    'D'
    """
    if isinstance(grain, str) and grain in GRAINS:
        return grain
    raise invalid(name, grain, f"unknown grain; use one of {list(GRAINS)} (purchases in the same day, week, month "
                  "or year count as one)")


def day_numbers(dates: pd.Series | pd.DatetimeIndex) -> np.ndarray:
    """Whole days since 1970-01-01 of each date, as int32 (wall-clock days for tz-aware dates).

    32 bits hold any day within millions of years and halve the memory of 100M day numbers.
    """
    values = pd.DatetimeIndex(dates)
    if values.tz is not None:
        values = values.tz_localize(None)
    return values.to_numpy().astype("datetime64[D]").view(np.int64).astype(np.int32)


def period_start_days(days: np.ndarray, grain: str) -> np.ndarray:
    """Map day numbers to the day number on which their grain period starts.

    Weeks start on Monday, months and years on their first day.

    Examples
    --------
    >>> import numpy as np
    >>> d = day_numbers(pd.Series(pd.to_datetime(["1997-01-01", "1997-01-05", "1997-02-14"])))
    >>> period_start_days(d, "W") - d
    array([-2, -6, -4], dtype=int32)
    >>> pd.to_datetime(period_start_days(d, "M"), unit="D").strftime("%Y-%m-%d").tolist()
    ['1997-01-01', '1997-01-01', '1997-02-01']
    """
    check_grain(grain)
    if grain == "D":
        return days
    if grain == "W":
        # 1970-01-01 was a Thursday: shift so that periods start on Mondays.
        return days - (days + 3) % 7
    as_dates = days.astype("datetime64[D]")
    floored = as_dates.astype("datetime64[M]" if grain == "M" else "datetime64[Y]")
    return floored.astype("datetime64[D]").astype(np.int64)
