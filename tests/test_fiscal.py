from __future__ import annotations

import datetime as dt

import pytest

from forecast.errors import CostcastError
from forecast.fiscal import FiscalCalendar, Horizon

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

    def end(text: str, day: dt.date = as_of) -> dt.date:
        return Horizon.parse(text, cal).end(day)

    assert end("90d") == D(2027, 2, 24)
    assert end("2027-Q1") == D(2027, 4, 30)
    assert end("FY2026") == D(2027, 1, 31)
    # counted from the first forecast day, 2026-11-27, in FY2026-Q4 (Nov-Jan)
    assert end("this-quarter") == D(2027, 1, 31)
    assert end("next-quarter") == D(2027, 4, 30)
    assert end("next-year") == D(2028, 1, 31)
    assert end("this-quarter", D(2027, 1, 31)) == D(2027, 4, 30)
    assert Horizon.until(D(2027, 3, 1)).end(as_of) == D(2027, 3, 1)
    # a period already over is only wrong once the as-of date is known...
    past = Horizon.parse("2026-Q2", cal)
    with pytest.raises(CostcastError, match="on or before the as-of date") as info:
        past.end(as_of)
    assert info.value.param == "horizon"
    # ...but what is not a horizon at all fails when it is read
    with pytest.raises(CostcastError, match="expected a number of days") as info:
        Horizon.parse("next quarter", cal)
    assert info.value.param == "horizon" and info.value.to_dict()["field"] == "horizon"
    with pytest.raises(CostcastError, match="1 to 1830 days"):
        Horizon.parse("0d", cal)
    # a period's own mistake is named as such, not as "expected a number of days"
    for text, message in (("9999-Q4", "a period between 1971 and 2200"),
                          ("2026-13", "not a month")):  # fmt: skip
        with pytest.raises(CostcastError, match=message) as info:
            Horizon.parse(text, cal)
        assert info.value.param == "horizon"
    with pytest.raises(CostcastError, match="month number"):
        FiscalCalendar(13)
