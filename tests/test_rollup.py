"""The daily rollup (forecast/rollup.py) follows every change to the usage: ingests, a
replaced span of an older ingest, removals, and ledgers written before it existed."""

from __future__ import annotations

import subprocess
import sys

import pytest
from builders import play, write_csv
from conftest import rollup_drift
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from forecast.errors import CostcastError, LedgerError
from forecast.ingest import ingest_files
from forecast.ledger import Ledger

HEADER = "timestamp,team,model,requests,input_tokens,output_tokens"


def hourly(folder, name, hours, tokens):
    """One request an hour from 2026-03-01 00:00 UTC, ``tokens`` input tokens each."""
    lines = [f"2026-03-{1 + h // 24:02d}T{h % 24:02d}:10:00Z,ops,gpt-4o,1,{tokens},10"
             for h in hours]  # fmt: skip
    return write_csv(folder, name, *lines, header=HEADER)


def days(ledger):
    """(day, input tokens, requests, usage rows summed) per day, from the rollup alone."""
    return ledger.con.execute(
        """SELECT strftime(ts, '%m-%d'), sum(input_tokens), sum(requests), sum(rows)
           FROM usage_daily GROUP BY ALL ORDER BY ALL"""
    ).fetchall()


def test_the_rollup_follows_ingests_replaced_spans_and_removals(ledger, tmp_path):
    (full,) = ingest_files(ledger, [hourly(tmp_path, "full.csv", range(48), 100)])
    assert days(ledger) == [("03-01", 2400, 24, 24), ("03-02", 2400, 24, 24)]
    # a corrected re-export of hours 20-29: 150 tokens each, across the two days
    ingest_files(ledger, [hourly(tmp_path, "fixed.csv", range(20, 30), 150)],
                 on_overlap="replace")  # fmt: skip
    assert days(ledger) == [("03-01", 20 * 100 + 4 * 150, 24, 24),
                            ("03-02", 6 * 150 + 18 * 100, 24, 24)]  # fmt: skip
    ledger.remove_ingest(full.ingest_id)  # what is left: the corrected ten hours
    assert days(ledger) == [("03-01", 4 * 150, 4, 4), ("03-02", 6 * 150, 6, 6)]


def test_a_refused_ingest_leaves_the_rollup_as_it_was(ledger, tmp_path):
    ingest_files(ledger, [hourly(tmp_path, "full.csv", range(24), 100)])
    before = days(ledger)
    bad = write_csv(tmp_path, "bad.csv", "2026-03-03T00:00:00Z,ops,gpt-4o,1,lots,10",
                    header=HEADER)  # fmt: skip
    with pytest.raises(CostcastError):  # which one is test_ingest's business
        ingest_files(ledger, [hourly(tmp_path, "more.csv", range(24, 30), 100), bad])
    assert days(ledger) == before


def test_the_drift_check_sees_a_rollup_out_of_step(ledger, tmp_path):
    ingest_files(ledger, [hourly(tmp_path, "full.csv", range(24), 100)])
    assert rollup_drift(ledger) == []
    ledger.con.execute("UPDATE usage_daily SET input_tokens = input_tokens + 1")
    assert len(rollup_drift(ledger)) == 2  # the row as summed and as kept
    ledger.con.execute("UPDATE usage_daily SET input_tokens = input_tokens - 1")


def older_ledger(tmp_path):
    """A ledger as costcast wrote them before the rollup: 24 + 6 hours of usage."""
    path = tmp_path / "old.duckdb"
    with Ledger(path) as ledger:
        ingest_files(ledger, [hourly(tmp_path, "full.csv", range(30), 100)])
        ledger.con.execute("DROP TABLE usage_daily")
    return path


@pytest.mark.parametrize("read_only", [False, True])
def test_an_older_ledger_gets_its_rollup_when_opened(tmp_path, read_only):
    # by a reader too (`costcast kpis` opens read-only): it converts the file as a writer first
    with Ledger(older_ledger(tmp_path), read_only=read_only) as ledger:
        assert days(ledger) == [("03-01", 2400, 24, 24), ("03-02", 600, 6, 6)]
        assert rollup_drift(ledger) == []


def test_a_reader_that_cannot_convert_says_what_to_do(tmp_path):
    path = older_ledger(tmp_path)
    holder = subprocess.Popen(  # another process reading the file: no writer can open it
        [sys.executable, "-c", "import duckdb, sys, time\n"
         f"con = duckdb.connect({str(path)!r}, read_only=True)\n"
         "print('open', flush=True)\ntime.sleep(60)"],
        stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert holder.stdout is not None and holder.stdout.readline() == "open\n"
        with pytest.raises(LedgerError) as caught:
            Ledger(path, read_only=True)
    finally:
        holder.kill()
        holder.wait()
    assert "no daily rollup" in caught.value.message
    assert "no other process has it open" in caught.value.hint
    with Ledger(path, read_only=True) as ledger:  # once it is free, the reader converts it
        assert days(ledger)[0] == ("03-01", 2400, 24, 24)


def test_a_table_is_remembered_as_there_once_committed_never_rolled_back(ledger):
    # has_table notes the tables it found, so that commands stop asking the catalog: only
    # committed ones, or a failed first import would leave its table "there" for good
    with pytest.raises(RuntimeError), ledger.transaction() as con:
        con.execute("CREATE TABLE outcome_trial (x INTEGER)")
        assert ledger.has_table("outcome_trial")
        raise RuntimeError("the import failed")
    assert not ledger.has_table("outcome_trial")
    ledger.con.execute("CREATE TABLE outcome_trial (x INTEGER)")
    assert ledger.has_table("outcome_trial") and "outcome_trial" in ledger.changes.tables
    # one seen inside a transaction that commits is noted as it commits: its first reader
    # does not ask the catalog
    with ledger.transaction() as con:
        con.execute("CREATE TABLE outcome_kept (x INTEGER)")
        assert ledger.has_table("outcome_kept")
        assert "outcome_kept" not in ledger.changes.tables  # not yet for good
    assert "outcome_kept" in ledger.changes.tables
    # and the tables an import creates, as it commits (and not if it rolls back)
    with pytest.raises(RuntimeError), ledger.transaction():
        ledger.create_tables("CREATE TABLE IF NOT EXISTS outcome_gone (x INTEGER);")
        raise RuntimeError("the import failed")
    assert "outcome_gone" not in ledger.changes.tables and not ledger.has_table("outcome_gone")
    with ledger.transaction():
        ledger.create_tables("CREATE TABLE IF NOT EXISTS outcome_made (x INTEGER);")
    assert "outcome_made" in ledger.changes.tables


# A step: ingest a file of hours [first, first + span) with this many tokens each, with
# request ids or without (then refused, replaced or kept where it overlaps), or remove the
# ingest made that many steps back.
steps = st.lists(
    st.one_of(
        st.tuples(st.just("ingest"), st.integers(0, 60), st.integers(1, 40),
                  st.integers(1, 500), st.sampled_from(["ids", "refuse", "replace", "keep"])),
        st.tuples(st.just("remove"), st.integers(1, 4)),
    ),
    min_size=1, max_size=6,
)  # fmt: skip


@settings(max_examples=40, deadline=None, derandomize=True,
          suppress_health_check=list(HealthCheck))  # fmt: skip
@given(steps)
def test_any_sequence_of_writes_keeps_the_rollup_in_step(tmp_path_factory, plan):
    folder = tmp_path_factory.mktemp("plan")

    def ingest(n, step):
        _, first, span, tokens, how = step
        ids = "request_id," if how == "ids" else ""
        lines = [f"{f'r{h}-{tokens},' if ids else ''}"
                 f"2026-03-{1 + h // 24:02d}T{h % 24:02d}:10:00Z,ops,gpt-4o,1,{tokens},10"
                 for h in range(first, first + span)]  # fmt: skip
        path = write_csv(folder, f"f{n}.csv", *lines, header=ids + HEADER)
        try:
            (result,) = ingest_files(ledger, [path], on_overlap="refuse" if ids else how)
        except CostcastError:  # a refused overlap: nothing may have changed (checked below)
            return None
        return result.ingest_id

    with Ledger(folder / "l.duckdb") as ledger:
        for _ in play(ledger, plan, ingest):
            assert rollup_drift(ledger) == []
