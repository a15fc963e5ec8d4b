"""Calendar dates as day numbers, and keyframes that map animation seconds <-> dates.

Dates are handled as float day numbers (``date.toordinal()``): arithmetic is plain numpy and
a month-precision date ``YYYY-MM`` means the first day of that month.
"""

from __future__ import annotations

import datetime as _dt
import math
import re
from dataclasses import dataclass

import numpy as np

from app.errors import UserError

DATE_RE = re.compile(r"^(\d{4})-(\d{2})(?:-(\d{2}))?$")
DATE_FORMS = "a date YYYY-MM or YYYY-MM-DD"


class SpreadTimeError(UserError, ValueError):
    """A time or date outside the timeline, or a malformed date."""


def parse_day(value: object) -> float:
    """``'2012-03'`` (first of the month), ``'2012-03-15'`` or a ``datetime.date`` -> day number.

    Raises ``SpreadTimeError`` with a message a user can act on.
    """
    if isinstance(value, _dt.datetime):
        value = value.date()
    if isinstance(value, _dt.date):
        return float(value.toordinal())
    if not isinstance(value, str):  # (a list's repr could be huge: an alias bomb)
        shown = type(value).__name__ if isinstance(value, (list, dict)) else repr(value)
        raise SpreadTimeError(f"expected {DATE_FORMS}, got {shown}")
    m = DATE_RE.match(value.strip())
    if not m:
        shown = value if len(value) <= 60 else value[:57] + "..."
        raise SpreadTimeError(f"expected {DATE_FORMS}, got '{shown}'")
    year, month, day = int(m.group(1)), int(m.group(2)), int(m.group(3) or 1)
    try:
        return float(_dt.date(year, month, day).toordinal())
    except ValueError as exc:
        raise SpreadTimeError(f"'{value}' is not a calendar date ({exc})") from None


def month_year(date: str) -> str:
    """``2012-03-15`` -> ``March 2012`` (captions and the viewer's date label need no day)."""
    import calendar

    try:
        d = _dt.date.fromisoformat(str(date)[:10])
    except ValueError:
        return str(date)
    return f"{calendar.month_name[d.month]} {d.year}"


def format_day(day: float) -> str:
    """Day number -> ``YYYY-MM-DD`` (the day that contains it)."""
    return _dt.date.fromordinal(int(math.floor(day + 1e-6))).isoformat()


@dataclass(frozen=True)
class Keyframes:
    """Piecewise-linear, strictly increasing map between animation seconds and day numbers."""

    times: tuple[float, ...]
    days: tuple[float, ...]

    def __post_init__(self) -> None:
        t, d = np.asarray(self.times), np.asarray(self.days)
        if len(t) < 2 or len(t) != len(d):
            raise ValueError("keyframes need at least two (time, date) pairs")
        if np.any(np.diff(t) <= 0) or np.any(np.diff(d) <= 0):
            raise ValueError("keyframe times and dates must both strictly increase")

    @property
    def start(self) -> float:
        return self.times[0]

    @property
    def end(self) -> float:
        return self.times[-1]

    @property
    def first_day(self) -> float:
        return self.days[0]

    @property
    def last_day(self) -> float:
        return self.days[-1]

    def day_of_time(self, t: float) -> float:
        return float(np.interp(t, self.times, self.days))

    def time_of_day(self, day: float) -> float:
        return float(np.interp(day, self.days, self.times))

    def times_of_days(self, days: np.ndarray) -> np.ndarray:
        """Vectorised ``time_of_day``; infinite days stay infinite (never)."""
        days = np.asarray(days, float)
        out = np.full(days.shape, np.inf)
        finite = np.isfinite(days)
        out[finite] = np.interp(days[finite], self.days, self.times)
        return out
