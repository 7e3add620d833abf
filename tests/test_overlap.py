"""A partial or renamed re-export without request ids is refused, replaced or kept, as asked,
never silently counted twice (issue 13, point 7)."""

from __future__ import annotations

import pytest
from apikit import bearer, make_workspace
from builders import snapshot, write_csv
from conftest import totals
from fastapi.testclient import TestClient

from api.main import create_app
from api.settings import Settings, get_settings
from forecast.errors import OverlapError
from forecast.ingest import ingest_files

HEADER = "timestamp,team,model,requests,input_tokens,output_tokens"


def write(folder, name, *lines, header=HEADER):
    return write_csv(folder, name, *lines, header=header)


def rows(hours, tokens=100, team="ops"):
    """One request per hour from 2026-03-01 00:00 UTC, ``tokens`` input tokens each."""
    return [f"2026-03-{1 + h // 24:02d}T{h % 24:02d}:10:00Z,{team},gpt-4o,1,{tokens},10"
            for h in hours]  # fmt: skip


@pytest.fixture
def full(ledger, tmp_path):
    """Two days, one request an hour, 100 input tokens each: 4,800 in all."""
    (result,) = ingest_files(ledger, [write(tmp_path, "export-full.csv", *rows(range(48)))])
    assert result.rows_added == 48 and totals(ledger)["input"] == 4800
    return result.ingest_id


def test_the_first_lines_of_an_export_under_another_name_are_refused(ledger, tmp_path, full):
    before = snapshot(ledger)
    part = write(tmp_path, "export-part.csv", *rows(range(24)))
    with pytest.raises(OverlapError) as caught:
        ingest_files(ledger, [part])
    error = caught.value
    assert error.file == str(part) and error.param == "on_overlap"
    assert "24 group(s) from 2026-03-01 00:00 to 2026-03-01 23:00" in error.message
    assert f"export-full.csv (ingest {full})" in error.message
    assert "replace" in error.hint and "keep" in error.hint
    assert snapshot(ledger) == before  # nothing half-written


def test_replace_swaps_the_covered_span_and_keeps_the_rest(ledger, tmp_path, full):
    # a corrected re-export of the first ten hours: 150 tokens each instead of 100
    part = write(tmp_path, "export-fixed.csv", *rows(range(10), tokens=150))
    (result,) = ingest_files(ledger, [part], on_overlap="replace")
    assert result.rows_added == 10
    assert totals(ledger)["input"] == 38 * 100 + 10 * 150
    assert any("replaced 10 ledger row(s) of ingest" in n for n in result.notes)
    hours = ledger.con.execute("SELECT count(DISTINCT ts), count(*) FROM usage").fetchall()
    assert hours == [(48, 48)]  # each hour once


def test_keep_adds_both_and_says_so(ledger, tmp_path, full):
    part = write(tmp_path, "gateway-2.csv", *rows(range(5), tokens=7))
    (result,) = ingest_files(ledger, [part], on_overlap="keep")
    assert totals(ledger)["input"] == 4800 + 5 * 7
    assert any(n.startswith("kept both, as asked: 5 group(s)") for n in result.notes)


def test_what_cannot_be_a_double_count_goes_in_without_a_question(ledger, tmp_path, full):
    # another team in the same hours, and the same hours of another day
    ingest_files(ledger, [write(tmp_path, "support.csv", *rows(range(48), team="support"))])
    # a longer version of the same file: its known rows are recognised by their keys
    ingest_files(ledger, [write(tmp_path, "export-full.csv", *rows(range(50)))])
    ingest_files(ledger, [write(tmp_path, "later.csv", *rows(range(50, 72)))])
    assert totals(ledger)["input"] == 4800 + 4800 + 200 + 2200
    # rows with request ids are told apart by their ids, whatever the file's name
    with_ids = HEADER + ",request_id"
    ingest_files(ledger, [write(tmp_path, "a.csv", *(r + f",id-{i}" for i, r in
                                                     enumerate(rows(range(3), team="x"))),
                                header=with_ids)])  # fmt: skip
    ingest_files(ledger, [write(tmp_path, "b.csv", *(r + f",id-{i + 3}" for i, r in
                                                     enumerate(rows(range(3), team="x"))),
                                header=with_ids)])  # fmt: skip
    assert totals(ledger)["input"] == 4800 + 4800 + 200 + 2200 + 600


def test_removing_the_earlier_ingest_lifts_the_overlap(ledger, tmp_path, full):
    ledger.remove_ingests([full])
    (result,) = ingest_files(ledger, [write(tmp_path, "export-part.csv", *rows(range(24)))])
    assert result.rows_added == 24 and totals(ledger)["input"] == 2400


def test_the_cli_and_the_api_offer_the_choice(cli, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("COSTCAST_DB", raising=False)
    write(tmp_path, "full.csv", *rows(range(48)))
    write(tmp_path, "part.csv", *rows(range(24)))
    assert cli("ingest", "full.csv")[0] == 0
    code, _, err = cli("ingest", "part.csv")
    assert code == 2 and "--on-overlap" in err and "full.csv (ingest 1)" in err
    assert "Traceback" not in err
    code, _, err = cli("ingest", "part.csv", "--on-overlap", "replace")
    assert code == 0 and "replaced 24 ledger row(s)" in err
    code, _, err = cli("ingest", "part.csv", "--on-overlap", "sometimes")
    assert code == 2 and "Traceback" not in err


def test_an_upload_that_overlaps_is_a_409_naming_the_choice(tmp_path):
    workspace = make_workspace(tmp_path, with_run=False, with_usage=False)
    app = create_app()
    app.dependency_overrides[get_settings] = lambda: Settings(config=workspace["config"])
    with TestClient(app) as client:
        client.headers.update(bearer(workspace["tokens"]["all"]))

        def upload(name, hours, **params):
            body = "\n".join([HEADER, *rows(hours)]) + "\n"
            return client.post("/v1/usage/uploads", params={"filename": name, **params},
                               content=body, headers={"Content-Type": "text/csv"})  # fmt: skip

        assert upload("full.csv", range(48)).status_code == 201
        refused = upload("part.csv", range(24))
        assert refused.status_code == 409
        body = refused.json()
        assert (body["error"], body["field"], body["file"]) == (
            "OverlapError",
            "on_overlap",
            "part.csv",
        )
        assert "full.csv" in body["message"] and "/tmp" not in body["message"]
        replaced = upload("part.csv", range(24), on_overlap="replace")
        assert replaced.status_code == 201 and replaced.json()["rows_added"] == 24
        assert upload("part.csv", range(2), on_overlap="maybe").status_code == 422
