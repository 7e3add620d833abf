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

from forecast.schema import BUCKETS, NUMERIC_COLUMNS, SERVICE_TIERS, STATUSES

BAD_ROW_MARKER = "costcast-invalid-row"
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


def _has_offset(text: str) -> str:
    """SQL: the date-time text ends in Z, +hh:mm, +hhmm or +hh (a date alone does not count)."""
    return (
        f"(suffix(upper({text}), 'Z') OR (length({text}) > 16 AND ("
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
            f"NOT {_has_offset(raw_ts)} AND TRY_CAST({raw_ts} AS TIMESTAMP) IS NOT NULL"
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


def normalized_select(timezone: str | None, requests_default: str = "1") -> str:
    """SELECT list turning a *typed* staged row into ledger values (see ``Staged.typed_sql``).

    Numbers arrive as DOUBLE and text as VARCHAR, so each rule costs a
    comparison, not a parse. ``_guard`` is 0 on good rows and aborts the
    query on the first bad one; ``first_violation`` then says which and why.
    """
    whole = "({x} IS NOT NULL AND {x} >= 0 AND {x} = trunc({x}) AND {x} < " + f"{_MAX_EXACT})"
    optional = f"({{x}} IS NULL OR {whole})"

    def num(col: str) -> str:
        return f'src."{col}"'

    ok = " AND ".join(
        [
            "src._ts IS NOT NULL",
            "src._model IS NOT NULL",
            f"coalesce(src._bucket, '1h') IN ({_sql_list(BUCKETS)})",
            f"coalesce(src._status, 'success') IN ({_sql_list(STATUSES)})",
            f"coalesce(src._tier, 'standard') IN ({_sql_list(SERVICE_TIERS)})",
            whole.format(x=num("input_tokens")),
            whole.format(x=num("output_tokens")),
            optional.format(x=num("requests")),
            optional.format(x=num("cached_input_tokens")),
            optional.format(x=num("cache_write_tokens")),
            f"coalesce({num('cached_input_tokens')}, 0) <= {num('input_tokens')}",
            f"coalesce({num('cache_write_tokens')}, 0) <= "
            f"{num('input_tokens')} - coalesce({num('cached_input_tokens')}, 0)",
            f"({num('cost_usd')} IS NULL OR {num('cost_usd')} >= 0)",
        ]
    )

    def text(col: str) -> str:
        return f"NULLIF(trim(src.\"{col}\"), '')"

    def count(col: str, default: int | str) -> str:
        return f"coalesce(CAST({num(col)} AS BIGINT), {default})"

    return f"""
        CASE WHEN coalesce({ok}, FALSE) THEN 0 ELSE CAST(error('{BAD_ROW_MARKER}') AS BIGINT)
        END AS _guard,
        date_trunc('hour', src._ts) AS ts,
        CASE WHEN src._bucket = '1d' THEN '1d' ELSE '1h' END AS bucket,
        coalesce({text("team")}, 'unassigned') AS team,
        coalesce({text("feature")}, 'unassigned') AS feature,
        src._model AS model,
        coalesce(lower({text("provider")}), '') AS provider,
        coalesce(src._tier, 'standard') AS service_tier,
        coalesce(src._status, 'success') AS status,
        coalesce({text("user")}, '') AS "user",
        coalesce({text("deployment")}, '') AS deployment,
        {count("requests", requests_default)} AS requests,
        {count("input_tokens", 0)} AS input_tokens,
        {count("cached_input_tokens", 0)} AS cached_input_tokens,
        {count("cache_write_tokens", 0)} AS cache_write_tokens,
        {count("output_tokens", 0)} AS output_tokens,
        {num("cost_usd")} AS reported_cost_usd
    """


def typed_source(typed_sql: str, timezone: str | None) -> str:
    """Wrap a typed staged relation with the derived columns ``normalized_select`` reads."""

    def low(col: str) -> str:
        return f"lower(NULLIF(trim(t.\"{col}\"), ''))"

    ts = _ts_expr(timezone, "trim(t.timestamp)")
    return f"""SELECT t.*, {ts} AS _ts, NULLIF(trim(t.model), '') AS _model,
                      {low("bucket")} AS _bucket, {low("status")} AS _status,
                      {low("service_tier")} AS _tier
               FROM ({typed_sql}) t"""


def typed_select(columns_present, quote=lambda c: f'"{c}"') -> str:
    """SELECT list casting text columns to the types ``normalized_select`` expects."""
    from forecast.schema import CANONICAL_COLUMNS

    parts = []
    for col in CANONICAL_COLUMNS:
        kind = "DOUBLE" if col in NUMERIC_COLUMNS else "VARCHAR"
        if col in columns_present:
            # CAST, not TRY_CAST: a value that is not a number must stop the ingest.
            parts.append(f'CAST({quote(col)} AS {kind}) AS "{col}"')
        else:
            parts.append(f'NULL::{kind} AS "{col}"')
    return ", ".join(parts)


def first_violation(con, src_sql: str, timezone: str | None, loc_expr: str):
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
        ).fetchall()
    finally:
        con.execute(f"SET threads = {threads}")
    if not row:
        return None
    row = row[0]
    where = row[0]
    n = len(rules)
    for i, rule in enumerate(rules):
        if row[1 + i]:
            return where, rule.field, rule.message, row[1 + n + i]
    return None
