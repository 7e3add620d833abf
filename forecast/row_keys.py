"""How ingest keys source rows and inserts only the new ones (see ``forecast.ingest``).

Every source row gets a 64-bit key: ``hash('rid', request_id)`` where it has a
request id, else a hash of the file's name and its content (plus its occurrence
number, where identical rows repeat). ``row_keys`` keeps every key ever ingested.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from duckdb import DuckDBPyConnection

from forecast.records import ledger_groups, trimmed_or_null
from forecast.schema import CANONICAL_COLUMNS, NUMERIC_COLUMNS
from forecast.sources.base import Staged

_RID = "src._rid"
# Carried out of the one pass over the file: every row's key, in groups of one kind
# (a second, filtered list would cost as much as the first).
KEY_LIST = ("src.by_content", "_by_content", "list(src.k0) AS _keys")


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


# Settings changed for one statement, and the ledger's own value they go back to.
SETTINGS_BACK = {"preserve_insertion_order": "false", "force_compression": "'auto'"}


@contextmanager
def _setting(con: DuckDBPyConnection, name: str, value: str) -> Iterator[None]:
    con.execute(f"SET {name} = {value}")
    try:
        yield
    finally:
        # In an aborted transaction this fails too; ingest_files resets it after the rollback.
        with suppress(duckdb.Error):
            con.execute(f"SET {name} = {SETTINGS_BACK[name]}")


def insert_in_time_order(con: DuckDBPyConnection, insert: str) -> None:
    """Insert groups sorted by hour: whole row groups (a parallel, unordered insert leaves
    partial ones that the checkpoint at close rewrites, 0.4 s for 550k rows), and each
    ingest's rows laid out in time, which is how usage is read."""
    with _setting(con, "preserve_insertion_order", "true"):
        con.execute(f"{insert} ORDER BY ts")


def insert_keys(con: DuckDBPyConnection, keys_sql: str, ingest_id: int) -> None:
    """Store row keys uncompressed: they are 64-bit hashes, and even sorted, bit-packing
    saves a quarter of their size for twice the insert time (0.65 s against 0.3 s for 10M)."""
    with _setting(con, "force_compression", "'uncompressed'"):
        con.execute(f"INSERT INTO row_keys (k, ingest_id) SELECT k, {ingest_id} FROM {keys_sql}")


def insert_rows_with_new_ids(
    con: DuckDBPyConnection,
    rows: str,
    groups: Callable[..., str],
    tail: str,
    ingest_id: int,
    overlap: bool,
    again: np.ndarray,
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
        insert_in_time_order(
            con, f"INSERT INTO usage SELECT *, {tail} FROM ({ledger_groups(groups(fresh))})"
        )
        insert_keys(con, keys, ingest_id)
    if len(again):
        con.unregister("_again")
    con.execute("DROP TABLE IF EXISTS _fresh")


def insert_fresh_rows(
    con: DuckDBPyConnection, rows: str, groups: Callable[..., str], tail: str, ingest_id: int
) -> None:
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
    insert_in_time_order(
        con, f"INSERT INTO usage SELECT *, {tail} FROM ({ledger_groups(groups(fresh))})"
    )
    insert_keys(con, "_newkeys ANTI JOIN row_keys USING (k)", ingest_id)
    con.execute("DROP TABLE _rows")


def revised_buckets(con: DuckDBPyConnection, rows: str, ingest_id: int) -> str | None:
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


def file_keys(con: DuckDBPyConnection) -> pa.ChunkedArray:
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


def sorted_keys(keys: pa.ChunkedArray) -> np.ndarray:
    """The keys in order, to find repeats: a sort beats a hash table on 10M keys, and
    needs no GIL. Sorted in place, as int64 (numpy's SIMD sort covers int64): each
    fresh 80 MB array costs a tenth of a second of page faults."""
    ordered = np.concatenate([c.to_numpy().view(np.int64) for c in keys.chunks if len(c)])
    ordered.sort()
    return ordered.view(np.uint64)
