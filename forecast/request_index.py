"""Which usage group each request id went into, and which group each outcome per request
covers (``forecast.outcomes``).

The ledger keeps usage per hour and group, not per call, so an outcome per request finds
its cost through the group its request was ingested into. Ingest keeps, per group, the
list of its requests' keys (``request_groups``: a group hash, ``records.GROUP_HASH``, and
the keys of ``row_keys``); a list per group costs an ingest of 10M requests 0.2 s where a
row per request cost 0.7 s. Each outcome is matched to its group once, when the second
of the two arrives (``outcome_requests.g``): on import, or on the ingest of its usage; it
goes back to unmatched when that ingest is removed. Readers of outcome KPIs then join the
outcomes to their groups directly, never the ledger's millions of request keys.
"""

from __future__ import annotations

from duckdb import DuckDBPyConnection

from forecast.records import GROUP_HASH, ledger_groups
from forecast.schema import REQUEST_GROUPS_DDL, table_exists

# Outcomes per request, for ledgers older than their group column (it is in the import's
# own DDL): added here, then matched by ``match``.
OUTCOME_GROUP_DDL = "ALTER TABLE outcome_requests ADD COLUMN IF NOT EXISTS g UBIGINT;"


def _keys(ingest_id: int | None = None) -> str:
    """SQL: (k, g) of every indexed request, or of one ingest's."""
    where = "" if ingest_id is None else f"WHERE ingest_id = {int(ingest_id)}"
    return f"SELECT unnest(ks) AS k, g FROM request_groups {where}"


def index_requests(con: DuckDBPyConnection, ingest_id: int, known: bool, repeats: bool,
                   ready: bool) -> None:  # fmt: skip
    """Each new request id of the file staged in ``_raw`` under its usage group. Where no
    key can repeat (``repeats``: in the file; ``known``: in the ledger), a group's keys go
    in as the ingest listed them; ``ready`` groups (in ledger form) are not grouped again."""
    groups = ledger_groups("SELECT * FROM _raw WHERE NOT _by_content", ready, carry="_keys")
    if not (known or repeats):
        con.execute(f"INSERT INTO request_groups SELECT {GROUP_HASH}, {int(ingest_id)}, _keys "
                    f"FROM ({groups})")  # fmt: skip
        return
    pairs = f"SELECT unnest(_keys) AS k, {GROUP_HASH} AS g FROM ({groups})"
    keys = f"SELECT DISTINCT ON (k) k, g FROM ({pairs})"
    if known:
        keys = f"SELECT * FROM ({keys}) WHERE k NOT IN (SELECT k FROM ({_keys()}))"
    con.execute(f"INSERT INTO request_groups SELECT g, {int(ingest_id)}, list(k) "
                f"FROM ({keys}) GROUP BY g")  # fmt: skip


def match(con: DuckDBPyConnection, ingest_id: int | None = None) -> None:
    """Give each unmatched outcome per request the group its request went into: of any
    ingest, or of one just made."""
    if not table_exists(con, "outcome_requests"):
        return
    if not con.execute("SELECT EXISTS (SELECT 1 FROM outcome_requests WHERE g IS NULL)"
                       ).fetchall()[0][0]:  # fmt: skip
        return  # most ingests: every outcome found its usage before
    con.execute(f"""UPDATE outcome_requests o SET g = m.g FROM ({_keys(ingest_id)}) m
                    WHERE o.g IS NULL AND m.k = hash('rid', o.request_id)""")  # fmt: skip


def unmatch(con: DuckDBPyConnection, ingest_id: int) -> None:
    """Before an ingest is removed: the outcomes of its requests are unmatched again (their
    usage may come back, in other groups, with the next ingest)."""
    if table_exists(con, "outcome_requests"):
        keys = f"SELECT k FROM ({_keys(ingest_id)})"
        con.execute(f"""UPDATE outcome_requests SET g = NULL
                        WHERE g IS NOT NULL AND hash('rid', request_id) IN ({keys})""")  # fmt: skip


def list_flat_groups(con: DuckDBPyConnection) -> None:
    """Convert a ledger that kept a row per request (k, g, ingest_id) to a list per group,
    and match its outcomes per request to their groups."""
    con.execute("ALTER TABLE request_groups RENAME TO _flat_request_groups")
    con.execute(REQUEST_GROUPS_DDL)
    con.execute("""INSERT INTO request_groups SELECT g, ingest_id, list(k)
                   FROM _flat_request_groups GROUP BY g, ingest_id""")  # fmt: skip
    con.execute("DROP TABLE _flat_request_groups")
    if table_exists(con, "outcome_requests"):
        con.execute(OUTCOME_GROUP_DDL)
        match(con)
