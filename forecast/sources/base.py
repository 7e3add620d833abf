"""What every source adapter returns: a staged relation of canonical text columns."""

from __future__ import annotations

import json
import stat
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, overload

import duckdb
import pandas as pd

from forecast.attribution import AttributionRule
from forecast.errors import CostcastError, DataFormatError
from forecast.records import typed_select
from forecast.schema import CANONICAL_COLUMNS
from forecast.sources.peek import TOO_DEEP, Peek


@dataclass(frozen=True)
class SourceContext:
    """What an adapter may need beyond the file: zone for offset-less times, attribution rules."""

    timezone: str | None = None
    attribution: Sequence[AttributionRule] = ()


@dataclass
class Staged:
    """A staged file: every canonical column, as text (``sql``) and typed (``typed_sql``).

    The ledger reads ``typed_sql`` (numbers as DOUBLE, the rest VARCHAR);
    ``sql`` is only read to explain a bad row.

    ``loc_sql`` gives each row's position for error messages, in terms of
    ``src._rn`` (row number in file order) or ``src._loc`` (set by the adapter);
    ``loc_label`` says what that number is ("line" or "record").
    """

    sql: str
    typed_sql: str
    loc_sql: str
    loc_label: str
    has_request_id: bool
    timezone: str | None = None
    # SQL for a missing request count: one request per row, unless the source
    # cannot count requests at all (then NULL: unknown, never a silent zero).
    requests_default: str = "1"
    # Canonical columns the file has; the others are NULL throughout, never grouped or summed.
    columns: frozenset[str] = frozenset(CANONICAL_COLUMNS)
    # Rows are a provider's usage buckets, keyed by bucket: a later download of the
    # same bucket may carry revised numbers, which the ingest reports.
    revisable: bool = False
    notes: list[str] = field(default_factory=list)
    cleanup: Callable[[], None] = lambda: None


@dataclass(frozen=True)
class Source:
    name: str
    description: str
    stage: Callable[[duckdb.DuckDBPyConnection, Path, SourceContext, Peek], Staged]
    # Cheap look at the first bytes / first record: True when the file is this format.
    sniff: Callable[[Path, Peek], bool]


def frame_from_records(
    records: Iterable[Mapping[str, object]],
    path: Path,
    what: str = "usage records",
) -> pd.DataFrame:
    """Canonical text frame from adapter records; each record carries ``_loc`` for errors."""
    rows = shaped_records(records, path, what)
    if not rows:
        raise DataFormatError(f"no {what} found in the file", file=str(path))
    frame = pd.DataFrame(rows)
    out = pd.DataFrame({"_loc": frame["_loc"].astype("int64")})
    for col in CANONICAL_COLUMNS:
        if col in frame:
            out[col] = frame[col].map(_as_text).astype(object)
        else:
            out[col] = pd.Series([None] * len(frame), dtype=object)
    return out


# What reading a record of the wrong shape raises (a list where an object should be, a
# number where a string, a missing key): the file's mistake, never costcast's.
SHAPE_ERRORS = (AttributeError, TypeError, KeyError, IndexError, ValueError, OverflowError)


def shaped_records(records: Iterable[Mapping[str, object]], path: Path, what: str) -> list[Any]:
    """Every record, or a located error for the first one not shaped as the format says."""
    rows: list[Any] = []
    iterator = iter(records)
    while True:
        try:
            row = next(iterator)
        except StopIteration:
            return rows
        except CostcastError:
            raise
        except SHAPE_ERRORS as exc:
            after = rows[-1].get("_loc") if rows else None
            where = f"after record {after}" if after is not None else "in the first record"
            raise DataFormatError(
                f"{what}: a record {where} is not shaped as this format's ({shape_problem(exc)})",
                file=str(path),
            ) from None
        rows.append(row)


def shape_problem(exc: Exception) -> str:
    """A shape error in words, without Python's type names where they say nothing."""
    text = str(exc).replace("'NoneType' object", "null").replace("'str' object", "a string")
    text = text.replace("'list' object", "a list").replace("'int' object", "a number")
    text = text.replace("'dict' object", "an object").replace("'float' object", "a number")
    return text[:160] or type(exc).__name__


def _as_text(value: object) -> str | None:
    if value is None or (isinstance(value, float) and value != value):
        return None
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def stage_frame(
    con: duckdb.DuckDBPyConnection,
    frame: pd.DataFrame,
    name: str,
    loc_label: str,
    *,
    timezone: str | None = None,
    notes: list[str] | None = None,
) -> Staged:
    con.register(name, frame)
    has_ids = bool(frame["request_id"].notna().any())
    return Staged(
        sql=f"SELECT * FROM {name}",
        typed_sql=f"SELECT _loc, {typed_select(CANONICAL_COLUMNS)} FROM {name}",
        loc_sql="src._loc",
        loc_label=loc_label,
        has_request_id=has_ids,
        timezone=timezone,
        notes=notes or [],
        cleanup=lambda: _unregister(con, name),
    )


def _unregister(con: duckdb.DuckDBPyConnection, name: str) -> None:
    con.unregister(name)


def read_json_documents(path: Path) -> list[tuple[int, object]]:
    """A JSON file (one document, or an array of documents) or JSON Lines, as (line, doc)."""
    text = read_text(path)
    if not text.strip():
        raise DataFormatError("file is empty", file=str(path))
    stripped = text.lstrip()
    if path.suffix.lower() in (".jsonl", ".ndjson") or (
        not stripped.startswith("[") and _looks_like_lines(stripped)
    ):
        docs = []
        for lineno, line in enumerate(text.splitlines(), start=1):
            if not line.strip():
                continue
            try:
                docs.append((lineno, json.loads(line)))
            except json.JSONDecodeError as exc:
                raise DataFormatError(
                    f"not valid JSON: {exc.msg}", file=str(path), line=lineno
                ) from None
            except RecursionError:
                raise DataFormatError(TOO_DEEP, file=str(path), line=lineno) from None
        return docs
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as exc:
        raise DataFormatError(
            f"not valid JSON: {exc.msg}", file=str(path), line=exc.lineno
        ) from None
    except RecursionError:
        raise DataFormatError(TOO_DEEP, file=str(path)) from None
    return [(1, doc)]


def _looks_like_lines(text: str) -> bool:
    first = text.split("\n", 1)[0].strip()
    if not first.startswith("{"):
        return False
    try:
        json.loads(first)
    except json.JSONDecodeError:
        return False
    return "\n" in text.strip()


def require_file(path: Path) -> None:
    """A located error unless ``path`` is a file this process can read."""
    try:
        mode = path.stat().st_mode
    except FileNotFoundError:
        raise DataFormatError("file not found", file=str(path)) from None
    except OSError as exc:  # a name too long, a file in place of a folder on its way
        raise DataFormatError(f"cannot read: {exc.strerror}", file=str(path)) from None
    if stat.S_ISDIR(mode):
        raise DataFormatError("a folder, not a file: name the files in it", file=str(path))
    if not stat.S_ISREG(mode):
        raise DataFormatError("not a regular file", file=str(path))


def read_text(path: Path) -> str:
    """The file as UTF-8 text (a BOM dropped); a located error where it is not UTF-8."""
    try:
        return path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as exc:
        raise DataFormatError(f"not UTF-8 text (byte {exc.start})", file=str(path)) from None


@overload
def require_int(
    value: object, path: Path, where: dict[str, Any], field: str, required: Literal[True] = True
) -> int: ...
@overload
def require_int(
    value: object, path: Path, where: dict[str, Any], field: str, required: bool
) -> int | None: ...
def require_int(
    value: object, path: Path, where: dict[str, Any], field: str, required: bool = True
) -> int | None:
    """A JSON token count, or a DataFormatError naming the record and field."""
    if value is None:
        if required:
            raise DataFormatError(f"{field} is missing", file=str(path), field=field, **where)
        return 0
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise DataFormatError(
            f"{field} must be a whole number", file=str(path), field=field, value=value, **where
        )
    try:
        number = float(value)
    except ValueError:
        raise DataFormatError(
            f"{field} must be a whole number", file=str(path), field=field, value=value, **where
        ) from None
    if not number.is_integer():
        raise DataFormatError(
            f"{field} must be a whole number", file=str(path), field=field, value=value, **where
        )
    if number < 0:
        raise DataFormatError(
            f"{field} must not be negative", file=str(path), field=field, value=value, **where
        )
    return int(number)


def expect(condition: bool, message: str, path: Path, **where: Any) -> None:
    if not condition:
        raise DataFormatError(message, file=str(path), **where)


def mapping(value: object, message: str, path: Path, **where: Any) -> dict[str, Any]:
    """``value`` if it is a JSON object, else the located error ``message``."""
    if not isinstance(value, dict):
        raise DataFormatError(message, file=str(path), **where)
    return value


def iso_utc(seconds: float) -> str:
    """Unix seconds as an ISO 8601 UTC date-time."""
    import datetime as dt

    return dt.datetime.fromtimestamp(seconds, dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def bucket_for(seconds: float, path: Path, where: dict[str, Any]) -> str:
    """A bucket's width in seconds as the canonical 1m / 1h / 1d."""
    widths: dict[float, str] = {60: "1m", 3600: "1h", 86400: "1d"}
    if seconds not in widths:
        raise DataFormatError(
            "bucket is not 1 minute, 1 hour or 1 day long",
            file=str(path),
            value=f"{seconds} seconds",
            **where,
        )
    return widths[seconds]


def flatten(prefix: str, value: object, out: dict[str, Any]) -> dict[str, Any]:
    """{'a': {'b': 1}} -> {'prefix.a.b': 1}: attribution rules match on dotted names."""
    if isinstance(value, dict):
        for key, inner in value.items():
            flatten(f"{prefix}.{key}" if prefix else str(key), inner, out)
    elif value is not None and not isinstance(value, list):
        out[prefix] = value
    return out
