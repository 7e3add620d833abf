"""Rows without a request id that another file of the same source already brought.

Rows keyed by content are told apart by their file's name (see ``forecast.row_keys``),
so a re-export under another name, or a part of one, would count them again. Before
such a file's rows go in, ingest looks for ledger rows of the same source, from files
of other names, in the same hour (or day) and group, and does what the caller chose:

- ``refuse`` (the default): an ``OverlapError`` naming the ingests and the span;
- ``replace``: those ingests' rows inside the span the file covers go, the file's go in
  (a corrected or partial re-export);
- ``keep``: both stay (the rows are other requests, e.g. a second gateway's log).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from duckdb import DuckDBPyConnection

from forecast.errors import CostcastError, OverlapError
from forecast.records import ledger_groups
from forecast.schema import DIMENSIONS

ON_OVERLAP = ("refuse", "replace", "keep")


@dataclass(frozen=True)
class Overlap:
    ingest_id: int
    name: str
    groups: int  # of the file's hourly (or daily) groups the ingest holds too
    first: dt.datetime
    last: dt.datetime

    def __str__(self) -> str:
        return (
            f"{self.groups} group(s) from {self.first:%Y-%m-%d %H:%M} to {self.last:%Y-%m-%d %H:%M}"
            f" already came from {self.name} (ingest {self.ingest_id})"
        )


def check_policy(on_overlap: str) -> str:
    if on_overlap not in ON_OVERLAP:
        raise CostcastError(
            f"unknown choice {on_overlap!r}; choose from {', '.join(ON_OVERLAP)}",
            param="on_overlap",
        )
    return on_overlap


def find_overlaps(con: DuckDBPyConnection, raw: str, source: str, name: str) -> list[Overlap]:
    """Ingests of ``source`` from files not called ``name`` that hold any group of ``raw``
    (SQL of ``records.raw_groups`` rows)."""
    others = con.execute(
        """SELECT EXISTS (SELECT 1 FROM ingests JOIN content_ingests USING (ingest_id)
                          WHERE format = ? AND name <> ?)""",
        [source, name],
    ).fetchall()[0][0]
    if not others:
        return []
    groups = ledger_groups(raw)
    keys = ", ".join(f'"{d}"' for d in ("ts", "bucket", *DIMENSIONS))
    rows = con.execute(
        f"""SELECT o.ingest_id, any_value(i.name), count(*), min(n.ts), max(n.ts)
            FROM ({groups}) n JOIN usage o USING ({keys})
            JOIN ingests i ON i.ingest_id = o.ingest_id
            SEMI JOIN content_ingests c ON c.ingest_id = o.ingest_id
            WHERE o.source = ? AND i.name <> ?
            GROUP BY o.ingest_id ORDER BY o.ingest_id""",
        [source, name],
    ).fetchall()
    return [Overlap(*row) for row in rows]


def record(con: DuckDBPyConnection, ingest_id: int) -> None:
    """This ingest brought rows without ids: later files are checked against it."""
    con.execute("INSERT INTO content_ingests VALUES (?)", [ingest_id])


def settle(
    con: DuckDBPyConnection,
    overlaps: list[Overlap],
    on_overlap: str,
    span: tuple[Any, ...],
    source: str,
    file: str,
) -> list[str]:
    """Refuse, or make room, as chosen; returns the notes the ingest reports."""
    if not overlaps:
        return []
    named = "; ".join(map(str, overlaps))
    if on_overlap == "refuse":
        first, last = span
        raise OverlapError(
            f"rows without a request id overlap what the ledger has from the same source "
            f"({source}): {named}. Ingesting them would count those requests twice",
            file=file,
            param="on_overlap",
            hint=f"if this file re-exports that span, choose replace (the rows of ingest "
            f"{', '.join(str(o.ingest_id) for o in overlaps)} from {first:%Y-%m-%d %H:%M} to "
            f"{last:%Y-%m-%d %H:%M} give way to this file's); if its rows are other requests, "
            "choose keep (both stay)",
        )
    if on_overlap == "keep":
        return [f"kept both, as asked: {named}"]
    ids = [o.ingest_id for o in overlaps]
    (removed,) = con.execute(
        f"DELETE FROM usage WHERE ingest_id IN ({', '.join('?' * len(ids))}) "
        "AND ts BETWEEN ? AND ?",
        [*ids, *span],
    ).fetchall()[0]
    return [
        f"replaced {removed} ledger row(s) of ingest {', '.join(map(str, ids))} from "
        f"{span[0]:%Y-%m-%d %H:%M} to {span[1]:%Y-%m-%d %H:%M} with this file's ({named})"
    ]
