"""Ingest is atomic across files and idempotent per row; bad input names file, line, field, value."""

from __future__ import annotations

import shutil

import pytest
from builders import snapshot, write_csv
from conftest import totals

from forecast import ingest
from forecast.errors import DataFormatError
from forecast.ingest import ingest_files
from forecast.sources import SourceContext

HEADER = "timestamp,team,model,requests,input_tokens,cached_input_tokens,output_tokens"


def write(tmp_path, name, *lines, header=HEADER):
    return write_csv(tmp_path, name, *lines, header=header)


def test_same_file_twice_adds_nothing(ledger, fixture_path, tmp_path):
    first = ingest_files(ledger, [fixture_path("canonical.csv")])
    before = totals(ledger)
    again = ingest_files(ledger, [fixture_path("canonical.csv")])
    assert (first[0].rows_added, again[0].rows_added, again[0].rows_present) == (3, 0, 3)
    assert totals(ledger) == before
    # a renamed copy is the same content: still nothing
    copy = tmp_path / "renamed.csv"
    shutil.copy(fixture_path("canonical.csv"), copy)
    assert ingest_files(ledger, [copy])[0].rows_added == 0
    assert totals(ledger) == before
    assert ledger.ingests()["rows_added"].tolist() == [3, 0, 0]


def test_every_source_is_idempotent(ledger, fixture_path, tmp_path):
    names = [
        "openai_2026_page.json", "openai_2024_pages.json", "anthropic_usage_report.json",
        "anthropic_analytics.json", "litellm_spendlogs.csv", "langfuse_observations.json",
        "otel_spans.jsonl", "canonical.csv",
    ]  # fmt: skip
    ingest_files(ledger, [fixture_path(n) for n in names])
    before = totals(ledger)
    # edited copies (a trailing newline changes the content hash) take the row-key path
    copies = []
    for name in names:
        copy = tmp_path / f"copy-{name}"
        copy.write_text(fixture_path(name).read_text() + "\n")
        copies.append(copy)
    results = ingest_files(ledger, copies)
    assert [r.rows_added for r in results] == [0] * len(names)
    assert totals(ledger) == before


def test_longer_export_adds_only_new_rows(ledger, tmp_path):
    rows = [f"2026-03-01T0{h}:00:00Z,search,gpt-4o,1,100,0,10" for h in range(4)]
    ingest_files(ledger, [write(tmp_path, "log.csv", *rows[:2])])
    # the same log a day later, with two more rows appended
    (result,) = ingest_files(ledger, [write(tmp_path, "log.csv", *rows)])
    assert (result.rows_read, result.rows_added, result.rows_present) == (4, 2, 2)
    assert totals(ledger)["input"] == 400


def test_identical_rows_without_ids_each_count(ledger, tmp_path):
    row = "2026-03-01T00:00:00Z,search,gpt-4o,1,100,0,10"
    (result,) = ingest_files(ledger, [write(tmp_path, "dupes.csv", row, row, row)])
    assert result.rows_added == 3
    assert totals(ledger)["input"] == 300
    # and re-reading a copy with one more identical row adds exactly that one
    (again,) = ingest_files(ledger, [write(tmp_path, "dupes.csv", row, row, row, row)])
    assert (again.rows_added, again.rows_present) == (1, 3)
    assert totals(ledger)["input"] == 400


def test_repeated_request_id_counts_once_and_says_so(ledger, tmp_path):
    header = HEADER + ",request_id"
    rows = [
        "2026-03-01T00:00:00Z,search,gpt-4o,1,100,0,10,req-1",
        "2026-03-01T00:10:00Z,search,gpt-4o,1,200,0,10,req-2",
        "2026-03-01T00:00:00Z,search,gpt-4o,1,100,0,10,req-1",
    ]
    (result,) = ingest_files(ledger, [write(tmp_path, "ids.csv", *rows, header=header)])
    assert (result.rows_read, result.rows_added) == (3, 2)
    assert "repeat a request_id" in result.notes[0]
    assert totals(ledger)["input"] == 300
    # A longer log: req-1 known, req-3 new but logged twice (a retried write, an hour
    # apart), req-4 new and in req-1's group. Each new id counts once, in one hour.
    rows += [
        "2026-03-01T01:00:00Z,search,gpt-4o,1,40,0,10,req-3",
        "2026-03-01T00:30:00Z,search,gpt-4o,1,7,0,10,req-4",
        "2026-03-01T02:00:00Z,search,gpt-4o,1,40,0,10,req-3",
    ]
    (longer,) = ingest_files(ledger, [write(tmp_path, "more.csv", *rows, header=header)])
    assert (longer.rows_read, longer.rows_added, longer.rows_present) == (6, 2, 2)
    assert "2 row(s) repeat a request_id" in longer.notes[0]
    added = ledger.con.execute(
        "SELECT hour(ts), requests, input_tokens FROM usage WHERE ingest_id = ? ORDER BY ts",
        [longer.ingest_id],
    ).fetchall()
    assert added[0] == (0, 1, 7) and len(added) == 2
    assert added[1] in [(1, 1, 40), (2, 1, 40)]
    assert totals(ledger)["input"] == 347


def test_request_ids_dedupe_across_files(ledger, tmp_path):
    header = HEADER + ",request_id"
    a = write(tmp_path, "a.csv", "2026-03-01T00:00:00Z,x,gpt-4o,1,100,0,1,r1", header=header)
    b = write(
        tmp_path,
        "b.csv",
        "2026-03-01T00:00:00Z,x,gpt-4o,1,100,0,1,r1",
        "2026-03-01T01:00:00Z,x,gpt-4o,1,50,0,1,r2",
        header=header,
    )
    results = ingest_files(ledger, [a, b])
    assert [(r.rows_added, r.rows_present) for r in results] == [(1, 0), (1, 1)]
    assert totals(ledger)["input"] == 150
    # a longer version again, its new row in the same hour and group as a known one:
    # that group's known row stays out of the new ingest's sums
    c = write(
        tmp_path,
        "c.csv",
        "2026-03-01T00:00:00Z,x,gpt-4o,1,100,0,1,r1",
        "2026-03-01T01:00:00Z,x,gpt-4o,1,50,0,1,r2",
        "2026-03-01T00:30:00Z,x,gpt-4o,1,25,0,1,r3",
        header=header,
    )
    (longer,) = ingest_files(ledger, [c])
    assert (longer.rows_added, longer.rows_present) == (1, 2)
    added = ledger.con.execute(
        "SELECT ts::VARCHAR, requests, input_tokens FROM usage WHERE ingest_id = ?",
        [longer.ingest_id],
    )
    assert added.fetchall() == [("2026-03-01 00:00:00", 1, 25)]
    assert totals(ledger)["input"] == 175


def test_one_bad_file_writes_nothing(ledger, fixture_path, tmp_path):
    ingest_files(ledger, [fixture_path("otel_spans.jsonl")])
    before = snapshot(ledger)
    good = write(tmp_path, "good.csv", "2026-03-01T00:00:00Z,x,gpt-4o,1,100,0,1")
    bad = write(
        tmp_path,
        "bad.csv",
        "2026-03-01T00:00:00Z,x,gpt-4o,1,100,0,1",
        "2026-03-01T00:00:00Z,x,gpt-4o,1,-5,0,1",
    )
    with pytest.raises(DataFormatError, match="must not be negative") as info:
        ingest_files(ledger, [good, bad])
    assert (info.value.file, info.value.line, info.value.field) == (str(bad), 3, "input_tokens")
    assert snapshot(ledger) == before
    # the good file alone goes in afterwards: nothing of the failed attempt lingers
    assert ingest_files(ledger, [good])[0].rows_added == 1


BAD_ROWS = [
    ("2026-03-01T00:00:00Z,x,gpt-4o,1,12.5,0,1", "input_tokens", "whole number", "12.5"),
    ("2026-03-01T00:00:00Z,x,gpt-4o,1,abc,0,1", "input_tokens", "whole number", "abc"),
    ("2026-03-01T00:00:00Z,x,gpt-4o,1,100,0,-1", "output_tokens", "negative", "-1"),
    ("2026-03-01T00:00:00Z,x,gpt-4o,1,100,101,1", "cached_input_tokens", "larger than", "101"),
    ("2026-03-01T00:00:00Z,x,gpt-4o,1,,0,1", "input_tokens", "missing", None),
    ("2026-03-01T00:00:00Z,x,,1,100,0,1", "model", "model is missing", None),
    ("2026-03-01T00:00:00,x,gpt-4o,1,100,0,1", "timestamp", "no UTC offset", "2026-03-01T00:00:00"),
    ("yesterday,x,gpt-4o,1,100,0,1", "timestamp", "ISO 8601", "yesterday"),
    ("2026-03-01,x,gpt-4o,1,100,0,1", "timestamp", "no UTC offset", "2026-03-01"),
]


@pytest.mark.parametrize(("row", "field", "message", "value"), BAD_ROWS)
def test_bad_row_names_line_field_and_value(ledger, tmp_path, row, field, message, value):
    good = "2026-03-01T00:00:00Z,x,gpt-4o,1,100,0,1"
    path = write(tmp_path, "in.csv", good, good, row, good)
    with pytest.raises(DataFormatError, match=message) as info:
        ingest_files(ledger, [path])
    err = info.value
    assert (err.file, err.line, err.field, err.value) == (str(path), 4, field, value)
    assert totals(ledger)["rows"] == 0


def test_unknown_status_and_tier(ledger, tmp_path):
    header = "timestamp,model,input_tokens,output_tokens,status,service_tier"
    path = write(tmp_path, "s.csv", "2026-03-01T00:00:00Z,gpt-4o,1,1,ok,standard", header=header)
    with pytest.raises(DataFormatError, match="status must be one of success, error") as info:
        ingest_files(ledger, [path])
    assert (info.value.line, info.value.value) == (2, "ok")
    # the failed insert (it sorts its rows) leaves the connection as it found it
    settings = """SELECT current_setting('preserve_insertion_order'),
                         current_setting('force_compression')"""
    assert ledger.con.execute(settings).fetchall() == [(False, "auto")]
    path = write(tmp_path, "t.csv", "2026-03-01T00:00:00Z,gpt-4o,1,1,success,gold", header=header)
    with pytest.raises(DataFormatError, match="service_tier must be one of"):
        ingest_files(ledger, [path])


def test_times_outside_1971_to_2200_are_refused(ledger, tmp_path):
    """A row of 9999-12-31 went in, and a forecast or a model spread then ran past the last
    date there is (OverflowError); one of year 1 the same four weeks before it."""
    good = "2026-07-01T10:00:00Z,x,gpt-4o,1,100,0,1"
    for bad, line in (("9999-12-31T22:00:00Z", 3), ("0001-01-01T02:00:00+01:00", 3),
                      ("1970-12-31T23:00:00Z", 3), ("2201-01-01T00:00:00Z", 3)):  # fmt: skip
        path = write(tmp_path, "far.csv", good, f"{bad},x,gpt-4o,1,100,0,1")
        with pytest.raises(DataFormatError, match="timestamp must be between 1971 and 2200") as e:
            ingest_files(ledger, [path])
        assert (e.value.line, e.value.field) == (line, "timestamp")
        assert ledger.row_count() == 0  # the good row did not go in either
    ingest_files(ledger, [write(tmp_path, "edge.csv", "1971-01-01T00:00:00Z,x,gpt-4o,1,1,0,1",
                                "2200-12-31T23:00:00Z,x,gpt-4o,1,1,0,1")])  # fmt: skip
    assert ledger.row_count() == 2


def test_timezone_names_the_zone_of_offsetless_times(ledger, tmp_path):
    path = write(tmp_path, "berlin.csv", "2026-07-01T10:30:00,x,gpt-4o,1,100,0,1")
    ingest_files(ledger, [path], context=SourceContext(timezone="Europe/Berlin"))
    # 10:30 in Berlin summer time (UTC+2) is 08:30 UTC, in the 08:00 hour
    assert ledger.con.execute("SELECT ts::VARCHAR FROM usage").fetchall() == [
        ("2026-07-01 08:00:00",)
    ]


def test_missing_and_unknown_columns(ledger, tmp_path):
    path = write(
        tmp_path, "m.csv", "2026-03-01T00:00:00Z,x,1", header="timestamp,team,input_tokens"
    )
    with pytest.raises(DataFormatError, match=r"missing required column.*model, output_tokens"):
        ingest_files(ledger, [path], fmt="canonical")
    path = write(
        tmp_path,
        "u.csv",
        "2026-03-01T00:00:00Z,gpt-4o,1,1,3",
        header=("timestamp,model,input_tokens,output_tokens,cached_tokens"),
    )
    with pytest.raises(DataFormatError, match=r"unknown column.*cached_tokens"):
        ingest_files(ledger, [path])


def test_empty_file_and_header_only(ledger, tmp_path):
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    with pytest.raises(DataFormatError, match="file is empty"):
        ingest_files(ledger, [empty])
    header_only = write(tmp_path, "h.csv")
    with pytest.raises(DataFormatError, match="no rows"):
        ingest_files(ledger, [header_only])


def test_unknown_format_name(ledger, fixture_path):
    with pytest.raises(DataFormatError, match=r"unknown format 'excel'.*canonical"):
        ingest_files(ledger, [fixture_path("canonical.csv")], fmt="excel")


def test_bad_json_record_is_located(ledger, tmp_path):
    path = tmp_path / "spans.jsonl"
    path.write_text('{"resourceSpans": []}\n{"resourceSpans": [\n')
    with pytest.raises(DataFormatError, match="not valid JSON") as info:
        ingest_files(ledger, [path], fmt="otel")
    assert info.value.line == 2


def test_parquet_and_jsonl_canonical(ledger, tmp_path, fixture_path):
    import pandas as pd

    frame = pd.read_csv(fixture_path("canonical.csv"), dtype=str)
    frame.to_parquet(tmp_path / "c.parquet")
    frame.to_json(tmp_path / "c.jsonl", orient="records", lines=True)
    results = ingest_files(ledger, [tmp_path / "c.parquet"])
    assert results[0].rows_added == 3
    # same request ids in JSON Lines: all already present
    assert ingest_files(ledger, [tmp_path / "c.jsonl"])[0].rows_present == 3
    assert totals(ledger)["input"] == 3500


def test_a_second_writer_gets_a_clear_error(tmp_path):
    import subprocess
    import sys

    from forecast.errors import LedgerError
    from forecast.ledger import Ledger

    path = tmp_path / "busy.duckdb"
    holder = subprocess.Popen(
        [sys.executable, "-c",
         f"import duckdb, sys, time; c = duckdb.connect({str(path)!r}); print('ok', flush=True); time.sleep(30)"],
        stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert holder.stdout.readline().strip() == "ok"
        with pytest.raises(LedgerError, match="in use by another costcast process") as info:
            Ledger(path)
        assert "costcast serve" in info.value.hint
    finally:
        holder.kill()
        holder.wait()


def test_a_revised_export_replaces_the_old_one_after_remove(ledger, tmp_path):
    first = write(tmp_path, "export.csv", "2026-03-01T00:00:00Z,x,gpt-4o,1,100,0,10")
    (old,) = ingest_files(ledger, [first])
    revised = write(tmp_path, "export.csv", "2026-03-01T00:00:00Z,x,gpt-4o,1,150,0,10")
    assert ledger.remove_ingest(old.ingest_id) == 1
    assert totals(ledger)["rows"] == 0
    (new,) = ingest_files(ledger, [revised])
    assert new.rows_added == 1 and totals(ledger)["input"] == 150
    # and the very first content can come back too: its hash is forgotten
    assert ledger.remove_ingest(new.ingest_id) == 1
    first.write_text("timestamp,team,model,requests,input_tokens,cached_input_tokens,output_tokens\n"
                     "2026-03-01T00:00:00Z,x,gpt-4o,1,100,0,10\n")  # fmt: skip
    assert ingest_files(ledger, [first])[0].rows_added == 1
    from forecast.errors import NotFoundError

    with pytest.raises(NotFoundError, match="no ingest 99"):
        ledger.remove_ingest(99)


def test_spellings_of_one_value_land_in_one_ledger_row(ledger, tmp_path):
    # The ledger groups raw values first and normalises each group: variants that
    # normalise alike must still end up as one row with the sums added.
    header = "timestamp,team,model,status,input_tokens,output_tokens"
    path = write(
        tmp_path,
        "variants.csv",
        "2026-03-01T00:05:00Z,search,gpt-4o,success,100,1",
        '2026-03-01T00:10:00Z," search ",gpt-4o,SUCCESS,200,2',
        "2026-03-01T00:15:00Z,search,gpt-4o ,Success,400,4",
        "2026-03-01T00:20:00Z,,gpt-4o,success,800,8",
        header=header,
    )
    (result,) = ingest_files(ledger, [path])
    assert result.rows_added == 4
    rows = ledger.con.execute(
        """SELECT team, model, status, requests, input_tokens, output_tokens
           FROM usage ORDER BY team"""
    ).fetchall()
    assert rows == [
        ("search", "gpt-4o", "success", 3, 700, 7),
        ("unassigned", "gpt-4o", "success", 1, 800, 8),
    ]


# Two rows in one hour that the ledger must count as one row: (column, one value, the
# other, and a value in ledger form for a file of one clean row). The ingest may skip
# its second grouping only when no such pair exists.
MERGING_PAIRS = {
    "padded team": ("team", "a", " a ", "a"),
    "blank team and unassigned": ("team", "", "unassigned", ""),
    "status case": ("status", "success", "Success", "success"),
    "provider case": ("provider", "openai", "OpenAI", "openai"),
    "service tier case": ("service_tier", "batch", "Batch", "batch"),
    "minute and hour bucket": ("bucket", "1m", "1h", "1h"),
    "no bucket and hour bucket": ("bucket", "", "1h", ""),
    "padded deployment": ("deployment", "d1", "d1 ", "d1"),
    "with and without request id": ("request_id", "r1", "", "r0"),
}
_MERGE_BASE = {"team": "a", "status": "success", "provider": "openai", "bucket": "1h",
               "service_tier": "standard", "deployment": "d1", "request_id": ""}  # fmt: skip


def _merge_row(minute: int, column: str, value: str, tokens: int) -> str:
    text = ",".join(f'"{v}"' for v in {**_MERGE_BASE, column: value}.values())
    return f"2026-03-01T00:{minute:02d}:00Z,gpt-4o,{text},{tokens},1"


@pytest.mark.parametrize("case", MERGING_PAIRS)
def test_rows_that_normalise_alike_merge_on_every_path(ledger, tmp_path, monkeypatch, case):
    readiness = []
    original = ingest.ledger_groups

    def spy(raw, ready=False, carry=None):
        if carry is None:  # not the request index, which groups again on every path
            readiness.append(ready)
        return original(raw, ready, carry)

    monkeypatch.setattr(ingest, "ledger_groups", spy)
    header = "timestamp,model," + ",".join(_MERGE_BASE) + ",input_tokens,output_tokens"
    column, one, other, kept = MERGING_PAIRS[case]
    clean = write(tmp_path, "clean.csv", _merge_row(1, column, kept, 100), header=header)
    pair = write(
        tmp_path, "pair.csv", _merge_row(2, column, one, 10), _merge_row(3, column, other, 1),
        header=header,
    )  # fmt: skip
    ingest_files(ledger, [clean])
    ingest_files(ledger, [pair], on_overlap="keep")  # other requests in the same hour
    # one clean row goes straight in; the pair is normalised and grouped again, into one row
    assert readiness == [True, False]
    rows = ledger.con.execute("SELECT requests, input_tokens FROM usage ORDER BY ingest_id")
    assert rows.fetchall() == [(1, 100), (2, 11)]


def test_every_way_of_writing_an_instant_lands_in_its_utc_hour(ledger, tmp_path):
    # 09:59:59.5 UTC and 10:00 UTC, written with Z (with and without fractions),
    # with offsets, padded, and in the zone given by --timezone (Berlin, UTC+1 in March).
    times = {
        "2026-03-01T09:59:59.5Z": "09",
        "2026-03-01T09:59:59.999999Z": "09",
        "2026-03-01T10:00:00Z": "10",
        "2026-03-01T10:00:00.000Z": "10",
        "2026-03-01T11:00:00+01:00": "10",
        "2026-03-01T05:00:00-0500": "10",
        "2026-03-01T10:59:59.123456789Z": "10",
        " 2026-03-01T10:30:00Z ": "10",
        "2026-03-01 10:30:00Z": "10",
        "2026-03-01T11:30:00": "10",
        "2026-03-01T10:59:00": "09",
    }
    lines = [f'"{ts}",x,gpt-4o,1,{i + 1},0,1' for i, ts in enumerate(times)]
    path = write(tmp_path, "times.csv", *lines)
    ingest_files(ledger, [path], context=SourceContext(timezone="Europe/Berlin"))
    got = dict(
        ledger.con.execute(
            "SELECT strftime(ts, '%H'), sum(input_tokens) FROM usage GROUP BY ALL"
        ).fetchall()
    )
    expected: dict[str, int] = {}
    for i, hour in enumerate(times.values()):
        expected[hour] = expected.get(hour, 0) + i + 1
    assert got == expected


def test_padded_request_ids_are_the_same_request(ledger, tmp_path):
    header = HEADER + ",request_id"
    first = write(tmp_path, "a.csv", "2026-03-01T00:00:00Z,x,gpt-4o,1,100,0,1,req-1", header=header)
    ingest_files(ledger, [first])
    again = write(
        tmp_path,
        "b.csv",
        '2026-03-01T00:00:00Z,x,gpt-4o,1,100,0,1," req-1 "',
        '2026-03-01T00:00:00Z,x,gpt-4o,1,40,0,1,"  "',
        header=header,
    )
    (result,) = ingest_files(ledger, [again])
    # the blank id is no id: that row is keyed by its content and counts
    assert (result.rows_added, result.rows_present) == (1, 1)
    assert totals(ledger)["input"] == 140


def test_rows_already_in_the_ledger_are_still_checked(ledger, tmp_path):
    header = HEADER + ",request_id"
    good = "2026-03-01T00:00:00Z,x,gpt-4o,1,100,0,1,req-1"
    ingest_files(ledger, [write(tmp_path, "a.csv", good, header=header)])
    before = snapshot(ledger)
    cases = [
        # req-1 again, now with a negative count: a repeat of a known row, yet bad
        ("2026-03-01T00:00:00Z,x,gpt-4o,1,-100,0,1,req-1", "must not be negative", "input_tokens"),
        # and the same inside one file: the repeat of req-2 is bad
        ("2026-03-01T01:00:00Z,x,gpt-4o,1,50,0,1.5,req-2", "whole number", "output_tokens"),
    ]
    for index, (row, message, field) in enumerate(cases):
        first = "2026-03-01T01:00:00Z,x,gpt-4o,1,50,0,1,req-2"
        path = write(tmp_path, f"b{index}.csv", first, row, header=header)
        with pytest.raises(DataFormatError, match=message) as info:
            ingest_files(ledger, [path])
        assert (info.value.line, info.value.field) == (3, field)
        assert snapshot(ledger) == before


def test_the_log_names_each_file_by_its_xxh3_128(ledger, fixture_path, tmp_path):
    import xxhash

    from forecast.ingest import file_content_hash

    # the published XXH128 of no bytes (xxh128sum /dev/null)
    empty = tmp_path / "empty"
    empty.write_bytes(b"")
    assert file_content_hash(empty) == "xxh3_128:99aa06d3014798d86001c324468d497f"
    # read in chunks: a file of several chunks hashes as its bytes in one piece
    large = tmp_path / "large"
    large.write_bytes(bytes(range(256)) * 1000 + b"tail")
    assert file_content_hash(large) == "xxh3_128:" + xxhash.xxh3_128_hexdigest(large.read_bytes())
    path = fixture_path("canonical.csv")
    ingest_files(ledger, [path])
    expected = "xxh3_128:" + xxhash.xxh3_128_hexdigest(path.read_bytes())
    assert ledger.ingests()["content_hash"].tolist() == [expected]


def test_a_log_of_bare_sha256_hashes_is_renamed_on_opening(tmp_path, fixture_path):
    import hashlib

    from forecast.ledger import Ledger

    path = fixture_path("canonical.csv")
    sha = hashlib.sha256(path.read_bytes()).hexdigest()
    with Ledger(tmp_path / "old.duckdb") as old:
        ingest_files(old, [path])
        ingest_files(old, [write(tmp_path, "b.csv", "2026-03-01T00:00:00Z,x,gpt-4o,1,5,0,1")])
        old.remove_ingest(2)
        # as costcast 0.1 logged them: a bare SHA-256 column, 'removed:' marking removals
        old.con.execute("ALTER TABLE ingests RENAME COLUMN content_hash TO sha256")
        old.con.execute("UPDATE ingests SET sha256 = ? WHERE ingest_id = 1", [sha])
        old.con.execute(
            "UPDATE ingests SET sha256 = 'removed:' || repeat('0', 64) WHERE ingest_id = 2"
        )
    with Ledger(tmp_path / "old.duckdb") as reopened:
        assert reopened.ingests()["content_hash"].tolist() == [
            f"sha256:{sha}",
            "removed:sha256:" + "0" * 64,
        ]
        # the old hash is another algorithm's: the same file takes the row-key path, adding nothing
        (again,) = ingest_files(reopened, [path])
        assert (again.rows_added, again.rows_present) == (0, 3)


def test_a_redownloaded_bucket_with_revised_numbers_is_reported(ledger, fixture_path, tmp_path):
    import json

    page = json.loads(fixture_path("openai_2026_page.json").read_text())
    # The provider counted late usage in the first bucket: 2,500 output tokens became 2,600.
    page["data"][0]["results"][0]["output_tokens"] = 2600
    revised = tmp_path / "openai_again.json"
    revised.write_text(json.dumps(page))
    (first,) = ingest_files(ledger, [fixture_path("openai_2026_page.json")])
    assert totals(ledger)["output"] == 2500 + 800
    (again,) = ingest_files(ledger, [revised])
    assert (again.rows_added, again.rows_present) == (0, 2)
    (note,) = [n for n in again.notes if "other numbers" in n]
    assert note.startswith(f"1 bucket(s) were ingested before (ingest {first.ingest_id})")
    assert f"costcast ingests remove {first.ingest_id}" in note
    assert totals(ledger)["output"] == 2500 + 800  # the first numbers stay until told otherwise
    # an unchanged re-download says nothing of the kind
    copy = tmp_path / "copy.json"
    copy.write_text(fixture_path("openai_2026_page.json").read_text() + "\n")
    assert not [n for n in ingest_files(ledger, [copy])[0].notes if "other numbers" in n]
    # taking the old ingest out lets the revised numbers in
    ledger.remove_ingests([first.ingest_id])
    (third,) = ingest_files(ledger, [revised])
    assert third.rows_added == 2
    assert totals(ledger)["output"] == 2600 + 800


def test_bucket_numbers_kept_beside_row_keys_move_to_their_table(tmp_path, fixture_path):
    import json

    from forecast.ledger import Ledger

    db = tmp_path / "old.duckdb"
    with Ledger(db) as old:
        (first,) = ingest_files(old, [fixture_path("openai_2026_page.json")])
        # as ledgers of late 2026 kept them: a third row_keys column, NULL for other rows
        old.con.execute("ALTER TABLE row_keys ADD COLUMN content UBIGINT")
        old.con.execute(
            """UPDATE row_keys SET content = b.numbers FROM bucket_numbers b
               WHERE row_keys.k = b.k"""
        )
        old.con.execute("DROP TABLE bucket_numbers")
    page = json.loads(fixture_path("openai_2026_page.json").read_text())
    page["data"][0]["results"][0]["output_tokens"] = 2600
    revised = tmp_path / "openai_again.json"
    revised.write_text(json.dumps(page))
    with Ledger(db) as reopened:
        columns = reopened.con.execute("SELECT * FROM row_keys LIMIT 0").description
        assert [c[0] for c in columns] == ["k", "ingest_id"]
        # the numbers came along: the revision is still seen
        (again,) = ingest_files(reopened, [revised])
        assert [n for n in again.notes if f"(ingest {first.ingest_id})" in n]


def test_removing_ingests_is_all_or_nothing(ledger, tmp_path):
    from forecast.errors import NotFoundError

    (a,) = ingest_files(ledger, [write(tmp_path, "a.csv", "2026-03-01T00:00:00Z,x,gpt-4o,1,5,0,1")])
    before = snapshot(ledger)
    with pytest.raises(NotFoundError, match="no ingest 99"):
        ledger.remove_ingests([a.ingest_id, 99])
    assert snapshot(ledger) == before
    assert ledger.remove_ingests([a.ingest_id]) == {a.ingest_id: 1}
    assert totals(ledger)["rows"] == 0
