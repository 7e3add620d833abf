"""The canonical usage record as CSV, Parquet or JSON Lines (usage-record.md)."""

from __future__ import annotations

import csv
from pathlib import Path

import duckdb

from forecast.errors import DataFormatError
from forecast.records import typed_select
from forecast.schema import CANONICAL_COLUMNS, NUMERIC_COLUMNS, REQUIRED_COLUMNS
from forecast.sources.base import Source, SourceContext, Staged
from forecast.sources.peek import Peek, first_record


def _readers(path: Path) -> dict[str, tuple[str, str, str]]:
    quoted = str(path).replace("'", "''")
    return {
        # (reader SQL, location of row _rn, what the location counts)
        "csv": (f"read_csv('{quoted}', all_varchar = true, header = true)", "src._rn + 1", "line"),
        "parquet": (f"read_parquet('{quoted}')", "src._rn", "record"),
        "jsonl": (
            f"read_json('{quoted}', format = 'newline_delimited', records = true)",
            "src._rn",
            "line",
        ),
    }


def _kind(path: Path, peeked: Peek) -> str:
    if peeked.kind in ("csv", "parquet", "jsonl"):
        return peeked.kind
    raise DataFormatError(
        "canonical files are CSV, Parquet or JSON Lines (one record per line)", file=str(path)
    )


def _ragged(path: Path, peeked: Peek) -> None:
    """Raise for the first line whose field count is not the header's. DuckDB's sniffer
    reads a short line (often the last, cut off) as another dialect and then reports
    columns missing from a header that has them all; this says which line is wrong."""
    if peeked.kind != "csv" or path.suffix.lower() != ".csv" or not peeked.header:
        return
    with path.open(newline="", encoding="utf-8-sig", errors="replace") as handle:
        try:
            for number, row in enumerate(csv.reader(handle), start=1):
                if row and len(row) != len(peeked.header):
                    raise DataFormatError(
                        f"line has {len(row)} field(s); the header has {len(peeked.header)}",
                        file=str(path),
                        line=number,
                    )
        except csv.Error:
            return  # not even CSV the csv module reads: DuckDB's own message stands


def stage(con: duckdb.DuckDBPyConnection, path: Path, ctx: SourceContext, peeked: Peek) -> Staged:
    kind = _kind(path, peeked)
    reader, loc, label = _readers(path)[kind]
    try:
        described = con.execute(f"DESCRIBE SELECT * FROM {reader}").fetchall()
    except duckdb.Error as exc:
        _ragged(path, peeked)
        raise DataFormatError(
            f"cannot read as canonical {_kind(path, peeked)}: {str(exc).splitlines()[0]}",
            file=str(path),
        ) from None
    columns = [row[0] for row in described]
    stripped = {c.strip(): c for c in columns}
    missing = [c for c in REQUIRED_COLUMNS if c not in stripped]
    if missing:
        _ragged(path, peeked)
        raise DataFormatError(
            f"missing required column(s): {', '.join(missing)}",
            file=str(path),
            line=1 if label == "line" else None,
            value=", ".join(columns),
            hint="the canonical columns are " + ", ".join(CANONICAL_COLUMNS),
        )
    unknown = [c for c in stripped if c not in CANONICAL_COLUMNS and not c.startswith(("x_", "_"))]
    if unknown:
        raise DataFormatError(
            f"unknown column(s): {', '.join(unknown)}",
            file=str(path),
            line=1 if label == "line" else None,
            hint="the canonical columns are "
            + ", ".join(CANONICAL_COLUMNS)
            + "; prefix your own columns with x_ to keep them out of the ledger",
        )
    select = ", ".join(
        f'CAST("{stripped[c]}" AS VARCHAR) AS "{c}"' if c in stripped else f'NULL::VARCHAR AS "{c}"'
        for c in CANONICAL_COLUMNS
    )
    typed = typed_select(stripped, quote=lambda c: f'"{stripped[c]}"')
    typed_reader = reader
    if label == "line" and kind == "csv":
        # Let the CSV reader parse numbers itself: much faster than casting text.
        types = ", ".join(
            f"'{raw}': '{'DOUBLE' if c in NUMERIC_COLUMNS else 'VARCHAR'}'"
            for c, raw in stripped.items()
        )
        typed_reader = reader.replace("all_varchar = true", f"types = {{{types}}}")
    return Staged(
        sql=f"SELECT {select} FROM {reader}",
        typed_sql=f"SELECT {typed} FROM {typed_reader}",
        loc_sql=loc,
        loc_label=label,
        has_request_id="request_id" in stripped,
        timezone=ctx.timezone,
        columns=frozenset(c for c in CANONICAL_COLUMNS if c in stripped),
    )


def sniff(path: Path, peeked: Peek) -> bool:
    if peeked.kind == "parquet":
        return True
    if peeked.kind == "csv":
        names = set(peeked.header)
    elif peeked.kind == "jsonl":
        names = set(first_record(peeked.first))
    else:
        return False
    return set(REQUIRED_COLUMNS) <= names


SOURCE = Source(
    name="canonical",
    description="costcast's own usage record: CSV, Parquet or JSON Lines",
    stage=stage,
    sniff=sniff,
)
