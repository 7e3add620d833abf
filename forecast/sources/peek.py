"""A cheap first look at a file, shared by every adapter's sniffer."""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from forecast.errors import DataFormatError

_HEAD_BYTES = 256 * 1024
TOO_DEEP = "JSON nested too deeply: no usage export nests more than a few levels"


@dataclass
class Peek:
    kind: str  # "csv", "json", "jsonl", "parquet" or "unknown"
    header: list[str] = field(default_factory=list)  # CSV column names
    first: object = None  # first JSON document or JSON Lines record


def peek(path: Path) -> Peek:
    try:
        size = path.stat().st_size
        with path.open("rb") as fh:
            head = fh.read(_HEAD_BYTES)
    except OSError as exc:
        raise DataFormatError(f"cannot read file: {exc.strerror}", file=str(path)) from None
    if size == 0 or not head.strip():
        raise DataFormatError("file is empty", file=str(path))
    if head.startswith(b"PAR1"):
        return Peek("parquet")
    text = head.decode("utf-8-sig", errors="replace")
    stripped = text.lstrip()
    if stripped.startswith(("{", "[")):
        first_line = stripped.split("\n", 1)[0].strip()
        try:
            return Peek("jsonl", first=json.loads(first_line))
        except (json.JSONDecodeError, RecursionError):
            pass
        return Peek("json", first=_whole_json(path))
    # the first line, whatever ends it (old Mac files end lines with a bare CR)
    lines = text.splitlines()
    try:
        header = next(csv.reader(io.StringIO(lines[0] if lines else "")), [])
    except csv.Error as exc:
        raise DataFormatError(f"not a CSV header: {exc}", file=str(path), line=1) from None
    return Peek("csv", header=[h.strip() for h in header])


def _whole_json(path: Path) -> object:
    try:
        return json.loads(path.read_text(encoding="utf-8-sig"))
    except (json.JSONDecodeError, UnicodeDecodeError):
        return None
    except RecursionError:
        raise DataFormatError(TOO_DEEP, file=str(path)) from None


def first_record(doc: object) -> dict[str, Any]:
    """The first object in a document that may be a list (of pages or records)."""
    while isinstance(doc, list):
        if not doc:
            return {}
        doc = doc[0]
    return doc if isinstance(doc, dict) else {}
