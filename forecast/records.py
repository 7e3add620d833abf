"""Canonical usage records in SQL: parse text columns, check every rule, report the first bad row.

Every source is staged as a relation whose columns are the canonical names
(all text, missing optional columns NULL). ``normalized_sql`` turns it into
typed values; ``CHECKS`` lists every rule a row must satisfy, in the order
errors are reported. The fast path never looks at the checks one by one: a
single ``error()`` call aborts the ingest query on the first bad row, and
only then does ``first_violation`` find which row and which rule.
"""

from __future__ import annotations

from dataclasses import dataclass

from forecast.schema import BUCKETS, SERVICE_TIERS, STATUSES

BAD_ROW_MARKER = "costcast-invalid-row"
# An ISO 8601 date-time that carries its own offset.
_OFFSET_RE = r"^\d{4}-\d\d-\d\d[T ]\d\d:\d\d(:\d\d(\.\d+)?)?\s*(Z|z|[+-]\d\d(:?\d\d)?)$"
_MAX_EXACT = 2**53


def _text(col: str) -> str:
    return f"NULLIF(trim(CAST(src.\"{col}\" AS VARCHAR)), '')"


def _lower(col: str) -> str:
    return f"lower({_text(col)})"


def _num(col: str) -> str:
    return f"TRY_CAST({_text(col)} AS DOUBLE)"


def _int_ok(col: str) -> str:
    n = _num(col)
    return f"({n} IS NOT NULL AND {n} = trunc({n}) AND {n} >= 0 AND {n} < {_MAX_EXACT})"


def _ts_expr(timezone: str | None) -> str:
    raw = _text("timestamp")
    with_offset = f"TRY_CAST({raw} AS TIMESTAMPTZ)"
    if timezone is None:
        local = "NULL"
    else:
        tz = timezone.replace("'", "''")
        local = f"timezone('{tz}', TRY_CAST({raw} AS TIMESTAMP))"
    return (
        f"(CASE WHEN regexp_matches({raw}, '{_OFFSET_RE}') THEN {with_offset} "
        f"ELSE {local} END) AT TIME ZONE 'UTC'"
    )


@dataclass(frozen=True)
class Check:
    field: str
    bad: str  # SQL, true when the row breaks the rule
    message: str


def checks(timezone: str | None) -> list[Check]:
    raw_ts = _text("timestamp")
    ts = _ts_expr(timezone)
    no_offset_msg = (
        "timestamp has no UTC offset; write it with Z or +hh:mm, or name the zone "
        "with --timezone (e.g. --timezone Europe/Berlin)"
    )
    out = [
        Check("timestamp", f"{raw_ts} IS NULL", "timestamp is missing"),
        Check(
            "timestamp",
            f"NOT regexp_matches({raw_ts}, '{_OFFSET_RE}') AND TRY_CAST({raw_ts} AS TIMESTAMP) IS NOT NULL"
            + (" AND FALSE" if timezone else ""),
            no_offset_msg,
        ),
        Check("timestamp", f"{ts} IS NULL", "not an ISO 8601 date-time"),
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
            f"{_text('cost_usd')} IS NOT NULL AND NOT coalesce({_num('cost_usd')} >= 0, FALSE)",
            "cost_usd must be a number >= 0",
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


def _sql_list(values) -> str:
    return ", ".join(f"'{v}'" for v in values)


def any_bad_sql(timezone: str | None) -> str:
    return " OR ".join(f"coalesce({c.bad}, FALSE)" for c in checks(timezone))


def normalized_select(timezone: str | None, extra: str = "") -> str:
    """SELECT list turning a staged ``src`` row into ledger values.

    The first column aborts the query on any bad row, so a fast-path ingest
    needs no separate validation pass.
    """
    bad = any_bad_sql(timezone)
    ts = _ts_expr(timezone)

    def int_or(col: str, default: str) -> str:
        return f"coalesce(CAST({_num(col)} AS BIGINT), {default})"

    return f"""
        coalesce(CAST(CASE WHEN {bad} THEN error('{BAD_ROW_MARKER}') END AS BIGINT), 0) AS _guard,
        date_trunc('hour', {ts}) AS ts,
        CASE WHEN {_lower("bucket")} = '1d' THEN '1d' ELSE '1h' END AS bucket,
        coalesce({_text("team")}, 'unassigned') AS team,
        coalesce({_text("feature")}, 'unassigned') AS feature,
        {_text("model")} AS model,
        coalesce({_lower("provider")}, '') AS provider,
        coalesce({_lower("service_tier")}, 'standard') AS service_tier,
        coalesce({_lower("status")}, 'success') AS status,
        coalesce({_text("user")}, '') AS "user",
        coalesce({_text("deployment")}, '') AS deployment,
        {int_or("requests", "1")} AS requests,
        {int_or("input_tokens", "0")} AS input_tokens,
        {int_or("cached_input_tokens", "0")} AS cached_input_tokens,
        {int_or("cache_write_tokens", "0")} AS cache_write_tokens,
        {int_or("output_tokens", "0")} AS output_tokens,
        {_num("cost_usd")} AS reported_cost_usd
        {extra}
    """


def first_violation(con, src_sql: str, timezone: str | None, loc_expr: str):
    """(location, field, message, value) of the first bad row, or None.

    Runs single-threaded so row_number() follows the file's order.
    """
    rules = checks(timezone)
    flags = ", ".join(f"coalesce({c.bad}, FALSE) AS c{i}" for i, c in enumerate(rules))
    values = ", ".join(
        f"CAST(src.\"{c.field}\" AS VARCHAR) AS v{i}" for i, c in enumerate(rules)
    )
    any_bad = " OR ".join(f"c{i}" for i in range(len(rules)))
    threads = con.execute("SELECT current_setting('threads')").fetchone()[0]
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
