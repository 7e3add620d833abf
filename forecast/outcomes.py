"""Outcomes: whether the work the LLM calls were for succeeded, imported beside the usage.

Two shapes of file (CSV with a header, or JSON Lines), told apart by their columns:

- per request: ``request_id, outcome``, the outcome ``success``, ``failure`` or a score
  from 0 to 1 (0.7 counts as 0.7 of a success); it covers the usage rows of that
  request id;
- per day and group: ``date, team, feature, successes, attempts`` (successes <= attempts);
  it covers that team's feature's usage of that day.

The KPIs add, per group and period (``outcome_kpis``):

- ``successful_outcomes`` and ``outcome_attempts``: the sums of the covered outcomes;
- ``resolution_rate`` = successful_outcomes / outcome_attempts;
- ``cost_per_successful_outcome`` = the cost of the covered usage / successful_outcomes.

Where a day's group has outcomes per day, those count and its per-request outcomes are
left out (the same work is not counted twice). Outcomes per day have no model, user or
deployment: grouped by any of those, only per-request outcomes count. Without outcomes the
columns are empty, never zero.

An import is all files or none; the same file again changes nothing; an outcome for a
request id or a (date, team, feature) imported before replaces the earlier one.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal

import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, field_validator

from forecast.errors import DataFormatError
from forecast.ingest import file_sha256
from forecast.ledger import Ledger
from forecast.pricing.book import PriceBook
from forecast.records import GROUP_HASH
from forecast.request_index import OUTCOME_GROUP_DDL, match
from forecast.rowfile import RowFile, read_file, validated
from forecast.schema import UsageDay
from forecast.usage import cost_sum, key_columns, priced_usage_sql

OUTCOMES_DDL = """
CREATE SEQUENCE IF NOT EXISTS outcome_import_seq;
CREATE TABLE IF NOT EXISTS outcome_imports (
    import_id BIGINT PRIMARY KEY, file VARCHAR NOT NULL, sha256 VARCHAR NOT NULL,
    kind VARCHAR NOT NULL, rows BIGINT NOT NULL, added BIGINT NOT NULL,
    replaced BIGINT NOT NULL, imported_at TIMESTAMP NOT NULL
);
CREATE TABLE IF NOT EXISTS outcome_requests (
    request_id VARCHAR NOT NULL, success DOUBLE NOT NULL, import_id BIGINT NOT NULL,
    g UBIGINT  -- the usage group its request went into (forecast.request_index); NULL: none yet
);
CREATE TABLE IF NOT EXISTS outcome_days (
    day DATE NOT NULL, team VARCHAR NOT NULL, feature VARCHAR NOT NULL,
    successes BIGINT NOT NULL, attempts BIGINT NOT NULL, import_id BIGINT NOT NULL
);
"""
WORDS = {"success": 1.0, "failure": 0.0}


class RequestOutcome(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    request_id: str = Field(min_length=1, max_length=500)
    # the words become 1 and 0 before validation, so a valid row always holds the score
    outcome: Annotated[float, Field(ge=0, le=1)] | Literal["success", "failure"]

    @field_validator("outcome", mode="before")
    @classmethod
    def _score(cls, value: Any) -> Any:
        if isinstance(value, str) and value.strip().lower() in WORDS:
            return WORDS[value.strip().lower()]
        if isinstance(value, bool) or not isinstance(value, int | float | str):
            raise ValueError("an outcome is success, failure or a score from 0 to 1")
        try:
            return float(value)
        except ValueError:
            raise ValueError("an outcome is success, failure or a score from 0 to 1") from None


class DayOutcome(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    date: UsageDay  # outside 1971-2200 no usage can be there to cost it
    team: str = Field(min_length=1, max_length=200)
    feature: str = Field(min_length=1, max_length=200)
    successes: int = Field(ge=0, le=10**15)
    attempts: int = Field(ge=1, le=10**15)

    def model_post_init(self, context: object) -> None:
        if self.successes > self.attempts:
            raise ValueError(f"successes ({self.successes}) cannot pass attempts "
                             f"({self.attempts})")  # fmt: skip


SHAPES: dict[str, type[BaseModel]] = {"request": RequestOutcome, "day": DayOutcome}


def outcomes_json_schema() -> str:
    """The JSON Schema of one outcome record, either shape (kept in schemas/outcomes.json)."""
    import json

    schema = {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": "costcast outcome record",
        "description": "One row of an outcomes file (CSV or JSON Lines): per request, or per "
        "day and team's feature.",
        "oneOf": [model.model_json_schema() for model in SHAPES.values()],
    }
    return json.dumps(schema, indent=2) + "\n"


@dataclass
class OutcomeImport:
    path: str
    kind: str
    rows: int
    added: int
    replaced: int
    unmatched: int  # request ids the ledger's usage does not hold (yet)
    skipped: bool = False  # the same file was imported before


def import_outcomes(ledger: Ledger, paths: Sequence[Path]) -> list[OutcomeImport]:
    """Import outcome files (see the module docstring): all of them or none."""
    parsed = []
    for raw in paths:
        path = Path(raw)
        file = read_file(path)
        kind = _shape(file)
        rows = validated(file, SHAPES[kind], "outcomes")
        # the last of a file's outcomes for one request or day-group is the one it means
        frame = pd.DataFrame([r.model_dump() for _, r in rows])
        key = ["request_id"] if kind == "request" else ["date", "team", "feature"]
        parsed.append((path, kind, len(rows), frame.drop_duplicates(key, keep="last")))
    results = []
    with ledger.transaction() as con:
        ledger.create_tables(OUTCOMES_DDL + OUTCOME_GROUP_DDL)
        for path, kind, count, frame in parsed:
            results.append(_import_one(con, path, kind, count, frame))
    return results


def _shape(file: RowFile) -> str:
    names = set(file.columns)
    if "request_id" in names:
        return "request"
    if "date" in names:
        return "day"
    raise DataFormatError(
        "not an outcomes file: it needs request_id and outcome, or date, team, feature, "
        "successes and attempts",
        file=str(file.path), line=1,
    )  # fmt: skip


def _import_one(con: Any, path: Path, kind: str, count: int, frame: pd.DataFrame) -> OutcomeImport:
    digest = file_sha256(path)
    if con.execute("SELECT 1 FROM outcome_imports WHERE sha256 = ?", [digest]).fetchall():
        return OutcomeImport(str(path), kind, count, 0, 0, 0, skipped=True)
    import_id = con.execute("SELECT nextval('outcome_import_seq')").fetchall()[0][0]
    con.register("_outcomes", frame)
    if kind == "request":
        same = "o.request_id = n.request_id"
        table, select = (
            "outcome_requests",
            f"SELECT request_id, outcome, {import_id}, NULL FROM _outcomes",
        )
    else:
        same = "o.day = n.date AND o.team = n.team AND o.feature = n.feature"
        table = "outcome_days"
        select = f"SELECT date, team, feature, successes, attempts, {import_id} FROM _outcomes"
    (replaced,) = con.execute(
        f"SELECT count(*) FROM {table} o JOIN _outcomes n ON {same}"
    ).fetchall()[0]
    con.execute(f"DELETE FROM {table} o USING _outcomes n WHERE {same}")
    con.execute(f"INSERT INTO {table} {select}")
    unmatched = 0
    if kind == "request":
        match(con)
        (unmatched,) = con.execute(
            "SELECT count(*) FROM outcome_requests WHERE import_id = ? AND g IS NULL",
            [import_id],
        ).fetchall()[0]
    con.unregister("_outcomes")
    added = len(frame) - replaced
    con.execute(
        "INSERT INTO outcome_imports VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        [import_id, str(path), digest, kind, count, added, replaced,
         dt.datetime.now(dt.UTC).replace(tzinfo=None)],
    )  # fmt: skip
    return OutcomeImport(str(path), kind, count, added, replaced, unmatched)


def outcome_imports(ledger: Ledger) -> pd.DataFrame:
    """Every outcomes import, oldest first."""
    if not ledger.has_table("outcome_imports"):
        return pd.DataFrame(columns=["import_id", "file", "sha256", "kind", "rows", "added",
                                     "replaced", "imported_at"])  # fmt: skip
    return ledger.con.execute("SELECT * FROM outcome_imports ORDER BY import_id").df()


def outcome_kpis_sql(
    ledger: Ledger, book: PriceBook, keys: list[str], freq: str,
    start: dt.date | None, end: dt.date | None,
) -> str | None:  # fmt: skip
    """SQL, per group and period: ``successful_outcomes``, ``outcome_attempts`` and the cost
    of the usage they cover (``outcome_cost_usd``, unknown where the book cannot price part
    of it); no rows without outcomes. None where no outcomes were imported."""
    stored = ledger.has_table("outcome_imports")
    cols = key_columns(keys)
    period = f"CAST(date_trunc('{freq}', {{}}) AS DATE) AS period_start"
    # each outcome's usage group, as matched when it or its usage arrived: the ledger's
    # request keys are not read here (10M of them took 0.04-0.19 s a read)
    matched = "SELECT g, success FROM outcome_requests WHERE g IS NOT NULL"
    # outcomes per day have no model, user or deployment: they count in groupings without
    per_day, per_request = _kinds(ledger, matched) if stored else (False, False)
    daily = per_day and set(keys) <= {"team", "feature"}
    # a team's feature's day with outcomes per day: its per-request outcomes do not count
    day_of = "(team, feature, CAST(ts AS DATE)) IN (SELECT team, feature, day FROM outcome_days)"
    parts = []
    if per_request:
        # only the usage groups outcomes name are priced: a few of the ledger's rows
        priced = priced_usage_sql(ledger, book, start, end, strict=False,
                                  only=f"{GROUP_HASH} IN (SELECT g FROM matched)")  # fmt: skip
        parts.append(f"""
            WITH matched AS MATERIALIZED ({matched}),
            usage_groups AS (
                SELECT {GROUP_HASH} AS g, {period.format("u.ts")} {key_columns(keys, "u")},
                       sum(requests) AS requests, {cost_sum()} AS cost
                FROM ({priced}) u WHERE {f"NOT {day_of}" if daily else "TRUE"}
                GROUP BY ALL)
            -- a request costs its group's cost per request: the ledger keeps hours, not calls
            SELECT period_start {cols}, m.success AS successes, 1 AS attempts,
                   u.cost / u.requests AS cost
            FROM matched m JOIN usage_groups u ON u.g = m.g""")  # fmt: skip
    if daily:
        priced = priced_usage_sql(ledger, book, start, end, strict=False, daily=True,
                                  dims=("team", "feature"), only=day_of)  # fmt: skip
        parts.append(f"""
            SELECT {period.format("d.day")} {key_columns(keys, "d")},
                   d.successes AS successes, d.attempts AS attempts,
                   CASE WHEN c.day IS NULL THEN 0 ELSE c.cost END AS cost
            FROM outcome_days d LEFT JOIN (
                SELECT CAST(ts AS DATE) AS day, team, feature, {cost_sum()} AS cost
                FROM ({priced}) GROUP BY ALL
            ) c ON c.day = d.day AND c.team = d.team AND c.feature = d.feature
            WHERE {_day_range("d.day", start, end)}""")  # fmt: skip
    if not parts:
        return None
    covered = " UNION ALL ".join(f"({part})" for part in parts)
    return f"""SELECT period_start {cols}, sum(successes) AS successful_outcomes,
                      CAST(sum(attempts) AS BIGINT) AS outcome_attempts,
                      CASE WHEN bool_or(cost IS NULL) THEN NULL
                           ELSE CAST(sum(CAST(cost AS DECIMAL(38, 12))) AS DOUBLE) END
                          AS outcome_cost_usd
               FROM ({covered}) GROUP BY ALL"""


def _kinds(ledger: Ledger, matched: str) -> tuple[bool, bool]:
    """Whether any outcomes per day, and any per request matched to usage, are stored (one
    question, remembered until a commit)."""

    def read() -> tuple[bool, bool]:
        # fetchall, not fetchone: a result left unfinished stops the connection registering
        # a frame next
        days, requests = ledger.con.execute(
            f"SELECT EXISTS (SELECT 1 FROM outcome_days), EXISTS ({matched})"
        ).fetchall()[0]
        return bool(days), bool(requests)

    return ledger.remember(("outcome kinds", matched), read)


def _day_range(column: str, start: dt.date | None, end: dt.date | None) -> str:
    bounds = [
        f"{column} >= DATE '{start}'" if start else "",
        f"{column} <= DATE '{end}'" if end else "",
    ]
    return " AND ".join(b for b in bounds if b) or "TRUE"
