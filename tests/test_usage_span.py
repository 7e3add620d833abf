"""The ledger's usage span (forecast/coverage.py): its first bucket, its last, and when that
one ends, which every period's ``days`` and ``partial`` are counted against."""

from __future__ import annotations

import datetime as dt

from builders import write_csv
from conftest import scanned_span
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from forecast.coverage import usage_hours, usage_span
from forecast.ingest import ingest_files
from forecast.ledger import Ledger

HEADER = "timestamp,bucket,team,model,requests,input_tokens,output_tokens"
T = dt.datetime


def test_the_span_runs_from_the_first_bucket_to_the_end_of_the_last(ledger, tmp_path):
    # hours from 14:00 on March 3, a day bucket on March 9 and an hour of it at 05:00
    rows = ["2026-03-03T14:00:00Z,1h,a,gpt-4o,1,10,1", "2026-03-03T15:00:00Z,1h,b,gpt-4o,1,10,1",
            "2026-03-09T00:00:00Z,1d,a,gpt-4o,1,10,1", "2026-03-09T05:00:00Z,1h,b,gpt-4o,1,10,1"]  # fmt: skip
    ingest_files(ledger, [write_csv(tmp_path, "u.csv", *rows, header=HEADER)])
    # the day bucket ends at midnight, after the 05:00 hour
    assert usage_span(ledger) == (T(2026, 3, 3, 14), T(2026, 3, 10))
    assert usage_hours(ledger) == (T(2026, 3, 3, 14), T(2026, 3, 9, 5))


buckets = st.lists(
    st.tuples(st.integers(0, 24 * 40 - 1), st.sampled_from(["1h", "1d"])), min_size=1, max_size=12
)


@settings(max_examples=40, deadline=None, derandomize=True,
          suppress_health_check=list(HealthCheck))  # fmt: skip
@given(st.lists(buckets, min_size=1, max_size=3))
def test_the_span_is_what_a_scan_of_every_row_finds(tmp_path_factory, files):
    """Against the plain scan of every hourly row, over ingests of hour and day buckets."""
    folder = tmp_path_factory.mktemp("span")
    with Ledger(folder / "l.duckdb") as ledger:
        for n, rows in enumerate(files):
            lines = []
            for hour, bucket in rows:
                at = T(2026, 3, 1) + dt.timedelta(hours=hour if bucket == "1h" else hour // 24 * 24)
                lines.append(f"{at:%Y-%m-%dT%H:%M:%SZ},{bucket},t{n},gpt-4o,1,10,1")
            ingest_files(ledger, [write_csv(folder, f"f{n}.csv", *lines, header=HEADER)],
                         on_overlap="keep")  # fmt: skip
        first, last, end = scanned_span(ledger)
        assert usage_span(ledger) == (first, end)
        assert usage_hours(ledger) == (first, last)


def test_a_ledger_from_before_the_stored_span_is_read_and_then_given_one(tmp_path):
    rows = ["2026-03-03T14:00:00Z,1h,a,gpt-4o,1,10,1", "2026-03-09T00:00:00Z,1d,a,gpt-4o,1,10,1"]
    path = tmp_path / "l.duckdb"
    with Ledger(path) as ledger:
        ingest_files(ledger, [write_csv(tmp_path, "u.csv", *rows, header=HEADER)])
        ledger.con.execute("DROP TABLE usage_bounds")  # as a ledger written before it was kept
    with Ledger(path, read_only=True) as reader:  # reads the rows, writes nothing
        assert usage_span(reader) == (T(2026, 3, 3, 14), T(2026, 3, 10))
        assert not reader.has_table("usage_bounds")
    with Ledger(path) as writer:  # a writer keeps it from its opening on
        stored = writer.con.execute("SELECT * FROM usage_bounds").fetchall()
        assert stored == [(T(2026, 3, 3, 14), T(2026, 3, 9), T(2026, 3, 10))]
