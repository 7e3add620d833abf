"""Usage summaries from the ledger, priced by the book on each usage date."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

import pandas as pd

from forecast import rollup_cost
from forecast.coverage import usage_span, with_coverage
from forecast.errors import CostcastError
from forecast.fiscal import FiscalCalendar
from forecast.ledger import Ledger
from forecast.pricing.book import PriceBook
from forecast.schema import DIMENSIONS, FIRST_YEAR, LAST_YEAR, TOKEN_COLUMNS, split_keys

GROUP_KEYS = DIMENSIONS
GROUP_HELP = "Comma-separated: " + ", ".join(GROUP_KEYS) + "."  # help texts say what works
FREQS = {"hour": "hour", "day": "day", "week": "week", "month": "month"}
FISCAL_FREQS = ("quarter", "year")  # months regrouped by the fiscal calendar


def key_columns(keys: Sequence[str], alias: str | None = None) -> str:
    """SQL: ``, "team", "feature"`` for the group keys (``, p."team"`` of relation ``alias``),
    to follow a leading column in a SELECT list."""
    of = f"{alias}." if alias else ""
    return "".join(f', {of}"{k}"' for k in keys)


def exact_sum(expr: str, where: str | None = None) -> str:
    """SQL summing a money column (over the rows matching ``where``) the same way every
    time: floating-point sums depend on the order DuckDB's threads add rows in (outputs then
    differed at 1e-6 from run to run); DECIMAL sums do not. Twelve decimals keep a millionth
    of a cent."""
    only = f" FILTER (WHERE {where})" if where else ""
    return f"CAST(sum(CAST({expr} AS DECIMAL(38, 12))){only} AS DOUBLE)"


def cost_sum(where: str | None = None) -> str:
    """SQL: the exact sum of a group's priced ``cost_usd`` (of its rows matching ``where``,
    0 where none do), unknown (NULL) where any row of the group has no price: a cost is
    never a partial sum."""
    known = exact_sum("cost_usd", where)
    return (f"CASE WHEN bool_or(cost_usd IS NULL) THEN NULL "
            f"ELSE {f'coalesce({known}, 0)' if where else known} END")  # fmt: skip


def check_freq(freq: str, choices: Sequence[str]) -> None:
    if freq not in choices:
        raise CostcastError(
            f"unknown frequency {freq!r}; choose from {', '.join(choices)}", param="freq"
        )


def check_year(name: str, day: dt.date) -> None:
    """A day or hour costcast can compute around (a baseline weeks before it, a horizon
    after): year 0001 minus four weeks is no date at all."""
    if not FIRST_YEAR <= day.year <= LAST_YEAR:
        raise CostcastError(f"a day between {FIRST_YEAR} and {LAST_YEAR}, as timestamps "
                            "hold them with weeks around", param=name, value=day.isoformat())  # fmt: skip


def check_span(ledger: Ledger, start: dt.date | None, end: dt.date | None) -> None:
    """The errors a summary over [start, end] of the ledger owes before it is computed."""
    for name, day in (("from", start), ("to", end)):
        if day is not None:
            check_year(name, day)
    usage_span(ledger)  # an empty ledger is an error naming what to do (and the span is read)
    if start and end and end < start:
        raise CostcastError(f"the last day {end} is before the first {start}", param="to")


def parse_group_keys(by: str | Sequence[str] | None) -> list[str]:
    return split_keys(by, GROUP_KEYS, "group")


def _used(
    ledger: Ledger, start: dt.date | None, end: dt.date | None, exclude: Sequence[str] = ()
) -> tuple[tuple[Any, ...], ...]:
    """(model, tier, first day) of every model and tier used in [start, end]."""
    return rollup_cost.models_used(ledger, *_range(start, end, exclude))


def unpriced(
    ledger: Ledger, book: PriceBook, start: dt.date | None = None, end: dt.date | None = None
) -> list[tuple[str, str]]:
    """(model, what is missing) for every model used in [start, end] the book cannot price."""
    return book.missing_prices(_used(ledger, start, end))


def priced_usage_sql(
    ledger: Ledger,
    book: PriceBook,
    start: dt.date | None = None,
    end: dt.date | None = None,
    *,
    strict: bool = True,
    exclude: Sequence[str] = (),
    daily: bool = False,
    dims: Sequence[str] | None = None,
    only: str | None = None,
) -> str:
    """SQL for every ledger row in [start, end] (but those of the models in ``exclude``,
    and only those matching the SQL condition ``only``, checked before any row is priced)
    with its book cost; registers the lookups it needs.

    ``strict``: raise UnpricedModelError naming every model (and tier) the book cannot
    price; otherwise their rows come with a null cost (unknown, never zero).
    ``daily``: the rows summed to days (``ts`` the day's start; read from the daily rollup,
    ``forecast.rollup``, one row per day, dimensions and ingest), for readers that need no
    hours and group what they read: prices change by day, and the price lookup then has a
    sixteenth of the rows to do, or none where the rollup holds this book's costs (then no
    ``price_*`` columns come back). ``dims`` (with ``daily``): the dimensions the reader
    groups by; the others come back empty.
    """
    if strict:
        book.require_prices(_used(ledger, start, end, exclude))
    where, params = _range(start, end, exclude)
    bounds = where.replace("?", "{}").format(*(f"TIMESTAMP '{p}'" for p in params))
    if only:
        bounds = f"{bounds} AND ({only})" if bounds else f"WHERE ({only})"
    stored = daily and dims is not None and rollup_cost.ready(ledger, book)
    if not stored or "provider" in (dims or ()):
        rollup_cost.register_prices(ledger, book)  # the book's providers, at least
    if stored:
        return _daily_rows(bounds, dims, priced=True)
    return f"""
        SELECT u.ts, u.bucket, u.team, u.feature, u.model,
               coalesce(NULLIF(u.provider, ''), m.provider) AS provider,
               u.service_tier, u.status, u."user", u.deployment,
               u.requests, u.input_tokens, u.cached_input_tokens, u.cache_write_tokens,
               u.output_tokens, u.reported_cost_usd, {rollup_cost.COST_SQL} AS cost_usd,
               m.key AS price_model, p.input AS price_input,
               p.cached_input AS price_cached_input, p.cache_write AS price_cache_write,
               p.output AS price_output
        FROM ({_daily_rows(bounds, dims) if daily else f"SELECT * FROM usage {bounds}"}) u
        {rollup_cost.PRICE_JOIN.format(kind="" if strict else "LEFT")}
    """


def _daily_rows(bounds: str, only: Sequence[str] | None = None, priced: bool = False) -> str:
    """The daily rollup's rows in ``bounds``, with the dimensions in ``only`` (all if None;
    the others empty) and, if ``priced``, the cost it holds (``forecast.rollup_cost``; a
    provider the source left out is then the book's, from ``_price_models``)."""
    # to be priced here a row needs model, provider and tier; the rest only where the reader
    # groups by it. A day's rows of different ingests stay apart: readers group anyway, and
    # merging them first (a group-by on ten columns) cost more than pricing the extra rows.
    needed = ("model", "service_tier") if priced else ("model", "provider", "service_tier")
    named = priced and only is not None and "provider" in only

    def column(d: str) -> str:
        if named and d == "provider":
            return "coalesce(NULLIF(u.provider, ''), m.provider) AS provider"
        return f'u."{d}"' if only is None or d in needed or d in only else f"'' AS \"{d}\""

    return f"""SELECT u.ts, '1d' AS bucket, {", ".join(map(column, DIMENSIONS))},
                      {", ".join(f"u.{c}" for c in ("requests", *TOKEN_COLUMNS))},
                      CAST(u.reported_cost_usd AS DOUBLE) AS reported_cost_usd
                      {", u.cost_usd" if priced else ""}
               FROM (SELECT * FROM usage_daily {bounds}) u
               {"JOIN _price_models m ON u.model = m.model" if named else ""}"""


def priced_usage(
    ledger: Ledger, book: PriceBook, start: dt.date | None, end: dt.date | None, select: str
) -> pd.DataFrame:
    """``select`` (a SELECT list, grouped by its non-aggregate columns) over priced usage in
    [start, end]; a ``day`` column comes back as dates."""
    frame = ledger.con.execute(
        f"SELECT {select} FROM ({priced_usage_sql(ledger, book, start, end)}) GROUP BY ALL"
    ).df()
    if "day" in frame:
        frame["day"] = pd.to_datetime(frame["day"]).dt.date
    return frame


def _range(
    start: dt.date | None, end: dt.date | None, exclude: Sequence[str] = ()
) -> tuple[str, list[Any]]:
    clauses, params = [], []
    if exclude:  # literals, not parameters: the clause is also inlined (see priced_usage_sql)
        names = ", ".join("'" + m.replace("'", "''") + "'" for m in sorted(set(exclude)))
        clauses.append(f"model NOT IN ({names})")
    if start is not None:
        clauses.append("ts >= ?")
        params.append(dt.datetime.combine(start, dt.time()))
    if end is not None:
        clauses.append("ts < ?")
        params.append(dt.datetime.combine(end + dt.timedelta(days=1), dt.time()))
    return ("WHERE " + " AND ".join(clauses)) if clauses else "", params


def usage_summary(
    ledger: Ledger,
    book: PriceBook,
    *,
    by: str | Sequence[str] | None = None,
    freq: str = "day",
    start: dt.date | None = None,
    end: dt.date | None = None,
    calendar: FiscalCalendar | None = None,
    strict: bool = False,
) -> pd.DataFrame:
    """Requests, failures, tokens by kind, book cost and reported cost per period and group.

    ``end`` is inclusive (the whole day). Periods are UTC; weeks start on Monday; quarters
    and years are fiscal (``calendar``), each row stamped with its first day and labelled
    (``period``) as forecast tables label them. A group with usage of a model the book
    cannot price shows its cost as unknown (null, never zero) and counts those requests in
    ``unpriced_requests``; ``strict`` makes such usage an error instead.
    """
    keys = parse_group_keys(by)
    calendar = calendar or FiscalCalendar()
    if freq in FISCAL_FREQS:
        months = _sums(ledger, book, keys, "month", start, end, strict)
        frame = _fiscal(months, keys, freq, calendar)
    else:
        check_freq(freq, [*FREQS, *FISCAL_FREQS])  # the fiscal ones have been answered above
        frame = _sums(ledger, book, keys, freq, start, end, strict)
    return frame if freq == "hour" else with_coverage(frame, ledger, freq, calendar, start, end)


def _sums(ledger: Ledger, book: PriceBook, keys: list[str], freq: str, start: dt.date | None,
          end: dt.date | None, strict: bool) -> pd.DataFrame:  # fmt: skip
    """``usage_summary``'s sums per period of ``freq`` (one of ``FREQS``) and group."""
    check_span(ledger, start, end)
    # periods of a day or longer need no hours: the daily rollup, with only the dimensions
    # grouped by, has a twentieth of the rows to price
    priced = priced_usage_sql(ledger, book, start, end, strict=strict, daily=freq != "hour",
                              dims=[*keys, "status"])  # fmt: skip
    group_cols = key_columns(keys)
    frame = ledger.con.execute(
        f"""
        SELECT date_trunc('{FREQS[freq]}', ts) AS timestamp {group_cols},
               CAST(sum(requests) AS BIGINT) AS requests,
               CAST(coalesce(sum(requests) FILTER (WHERE status = 'error'), 0) AS BIGINT)
                   AS failed_requests,
               CAST(sum(input_tokens) AS BIGINT) AS input_tokens,
               CAST(sum(cached_input_tokens) AS BIGINT) AS cached_input_tokens,
               CAST(sum(cache_write_tokens) AS BIGINT) AS cache_write_tokens,
               CAST(sum(output_tokens) AS BIGINT) AS output_tokens,
               round({cost_sum()}, 6) AS cost_usd,
               round({exact_sum("reported_cost_usd")}, 6) AS reported_cost_usd,
               CAST(coalesce(sum(requests) FILTER (WHERE cost_usd IS NULL), 0) AS BIGINT)
                   AS unpriced_requests
        FROM ({priced})
        GROUP BY ALL ORDER BY ALL
        """
    ).df()
    return frame


def _fiscal(
    months: pd.DataFrame, keys: list[str], freq: str, calendar: FiscalCalendar
) -> pd.DataFrame:
    """Monthly rows summed into fiscal quarters or years; a cost stays unknown (null) where
    any month of it is."""
    firsts = {m: calendar.period_start(m.date(), freq) for m in months["timestamp"].unique()}
    starts = months["timestamp"].map(firsts)
    frame = months.assign(timestamp=pd.to_datetime(starts))
    groups = frame.groupby(["timestamp", *keys], sort=True)
    totals = groups.sum(min_count=1)
    totals["cost_usd"] = groups["cost_usd"].agg(lambda s: s.sum(skipna=False))  # unknown stays
    totals = totals.reset_index()
    totals.insert(1, "period", [calendar.label(t.date(), freq) for t in totals["timestamp"]])
    return totals


def usage_provenance(
    ledger: Ledger, start: dt.date | None = None, end: dt.date | None = None,
    where: str = "TRUE", params: Sequence[object] = (),
) -> dict[str, Any]:  # fmt: skip
    """What a figure was computed from: the ledger rows of days [start, end] (and ``where``),
    their first and last day and an order-independent hash of their content, so that the
    same rows give the same hash in any ledger and a changed row shows."""
    bounds, bound_params = _range(start, end, ())
    rows, first, last, digest = ledger.con.execute(
        f"""SELECT count(*), min(ts)::DATE, max(ts)::DATE,
                   sum(hash(ts, bucket, team, feature, model, provider, service_tier, status,
                            "user", deployment, requests, input_tokens, cached_input_tokens,
                            cache_write_tokens, output_tokens, reported_cost_usd)::HUGEINT)
                       % 18446744073709551616
            FROM usage {bounds or "WHERE TRUE"} AND ({where})""",
        [*bound_params, *params],
    ).fetchall()[0]
    return {
        "rows": int(rows),
        "first_day": None if first is None else str(first),
        "last_day": None if last is None else str(last),
        "content_hash": f"{int(digest or 0):016x}",
    }
