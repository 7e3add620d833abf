"""Deployments: when a team's feature changed, which explains a change in its cost.

They come from three places, merged by ``deployment_starts``:

- the usage records' ``deployment`` column: a value starts at the first hour it appears
  on a team's feature;
- ``deployments:`` in costcast.yaml;
- files imported with ``costcast deployments import`` (CSV or JSON Lines, the columns of
  ``DeploymentEntry``), kept in the ledger's ``deployments`` table.

A listed deployment names a team, a feature or both: one naming only a team covers every
feature of that team in the usage, one naming only a feature covers it in every team.
Where a listed one has the id of a tagged one on the same feature, the listed time wins
(the first tagged row only shows when traffic reached it). Listed entries with the same
id, team and feature: the config's wins over an import, a later import over an earlier.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, field_validator

from forecast.ledger import Ledger
from forecast.rowfile import read_rows
from forecast.schema import within_years

DEPLOYMENTS_DDL = """
CREATE TABLE IF NOT EXISTS deployments (
    deployment VARCHAR NOT NULL,
    started TIMESTAMP NOT NULL,
    team VARCHAR,
    feature VARCHAR,
    description VARCHAR NOT NULL,
    file VARCHAR NOT NULL,
    imported_at TIMESTAMP NOT NULL
);
"""


class DeploymentEntry(BaseModel):
    """One listed deployment: ``id``, ``time`` (ISO 8601; UTC where it has no offset),
    ``team`` and/or ``feature``, and a free ``description``."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    id: str = Field(min_length=1, max_length=200)
    time: dt.datetime
    team: str | None = Field(default=None, min_length=1, max_length=200)
    feature: str | None = Field(default=None, min_length=1, max_length=200)
    description: str = Field(default="", max_length=2000)

    @field_validator("time")
    @classmethod
    def _utc(cls, value: dt.datetime) -> dt.datetime:
        within_years(value)
        if value.tzinfo is not None:
            value = value.astimezone(dt.UTC).replace(tzinfo=None)
        return value

    def model_post_init(self, context: object) -> None:
        if self.team is None and self.feature is None:
            raise ValueError(f"deployment {self.id!r} names neither a team nor a feature")


@dataclass
class DeploymentImport:
    path: str
    rows: int
    added: int
    changed: int  # stored before with another time or description
    unchanged: int


def import_deployments(ledger: Ledger, paths: Sequence[Path]) -> list[DeploymentImport]:
    """Store the deployments of these files: all files or none. Importing a file again
    replaces its entries (same id, team and feature) instead of adding them twice."""
    parsed = [(Path(p), read_rows(Path(p), DeploymentEntry, "deployments")) for p in paths]
    now = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    results = []
    with ledger.transaction() as con:
        ledger.create_tables(DEPLOYMENTS_DDL)
        for path, rows in parsed:
            # the last of a file's entries with one identity is the one it means
            entries = {_identity(e): e for _, e in rows}
            frame = pd.DataFrame(
                [(e.id, e.time, e.team, e.feature, e.description, str(path), now)
                 for e in entries.values()],
                columns=["deployment", "started", "team", "feature", "description", "file",
                         "imported_at"],
            )  # fmt: skip
            con.register("_listed", frame)
            same = """d.deployment = n.deployment AND d.team IS NOT DISTINCT FROM n.team
                      AND d.feature IS NOT DISTINCT FROM n.feature"""
            replaced, unchanged = con.execute(
                f"""SELECT count(*), count(*) FILTER (WHERE d.started = n.started
                                                     AND d.description = n.description)
                    FROM deployments d JOIN _listed n ON {same}"""
            ).fetchall()[0]
            con.execute(f"DELETE FROM deployments d USING _listed n WHERE {same}")
            con.execute("INSERT INTO deployments SELECT * FROM _listed")
            con.unregister("_listed")
            results.append(DeploymentImport(str(path), len(rows), len(frame) - replaced,
                                            replaced - unchanged, unchanged))  # fmt: skip
    return results


def _identity(e: DeploymentEntry) -> tuple[str, str | None, str | None]:
    return e.id, e.team, e.feature


def listed_deployments(ledger: Ledger, config: Sequence[DeploymentEntry] = ()) -> pd.DataFrame:
    """The imported deployments and the config's (which win on the same identity)."""
    cols = ["deployment", "started", "team", "feature", "description", "source"]
    stored = (
        ledger.con.execute(
            "SELECT deployment, started, team, feature, description, file AS source "
            "FROM deployments ORDER BY imported_at, started"
        ).df()
        if ledger.has_table("deployments")
        else pd.DataFrame(columns=cols)
    )
    given = pd.DataFrame(
        [(e.id, e.time, e.team, e.feature, e.description, "costcast.yaml") for e in config],
        columns=cols,
    )
    parts = [f for f in (stored, given) if not f.empty]
    if not parts:
        return pd.DataFrame(columns=cols).astype({"started": "datetime64[us]"})
    both = pd.concat(parts, ignore_index=True)
    keys = both[["deployment", "team", "feature"]].fillna("\0")  # None is one identity too
    return both[~keys.duplicated(keep="last")].reset_index(drop=True)


def deployment_starts(ledger: Ledger, config: Sequence[DeploymentEntry] = ()) -> pd.DataFrame:
    """Every deployment of every team's feature, tagged or listed (see the module
    docstring): ``team, feature, deployment, started, description, source``, in order."""
    listed = listed_deployments(ledger, config)
    listed["team"] = listed["team"].astype(object)
    listed["feature"] = listed["feature"].astype(object)
    con = ledger.con
    con.register("_listed", listed)
    try:
        return con.execute(
            """WITH tagged AS (
                   SELECT team, feature, deployment, min(ts) AS started FROM usage
                   WHERE deployment <> '' GROUP BY ALL),
               pairs AS (SELECT DISTINCT team, feature FROM usage),
               listed AS (
                   SELECT p.team, p.feature, l.deployment, CAST(l.started AS TIMESTAMP) AS started,
                          l.description, l.source
                   FROM _listed l JOIN pairs p
                     ON (l.team IS NULL OR p.team = l.team)
                    AND (l.feature IS NULL OR p.feature = l.feature))
               SELECT team, feature, deployment,
                      coalesce(l.started, t.started) AS started,
                      coalesce(l.description, '') AS description,
                      coalesce(l.source, 'usage') AS source
               FROM tagged t FULL OUTER JOIN listed l USING (team, feature, deployment)
               ORDER BY started, team, feature, deployment"""
        ).df()
    finally:
        con.unregister("_listed")
