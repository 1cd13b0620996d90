"""Calendar-exact time units, purchase-period grains, and the clock a summary counts on.

A unit measures durations (recency, T, horizons): ``"h"`` is one hour (1/24
day, exactly), ``"D"`` one day, ``"W"`` seven days, ``"M"`` a twelfth of the
mean Gregorian year (30.436875 days, never 30) and ``"Y"`` the mean Gregorian
year of 365.2425 days. A grain groups purchases into periods: all purchases of
a customer in the same grain period count as one purchase occasion.

Dates become *ticks*, whole numbers on the clock of the grain: hours since
1970-01-01 for the hourly grain, days since 1970-01-01 for the others (a week,
month or year period starts on a day). Ticks are wall-clock time for
time-zone-aware dates, as days are.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from custvalue.checks import check_date, invalid

__all__ = [
    "DAYS_PER_UNIT", "GRAINS", "days_per_unit", "check_unit", "check_grain", "day_numbers", "period_start_days",
    "ticks_per_day", "tick_numbers", "tick_of", "period_start_ticks", "ticks_to_dates",
]

DAYS_PER_UNIT: dict[str, float] = {
    "h": 1.0 / 24.0,
    "D": 1.0,
    "W": 7.0,
    "M": 365.2425 / 12.0,
    "Y": 365.2425,
}

GRAINS = ("h", "D", "W", "M", "Y")
UNIT_NAMES = "hours, days, weeks, months of 365.2425/12 days, years of 365.2425 days"


def days_per_unit(unit: str, name: str = "unit") -> float:
    """Return the number of days in one ``unit`` (``name``: the parameter that gave it, for errors).

    Examples
    --------
    >>> days_per_unit("W")
    7.0
    >>> round(days_per_unit("M"), 6)
    30.436875
    >>> days_per_unit("h") * 24
    1.0
    """
    return DAYS_PER_UNIT[check_unit(unit, name)]


def check_unit(unit: object, name: str = "unit") -> str:
    """``unit`` if it is a time unit: "h", "D", "W", "M" (365.2425/12 days) or "Y" (365.2425 days).

    Examples
    --------
    >>> check_unit("M")
    'M'
    """
    if isinstance(unit, str) and unit in DAYS_PER_UNIT:
        return unit
    hint = "; hours are 'h' (lower case)" if unit == "H" else ""
    raise invalid(name, unit, f"unknown time unit; use one of {list(DAYS_PER_UNIT)} ({UNIT_NAMES}){hint}")


def check_grain(grain: object, name: str = "grain") -> str:
    """``grain`` if it is a purchase-period grain: purchases in the same hour, day, week, month or year count
    as one.

    Examples
    --------
    >>> check_grain("D")
    'D'
    """
    if isinstance(grain, str) and grain in GRAINS:
        return grain
    hint = "; hours are 'h' (lower case)" if grain == "H" else ""
    raise invalid(name, grain, f"unknown grain; use one of {list(GRAINS)} (purchases in the same hour, day, week, "
                  f"month or year count as one){hint}")


def ticks_per_day(grain: str) -> int:
    """How many ticks of the clock of ``grain`` make a day: 24 for the hourly grain, else 1.

    Examples
    --------
    >>> ticks_per_day("h"), ticks_per_day("W")
    (24, 1)
    """
    return 24 if check_grain(grain) == "h" else 1


def _wall_clock(dates: pd.Series | pd.DatetimeIndex) -> pd.DatetimeIndex:
    values = pd.DatetimeIndex(dates)
    return values.tz_localize(None) if values.tz is not None else values


def day_numbers(dates: pd.Series | pd.DatetimeIndex) -> np.ndarray:
    """Whole days since 1970-01-01 of each date, as int32 (wall-clock days for tz-aware dates).

    32 bits hold any day within millions of years and halve the memory of 100M day numbers.
    """
    return _wall_clock(dates).to_numpy().astype("datetime64[D]").view(np.int64).astype(np.int32)


def tick_numbers(dates: pd.Series | pd.DatetimeIndex, grain: str) -> np.ndarray:
    """Whole ticks since 1970-01-01 of each date on the clock of ``grain`` (hours or days), as int32.

    Hours since 1970 fit 32 bits until the year 246,000.

    Examples
    --------
    >>> stamps = pd.Series(pd.to_datetime(["1970-01-02 05:59", "1969-12-31 23:00"]))
    >>> tick_numbers(stamps, "h").tolist(), tick_numbers(stamps, "D").tolist()
    ([29, -1], [1, -1])
    """
    if check_grain(grain) != "h":
        return day_numbers(dates)
    return _wall_clock(dates).to_numpy().astype("datetime64[h]").view(np.int64).astype(np.int32)


def tick_of(value: object, name: str, grain: str) -> int:
    """The tick of a date given by the user (``name``: its parameter), on the clock of ``grain``.

    Examples
    --------
    >>> tick_of("1970-01-02", "observation_end", "h"), tick_of("1970-01-02 23:00", "observation_end", "D")
    (24, 1)
    """
    stamp = check_date(value, name)
    if stamp.tzinfo is not None:
        stamp = stamp.tz_localize(None)
    unit = "h" if check_grain(grain) == "h" else "D"
    return int(stamp.to_datetime64().astype(f"datetime64[{unit}]").astype(np.int64))


def ticks_to_dates(ticks: np.ndarray, grain: str) -> np.ndarray:
    """Ticks of the clock of ``grain`` back to datetime64[us] (the resolution pandas gives parsed dates, and one
    that Parquet keeps).

    Examples
    --------
    >>> ticks_to_dates(np.array([25]), "h")
    array(['1970-01-02T01:00:00.000000'], dtype='datetime64[us]')
    """
    unit = "datetime64[h]" if check_grain(grain) == "h" else "datetime64[D]"
    return np.asarray(ticks).astype(np.int64).astype(unit).astype("datetime64[us]")


def period_start_ticks(ticks: np.ndarray, grain: str) -> np.ndarray:
    """Map ticks of the clock of ``grain`` to the tick on which their grain period starts.

    Examples
    --------
    >>> period_start_ticks(np.array([30, 31]), "h").tolist(), period_start_ticks(np.array([8]), "W").tolist()
    ([30, 31], [4])
    """
    return ticks if check_grain(grain) == "h" else period_start_days(ticks, grain)


def period_start_days(days: np.ndarray, grain: str) -> np.ndarray:
    """Map day numbers to the day number on which their grain period starts.

    Weeks start on Monday, months and years on their first day; an hourly
    grain leaves days as they are (a day is made of whole hours).

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
    if grain in ("h", "D"):
        return days
    if grain == "W":
        # 1970-01-01 was a Thursday: shift so that periods start on Mondays.
        return days - (days + 3) % 7
    as_dates = days.astype("datetime64[D]")
    floored = as_dates.astype("datetime64[M]" if grain == "M" else "datetime64[Y]")
    return floored.astype("datetime64[D]").astype(np.int64)
