"""Fiscal calendar: fiscal years, quarters and months from a configurable start month.

Naming convention: a fiscal year is named for the calendar year in which it
*begins*. With ``fiscal_year_start: 2``, FY2027 runs from 2027-02-01 to
2028-01-31, and 2027-02-01 is in FY2027-Q1 (written ``2027-Q1``). Fiscal
months are calendar months, labelled ``YYYY-MM``.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import Annotated

import pandas as pd
from pydantic import AfterValidator, Field

from forecast.errors import CostcastError
from forecast.schema import FIRST_YEAR, LAST_YEAR

DAYS_PER_MONTH = 365.25 / 12  # 30.4375: a month's worth of days, for per-month figures
# Five years: daily paths further out say nothing, and would fill the ledger.
MAX_HORIZON_DAYS = 1830
_QUARTER = re.compile(r"^(?:FY)?(\d{4})-?Q([1-4])$", re.IGNORECASE)
_YEAR = re.compile(r"^FY(\d{4})$", re.IGNORECASE)
_MONTH = re.compile(r"^(\d{4})-(\d{2})$")
_PERIODS = (_QUARTER, _YEAR, _MONTH)
_DAYS = re.compile(r"^(\d+)d$")

FREQS = ("day", "week", "month", "quarter", "year")


def _add_months(day: dt.date, months: int) -> dt.date:
    index = day.year * 12 + day.month - 1 + months
    return dt.date(index // 12, index % 12 + 1, 1)


@dataclass(frozen=True)
class FiscalCalendar:
    start_month: int = 1

    def __post_init__(self) -> None:
        if not 1 <= self.start_month <= 12:
            raise CostcastError(
                "fiscal_year_start must be a month number 1-12",
                field="fiscal_year_start",
                value=self.start_month,
            )

    def fiscal_year(self, day: dt.date) -> int:
        return day.year if day.month >= self.start_month else day.year - 1

    def year_start(self, fiscal_year: int) -> dt.date:
        return dt.date(fiscal_year, self.start_month, 1)

    def quarter(self, day: dt.date) -> tuple[int, int]:
        """(fiscal year, quarter 1-4) of a day."""
        offset = (day.month - self.start_month) % 12
        return self.fiscal_year(day), offset // 3 + 1

    def period_start(self, day: dt.date, freq: str) -> dt.date:
        if freq == "day":
            return day
        if freq == "week":
            return day - dt.timedelta(days=day.weekday())
        if freq == "month":
            return day.replace(day=1)
        if freq == "quarter":
            year, q = self.quarter(day)
            return _add_months(self.year_start(year), 3 * (q - 1))
        if freq == "year":
            return self.year_start(self.fiscal_year(day))
        raise CostcastError(
            f"unknown period {freq!r}; choose from {', '.join(FREQS)}", param="freq"
        )

    def period_end(self, start: dt.date, freq: str) -> dt.date:
        """Exclusive end of the period that begins on ``start``."""
        if freq == "day":
            return start + dt.timedelta(days=1)
        if freq == "week":
            return start + dt.timedelta(days=7)
        months = {"month": 1, "quarter": 3, "year": 12}[freq]
        return _add_months(start, months)

    def period_ahead(self, day: dt.date, freq: str, ahead: int) -> dt.date:
        """First day of the period ``ahead`` periods after the one ``day`` is in (0: its own)."""
        start = self.period_start(day, freq)
        for _ in range(ahead):
            start = self.period_end(start, freq)
        return start

    def label(self, day: dt.date, freq: str) -> str:
        start = self.period_start(day, freq)
        if freq in ("day", "week"):
            return start.isoformat()
        if freq == "month":
            return start.strftime("%Y-%m")
        if freq == "quarter":
            year, q = self.quarter(start)
            return f"{year}-Q{q}"
        return f"FY{self.fiscal_year(start)}"

    def labels(self, days: pd.Series | pd.DatetimeIndex, freq: str) -> pd.Series:
        """Vectorised ``label`` over many days (one Python call per distinct day)."""
        days = pd.Series(pd.to_datetime(days)).dt.date
        lookup = {d: self.label(d, freq) for d in days.unique()}
        return days.map(lookup)

    def parse_period(self, text: str, param: str = "period") -> tuple[dt.date, dt.date]:
        """[start, end) of ``2027-Q2``, ``FY2027`` or ``2027-03``."""
        text = text.strip()
        found = next((m for m in (p.match(text) for p in _PERIODS) if m), None)
        if found is None:
            raise CostcastError(
                "expected a fiscal period like 2027-Q2, FY2027 or 2027-03", param=param, value=text
            )
        year = int(found[1])
        if not FIRST_YEAR <= year <= LAST_YEAR:
            raise CostcastError(f"a period between {FIRST_YEAR} and {LAST_YEAR}", param=param,
                                value=text)  # fmt: skip
        if found.re is _QUARTER:
            start = _add_months(self.year_start(year), 3 * (int(found[2]) - 1))
            return start, _add_months(start, 3)
        if found.re is _YEAR:
            start = self.year_start(year)
            return start, _add_months(start, 12)
        try:
            start = dt.date(year, int(found[2]), 1)
        except ValueError:
            raise CostcastError("not a month (months run 01-12)", param=param,
                                value=text) from None  # fmt: skip
        return start, _add_months(start, 1)


RELATIVE = {"this-quarter": ("quarter", 0), "next-quarter": ("quarter", 1),
             "this-year": ("year", 0), "next-year": ("year", 1)}  # fmt: skip


@dataclass(frozen=True)
class Horizon:
    """How far a forecast reaches, parsed once from what the user wrote (``horizon``):
    ``90d`` (days after the as-of date), a fiscal period to reach (``2027-Q2``, ``FY2027``),
    a period counted from the first forecast day (``this-quarter``, ``next-quarter``,
    ``this-year``, ``next-year``), or a fixed last day (``Horizon.until``). Its last day
    depends on the as-of date, which may not be known yet when it is parsed."""

    text: str
    days: int | None = None
    relative: tuple[str, int] | None = None  # (quarter or year, how many ahead)
    last_day: dt.date | None = None
    calendar: FiscalCalendar = FiscalCalendar()

    @classmethod
    def parse(cls, text: str, calendar: FiscalCalendar) -> Horizon:
        text = text.strip()
        if text.lower() in RELATIVE:
            return cls(text, relative=RELATIVE[text.lower()], calendar=calendar)
        if m := _DAYS.match(text):
            days = int(m[1])
            if not 1 <= days <= MAX_HORIZON_DAYS:
                raise CostcastError(
                    f"horizon must be 1 to {MAX_HORIZON_DAYS} days", param="horizon", value=text
                )
            return cls(text, days=days, calendar=calendar)
        if not any(p.match(text) for p in _PERIODS):
            raise CostcastError(
                "expected a number of days (90d), a fiscal period (2027-Q2, FY2027) or "
                "this-quarter, next-quarter, this-year, next-year",
                param="horizon",
                value=text,
            )
        _, end = calendar.parse_period(text, param="horizon")
        return cls(text, last_day=end - dt.timedelta(days=1), calendar=calendar)

    @classmethod
    def until(cls, day: dt.date) -> Horizon:
        return cls(day.isoformat(), last_day=day)

    def end(self, as_of: dt.date) -> dt.date:
        """The last forecast day for a run as of ``as_of``."""
        if self.days is not None:
            return as_of + dt.timedelta(days=self.days)
        if self.relative is not None:
            freq, ahead = self.relative
            start = self.calendar.period_ahead(as_of + dt.timedelta(days=1), freq, ahead)
            return self.calendar.period_end(start, freq) - dt.timedelta(days=1)
        last = self.last_day
        assert last is not None  # one of days, relative, last_day is always set
        if last <= as_of:
            raise CostcastError(
                f"horizon {self.text} ended on {last}, on or before the as-of date {as_of}",
                param="horizon",
                value=self.text,
            )
        if (last - as_of).days > MAX_HORIZON_DAYS:
            raise CostcastError(
                f"horizon {self.text} ends {last}, more than {MAX_HORIZON_DAYS} days after {as_of}",
                param="horizon",
                value=self.text,
            )
        return last


def _a_period(value: str) -> str:
    # any calendar will do: a month 13 or a year 9999 is no period in any of them
    try:
        FiscalCalendar().parse_period(value)
    except CostcastError as exc:
        raise ValueError(exc.message) from None
    return value


# A budget's period in a config or a scenario file, checked when the file is read
Period = Annotated[str, Field(pattern=r"^(FY\d{4}|\d{4}-Q[1-4]|\d{4}-\d{2})$"),
                   AfterValidator(_a_period)]  # fmt: skip
