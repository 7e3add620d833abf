"""Small files of signals beside the usage (deployments, outcomes): CSV with a header row,
or JSON Lines (also a JSON array of objects), each row checked by a pydantic model.

The first bad row stops the read with the file, line (of CSV or JSON Lines; record of a
JSON array) and field, so nothing of a bad file is stored.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

from pydantic import BaseModel, ValidationError

from forecast.errors import DataFormatError
from forecast.sources.base import read_json_documents, read_text, require_file

MAX_BYTES = 256 * 1024 * 1024
Row = TypeVar("Row", bound=BaseModel)


@dataclass
class RowFile:
    """A file read once: its columns (a CSV header, or the keys of the first JSON record),
    which tell apart the shapes a file may take, and its rows not yet checked."""

    path: Path
    columns: list[str]
    rows: list[tuple[int, object]]  # (line, a JSON record or a CSV row's cells)
    csv: bool


def read_rows(path: Path, model: type[Row], what: str) -> list[tuple[int, Row]]:
    """(line, row) for every row of ``path``; a located ``DataFormatError`` for the first
    that ``model`` refuses, for an unknown column, or for a file with no rows."""
    return validated(read_file(path), model, what)


def read_file(path: Path) -> RowFile:
    path = Path(path)
    require_file(path)
    if path.stat().st_size > MAX_BYTES:
        raise DataFormatError(f"file is over {MAX_BYTES:,} bytes", file=str(path))
    if _is_json(path):
        rows = _json_rows(path)
        first = rows[0][1] if rows else None
        return RowFile(path, list(first) if isinstance(first, dict) else [], rows, csv=False)
    reader = csv.reader(io.StringIO(read_text(path), newline=""))
    try:
        header = [h.strip() for h in next(reader, [])]
        cells: list[tuple[int, object]] = [(reader.line_num, row) for row in reader]
    except csv.Error as exc:
        raise DataFormatError(f"not valid CSV: {exc}", file=str(path), line=reader.line_num) \
            from None  # fmt: skip
    return RowFile(path, header, cells, csv=True)


def validated(file: RowFile, model: type[Row], what: str) -> list[tuple[int, Row]]:
    """Every row of ``file`` checked by ``model`` (see ``read_rows``)."""
    raw = _csv_records(file, model) if file.csv else file.rows
    rows = []
    for line, data in raw:
        try:
            rows.append((line, model.model_validate(data)))
        except ValidationError as exc:
            first = exc.errors()[0]
            value = first.get("input")
            raise DataFormatError(
                first["msg"].removeprefix("Value error, "), file=str(file.path), line=line,
                # rows are flat: the column, without the union branch pydantic adds
                field=str(first["loc"][0]) if first["loc"] else None,
                value=None if isinstance(value, dict | list) else value,
            ) from None  # fmt: skip
    if not rows:
        raise DataFormatError(f"no {what} in the file", file=str(file.path))
    return rows


def _is_json(path: Path) -> bool:
    if path.suffix.lower() in (".jsonl", ".ndjson", ".json"):
        return True
    if path.suffix.lower() == ".csv":
        return False
    with path.open("rb") as handle:
        head = handle.read(64).lstrip(b"\xef\xbb\xbf \t\r\n")
    return head[:1] in (b"{", b"[")


def _json_rows(path: Path) -> list[tuple[int, object]]:
    docs = read_json_documents(path)
    if len(docs) == 1 and isinstance(docs[0][1], list):
        return list(enumerate(docs[0][1], start=1))  # an array: its record numbers
    return docs


def _csv_records(file: RowFile, model: type[BaseModel]) -> list[tuple[int, object]]:
    """The CSV rows as records of the header's columns, once the header and every row's
    length are known good."""
    header, path = file.columns, str(file.path)
    unknown = [h for h in header if h not in model.model_fields]
    if unknown or not header:
        raise DataFormatError(
            f"unknown column {unknown[0]!r}" if unknown else "no header row",
            file=path, line=1, hint=f"the columns are: {', '.join(model.model_fields)}",
        )  # fmt: skip
    records: list[tuple[int, object]] = []
    for line, cells in file.rows:
        assert isinstance(cells, list)
        if not any(c.strip() for c in cells):
            continue
        if len(cells) != len(header):
            raise DataFormatError(f"{len(cells)} cells where the header has {len(header)}",
                                  file=path, line=line)  # fmt: skip
        # an empty cell is a missing value, as in the usage CSV
        records.append((line, {h: c for h, c in zip(header, cells, strict=True)
                               if c.strip() != ""}))  # fmt: skip
    return records
