"""Canonical usage records in SQL: parse text columns, check every rule, report the first bad row.

Every source is staged as a relation whose columns are the canonical names
(``Staged.typed_sql``: numbers as DOUBLE, the rest text). The ledger reads it
in two stages: ``raw_groups`` sums rows per hour and raw text values,
checking the number rules on every row, and ``ledger_groups`` checks the
text rules and normalises once per group. An ``error()`` call aborts the
ingest query on the first bad row or group; only then does
``first_violation`` walk ``checks`` (every rule, in the order errors are
reported) to find which row and which rule.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable
from dataclasses import dataclass
from typing import Any

from duckdb import DuckDBPyConnection

from forecast.schema import (
    BUCKETS,
    CANONICAL_COLUMNS,
    DIMENSIONS,
    FIRST_YEAR,
    LAST_YEAR,
    NUMERIC_COLUMNS,
    REQUIRED_COLUMNS,
    SERVICE_TIERS,
    STATUSES,
    TOKEN_COLUMNS,
)

BAD_ROW_MARKER = "costcast-invalid-row"
_MAX_EXACT = 2**53
# No single usage row costs a billion dollars: a larger (or NaN, infinite) cost is a mistake.
MAX_ROW_COST = 1e9


def _text(col: str) -> str:
    return f"NULLIF(trim(CAST(src.\"{col}\" AS VARCHAR)), '')"


def _lower(col: str) -> str:
    return f"lower({_text(col)})"


def _num(col: str) -> str:
    return f"TRY_CAST({_text(col)} AS DOUBLE)"


def _int_ok(col: str) -> str:
    n = _num(col)
    return f"({n} IS NOT NULL AND {n} = trunc({n}) AND {n} >= 0 AND {n} < {_MAX_EXACT})"


def _has_offset(text: str) -> str:
    """SQL: the date-time text ends in Z, +hh:mm, +hhmm or +hh (a date alone does not count)."""
    return (
        f"(right({text}, 1) IN ('Z', 'z') OR (length({text}) > 16 AND ("
        f"substr({text}, -6, 1) IN ('+', '-') OR substr({text}, -5, 1) IN ('+', '-') "
        f"OR substr({text}, -3, 1) IN ('+', '-'))))"
    )


def _ts_expr(timezone: str | None, raw: str | None = None) -> str:
    """SQL: the UTC TIMESTAMP of a date-time text, NULL if it cannot be placed in time."""
    raw = raw or _text("timestamp")
    with_offset = f"TRY_CAST({raw} AS TIMESTAMPTZ)"
    if timezone is None:
        local = "NULL"
    else:
        tz = timezone.replace("'", "''")
        local = f"timezone('{tz}', TRY_CAST({raw} AS TIMESTAMP))"
    return f"(CASE WHEN {_has_offset(raw)} THEN {with_offset} ELSE {local} END) AT TIME ZONE 'UTC'"


@dataclass(frozen=True)
class Check:
    field: str
    bad: str  # SQL, true when the row breaks the rule
    message: str


# Long on purpose: every rule of a canonical row, one after the other, as the README lists them.
def checks(timezone: str | None) -> list[Check]:
    raw_ts = _text("timestamp")
    ts = _ts_expr(timezone)
    no_offset_msg = (
        "timestamp has no UTC offset; write it with Z or +hh:mm, or name the zone "
        "with --timezone (timezone= through the API), e.g. Europe/Berlin"
    )
    out = [
        Check("timestamp", f"{raw_ts} IS NULL", "timestamp is missing"),
        Check(
            "timestamp",
            f"NOT {_has_offset(raw_ts)} AND TRY_CAST({raw_ts} AS TIMESTAMP) IS NOT NULL"
            + (" AND FALSE" if timezone else ""),
            no_offset_msg,
        ),
        Check("timestamp", f"{ts} IS NULL", "not an ISO 8601 date-time"),
        # a forecast, a baseline or a watch reaches weeks past the data: year 9999 has none
        Check(
            "timestamp",
            f"year({ts}) NOT BETWEEN {FIRST_YEAR} AND {LAST_YEAR}",
            f"timestamp must be between {FIRST_YEAR} and {LAST_YEAR}",
        ),
        Check(
            "bucket",
            f"{_lower('bucket')} NOT IN ({_sql_list(BUCKETS)})",
            f"bucket must be empty or one of {', '.join(BUCKETS)}",
        ),
        Check("model", f"{_text('model')} IS NULL", "model is missing"),
        Check(
            "status",
            f"{_lower('status')} NOT IN ({_sql_list(STATUSES)})",
            f"status must be one of {', '.join(STATUSES)}",
        ),
        Check(
            "service_tier",
            f"{_lower('service_tier')} NOT IN ({_sql_list(SERVICE_TIERS)})",
            f"service_tier must be one of {', '.join(SERVICE_TIERS)}",
        ),
    ]
    for col in ("requests", "input_tokens", "cached_input_tokens", "cache_write_tokens"):
        out += _int_checks(col, required=col == "input_tokens")
    out += _int_checks("output_tokens", required=True)
    out += [
        Check(
            "cached_input_tokens",
            f"{_num('cached_input_tokens')} > {_num('input_tokens')}",
            "cached_input_tokens is larger than input_tokens (input_tokens must include cache reads)",
        ),
        Check(
            "cache_write_tokens",
            f"{_num('cache_write_tokens')} > {_num('input_tokens')} - "
            f"coalesce({_num('cached_input_tokens')}, 0)",
            "cache_write_tokens is larger than input_tokens - cached_input_tokens "
            "(input_tokens must include cache writes)",
        ),
        Check(
            "cost_usd",
            f"{_text('cost_usd')} IS NOT NULL AND NOT coalesce(isfinite({_num('cost_usd')}) "
            f"AND {_num('cost_usd')} >= 0 AND {_num('cost_usd')} < {MAX_ROW_COST}, FALSE)",
            f"cost_usd must be a finite number from 0 to {MAX_ROW_COST:.0e}",
        ),
    ]
    return out


def _int_checks(col: str, required: bool) -> list[Check]:
    missing = [Check(col, f"{_text(col)} IS NULL", f"{col} is missing")] if required else []
    return [
        *missing,
        Check(
            col,
            f"{_text(col)} IS NOT NULL AND {_num(col)} IS NULL",
            f"{col} must be a whole number",
        ),
        Check(col, f"{_num(col)} < 0", f"{col} must not be negative"),
        Check(
            col,
            f"{_text(col)} IS NOT NULL AND NOT {_int_ok(col)}",
            f"{col} must be a whole number",
        ),
    ]


def _sql_list(values: Iterable[str]) -> str:
    return ", ".join(f"'{v}'" for v in values)


# Most exports write UTC with a Z: strptime reads those for half what a cast costs.
# Both only accept text the general path (``_ts_expr``) reads as the same instant.
_FAST_TS_FORMATS = "['%Y-%m-%dT%H:%M:%S.%fZ', '%Y-%m-%dT%H:%M:%SZ']"


def trimmed_or_null(col: str) -> str:
    """SQL: ``NULLIF(trim(col), '')``, with trim (a copy) paid only by padded values.

    Written without NULLIF and with trim named once: DuckDB expands NULLIF into
    a CASE that repeats its argument, and hoists repeated subexpressions out of
    CASE branches, which would trim every row.
    """
    return (
        f"CASE WHEN {col} = '' THEN NULL "
        f"WHEN NOT (prefix({col}, ' ') OR suffix({col}, ' ')) THEN {col} "
        f"WHEN ltrim({col}) = '' THEN NULL ELSE trim({col}) END"
    )


# Stage 1 groups rows by these columns exactly as read; stage 2 normalises each group.
_RAW_TEXT = ("bucket", "team", "feature", "model", "provider", "service_tier", "status", "user",
             "deployment")  # fmt: skip
_INTEGERS = ("requests", *TOKEN_COLUMNS)


# Long on purpose: one SQL statement, built in the order it reads.
def raw_groups(
    rows: str,
    timezone: str | None,
    requests_default: str = "1",
    carry: tuple[str, str, str] | None = None,
    columns: Collection[str] = CANONICAL_COLUMNS,
) -> str:
    """Stage 1: typed rows (``Staged.typed_sql``) summed per UTC hour and raw text values.

    Every aggregate costs a scattered write per row, so stage 1 keeps to the
    sums: the number rules are one guard per row (0, or the query aborts),
    and the text rules wait for ``ledger_groups``, which trims, lower-cases
    and checks each group once. Columns the file lacks (``columns``) are
    neither grouped nor summed. ``carry`` is the caller's (expression to group
    by as well, its name, aggregate), e.g. to bring each row's key out of the
    same pass.
    """
    present = set(columns)

    def num(col: str) -> str:
        return f'src."{col}"'

    rules = []
    for col in (c for c in _INTEGERS if c in present):
        x = num(col)
        is_whole = f"{x} >= 0 AND {x} = trunc({x}) AND {x} < {_MAX_EXACT}"
        # A missing required number makes the rule NULL, which the guard treats as broken.
        rules.append(is_whole if col in REQUIRED_COLUMNS else f"({x} IS NULL OR ({is_whole}))")
    # input_tokens includes cache reads and writes
    rules.append(
        " + ".join(f"coalesce({num(c)}, 0)" for c in ("cached_input_tokens", "cache_write_tokens")
                   if c in present) + f" <= {num('input_tokens')}"
        if {"cached_input_tokens", "cache_write_tokens"} & present else "TRUE"
    )  # fmt: skip
    if "cost_usd" in present:
        cost = num("cost_usd")
        rules.append(
            f"({cost} IS NULL OR (isfinite({cost}) AND {cost} >= 0 AND {cost} < {MAX_ROW_COST}))"
        )
    guard = (
        f"CASE WHEN coalesce({' AND '.join(rules)}, FALSE) THEN 0 "
        f"ELSE CAST(error('{BAD_ROW_MARKER}') AS BIGINT) END"
    )

    def whole(col: str) -> str:
        return f"CAST({num(col)} AS BIGINT)"

    grouped = [c for c in _RAW_TEXT if c in present]
    dims = [f'src."{c}" AS "_raw_{c}"' for c in grouped]
    dims += [f'NULL::VARCHAR AS "_raw_{c}"' for c in _RAW_TEXT if c not in present]
    if "requests" in present:
        requests = f"sum(coalesce({whole('requests')}, {requests_default}))"
    else:
        requests = "count(*)" if requests_default == "1" else f"CAST({requests_default} AS BIGINT)"
    measures = [
        f"{requests} AS requests",
        f"sum({whole('input_tokens')} + {guard}) AS input_tokens",
        *(
            f"coalesce(sum({whole(c)}), 0) AS {c}" if c in present else f"0 AS {c}"
            for c in TOKEN_COLUMNS[1:]
        ),
        f"sum({num('cost_usd')})" if "cost_usd" in present else "NULL::DOUBLE",
    ]
    measures[-1] += " AS reported_cost_usd"
    by = ["ts", *(f'"_raw_{c}"' for c in grouped)]
    if carry:
        expression, name, aggregate = carry
        dims.append(f"{expression} AS {name}")
        by.append(name)
        measures.append(aggregate)
    # Text the fast reader refused is trimmed once, below, for the general path.
    rows = f"""SELECT *, CASE WHEN _fast_ts IS NULL THEN trim("timestamp") END AS _slow_ts
               FROM (SELECT *, try_strptime("timestamp", {_FAST_TS_FORMATS}) AS _fast_ts
                     FROM ({rows}))"""
    ts = f"coalesce(src._fast_ts, {_ts_expr(timezone, 'src._slow_ts')})"
    return f"""SELECT date_trunc('hour', {ts}) AS ts, {", ".join(dims)}, {", ".join(measures)}
               FROM ({rows}) src
               GROUP BY {", ".join(by)}"""


# Stage 2 lower-cases these; the other grouped text is only trimmed.
_LOWERED = ("provider", "service_tier", "status")


def in_ledger_form(raw: str, columns: Collection[str], carried: str) -> str:
    """SQL, TRUE when no two ``raw_groups`` rows can fall into one ledger row.

    Then stage 2 need not group again (a quarter of its time). It holds when
    each text column is NULL throughout or already trimmed, non-empty and in
    the case the ledger keeps, and the carried column (``carried``) has one
    value: most files are written this way.
    """

    def one_kind(col: str, kept: str) -> str:
        # bool_and skips NULLs: a NULL among kept values must count against them
        return f"(bool_and({col} IS NULL) OR bool_and(coalesce({kept}, FALSE)))"

    parts = [f"(bool_and({carried}) OR bool_and(NOT {carried}))"]
    for col in (c for c in _RAW_TEXT if c in columns):
        v = f'"_raw_{col}"'
        if col == "bucket":
            kept = f"{v} IN ('1h', '1d')"  # a minute bucket joins its hour
        else:
            kept = f"{v} <> '' AND NOT (prefix({v}, ' ') OR suffix({v}, ' '))"
            if col in _LOWERED:
                kept += f" AND {v} = lower({v})"
        parts.append(one_kind(v, kept))
    return f"SELECT {' AND '.join(parts)} FROM ({raw})"


# A usage group's identity as one number: per-request outcomes reach their usage through it.
GROUP_HASH = 'hash(ts, team, feature, model, status, "user", deployment)'


def ledger_groups(raw: str, ready: bool = False, carry: str | None = None) -> str:
    """Stage 2: ``raw_groups`` rows checked, normalised and summed to ledger grain.

    ``_guard`` is 0 on good groups and aborts the query on the first bad
    one; ``first_violation`` then finds the row and the rule. When the
    rows are ``ready`` (see ``in_ledger_form``), their text is already
    normalised and each one is one ledger row: only the rules run.
    ``carry`` names a column of ``raw`` to keep (and group by) as it is.
    """
    kept = f", {carry}" if carry else ""

    def text(col: str) -> str:
        return f'r."_raw_{col}"' if ready else f"NULLIF(trim(r.\"_raw_{col}\"), '')"

    def low(col: str, default: str) -> str:
        return f"coalesce({text(col) if ready else f'lower({text(col)})'}, '{default}')"

    ok = " AND ".join(
        [
            f"year(r.ts) BETWEEN {FIRST_YEAR} AND {LAST_YEAR}",
            f"{text('model')} IS NOT NULL",
            f"{low('bucket', '1h')} IN ({_sql_list(BUCKETS)})",
            f"{low('status', 'success')} IN ({_sql_list(STATUSES)})",
            f"{low('service_tier', 'standard')} IN ({_sql_list(SERVICE_TIERS)})",
        ]
    )
    measures = ("requests", *TOKEN_COLUMNS)
    total = "" if ready else "sum"
    return f"""
        SELECT ts, bucket, {", ".join(f'"{d}"' for d in DIMENSIONS)},
               {", ".join(f"{total}({m}) AS {m}" for m in ("requests", *TOKEN_COLUMNS[:-1]))},
               {total}(output_tokens + _guard) AS output_tokens,
               {total}(reported_cost_usd) AS reported_cost_usd {kept}
        FROM (
            SELECT CASE WHEN coalesce({ok}, FALSE) THEN 0
                        ELSE CAST(error('{BAD_ROW_MARKER}') AS BIGINT) END AS _guard,
                   r.ts,
                   CASE WHEN {low("bucket", "1h")} = '1d' THEN '1d' ELSE '1h' END AS bucket,
                   coalesce({text("team")}, 'unassigned') AS team,
                   coalesce({text("feature")}, 'unassigned') AS feature,
                   {text("model")} AS model,
                   {low("provider", "")} AS provider,
                   {low("service_tier", "standard")} AS service_tier,
                   {low("status", "success")} AS status,
                   coalesce({text("user")}, '') AS "user",
                   coalesce({text("deployment")}, '') AS deployment,
                   {", ".join(f"r.{m}" for m in measures)}, r.reported_cost_usd {kept}
            FROM ({raw}) r)
        {"" if ready else "GROUP BY ALL"}"""


def typed_select(
    columns_present: Collection[str], quote: Callable[[str], str] = lambda c: f'"{c}"'
) -> str:
    """SELECT list casting text columns to the types ``raw_groups`` expects."""
    parts = []
    for col in CANONICAL_COLUMNS:
        kind = "DOUBLE" if col in NUMERIC_COLUMNS else "VARCHAR"
        if col in columns_present:
            # CAST, not TRY_CAST: a value that is not a number must stop the ingest.
            parts.append(f'CAST({quote(col)} AS {kind}) AS "{col}"')
        else:
            parts.append(f'NULL::{kind} AS "{col}"')
    return ", ".join(parts)


def first_violation(
    con: DuckDBPyConnection, src_sql: str, timezone: str | None, loc_expr: str
) -> tuple[Any, str, str, Any] | None:
    """(location, field, message, value) of the first bad row, or None.

    Runs single-threaded so row_number() follows the file's order.
    """
    rules = checks(timezone)
    flags = ", ".join(f"coalesce({c.bad}, FALSE) AS c{i}" for i, c in enumerate(rules))
    values = ", ".join(f'CAST(src."{c.field}" AS VARCHAR) AS v{i}' for i, c in enumerate(rules))
    any_bad = " OR ".join(f"c{i}" for i in range(len(rules)))
    threads = con.execute("SELECT current_setting('threads')").fetchall()[0][0]
    con.execute("SET threads = 1")
    try:
        row = con.execute(
            f"""
            SELECT * FROM (
                SELECT {loc_expr} AS _where, {flags}, {values}
                FROM (SELECT row_number() OVER () AS _rn, * FROM ({src_sql})) AS src
            ) WHERE {any_bad} ORDER BY _where LIMIT 1
            """
        ).fetchone()
    finally:
        con.execute(f"SET threads = {threads}")
    if row is None:
        return None
    where = row[0]
    n = len(rules)
    for i, rule in enumerate(rules):
        if row[1 + i]:
            return where, rule.field, rule.message, row[1 + n + i]
    return None
