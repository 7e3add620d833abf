"""Small files of signals beside the usage (deployments, outcomes): CSV with a header row,
or JSON Lines (also a JSON array of objects), each row checked by a pydantic model.

The first bad row stops the read with the file, line (of CSV or JSON Lines; record of a
JSON array) and field, so nothing of a bad file is stored.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import TypeVar

from pydantic import BaseModel, ValidationError

from forecast.errors import DataFormatError
from forecast.sources.base import read_json_documents

MAX_BYTES = 256 * 1024 * 1024
Row = TypeVar("Row", bound=BaseModel)


def read_rows(path: Path, model: type[Row], what: str) -> list[tuple[int, Row]]:
    """(line, row) for every row of ``path``; a located ``DataFormatError`` for the first
    that ``model`` refuses, for an unknown column, or for a file with no rows."""
    path = Path(path)
    if not path.is_file():
        raise DataFormatError("file not found", file=str(path))
    if path.stat().st_size > MAX_BYTES:
        raise DataFormatError(f"file is over {MAX_BYTES:,} bytes", file=str(path))
    raw = _json_rows(path) if _is_json(path) else _csv_rows(path, model)
    rows = []
    for line, data in raw:
        try:
            rows.append((line, model.model_validate(data)))
        except ValidationError as exc:
            first = exc.errors()[0]
            value = first.get("input")
            raise DataFormatError(
                first["msg"].removeprefix("Value error, "), file=str(path), line=line,
                # rows are flat: the column, without the union branch pydantic adds
                field=str(first["loc"][0]) if first["loc"] else None,
                value=None if isinstance(value, dict | list) else value,
            ) from None  # fmt: skip
    if not rows:
        raise DataFormatError(f"no {what} in the file", file=str(path))
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


def _csv_rows(path: Path, model: type[BaseModel]) -> list[tuple[int, dict[str, str]]]:
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as exc:
        raise DataFormatError(f"not UTF-8 text (byte {exc.start})", file=str(path)) from None
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = [h.strip() for h in next(reader, [])]
        known = set(model.model_fields)
        unknown = [h for h in header if h not in known]
        if unknown or not header:
            raise DataFormatError(
                f"unknown column {unknown[0]!r}" if unknown else "no header row",
                file=str(path), line=1, hint=f"the columns are: {', '.join(model.model_fields)}",
            )  # fmt: skip
        rows = []
        for cells in reader:
            if not any(c.strip() for c in cells):
                continue
            if len(cells) != len(header):
                raise DataFormatError(
                    f"{len(cells)} cells where the header has {len(header)}",
                    file=str(path), line=reader.line_num,
                )  # fmt: skip
            # an empty cell is a missing value, as in the usage CSV
            rows.append((reader.line_num, {h: c for h, c in zip(header, cells, strict=True)
                                           if c.strip() != ""}))  # fmt: skip
    except csv.Error as exc:
        raise DataFormatError(f"not valid CSV: {exc}", file=str(path), line=reader.line_num) \
            from None  # fmt: skip
    return rows


def columns_of(path: Path) -> list[str]:
    """The header of a CSV file, or the keys of a JSON file's first record (none if it has
    no records or they are not objects): what tells apart the shapes a file may take."""
    path = Path(path)
    if not path.is_file():
        raise DataFormatError("file not found", file=str(path))
    if _is_json(path):
        rows = _json_rows(path)
        first = rows[0][1] if rows else None
        return list(first) if isinstance(first, dict) else []
    with path.open(encoding="utf-8-sig", errors="replace", newline="") as handle:
        try:
            return [h.strip() for h in next(csv.reader(handle), [])]
        except csv.Error as exc:
            raise DataFormatError(f"not valid CSV: {exc}", file=str(path), line=1) from None
