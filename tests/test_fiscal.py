from __future__ import annotations

import datetime as dt

import pytest

from forecast.errors import CostcastError
from forecast.fiscal import FiscalCalendar

D = dt.date


def test_february_start_puts_2027_02_01_in_fy2027_q1():
    cal = FiscalCalendar(2)
    assert cal.label(D(2027, 2, 1), "quarter") == "2027-Q1"
    assert cal.label(D(2027, 1, 31), "quarter") == "2026-Q4"
    assert cal.label(D(2027, 1, 31), "year") == "FY2026"
    assert cal.label(D(2027, 5, 1), "quarter") == "2027-Q2"
    assert cal.parse_period("2027-Q1") == (D(2027, 2, 1), D(2027, 5, 1))
    assert cal.parse_period("FY2027") == (D(2027, 2, 1), D(2028, 2, 1))


def test_calendar_year_and_october_start():
    assert FiscalCalendar(1).label(D(2026, 12, 31), "quarter") == "2026-Q4"
    cal = FiscalCalendar(10)  # US federal style, named for the year it begins
    assert cal.label(D(2026, 10, 1), "quarter") == "2026-Q1"
    assert cal.label(D(2026, 9, 30), "quarter") == "2025-Q4"
    assert cal.parse_period("2026-Q2") == (D(2027, 1, 1), D(2027, 4, 1))


def test_period_starts_ends_and_labels():
    cal = FiscalCalendar(2)
    assert cal.period_start(D(2026, 11, 27), "week") == D(2026, 11, 23)
    assert cal.period_start(D(2026, 12, 15), "quarter") == D(2026, 11, 1)
    assert cal.period_end(D(2026, 11, 1), "quarter") == D(2027, 2, 1)
    assert cal.label(D(2026, 11, 27), "month") == "2026-11"
    assert list(cal.labels([D(2026, 1, 31), D(2026, 2, 1)], "quarter")) == ["2025-Q4", "2026-Q1"]


def test_horizon_in_days_or_periods():
    cal = FiscalCalendar(2)
    as_of = D(2026, 11, 26)
    assert cal.horizon_end("90d", as_of) == D(2027, 2, 24)
    assert cal.horizon_end("2027-Q1", as_of) == D(2027, 4, 30)
    assert cal.horizon_end("FY2026", as_of) == D(2027, 1, 31)
    # counted from the first forecast day, 2026-11-27, in FY2026-Q4 (Nov-Jan)
    assert cal.horizon_end("this-quarter", as_of) == D(2027, 1, 31)
    assert cal.horizon_end("next-quarter", as_of) == D(2027, 4, 30)
    assert cal.horizon_end("next-year", as_of) == D(2028, 1, 31)
    assert cal.horizon_end("this-quarter", D(2027, 1, 31)) == D(2027, 4, 30)
    with pytest.raises(CostcastError, match="on or before the as-of date"):
        cal.horizon_end("2026-Q2", as_of)
    with pytest.raises(CostcastError, match="expected a number of days"):
        cal.horizon_end("next quarter", as_of)
    with pytest.raises(CostcastError, match="month number"):
        FiscalCalendar(13)
