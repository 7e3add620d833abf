"""Ingest usage exports into the ledger: atomic across all files, idempotent per row.

Each source row gets a 64-bit key: its request id where it has one, else a
hash of its content and the file's name (plus the row's occurrence number,
so two identical rows in one file both count). Keys of every row ever
ingested are kept, so re-ingesting a file, or a longer version of it, adds
only rows not seen before.

The common case (no row seen before) reads the file once: a validating,
aggregating pass that aborts on the first bad row and carries each hourly
group's row keys along. A file with a request id on every row that
overlaps the ledger (a longer version of a log) or repeats an id is read
again for its new ids, and only the rows of repeated ids are numbered.
Files with rows keyed by content that repeat or overlap take the slowest
path: every row is materialised and numbered.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pyarrow as pa
import xxhash
from duckdb import DuckDBPyConnection

from forecast import request_index, rollup, rollup_cost
from forecast.errors import CostcastError, DataFormatError
from forecast.frame import zone_problem
from forecast.ledger import Ledger
from forecast.overlap import check_policy, find_overlaps, record, settle
from forecast.pricing.book import PriceBook
from forecast.records import (
    BAD_ROW_MARKER,
    first_violation,
    in_ledger_form,
    ledger_groups,
    raw_groups,
)
from forecast.row_keys import (
    KEY_LIST,
    SETTINGS_BACK,
    file_keys,
    insert_fresh_rows,
    insert_in_time_order,
    insert_keys,
    insert_rows_with_new_ids,
    keyed_rows,
    revised_buckets,
    sorted_keys,
)
from forecast.sources import detect_source, get_source
from forecast.sources.base import (
    SHAPE_ERRORS,
    SourceContext,
    Staged,
    require_file,
    shape_problem,
)
from forecast.sources.peek import peek


@dataclass
class IngestResult:
    path: str
    format: str
    rows_read: int
    rows_added: int
    rows_present: int
    ingest_id: int | None = None
    notes: list[str] = field(default_factory=list)


@dataclass
class _Planned:
    path: Path
    hasher: ThreadPoolExecutor
    source: str = ""
    staged: Staged | None = None  # None: this exact file was ingested before
    previous: tuple[Any, ...] | None = None
    origin: str | None = None  # what the log records instead of the local path (uploads)
    digest: Future[str] | None = None
    on_overlap: str = "refuse"  # rows without ids another file brought: see forecast.overlap

    def start_hash(self) -> Future[str]:
        """Hash in the background, on whichever core the ledger leaves free."""
        if self.digest is None:
            self.digest = self.hasher.submit(file_content_hash, self.path)
        return self.digest

    @property
    def content_hash(self) -> str:
        return self.start_hash().result()


class _BadRow(Exception):
    """Raised inside the transaction; explained after the rollback, when queries work again."""

    def __init__(self, planned: _Planned, engine_message: str) -> None:
        self.planned = planned
        self.engine_message = engine_message


def file_content_hash(path: Path) -> str:
    """XXH3-128 of the file (``xxh128sum`` prints the same hex).

    The hash names a file's content so the same file is not read twice; it is
    not a signature, and the ingest of a large file has no CPU to spare: XXH3
    costs 0.2 s per GB here, BLAKE3 0.5 s and SHA-256 1.0 s.
    """
    digest = xxhash.xxh3_128()
    # Chunks that stay in cache, and not a memory map: a mapped file's pages
    # count towards peak RSS.
    buffer = bytearray(1 << 16)
    view = memoryview(buffer)
    with path.open("rb", buffering=0) as fh:
        while n := fh.readinto(buffer):
            digest.update(view[:n])
    return "xxh3_128:" + digest.hexdigest()


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        while chunk := fh.read(1 << 22):
            digest.update(chunk)
    return digest.hexdigest()


def ingest_files(
    ledger: Ledger,
    paths: Sequence[str | Path],
    *,
    fmt: str | None = None,
    context: SourceContext | None = None,
    book: PriceBook | None = None,
    on_file: Callable[[Path], None] | None = None,
    origins: Sequence[str] | None = None,
    on_overlap: str = "refuse",
) -> list[IngestResult]:
    """Ingest every file or none: any error leaves the ledger exactly as it was.

    ``origins``, one per path, is what the ingest log records as each file's
    path (e.g. ``upload:usage.csv``), for files that only exist for this call.
    ``on_overlap`` says what to do with rows without request ids that another
    file of the same source brought already (``forecast.overlap``).
    """
    check_policy(on_overlap)
    context = context or SourceContext()
    # checked before any file is read: a file whose times all carry offsets never asks the
    # zone, and a wrong one would pass unnoticed until a file without them came
    if context.timezone is not None and (problem := zone_problem(context.timezone)):
        raise CostcastError(problem, param="timezone", value=context.timezone)
    con = ledger.con
    planned: list[_Planned] = []
    hasher = ThreadPoolExecutor(max_workers=1)
    try:
        for index, raw in enumerate(paths):
            planned.append(_plan(con, Path(raw), fmt, context, planned, hasher))
            if origins is not None:
                planned[-1].origin = origins[index]
            planned[-1].on_overlap = on_overlap
        try:
            with ledger.transaction():
                results = []
                for item in planned:
                    if on_file:
                        on_file(item.path)
                    results.append(_ingest_one(con, item))
                added = [r.ingest_id for r in results if r.ingest_id is not None]
                rollup.check_totals(con, added, [item.path for item in planned])
                rollup.sync(con, None if book is None else partial(rollup_cost.price, ledger, book))
        except _BadRow as bad:
            raise _describe_bad_row(con, bad.planned, bad.engine_message) from None
        except duckdb.Error as exc:
            raise DataFormatError(
                f"cannot read: {_first_line(exc)}", file=str(planned[-1].path)
            ) from None
    finally:
        for name, value in SETTINGS_BACK.items():
            con.execute(f"SET {name} = {value}")
        hasher.shutdown(wait=True, cancel_futures=True)
        for item in planned:
            if item.staged:
                item.staged.cleanup()
    if book is not None:
        _note_unpriced(con, results, book)
    return results


def _plan(
    con: DuckDBPyConnection,
    path: Path,
    fmt: str | None,
    context: SourceContext,
    earlier: list[_Planned],
    hasher: ThreadPoolExecutor,
) -> _Planned:
    require_file(path)
    peeked = peek(path)
    source = get_source(fmt) if fmt else detect_source(path, peeked)
    size = path.stat().st_size
    item = _Planned(path, hasher)
    # Only a file of a size seen before can repeat an earlier one: only then is its hash needed now.
    # And only an ingest that added every row it read vouches for them all being in the ledger
    # (rows another ingest brought may have been removed since).
    if con.execute("SELECT count(*) FROM ingests WHERE bytes = ?", [size]).fetchall()[0][0]:
        found = con.execute(
            """SELECT path, format, rows_read FROM ingests
               WHERE content_hash = ? AND rows_added = rows_read ORDER BY ingest_id LIMIT 1""",
            [item.content_hash],
        ).fetchall()
        if found:
            item.previous, item.source = found[0], found[0][1]
            return item
    same = next(
        (
            p
            for p in earlier
            if p.path.stat().st_size == size and p.content_hash == item.content_hash
        ),
        None,
    )
    if same is not None:
        item.previous, item.source = (str(same.path), same.source, None), same.source
        return item
    item.start_hash()  # staging reads the file's head on one core: the other hashes
    try:
        staged = source.stage(con, path, context, peeked)
    except CostcastError:
        raise
    except (*SHAPE_ERRORS, RecursionError, UnicodeError) as exc:  # an adapter missed a shape
        raise DataFormatError(
            f"not a valid {source.name} file ({shape_problem(exc)})", file=str(path)
        ) from None
    item.source, item.staged = source.name, staged
    return item


def _ingest_one(con: DuckDBPyConnection, item: _Planned) -> IngestResult:
    ingest_id = con.execute("SELECT nextval('ingest_id_seq')").fetchall()[0][0]
    if item.staged is None:
        assert item.previous is not None  # planned as a file ingested before
        rows = item.previous[2]
        if rows is None:  # same content given twice in one command
            rows = con.execute(
                "SELECT rows_read FROM ingests WHERE content_hash = ? ORDER BY ingest_id LIMIT 1",
                [item.content_hash],
            ).fetchall()[0][0]
        result = IngestResult(
            str(item.path),
            item.source,
            rows,
            0,
            rows,
            ingest_id,
            [f"same content as {item.previous[0]}, already ingested"],
        )
    else:
        result = _insert_rows(con, item, ingest_id)
    con.execute(
        "INSERT INTO ingests VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [
            ingest_id,
            item.origin or str(item.path.resolve()),
            item.path.name,
            item.content_hash,
            item.path.stat().st_size,
            item.source,
            result.rows_read,
            result.rows_added,
            result.rows_present,
            dt.datetime.now(dt.UTC).replace(tzinfo=None),
        ],
    )
    return result


# Long on purpose: the one-pass insert and its fallbacks share the staged file's SQL and keys (see the module docstring).
def _insert_rows(con: DuckDBPyConnection, item: _Planned, ingest_id: int) -> IngestResult:
    """Aggregate the file to ledger grain in one pass, carrying each row's key along.

    Most files repeat no row, so their groups are inserted while the keys
    are sorted to prove it. When a key repeats inside the file or is
    already in the ledger, that insert is not made (or taken back) and the
    new rows are found again from the file (see the module's docstring).
    """
    staged = item.staged
    assert staged is not None  # a file ingested before has no rows to insert
    rows = keyed_rows(staged, item.path.name)

    def groups(rows: str, carry: tuple[str, str, str] | None = None) -> str:
        return raw_groups(rows, staged.timezone, staged.requests_default, carry, staged.columns)

    tail = f"'{item.source}', {ingest_id}"
    try:
        con.execute(f"CREATE OR REPLACE TEMP TABLE _raw AS {groups(rows, KEY_LIST)}")
        form = in_ledger_form("SELECT * FROM _raw", staged.columns, "_by_content")
        # Checks every row, through its group: rows the ledger has already must be valid too.
        ready = bool(con.execute(form).fetchall()[0][0])
        checked = ledger_groups("SELECT * FROM _raw", ready=ready)
        overlap_notes = _settle_overlaps(con, item, ingest_id)
        keys = file_keys(con)
        if len(keys) == 0:
            raise DataFormatError("the file has a header but no rows", file=str(item.path))
        with ThreadPoolExecutor(max_workers=1) as sorter:
            sorting = sorter.submit(sorted_keys, keys)
            con.register("_filekeys", pa.table({"k": keys}))
            # Asked apart: DuckDB would probe an empty table with every key.
            overlap = con.execute("SELECT EXISTS (SELECT 1 FROM row_keys)").fetchall()[0][0]
            if overlap:
                overlap = con.execute(
                    "SELECT EXISTS (SELECT 1 FROM _filekeys SEMI JOIN row_keys USING (k))"
                ).fetchall()[0][0]
            if not overlap:
                insert_in_time_order(con, f"INSERT INTO usage SELECT *, {tail} FROM ({checked})")
            ordered = sorting.result()
        repeated = ordered[1:] == ordered[:-1]
        repeats, present = int(np.count_nonzero(repeated)), 0
        if not overlap and not repeats:
            insert_keys(con, "_filekeys", ingest_id)
        else:
            con.register("_newkeys", pa.table({"k": ordered[np.concatenate(([True], ~repeated))]}))
            if overlap:
                con.execute(f"SELECT sum(output_tokens) FROM ({checked})").fetchall()
                present = con.execute(
                    "SELECT count(*) FROM _newkeys SEMI JOIN row_keys USING (k)"
                ).fetchall()[0][0]
            else:  # repeats inside the file only: take back the optimistic insert
                con.execute("DELETE FROM usage WHERE ingest_id = ?", [ingest_id])
            without_id = con.execute("SELECT bool_or(_by_content) FROM _raw").fetchall()[0][0]
            if without_id:
                insert_fresh_rows(con, rows, groups, tail, ingest_id)
            else:
                again = np.unique(ordered[1:][repeated])
                insert_rows_with_new_ids(con, rows, groups, tail, ingest_id, overlap, again)
            con.unregister("_newkeys")
        revised = revised_buckets(con, rows, ingest_id) if staged.revisable else None
        if staged.has_request_id:
            request_index.index_requests(con, ingest_id, bool(overlap), bool(repeats), ready)
            request_index.match(con, ingest_id)  # outcomes imported before their usage
        con.unregister("_filekeys")
        con.execute("DROP TABLE _raw")
    except duckdb.Error as exc:
        # The transaction is aborted now; its rollback also drops the temp tables.
        raise _BadRow(item, _first_line(exc)) from None
    notes = [*staged.notes, *overlap_notes]
    if revised:
        notes.append(revised)
    if repeats:
        notes.append(f"{repeats} row(s) repeat a request_id seen earlier in the file; counted once")
    distinct = len(keys) - repeats
    return IngestResult(
        str(item.path), item.source, len(keys), distinct - present, present, ingest_id, notes
    )


def _settle_overlaps(con: DuckDBPyConnection, item: _Planned, ingest_id: int) -> list[str]:
    """Rows keyed by content that other files of this source brought already: refused,
    replaced or kept as the caller chose (``forecast.overlap``)."""
    if not con.execute("SELECT bool_or(_by_content) FROM _raw").fetchall()[0][0]:
        return []
    record(con, ingest_id)
    overlaps = find_overlaps(con, "SELECT * FROM _raw WHERE _by_content", item.source,
                             item.path.name)  # fmt: skip
    if not overlaps:
        return []
    span = con.execute("SELECT min(ts), max(ts) FROM _raw").fetchall()[0]
    return settle(con, overlaps, item.on_overlap, span, item.source, str(item.path))


def _describe_bad_row(
    con: DuckDBPyConnection, item: _Planned, engine_message: str
) -> CostcastError:
    staged = item.staged
    assert staged is not None  # only rows being inserted can be bad
    try:
        found = first_violation(con, staged.sql, staged.timezone, staged.loc_sql)
    except duckdb.Error as exc:  # the text reader failed too: the file itself is malformed
        return DataFormatError(f"cannot read: {_first_line(exc)}", file=str(item.path))
    if found is None:
        # No rule explains it: the engine's own message (a malformed CSV line, say) is the best we have.
        message = engine_message.replace(BAD_ROW_MARKER, "invalid row")
        return DataFormatError(f"cannot read: {message}", file=str(item.path))
    where, field_name, message, value = found
    loc = {"line": where} if staged.loc_label == "line" else {"record": where}
    return DataFormatError(message, file=str(item.path), field=field_name, value=value, **loc)


def _note_unpriced(con: DuckDBPyConnection, results: list[IngestResult], book: PriceBook) -> None:
    for result in results:
        if not result.rows_added:
            continue
        models = [
            m
            for (m,) in con.execute(
                "SELECT DISTINCT model FROM usage WHERE ingest_id = ?", [result.ingest_id]
            ).fetchall()
        ]
        unpriced = sorted(m for m in models if book.resolve(m) is None)
        if unpriced:
            example = unpriced[0]
            result.notes.append(
                "warning: no price for model(s) " + ", ".join(unpriced) + ": their cost shows "
                "as unknown in usage and they are left out of forecasts until you add them "
                "to costcast.yaml, e.g.\n  prices:\n    entries:\n      - {model: "
                f"{example}, effective: 2025-01-01, input: 1.00, output: 4.00}}  # USD per 1M"
            )


def _first_line(exc: Exception) -> str:
    return str(exc).strip().splitlines()[0]
