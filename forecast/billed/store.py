"""Billed actuals in the ledger file: imported atomically, revised in place.

Providers settle costs for days after the fact, so the same day is often
downloaded again with a different amount. A row is identified by (day,
provider, project, model, line item); importing it again with the same
amount changes nothing, with another amount replaces it, and the import log
says how many of each. A file already imported byte for byte is skipped.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
from duckdb import DuckDBPyConnection

from forecast.billed.sources import read_billed
from forecast.ingest import file_sha256
from forecast.ledger import Ledger

IDENTITY = ("day", "provider", "project", "model", "line_item")


@dataclass
class BilledImport:
    path: str
    format: str
    rows: int
    added: int
    revised: int
    unchanged: int
    amount_usd: float
    import_id: int | None = None
    skipped: bool = False  # the same file was imported before
    notes: list[str] = field(default_factory=list)


def import_billed(
    ledger: Ledger, paths: list[Path], fmt: str | None = None, names: list[str] | None = None
) -> list[BilledImport]:
    """Import billed cost files: all or none. ``names`` label uploads in the log."""
    parsed = []
    for index, path in enumerate(paths):
        path = Path(path)
        name = names[index] if names else str(path)
        kind, frame, notes = read_billed(path, fmt)
        parsed.append((path, name, kind, frame, notes))
    results = []
    with ledger.transaction() as con:
        for path, name, kind, frame, notes in parsed:
            results.append(_import_one(con, path, name, kind, frame, notes))
    return results


def _import_one(
    con: DuckDBPyConnection, path: Path, name: str, kind: str, frame: pd.DataFrame, notes: list[str]
) -> BilledImport:
    digest = file_sha256(path)
    seen = con.execute(
        "SELECT import_id FROM billed_imports WHERE sha256 = ? LIMIT 1", [digest]
    ).fetchall()
    total = float(frame["amount_usd"].sum())
    if seen:
        return BilledImport(
            name, kind, len(frame), 0, 0, len(frame), total, seen[0][0], True, notes
        )
    # several rows of a file (hourly FOCUS rows, pages) may share an identity: one amount per day
    rows = frame.groupby(list(IDENTITY), as_index=False)["amount_usd"].sum()
    con.register("_billed", rows)
    keys = " AND ".join(f"b.{k} = n.{k}" for k in IDENTITY)
    revised, unchanged = con.execute(
        f"""SELECT count(*) FILTER (WHERE abs(b.amount_usd - n.amount_usd) > 1e-9),
                   count(*) FILTER (WHERE abs(b.amount_usd - n.amount_usd) <= 1e-9)
            FROM billed_costs b JOIN _billed n ON {keys}"""
    ).fetchall()[0]
    import_id = con.execute("SELECT nextval('billed_import_seq')").fetchall()[0][0]
    con.execute(f"DELETE FROM billed_costs b USING _billed n WHERE {keys}")
    con.execute(
        """INSERT INTO billed_costs
           SELECT day, provider, project, model, line_item, amount_usd, ?, ? FROM _billed""",
        [kind, import_id],
    )
    con.unregister("_billed")
    added = len(rows) - revised - unchanged
    con.execute(
        "INSERT INTO billed_imports VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [import_id, name, digest, kind, len(frame), added, revised, unchanged, total,
         dt.datetime.now(dt.UTC).replace(tzinfo=None)],
    )  # fmt: skip
    return BilledImport(
        name, kind, len(frame), added, revised, unchanged, total, import_id, False, notes
    )


def list_billed_imports(ledger: Ledger) -> pd.DataFrame:
    if not ledger.has_table("billed_imports"):  # a ledger written before billing existed
        return pd.DataFrame(columns=["import_id", "name", "format", "amount_usd"])
    return ledger.con.execute("SELECT * FROM billed_imports ORDER BY import_id").df()


def billed_daily(
    ledger: Ledger,
    start: dt.date | None = None,
    end: dt.date | None = None,
    by_project: bool = False,
) -> pd.DataFrame:
    """Billed USD per day and provider (and project) in [start, end]."""
    keys = ["day", "provider", *(["project"] if by_project else [])]
    if not ledger.has_table("billed_costs"):
        return pd.DataFrame(columns=[*keys, "billed_usd"])
    clauses, params = [], []
    if start is not None:
        clauses.append("day >= ?")
        params.append(start)
    if end is not None:
        clauses.append("day <= ?")
        params.append(end)
    where = ("WHERE " + " AND ".join(clauses)) if clauses else ""
    return ledger.con.execute(
        f"""SELECT {", ".join(keys)}, sum(amount_usd) AS billed_usd FROM billed_costs {where}
            GROUP BY ALL ORDER BY ALL""",
        params,
    ).df()
