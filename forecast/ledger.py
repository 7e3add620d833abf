"""The ledger: every usage record, kept in one embedded DuckDB file.

One process may write to a DuckDB file at a time; readers in other processes
open it read-only. Every write is one transaction, so a failed ingest leaves
the file exactly as it was.

Inside one process (the API server), each thread works through its own
``session()`` on the one open database; DuckDB's MVCC lets sessions read
while another writes, and a shared lock makes writes take turns, so two
writers never meet in an optimistic-concurrency conflict.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Hashable, Iterator, Sequence
from contextlib import contextmanager, nullcontext, suppress
from pathlib import Path
from typing import Any, TypeVar, cast

import duckdb
import pandas as pd
from duckdb import DuckDBPyConnection

from forecast import request_index, rollup
from forecast.errors import LedgerError, NotFoundError
from forecast.schema import BILLED_DDL, LEDGER_DDL, RESULTS_DDL, RUNS_DDL, table_exists

# DuckDB would otherwise take 80% of RAM; ingesting 10M rows stays within
# this by spilling to <ledger>.tmp.
DEFAULT_MEMORY_LIMIT = "1GB"
T = TypeVar("T")


class Changes:
    """What this process knows of the ledger, shared by its sessions: how many transactions
    it committed (an answer computed at one count is still the answer while the count
    stands: the process that holds a ledger open for writing is the only one writing it),
    and which tables it has seen."""

    def __init__(self) -> None:
        self.count = 0  # bumped under the write lock, read without it
        # Tables seen to exist from outside any transaction: costcast never drops a ledger
        # table once the layout upgrade at open is done, so a committed table found once is
        # still there (and the catalog lookup costs more than many of the queries that ask).
        # Inside a transaction a table may yet be rolled back: noted when it commits.
        self.tables: set[str] = set()
        # small answers about the ledger (the models in use, whether a table has rows), each
        # with the count it was read at: still the answer while the count stands
        self.answers: dict[Hashable, tuple[int, Any]] = {}


CONVERT_HINT = (
    "costcast converts it the first time it opens the file while no other process "
    "has it open: wait for the other command to finish, then run this one again"
)


class OlderLayoutError(LedgerError):
    """The file was written by an older costcast, and only a writer can convert it."""


class Ledger:
    """An open ledger file. Use as a context manager or call ``close``."""

    def __init__(
        self,
        path: str | Path,
        *,
        read_only: bool = False,
        memory_limit: str = DEFAULT_MEMORY_LIMIT,
        write_lock: threading.Lock | None = None,
    ) -> None:
        self.path = Path(path)
        self.read_only = read_only
        self.write_lock = write_lock
        self.changes = Changes()
        self.registered: dict[str, Any] = {}  # frames registered on this connection, by name
        self.pending: set[str] = set()  # tables seen inside this connection's transaction
        if read_only and not self.path.exists():
            raise LedgerError(
                "ledger not found: ingest usage first (costcast ingest FILE)",
                file=str(self.path),
            )
        self._connect(read_only, memory_limit)
        self.unsettled = 1  # inside the upgrade or a transaction: tables not yet for good
        try:
            try:
                self._upgrade_layout(read_only)
            except OlderLayoutError as older:
                # A reader cannot convert the file: a writer does it first, unless another
                # process has the file open (then the reader is told what to do).
                self.con.close()
                try:
                    Ledger(self.path, memory_limit=memory_limit).close()
                except LedgerError:
                    raise older from None
                self._connect(read_only, memory_limit)
                self._upgrade_layout(read_only)
        except BaseException:
            self.con.close()  # else the file stays open in this process, read-only or not
            raise
        self.unsettled = 0
        self.pending.clear()  # seen while upgrading, outside a transaction: asked again

    def _connect(self, read_only: bool, memory_limit: str) -> None:
        try:
            self.con = duckdb.connect(str(self.path), read_only=read_only)
        except duckdb.IOException as exc:
            text = str(exc).splitlines()[0]
            holder = re.search(r"held in (.+?) \(PID (\d+)\)", text)
            if "lock" in text.lower():
                by = f" (process {holder[2]})" if holder else ""
                raise LedgerError(
                    f"the ledger is in use by another costcast process{by}",
                    file=str(self.path),
                    hint="while `costcast serve` runs, it owns the ledger: work through its API, "
                    "or stop it; otherwise wait for the other command to finish",
                ) from None
            raise LedgerError(f"cannot open the ledger: {text}", file=str(self.path)) from None
        self.con.execute(f"SET memory_limit = '{memory_limit}'")
        self.con.execute("SET preserve_insertion_order = false")
        _session_settings(self.con)

    def _upgrade_layout(self, read_only: bool) -> None:
        """Bring a ledger written by an older costcast to this layout (a writer does it once;
        a reader asks for it), and create the tables of a new one."""
        if self._has_column("forecast_paths", "path"):
            if read_only:
                raise OlderLayoutError(
                    "this ledger keeps forecast paths in an older layout",
                    file=str(self.path),
                    hint=CONVERT_HINT,
                )
            self._convert_long_paths()
        summed = self.has_table("usage_daily") or not self.has_table("usage")
        if read_only and not summed:
            raise OlderLayoutError(
                "this ledger has no daily rollup of its usage yet (an older layout)",
                file=str(self.path),
                hint=CONVERT_HINT,
            )
        flat = self._has_column("request_groups", "k")  # a row per request id
        if read_only and flat:
            raise OlderLayoutError(
                "this ledger keeps its request ids' usage groups in an older layout",
                file=str(self.path),
                hint=CONVERT_HINT,
            )
        if not read_only:
            self._name_content_hashes()
            older = self.has_table("ingests") and not self.has_table("content_ingests")
            self.con.execute(LEDGER_DDL + RUNS_DDL + BILLED_DDL + RESULTS_DDL)
            # the rollup's cost came later: priced by the next ingest or writable workspace
            self.con.execute("ALTER TABLE usage_daily ADD COLUMN IF NOT EXISTS cost_usd DOUBLE")
            self._split_bucket_numbers()
            if older:  # which ingests had rows without ids was not kept: assume all did
                self.con.execute("INSERT INTO content_ingests SELECT ingest_id FROM ingests")
            if not summed:
                with self.transaction() as con:
                    rollup.sync(con)
            elif not self.con.execute("SELECT count(*) FROM usage_bounds").fetchall()[0][0]:
                with self.transaction() as con:  # summed before the span was kept
                    rollup.keep_bounds(con)
            if flat:
                with self.transaction() as con:
                    request_index.list_flat_groups(con)

    def _has_column(self, table: str, column: str) -> bool:
        return bool(
            self.con.execute(
                """SELECT count(*) FROM information_schema.columns
                   WHERE table_name = ? AND column_name = ?""",
                [table, column],
            ).fetchall()[0][0]
        )

    def _convert_long_paths(self) -> None:
        """Runs saved one row per series, day and path become one row per series."""
        with self.transaction() as con:
            con.execute("ALTER TABLE forecast_paths RENAME TO forecast_paths_long")
            con.execute(RUNS_DDL)
            con.execute(
                """INSERT INTO forecast_paths
                   SELECT run_id, team, feature, model, min(ds), count(DISTINCT ds),
                          count(DISTINCT path), list(volume ORDER BY path, ds),
                          list(cost ORDER BY path, ds)
                   FROM forecast_paths_long GROUP BY run_id, team, feature, model"""
            )
            con.execute("DROP TABLE forecast_paths_long")

    def _name_content_hashes(self) -> None:
        """Ingests logged a bare SHA-256; the log now names the algorithm with the hash."""
        if not self._has_column("ingests", "sha256"):
            return
        with self.transaction() as con:
            con.execute("ALTER TABLE ingests RENAME COLUMN sha256 TO content_hash")
            con.execute(
                """UPDATE ingests SET content_hash = CASE
                       WHEN content_hash LIKE 'removed:%'
                       THEN 'removed:sha256:' || content_hash[9:]
                       ELSE 'sha256:' || content_hash END"""
            )

    def _split_bucket_numbers(self) -> None:
        """Row keys kept a third column for provider buckets' numbers; they have a table now."""
        if not self._has_column("row_keys", "content"):
            return
        with self.transaction() as con:
            con.execute(
                """INSERT INTO bucket_numbers
                   SELECT k, ingest_id, content FROM row_keys WHERE content IS NOT NULL"""
            )
            con.execute("ALTER TABLE row_keys DROP COLUMN content")

    def session(self) -> Ledger:
        """Another connection to the same open database, for one thread or request.

        It shares the write lock; closing it leaves this ledger open.
        """
        other = object.__new__(Ledger)
        other.path, other.read_only, other.write_lock = self.path, self.read_only, self.write_lock
        other.changes, other.unsettled = self.changes, 0
        other.con, other.registered, other.pending = self.con.cursor(), {}, set()
        _session_settings(other.con)
        return other

    def __enter__(self) -> Ledger:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        self.con.close()

    @contextmanager
    def transaction(self) -> Iterator[DuckDBPyConnection]:
        """All or nothing: anything raised inside rolls every write back."""
        with self.write_lock or nullcontext():
            self.con.execute("BEGIN TRANSACTION")
            self.unsettled += 1
            try:
                yield self.con
            except BaseException:
                self.con.execute("ROLLBACK")
                self.registered.clear()  # frames registered inside are gone with it
                self.pending.clear()
                raise
            finally:
                self.unsettled -= 1
            self.con.execute("COMMIT")
            self.changes.count += 1
            # an import's new tables: its first reader need not ask the catalog (0.7 ms)
            self.changes.tables |= self.pending
            self.pending.clear()

    def remember(self, key: Hashable, read: Callable[[], T]) -> T:
        """``read()``, or what it gave before while this process has committed nothing since
        (never inside a transaction, whose writes may yet roll back): a summary asks the
        same few questions of the ledger on every call, a server many times a second."""
        if self.unsettled:
            return read()
        count = self.changes.count  # taken first: a commit while reading makes it stale
        known = self.changes.answers.get(key)
        if known is not None and known[0] == count:
            return cast(T, known[1])
        value = read()
        if len(self.changes.answers) > 1024:
            self.changes.answers.clear()
        self.changes.answers[key] = (count, value)
        return value

    def register(self, name: str, key: Hashable, frame: Callable[[], Any]) -> None:
        """Register ``frame()`` as a view ``name`` on this connection, unless the frame
        registered there last had the same ``key`` (each registration costs a millisecond,
        and the same prices go in on every priced read)."""
        if name in self.registered and self.registered[name] == key:
            return
        self.con.register(name, frame())
        self.registered[name] = key

    def create_tables(self, ddl: str) -> None:
        """Run ``ddl``, ``CREATE TABLE IF NOT EXISTS`` statements, in this connection's
        transaction: its tables are known to be there once it commits, and the first read
        after an import that made them (outcomes, deployments, alerts) does not ask the
        catalog for them (0.7 ms)."""
        self.con.execute(ddl)
        names = re.findall(r"CREATE TABLE IF NOT EXISTS (\w+)", ddl)
        (self.pending if self.unsettled else self.changes.tables).update(names)

    def has_table(self, name: str) -> bool:
        """A table or view of that name exists (remembered once found: at once outside a
        transaction, inside one when it commits)."""
        if name in self.changes.tables:
            return True
        found = table_exists(self.con, name)
        if found:
            (self.pending if self.unsettled else self.changes.tables).add(name)
        return found

    def ingests(self) -> pd.DataFrame:
        if not self.has_table("ingests"):
            return pd.DataFrame()
        return self.con.execute("SELECT * FROM ingests ORDER BY ingest_id").df()

    def remove_ingest(self, ingest_id: int) -> int:
        """Take one ingest back out; see ``remove_ingests``. Returns the usage rows removed."""
        return self.remove_ingests([ingest_id])[ingest_id]

    def remove_ingests(self, ingest_ids: Sequence[int]) -> dict[int, int]:
        """Take ingests back out (their usage rows and row keys), all or none, e.g. before
        ingesting a revised export. The log keeps a line saying so. Returns the usage rows
        removed per ingest."""
        known = {i for (i,) in self.con.execute("SELECT ingest_id FROM ingests").fetchall()}
        missing = [i for i in ingest_ids if i not in known]
        if missing:
            raise NotFoundError(
                f"no ingest {', '.join(map(str, missing))} in this ledger",
                hint="list them with costcast ingests list",
            )
        removed = {}
        with self.transaction() as con:
            for ingest_id in dict.fromkeys(ingest_ids):
                removed[ingest_id] = con.execute(
                    "SELECT count(*) FROM usage WHERE ingest_id = ?", [ingest_id]
                ).fetchall()[0][0]
                con.execute("DELETE FROM usage WHERE ingest_id = ?", [ingest_id])
                con.execute("DELETE FROM row_keys WHERE ingest_id = ?", [ingest_id])
                request_index.unmatch(con, ingest_id)
                con.execute("DELETE FROM request_groups WHERE ingest_id = ?", [ingest_id])
                con.execute("DELETE FROM bucket_numbers WHERE ingest_id = ?", [ingest_id])
                con.execute("DELETE FROM content_ingests WHERE ingest_id = ?", [ingest_id])
                # the same file may be ingested again: forget its content hash
                con.execute(
                    "UPDATE ingests SET content_hash = 'removed:' || content_hash, rows_added = 0 "
                    "WHERE ingest_id = ? AND content_hash NOT LIKE 'removed:%'",
                    [ingest_id],
                )
            rollup.sync(con)
        return removed

    def row_count(self) -> int:
        if not self.has_table("usage"):
            return 0
        return self.remember(("row_count",), lambda: int(
            self.con.execute("SELECT count(*) FROM usage").fetchall()[0][0]))  # fmt: skip


def _session_settings(con: duckdb.DuckDBPyConnection) -> None:
    # The time zone fixes how offset-less times and date_trunc behave: always UTC.
    # It is per connection, so every session sets it again.
    con.execute("SET TimeZone = 'UTC'")
    # Inside Jupyter without ipywidgets DuckDB refuses to touch the bar at all.
    with suppress(duckdb.Error):
        con.execute("SET enable_progress_bar = false")
