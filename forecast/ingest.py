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
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import xxhash

from forecast.errors import CostcastError, DataFormatError
from forecast.ledger import Ledger
from forecast.pricing.book import PriceBook
from forecast.records import (
    BAD_ROW_MARKER,
    first_violation,
    in_ledger_form,
    ledger_groups,
    raw_groups,
    trimmed_or_null,
)
from forecast.schema import CANONICAL_COLUMNS, NUMERIC_COLUMNS
from forecast.sources import detect_source, get_source
from forecast.sources.base import SourceContext, Staged
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
    previous: tuple | None = None
    origin: str | None = None  # what the log records instead of the local path (uploads)
    digest: Future[str] | None = None

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
) -> list[IngestResult]:
    """Ingest every file or none: any error leaves the ledger exactly as it was.

    ``origins``, one per path, is what the ingest log records as each file's
    path (e.g. ``upload:usage.csv``), for files that only exist for this call.
    """
    context = context or SourceContext()
    con = ledger.con
    planned: list[_Planned] = []
    hasher = ThreadPoolExecutor(max_workers=1)
    try:
        for index, raw in enumerate(paths):
            planned.append(_plan(con, Path(raw), fmt, context, planned, hasher))
            if origins is not None:
                planned[-1].origin = origins[index]
        try:
            with ledger.transaction():
                results = []
                for item in planned:
                    if on_file:
                        on_file(item.path)
                    results.append(_ingest_one(con, item))
        except _BadRow as bad:
            raise _describe_bad_row(con, bad.planned, bad.engine_message) from None
        except duckdb.Error as exc:
            raise DataFormatError(
                f"cannot read: {_first_line(exc)}", file=str(planned[-1].path)
            ) from None
    finally:
        for name, value in _SETTINGS_BACK.items():
            con.execute(f"SET {name} = {value}")
        hasher.shutdown(wait=True, cancel_futures=True)
        for item in planned:
            if item.staged:
                item.staged.cleanup()
    if book is not None:
        _note_unpriced(con, results, book)
    return results


def _plan(con, path: Path, fmt, context: SourceContext, earlier, hasher) -> _Planned:
    if not path.is_file():
        raise DataFormatError("file not found", file=str(path))
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
    item.source, item.staged = source.name, source.stage(con, path, context, peeked)
    return item


def _ingest_one(con, item: _Planned) -> IngestResult:
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


_RID = "src._rid"
# Carried out of the one pass over the file: every row's key, in groups of one kind
# (a second, filtered list would cost as much as the first).
_KEY_LIST = ("src.by_content", "_by_content", "list(src.k0) AS _keys")


def _content_key(identity: str) -> str:
    cols = ", ".join(f'src."{c}"' for c in CANONICAL_COLUMNS if c != "request_id")
    return "hash('{}', {})".format(identity.replace("'", "''"), cols)


def _row_key_sql(staged: Staged, identity: str) -> str:
    """SQL for one row's key; identical id-less rows still need their occurrence number."""
    content = _content_key(identity)
    if not staged.has_request_id:
        return content
    return f"CASE WHEN {_RID} IS NOT NULL THEN hash('rid', {_RID}) ELSE {content} END"


def keyed_rows(staged: Staged, identity: str) -> str:
    """The staged rows with their key ``k0`` and whether it is a content key (``by_content``)."""
    by_content = f"{_RID} IS NULL" if staged.has_request_id else "TRUE"
    return (
        f"SELECT *, {_row_key_sql(staged, identity)} AS k0, {by_content} AS by_content "
        f"FROM (SELECT *, {trimmed_or_null('request_id')} AS _rid FROM ({staged.typed_sql})) src"
    )


def _insert_rows(con, item: _Planned, ingest_id: int) -> IngestResult:
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
        con.execute(f"CREATE OR REPLACE TEMP TABLE _raw AS {groups(rows, _KEY_LIST)}")
        form = in_ledger_form("SELECT * FROM _raw", staged.columns, "_by_content")
        # Checks every row, through its group: rows the ledger has already must be valid too.
        checked = ledger_groups("SELECT * FROM _raw", ready=con.execute(form).fetchall()[0][0])
        keys = _file_keys(con)
        if len(keys) == 0:
            raise DataFormatError("the file has a header but no rows", file=str(item.path))
        with ThreadPoolExecutor(max_workers=1) as sorter:
            sorting = sorter.submit(_sorted, keys)
            con.register("_filekeys", pa.table({"k": keys}))
            # Asked apart: DuckDB would probe an empty table with every key.
            overlap = con.execute("SELECT EXISTS (SELECT 1 FROM row_keys)").fetchall()[0][0]
            if overlap:
                overlap = con.execute(
                    "SELECT EXISTS (SELECT 1 FROM _filekeys SEMI JOIN row_keys USING (k))"
                ).fetchall()[0][0]
            if not overlap:
                _insert_in_time_order(con, f"INSERT INTO usage SELECT *, {tail} FROM ({checked})")
            ordered = sorting.result()
        repeated = ordered[1:] == ordered[:-1]
        repeats, present = int(np.count_nonzero(repeated)), 0
        if not overlap and not repeats:
            _insert_keys(con, "_filekeys", ingest_id)
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
                _insert_fresh_rows(con, rows, groups, tail, ingest_id)
            else:
                again = np.unique(ordered[1:][repeated])
                _insert_rows_with_new_ids(con, rows, groups, tail, ingest_id, overlap, again)
            con.unregister("_newkeys")
        revised = _revised_buckets(con, rows, ingest_id) if staged.revisable else None
        con.unregister("_filekeys")
        con.execute("DROP TABLE _raw")
    except duckdb.Error as exc:
        # The transaction is aborted now; its rollback also drops the temp tables.
        raise _BadRow(item, _first_line(exc)) from None
    notes = list(staged.notes)
    if revised:
        notes.append(revised)
    if repeats:
        notes.append(f"{repeats} row(s) repeat a request_id seen earlier in the file; counted once")
    distinct = len(keys) - repeats
    return IngestResult(
        str(item.path), item.source, len(keys), distinct - present, present, ingest_id, notes
    )


# Settings changed for one statement, and the ledger's own value they go back to.
_SETTINGS_BACK = {"preserve_insertion_order": "false", "force_compression": "'auto'"}


@contextmanager
def _setting(con, name: str, value: str):
    con.execute(f"SET {name} = {value}")
    try:
        yield
    finally:
        # In an aborted transaction this fails too; ingest_files resets it after the rollback.
        with suppress(duckdb.Error):
            con.execute(f"SET {name} = {_SETTINGS_BACK[name]}")


def _insert_in_time_order(con, insert: str) -> None:
    """Insert groups sorted by hour: whole row groups (a parallel, unordered insert leaves
    partial ones that the checkpoint at close rewrites, 0.4 s for 550k rows), and each
    ingest's rows laid out in time, which is how usage is read."""
    with _setting(con, "preserve_insertion_order", "true"):
        con.execute(f"{insert} ORDER BY ts")


def _insert_keys(con, keys_sql: str, ingest_id: int) -> None:
    """Store row keys uncompressed: they are 64-bit hashes, and even sorted, bit-packing
    saves a quarter of their size for twice the insert time (0.65 s against 0.3 s for 10M)."""
    with _setting(con, "force_compression", "'uncompressed'"):
        con.execute(f"INSERT INTO row_keys (k, ingest_id) SELECT k, {ingest_id} FROM {keys_sql}")


def _insert_rows_with_new_ids(
    con, rows: str, groups, tail: str, ingest_id: int, overlap: bool, again: np.ndarray
) -> None:
    """Every row has its own request id: read the file again for the rows whose id is
    new (a longer version of a log), each id once (ids ``again`` in the file: the
    first occurrence DuckDB meets counts). Only rows of repeated ids are numbered."""
    keys, fresh = "_newkeys", rows
    if overlap:
        con.execute(
            "CREATE OR REPLACE TEMP TABLE _fresh AS "
            "SELECT k FROM _newkeys ANTI JOIN row_keys USING (k)"
        )
        keys, fresh = "_fresh", f"SELECT r.* FROM ({rows}) r SEMI JOIN _fresh ON r.k0 = _fresh.k"
    if len(again):
        con.register("_again", pa.table({"k": again}))
        fresh = f"""SELECT f.* FROM ({fresh}) f ANTI JOIN _again a ON f.k0 = a.k
                    UNION ALL
                    SELECT * FROM (SELECT f.* FROM ({fresh}) f SEMI JOIN _again a ON f.k0 = a.k)
                    QUALIFY row_number() OVER (PARTITION BY k0) = 1"""
    if con.execute(f"SELECT EXISTS (SELECT 1 FROM {keys})").fetchall()[0][0]:
        _insert_in_time_order(
            con, f"INSERT INTO usage SELECT *, {tail} FROM ({ledger_groups(groups(fresh))})"
        )
        _insert_keys(con, keys, ingest_id)
    if len(again):
        con.unregister("_again")
    con.execute("DROP TABLE IF EXISTS _fresh")


def _insert_fresh_rows(con, rows: str, groups, tail: str, ingest_id: int) -> None:
    """The slow path: number and filter the rows one by one, then group what is new."""
    con.execute(
        f"""CREATE OR REPLACE TEMP TABLE _rows AS
            SELECT *, CASE WHEN by_content
                       THEN hash(k0, row_number() OVER (PARTITION BY k0) - 1)
                       ELSE k0 END AS _k
            FROM ({rows})"""
    )
    fresh = """SELECT * FROM _rows ANTI JOIN row_keys ON _rows._k = row_keys.k
               QUALIFY row_number() OVER (PARTITION BY _k) = 1"""
    _insert_in_time_order(
        con, f"INSERT INTO usage SELECT *, {tail} FROM ({ledger_groups(groups(fresh))})"
    )
    _insert_keys(con, "_newkeys ANTI JOIN row_keys USING (k)", ingest_id)
    con.execute("DROP TABLE _rows")


def _revised_buckets(con, rows: str, ingest_id: int) -> str | None:
    """Compare each provider bucket's numbers with the same bucket ingested before.

    The ledger keeps the first numbers it saw (re-ingesting adds nothing), so
    a download with revised numbers must say so rather than drop them quietly.
    Bucket files are small: this reads the staged rows a second time.
    """
    numbers = ", ".join(f'src."{c}"' for c in NUMERIC_COLUMNS)
    con.execute(
        f"""CREATE OR REPLACE TEMP TABLE _buckets AS
            SELECT k0 AS k, hash('numbers', {numbers}) AS c FROM ({rows}) src WHERE NOT by_content"""
    )
    earlier, changed = con.execute(
        f"""SELECT list(DISTINCT r.ingest_id ORDER BY r.ingest_id), count(DISTINCT b.k)
            FROM _buckets b JOIN bucket_numbers r USING (k)
            WHERE r.ingest_id <> {ingest_id} AND r.numbers <> b.c"""
    ).fetchall()[0]
    inside = con.execute(
        "SELECT count(*) FROM (SELECT k FROM _buckets GROUP BY k HAVING count(DISTINCT c) > 1)"
    ).fetchall()[0][0]
    # The buckets this ingest brought in; the others keep the numbers already recorded.
    con.execute(
        f"""INSERT INTO bucket_numbers
            SELECT k, {ingest_id}, min(c) FROM _buckets SEMI JOIN
                (SELECT k FROM row_keys WHERE ingest_id = {ingest_id}) USING (k)
            GROUP BY k"""
    )
    con.execute("DROP TABLE _buckets")
    parts = []
    if changed:
        ids = " ".join(map(str, earlier))
        parts.append(
            f"{changed} bucket(s) were ingested before (ingest {', '.join(map(str, earlier))}) "
            "with other numbers; the ledger keeps the earlier numbers. To take this file's "
            f"instead: costcast ingests remove {ids}, then ingest the files you still want"
        )
    if inside:
        parts.append(
            f"{inside} bucket(s) appear more than once in this file with different numbers"
        )
    return "; ".join(parts) or None


def _file_keys(con) -> pa.ChunkedArray:
    """Every row's key; identical id-less rows get their occurrence number hashed in,
    so each one counts. Left in DuckDB's Arrow chunks: copying 10M keys into one array
    costs a tenth of a second of page faults, which the sorting thread pays instead."""
    by_id = con.sql("SELECT _keys FROM _raw WHERE NOT _by_content").to_arrow_table()
    by_content = con.sql(
        """SELECT hash(k0, unnest(range(n))) AS k FROM
               (SELECT k0, count(*) AS n FROM (SELECT unnest(_keys) AS k0 FROM _raw WHERE _by_content)
                GROUP BY k0)"""
    ).to_arrow_table()
    flat = pc.list_flatten(by_id["_keys"])
    return pa.chunked_array([*flat.chunks, *by_content["k"].chunks], type=pa.uint64())


def _sorted(keys: pa.ChunkedArray) -> np.ndarray:
    """The keys in order, to find repeats: a sort beats a hash table on 10M keys, and
    needs no GIL. Sorted in place, as int64 (numpy's SIMD sort covers int64): each
    fresh 80 MB array costs a tenth of a second of page faults."""
    ordered = np.concatenate([c.to_numpy().view(np.int64) for c in keys.chunks if len(c)])
    ordered.sort()
    return ordered.view(np.uint64)


def _describe_bad_row(con, item: _Planned, engine_message: str) -> CostcastError:
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


def _note_unpriced(con, results: list[IngestResult], book: PriceBook) -> None:
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
            result.notes.append(
                "no price for model(s) "
                + ", ".join(unpriced)
                + ": add them to prices.entries in costcast.yaml before reporting cost"
            )


def _first_line(exc: Exception) -> str:
    return str(exc).strip().splitlines()[0]
