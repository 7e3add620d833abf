"""The canonical usage record (../shared/reference/usage-record.md) and the ledger's tables."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Annotated, TypeVar

from duckdb import DuckDBPyConnection
from pydantic import AfterValidator

# Columns of the canonical record, in the order of usage-record.md.
CANONICAL_COLUMNS: tuple[str, ...] = (
    "timestamp",
    "bucket",
    "team",
    "feature",
    "model",
    "provider",
    "service_tier",
    "status",
    "requests",
    "input_tokens",
    "cached_input_tokens",
    "cache_write_tokens",
    "output_tokens",
    "cost_usd",
    "user",
    "deployment",
    "request_id",
)
REQUIRED_COLUMNS: tuple[str, ...] = ("timestamp", "model", "input_tokens", "output_tokens")
TOKEN_COLUMNS: tuple[str, ...] = (
    "input_tokens",
    "cached_input_tokens",
    "cache_write_tokens",
    "output_tokens",
)
NUMERIC_COLUMNS: tuple[str, ...] = ("requests", *TOKEN_COLUMNS, "cost_usd")
BUCKETS = ("1m", "1h", "1d")
# the years a usage time or an asked day may fall in: each needs weeks of dates around it
FIRST_YEAR, LAST_YEAR = 1971, 2200
STATUSES = ("success", "error")

Day = TypeVar("Day", dt.date, dt.datetime)


def within_years(value: Day) -> Day:
    """A day or time of a file or a request checked against FIRST_YEAR..LAST_YEAR (a pydantic
    validator: its ValueError becomes the field's located error)."""
    if not FIRST_YEAR <= value.year <= LAST_YEAR:
        raise ValueError(f"a day between {FIRST_YEAR} and {LAST_YEAR}")
    return value


# A day a file or a request gives, where usage could lie (scenario changes, outcomes)
UsageDay = Annotated[dt.date, AfterValidator(within_years)]


SERVICE_TIERS = ("standard", "batch", "flex", "priority")

# Dimensions the ledger keeps at hourly grain (user-level detail included).
DIMENSIONS: tuple[str, ...] = (
    "team",
    "feature",
    "model",
    "provider",
    "service_tier",
    "status",
    "user",
    "deployment",
)


def split_keys(by: str | Sequence[str] | None, allowed: tuple[str, ...], verb: str) -> list[str]:
    """``"team, model"`` (or a list) -> ``["team", "model"]``, refusing names not in ``allowed``."""
    from forecast.errors import CostcastError

    keys = [k.strip() for k in by.split(",")] if isinstance(by, str) else list(by or [])
    keys = [k for k in keys if k]
    unknown = [k for k in keys if k not in allowed]
    if unknown:
        raise CostcastError(
            f"cannot {verb} by {', '.join(unknown)}; choose from {', '.join(allowed)}",
            param="by",
        )
    return keys


def _column_ddl(names: tuple[str, ...], sql_type: str) -> str:
    """DDL lines for columns of one type, as the tables below align them ("user" is a
    reserved word: quoted)."""
    quoted = [f'"{n}"' if n == "user" else n for n in names]
    return "\n".join(f"    {n:<20} {sql_type}," for n in quoted)


# usage and usage_daily share these: one list of dimensions and token kinds for both
DIMENSION_DDL = _column_ddl(DIMENSIONS, "VARCHAR NOT NULL")
TOKEN_DDL = _column_ddl(TOKEN_COLUMNS, "BIGINT NOT NULL")

# Per usage group (a hash of its hour and dimensions, records.GROUP_HASH) and ingest, the
# keys (as in row_keys) of its source rows' request ids: what outcomes per request find
# the usage they cover through (forecast/request_index.py).
REQUEST_GROUPS_DDL = """
CREATE TABLE IF NOT EXISTS request_groups (
    g          UBIGINT NOT NULL,
    ingest_id  BIGINT NOT NULL,
    ks         UBIGINT[] NOT NULL
);
"""

LEDGER_DDL = f"""
CREATE SEQUENCE IF NOT EXISTS ingest_id_seq START 1;
CREATE TABLE IF NOT EXISTS ingests (
    ingest_id     BIGINT PRIMARY KEY,
    path          VARCHAR NOT NULL,
    name          VARCHAR NOT NULL,
    content_hash  VARCHAR NOT NULL,  -- 'xxh3_128:<hex>'; older ledgers logged BLAKE3 or SHA-256
    bytes         BIGINT NOT NULL,
    format        VARCHAR NOT NULL,
    rows_read     BIGINT NOT NULL,
    rows_added    BIGINT NOT NULL,
    rows_present  BIGINT NOT NULL,
    ingested_at   TIMESTAMP NOT NULL
);
-- Hourly (or daily, for daily-only sources) buckets, one row per ingest and dimension set.
CREATE TABLE IF NOT EXISTS usage (
    ts                   TIMESTAMP NOT NULL,  -- UTC start of the bucket
    bucket               VARCHAR NOT NULL,    -- '1h' or '1d'
{DIMENSION_DDL}
    requests             BIGINT,              -- NULL where the source does not count requests
{TOKEN_DDL}
    reported_cost_usd    DOUBLE,              -- NULL where the source reports no cost
    source               VARCHAR NOT NULL,
    ingest_id            BIGINT NOT NULL
);
-- One 64-bit key per source row ever ingested: what makes re-ingesting a no-op.
-- Nothing else per key: every column costs a write per source row.
CREATE TABLE IF NOT EXISTS row_keys (
    k          UBIGINT NOT NULL,
    ingest_id  BIGINT NOT NULL
);
-- Ingests that brought rows without a request id (keyed by content): what a later file's
-- such rows are checked against for overlap (forecast/overlap.py).
CREATE TABLE IF NOT EXISTS content_ingests (
    ingest_id  BIGINT NOT NULL
);
{REQUEST_GROUPS_DDL}-- The usage summed to days per ingest (forecast/rollup.py): what readers that need no
-- hours scan instead of the hourly rows, a twentieth of them. Kept in step with usage by
-- every transaction that writes it; ``rows`` counts the usage rows summed.
CREATE TABLE IF NOT EXISTS usage_daily (
    ts                   TIMESTAMP NOT NULL,  -- UTC start of the day
{DIMENSION_DDL}
    requests             BIGINT,
{TOKEN_DDL}
    reported_cost_usd    DECIMAL(38, 12),     -- exact: sums of sums keep every cent
    ingest_id            BIGINT NOT NULL,
    rows                 BIGINT NOT NULL,
    cost_usd             DOUBLE               -- priced by the book rollup_book names
);
-- The book the rollup's cost_usd is priced with (forecast/rollup_cost.py): none, no book's.
CREATE TABLE IF NOT EXISTS rollup_book (
    book       VARCHAR NOT NULL
);
-- The usage's span (forecast/rollup.py): one row, or none in a ledger from before it.
CREATE TABLE IF NOT EXISTS usage_bounds (
    first_ts   TIMESTAMP,  -- the first bucket's start
    last_ts    TIMESTAMP,  -- the last bucket's start
    end_ts     TIMESTAMP   -- and its end (a day bucket lasts a day, any other an hour)
);
-- Provider usage buckets (keyed by bucket): a hash of each one's numbers, to see revisions.
CREATE TABLE IF NOT EXISTS bucket_numbers (
    k          UBIGINT NOT NULL,
    ingest_id  BIGINT NOT NULL,
    numbers    UBIGINT NOT NULL
);
"""

# Forecast runs: immutable once written (see forecast/runstore.py).
RUNS_DDL = """
CREATE TABLE IF NOT EXISTS forecast_runs (
    run_id       VARCHAR PRIMARY KEY,
    created_at   TIMESTAMP NOT NULL,
    as_of        DATE NOT NULL,
    horizon_end  DATE NOT NULL,
    n_paths      INTEGER NOT NULL,
    seed         BIGINT NOT NULL,
    meta         JSON NOT NULL
);
CREATE TABLE IF NOT EXISTS forecast_series (
    run_id VARCHAR NOT NULL, team VARCHAR NOT NULL, feature VARCHAR NOT NULL,
    model VARCHAR NOT NULL, forecaster VARCHAR NOT NULL, score DOUBLE, flag VARCHAR,
    volume_unit VARCHAR NOT NULL, input DOUBLE NOT NULL, cached_input DOUBLE NOT NULL,
    cache_write DOUBLE NOT NULL, output DOUBLE NOT NULL, failure_rate DOUBLE NOT NULL,
    tiers VARCHAR NOT NULL  -- JSON {service_tier: share of tokens}: how the run priced the key
);
-- One row per series: its sample paths as arrays, path-major (element p * n_days + d is
-- path p on day start + d). Reading a run is then one row per series, not per path and day.
CREATE TABLE IF NOT EXISTS forecast_paths (
    run_id VARCHAR NOT NULL, team VARCHAR NOT NULL, feature VARCHAR NOT NULL,
    model VARCHAR NOT NULL, start DATE NOT NULL, n_days INTEGER NOT NULL,
    n_paths INTEGER NOT NULL, volume DOUBLE[] NOT NULL, cost DOUBLE[] NOT NULL
);
-- Tokens of each kind per unit of volume on every forecast day (its trend included): what the
-- run priced each day's volume with, and what scenarios start from.
CREATE TABLE IF NOT EXISTS forecast_intensity (
    run_id VARCHAR NOT NULL, team VARCHAR NOT NULL, feature VARCHAR NOT NULL,
    model VARCHAR NOT NULL, start DATE NOT NULL, n_days INTEGER NOT NULL,
    input DOUBLE[] NOT NULL, cached_input DOUBLE[] NOT NULL, cache_write DOUBLE[] NOT NULL,
    output DOUBLE[] NOT NULL
);
-- The same paths one row per series, day and path, for SQL users.
CREATE OR REPLACE VIEW forecast_path_days AS
SELECT run_id, team, feature, model,
       CAST(start + CAST(i % n_days AS INTEGER) AS DATE) AS ds,
       CAST(i // n_days AS INTEGER) AS path, volume, cost
FROM (SELECT run_id, team, feature, model, start, n_days,
             unnest(range(n_days * n_paths)) AS i, unnest(volume) AS volume, unnest(cost) AS cost
      FROM forecast_paths);
-- USD per million tokens of each kind on every forecast day, as the run priced it: a
-- scenario starts from these, whatever the price book says later.
CREATE TABLE IF NOT EXISTS forecast_prices (
    run_id VARCHAR NOT NULL, team VARCHAR NOT NULL, feature VARCHAR NOT NULL,
    model VARCHAR NOT NULL, start DATE NOT NULL, n_days INTEGER NOT NULL,
    input DOUBLE[] NOT NULL, cached_input DOUBLE[] NOT NULL, cache_write DOUBLE[] NOT NULL,
    output DOUBLE[] NOT NULL
);
-- Per series, fiscal period and path, the period's cost (actuals of its days before the
-- run's first forecast day included): what period tables add up, kept at save.
CREATE TABLE IF NOT EXISTS forecast_period_paths (
    run_id VARCHAR NOT NULL, fiscal_start TINYINT NOT NULL, freq VARCHAR NOT NULL,
    team VARCHAR NOT NULL, feature VARCHAR NOT NULL, model VARCHAR NOT NULL,
    period VARCHAR NOT NULL, paths DOUBLE[] NOT NULL
);
-- The history the run saw for its last year: landing (actuals to date) and charts.
CREATE TABLE IF NOT EXISTS forecast_actuals (
    run_id VARCHAR NOT NULL, team VARCHAR NOT NULL, feature VARCHAR NOT NULL,
    model VARCHAR NOT NULL, ds DATE NOT NULL, volume DOUBLE NOT NULL, cost DOUBLE NOT NULL
);
"""

# What providers billed (see forecast/billed/): kept apart from usage, compared by reconcile.
BILLED_DDL = """
CREATE SEQUENCE IF NOT EXISTS billed_import_seq START 1;
CREATE TABLE IF NOT EXISTS billed_imports (
    import_id BIGINT PRIMARY KEY, name VARCHAR NOT NULL, sha256 VARCHAR NOT NULL,
    format VARCHAR NOT NULL, rows BIGINT NOT NULL, added BIGINT NOT NULL,
    revised BIGINT NOT NULL, unchanged BIGINT NOT NULL, amount_usd DOUBLE NOT NULL,
    imported_at TIMESTAMP NOT NULL
);
CREATE TABLE IF NOT EXISTS billed_costs (
    day DATE NOT NULL, provider VARCHAR NOT NULL, project VARCHAR NOT NULL,
    model VARCHAR NOT NULL, line_item VARCHAR NOT NULL, amount_usd DOUBLE NOT NULL,
    source VARCHAR NOT NULL, import_id BIGINT NOT NULL
);
"""

# Scenario results (forecast/scenario/store.py) and forecast jobs started through the API.
RESULTS_DDL = """
CREATE TABLE IF NOT EXISTS scenario_results (
    result_id VARCHAR PRIMARY KEY, created_at TIMESTAMP NOT NULL, name VARCHAR NOT NULL,
    baseline_run VARCHAR NOT NULL, scenario JSON NOT NULL, result JSON NOT NULL
);
CREATE TABLE IF NOT EXISTS forecast_jobs (
    run_id VARCHAR PRIMARY KEY, status VARCHAR NOT NULL, requested_at TIMESTAMP NOT NULL,
    finished_at TIMESTAMP, request JSON NOT NULL, error JSON
);
"""


def table_exists(con: DuckDBPyConnection, name: str) -> bool:
    """A table or view of that name exists (read from DuckDB's own catalog functions,
    half the time of information_schema, which every command asks a few times)."""
    return bool(
        con.execute(
            """SELECT EXISTS (SELECT 1 FROM duckdb_tables() WHERE table_name = $name
                             UNION ALL
                             SELECT 1 FROM duckdb_views()
                             WHERE view_name = $name AND NOT internal)""",
            {"name": name},
        ).fetchall()[0][0]
    )
