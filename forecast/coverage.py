"""What days the ledger's usage covers, and where it may not be what was spent: its span,
spans with no usage from any source (``usage_gaps``), providers whose usage stops before
the others' (``lagging_providers``), and periods a sum covers only in part
(``with_coverage``). Every such day counts as zero spend in a sum or a series; these say
where that may be usage not yet ingested rather than none."""

from __future__ import annotations

import datetime as dt
from typing import Any

import numpy as np
import pandas as pd

from forecast import rollup
from forecast.errors import LedgerError
from forecast.fiscal import FiscalCalendar
from forecast.ledger import Ledger


def _bounds(ledger: Ledger) -> tuple[dt.datetime, dt.datetime, dt.datetime]:
    """(first bucket start, last bucket start, end of the last bucket) of the ledger's usage,
    read once until the next commit; an error when there is none."""
    first, last, end = ledger.remember(("usage_bounds",), lambda: _read_bounds(ledger))
    if first is None or last is None or end is None:
        raise LedgerError("the ledger is empty: ingest usage first (costcast ingest FILE)")
    return first, last, end


def _read_bounds(ledger: Ledger) -> tuple[Any, Any, Any]:
    if not ledger.has_table("usage"):
        return None, None, None
    # kept by every write since the table came (a read of one row: a first KPI read after
    # a commit spent 1.8 ms of its 15 finding them); a ledger from before, read-only, has none
    if ledger.has_table("usage_bounds"):
        stored = ledger.con.execute("SELECT * FROM usage_bounds").fetchall()
        if stored:
            return stored[0]
    return rollup.bounds(ledger.con)


def usage_hours(ledger: Ledger) -> tuple[dt.datetime, dt.datetime]:
    """(first, last) bucket start of the ledger's usage; an error naming what to do when
    there is none."""
    first, last, _ = _bounds(ledger)
    return first, last


def usage_span(ledger: Ledger) -> tuple[dt.datetime, dt.datetime]:
    """(first bucket start, end of the last bucket) of the ledger's usage, the end exclusive
    (a day bucket lasts a day, any other an hour); an error when there is none."""
    first, _, end = _bounds(ledger)
    return first, end


def last_complete_day(ledger: Ledger) -> dt.date:
    """The last UTC day the ledger covers in full: the day before the one its data ends in
    (data ending at midnight ends the day before)."""
    last: dt.date = usage_span(ledger)[1].date() - dt.timedelta(days=1)
    return last


def with_coverage(frame: pd.DataFrame, ledger: Ledger, freq: str, calendar: FiscalCalendar,
                  start: dt.date | None, end: dt.date | None, column: str = "timestamp",
                  ) -> pd.DataFrame:  # fmt: skip
    """``days``: the days of each row's period that hold usage the sums could cover (from
    the ledger's first bucket to the end of its last, within ``start`` and ``end``), and
    ``partial`` where that is not the whole period: the month the data end in is a month to
    date, not a month of low spend. ``column`` holds each period's first day."""
    if frame.empty:
        return frame.assign(days=pd.Series(dtype="int64"), partial=pd.Series(dtype=bool))
    first, stop = usage_span(ledger)
    if start is not None:
        first = max(first, dt.datetime.combine(start, dt.time()))
    if end is not None:
        stop = min(stop, dt.datetime.combine(end + dt.timedelta(days=1), dt.time()))
    starts = frame[column]
    if not pd.api.types.is_datetime64_any_dtype(starts):  # parsed only where not yet times
        starts = pd.to_datetime(starts)
    codes, periods = pd.factorize(starts)
    found = [span_coverage(t.to_pydatetime(), freq, calendar, first, stop) for t in periods]
    days = np.array([d for d, _ in found], dtype="int64")
    partial = np.array([p for _, p in found], dtype=bool)
    frame["days"], frame["partial"] = days[codes], partial[codes]  # the caller's own frame
    return frame


def span_coverage(start: dt.datetime, freq: str, calendar: FiscalCalendar,
                  first: dt.datetime, stop: dt.datetime) -> tuple[int, bool]:  # fmt: skip
    """(days, partial) of the period beginning at ``start`` against usage known from
    ``first`` to ``stop`` (exclusive): the calendar days with any of it, and whether it
    misses any part of the period."""
    end = dt.datetime.combine(calendar.period_end(start.date(), freq), dt.time())
    lo, hi = max(start, first), min(end, stop)
    if hi <= lo:
        return 0, True
    days = ((hi - dt.timedelta(microseconds=1)).date() - lo.date()).days + 1
    return days, (lo, hi) != (start, end)


GAP_DAYS = 7  # a week with nothing from any source: usage not exported, more likely than none


def usage_gaps(ledger: Ledger, end: dt.date, min_days: int = GAP_DAYS) -> list[dict[str, Any]]:
    """Spans of ``min_days`` days or more, between the ledger's first day of usage and
    ``end``, on which no source reported any usage at all: ``first``, ``last`` and ``days``.
    Every series counts them as days of zero spend, which is right for an idle week and
    wrong for an export that failed; nothing in the data tells the two apart, so whoever
    reads a forecast is told."""
    rows = ledger.con.execute(
        """WITH days AS (SELECT DISTINCT CAST(ts AS DATE) AS day FROM usage
                         WHERE CAST(ts AS DATE) <= ?),
                spans AS (SELECT lag(day) OVER (ORDER BY day) AS before, day AS after FROM days)
           SELECT before + 1, after - 1, date_diff('day', before, after) - 1 FROM spans
           WHERE date_diff('day', before, after) - 1 >= ? ORDER BY 1""",
        [end, min_days],
    ).fetchall() if ledger.has_table("usage") else []  # fmt: skip
    return [{"first": str(a), "last": str(b), "days": int(n)} for a, b, n in rows]


BEHIND_WEEKS = 4  # a provider's usual weekdays: those it had usage on in 3 of the 4 weeks before


def lagging_providers(ledger: Ledger, end: dt.date) -> list[dict[str, Any]]:
    """Providers with no usage from the day after their last to ``end`` although they
    usually have some on one of those days (on its weekday in at least 3 of the 4 weeks
    before), for up to 4 weeks: ``provider``, ``last_day``, ``days`` (from then to
    ``end``), the first such usual day (``missing_from``) and how many (``usual_days_missing``). One source's export running behind the others, by a day or a week, looks the
    same as that provider's spend stopping, and its series would be forecast from those days
    as zero; a working-day provider's weekend is no lag, and a provider silent for longer has
    stopped."""
    since = end - dt.timedelta(weeks=2 * BEHIND_WEEKS)
    rows = ledger.con.execute(
        """SELECT DISTINCT provider, CAST(ts AS DATE) FROM usage
           WHERE CAST(ts AS DATE) BETWEEN ? AND ?""",
        [since, end],
    ).fetchall() if ledger.has_table("usage") else []  # fmt: skip
    days_of: dict[str, set[dt.date]] = {}
    for provider, day in rows:
        days_of.setdefault(provider, set()).add(day)
    out = []
    for provider, days in sorted(days_of.items(), key=lambda item: (max(item[1]), item[0])):
        last = max(days)
        lag = (end - last).days
        if not 1 <= lag <= 7 * BEHIND_WEEKS:
            continue
        silent = [last + dt.timedelta(days=k) for k in range(1, lag + 1)]
        usual = [d for d in silent
                 if sum(d - dt.timedelta(weeks=w) in days for w in range(1, BEHIND_WEEKS + 1))
                 >= BEHIND_WEEKS - 1]  # fmt: skip
        if usual:
            out.append({"provider": provider or "(none)", "last_day": str(last), "days": lag,
                        "missing_from": str(usual[0]), "usual_days_missing": len(usual)})  # fmt: skip
    return out


HOLD_DAYS = 2  # a provider missing this few of its usual days holds a run's default as-of back


def default_as_of(ledger: Ledger) -> tuple[dt.date, list[dict[str, Any]]]:
    """The as-of date a run takes when none is given: the ledger's last complete day, or,
    where providers miss up to ``HOLD_DAYS`` days they usually have usage on
    (``lagging_providers``), the day before the first of those; and those providers. An
    export a day late would otherwise enter the run as a day of zero spend, and a forecast
    that repeats recent weeks repeats it; a provider further behind may have stopped, and is
    only said."""
    complete = last_complete_day(ledger)
    late = [p for p in lagging_providers(ledger, complete)
            if p["usual_days_missing"] <= HOLD_DAYS]  # fmt: skip
    if not late:
        return complete, []
    first = min(dt.date.fromisoformat(p["missing_from"]) for p in late)
    return first - dt.timedelta(days=1), late
