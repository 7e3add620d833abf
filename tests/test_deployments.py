"""Deployments listed in costcast.yaml or imported from files: measured and honoured by the
watch like the usage's own deployment tags, with located errors for bad files."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from forecast.deployments import DeploymentEntry, deployment_starts, import_deployments
from forecast.errors import DataFormatError
from forecast.impact import deployment_impact
from forecast.ingest import ingest_files
from forecast.pricing import load_price_book
from forecast.watch.alerts import replay
from forecast.watch.rules import AlertRules

MONDAY = dt.datetime(2026, 3, 2)


def untagged_weeks(path, teams=("ops",)):
    """<team>/triage on gpt-4o, no deployment column: 100 calls on weekdays, 40 on weekends,
    1,000 input and 100 output tokens a call in the first week, 1,200 input in the second."""
    rows = []
    for team in teams:
        for i in range(14):
            day = MONDAY + dt.timedelta(days=i)
            calls = 100 if day.weekday() < 5 else 40
            per_call = 1000 if i < 7 else 1200
            rows.append(f"{day:%Y-%m-%d}T00:00:00Z,1d,{team},triage,gpt-4o,{calls},"
                        f"{calls * per_call},{calls * 100}")  # fmt: skip
    header = "timestamp,bucket,team,feature,model,requests,input_tokens,output_tokens\n"
    path.write_text(header + "\n".join(rows) + "\n")
    return path


def entry(**kw):
    base = {"id": "triage-v2", "time": "2026-03-09T00:00:00Z", "team": "ops", "feature": "triage"}
    return DeploymentEntry.model_validate(base | kw)


def test_a_listed_deployment_is_measured_as_a_tagged_one_would_be(ledger, tmp_path):
    ingest_files(ledger, [untagged_weeks(tmp_path / "u.csv")])
    found = deployment_impact(ledger, load_price_book(), "triage-v2", listed=[entry()])
    # as by hand for the tagged case: (1000 x 2.50 + 100 x 10) / 1e6 = 0.0035 a call before,
    # (1200 x 2.50 + 1000) / 1e6 = 0.0040 after
    assert found["cost_per_request_before"] == pytest.approx(0.0035)
    assert found["cost_per_request_after"] == pytest.approx(0.0040)
    assert found["source"] == "costcast.yaml"


def test_a_team_or_a_feature_alone_covers_what_the_usage_holds(ledger, tmp_path):
    ingest_files(ledger, [untagged_weeks(tmp_path / "u.csv", teams=("ops", "sales"))])
    by_team = deployment_starts(ledger, [entry(feature=None, team="sales")])
    assert list(zip(by_team["team"], by_team["feature"], strict=True)) == [("sales", "triage")]
    by_feature = deployment_starts(ledger, [entry(team=None)])
    assert sorted(by_feature["team"]) == ["ops", "sales"]
    assert deployment_starts(ledger, [entry(team="nobody")]).empty  # matches no usage


def test_import_is_idempotent_and_a_listed_time_beats_the_first_tagged_row(ledger, tmp_path):
    tagged = tmp_path / "t.csv"
    tagged.write_text("timestamp,bucket,team,feature,model,deployment,requests,input_tokens,"
                      "output_tokens\n2026-03-09T05:00:00Z,1h,ops,triage,gpt-4o,v2,10,100,10\n")  # fmt: skip
    ingest_files(ledger, [tagged])
    assert deployment_starts(ledger)["started"].tolist() == [dt.datetime(2026, 3, 9, 5)]
    listed = tmp_path / "d.jsonl"
    listed.write_text(
        json.dumps({"id": "v2", "time": "2026-03-09T04:30:00+01:00", "feature": "triage",
                    "team": "ops", "description": "longer prompt"}) + "\n"
    )  # fmt: skip
    (first,) = import_deployments(ledger, [listed])
    assert (first.added, first.changed, first.unchanged) == (1, 0, 0)
    (again,) = import_deployments(ledger, [listed])
    assert (again.added, again.changed, again.unchanged) == (0, 0, 1)
    (row,) = deployment_starts(ledger).to_dict("records")
    # 04:30 at +01:00 is 03:30 UTC, before the first tagged row at 05:00
    assert row["started"] == dt.datetime(2026, 3, 9, 3, 30)
    assert (row["description"], row["source"]) == ("longer prompt", str(listed))
    # the config's entry of the same identity wins over the import
    (mine,) = deployment_starts(ledger, [entry(id="v2", time="2026-03-09T02:00:00")]).to_dict(
        "records"
    )
    assert mine["started"] == dt.datetime(2026, 3, 9, 2)


@pytest.mark.parametrize(
    ("text", "line", "field", "words"),
    [
        ("id,time,team\nv1,2026-03-01,ops\nv2,yesterday,ops\n", 3, "time", "datetime"),
        ("id,time,team,feature\nv1,2026-03-01,,\n", 2, None, "neither a team nor a feature"),
        ("id,time,owner\nv1,2026-03-01,ops\n", 1, None, "unknown column 'owner'"),
        ("id,time,team\nv1,1066-10-14,ops\n", 2, "time", "between 1971 and 2200"),
        ("id,time,team\nv1,2026-03-01\n", 2, None, "2 cells where the header has 3"),
        ("id,time,team\n", None, None, "no deployments in the file"),
    ],
)
def test_a_bad_file_is_a_located_error_and_stores_nothing(ledger, tmp_path, text, line, field,
                                                         words):  # fmt: skip
    good, bad = tmp_path / "good.csv", tmp_path / "bad.csv"
    good.write_text("id,time,team\nv1,2026-03-01,ops\n")
    bad.write_text(text)
    with pytest.raises(DataFormatError, match=words) as caught:
        import_deployments(ledger, [good, bad])
    assert (caught.value.file, caught.value.line, caught.value.field) == (str(bad), line, field)
    assert not ledger.has_table("deployments")  # the good file went in with the bad: neither


def test_a_listed_deployment_explains_a_rise_in_tokens(ledger, tmp_path):
    rows = []  # writer/drafts: 100 calls an hour, 1,000 tokens a call, 1,300 from day 10
    for h in range(24 * 20):
        t = MONDAY + dt.timedelta(hours=h)
        rows.append(f"{t:%Y-%m-%dT%H}:00:00Z,1h,writer,drafts,gpt-4o-mini,100,"
                    f"{130000 if h >= 240 else 100000},1000")  # fmt: skip
    path = tmp_path / "g.csv"
    path.write_text("timestamp,bucket,team,feature,model,requests,input_tokens,output_tokens\n"
                    + "\n".join(rows) + "\n")  # fmt: skip
    ingest_files(ledger, [path])
    book, start, end = load_price_book(), dt.datetime(2026, 3, 9), dt.datetime(2026, 3, 21, 23)

    def inflation(listed):
        return [a for a in replay(ledger, book, AlertRules(), start, end, listed=listed)
                if a.rule == "token_inflation"]  # fmt: skip

    assert len(inflation([])) == 1
    deployed = entry(team="writer", feature="drafts", time="2026-03-12T00:00:00Z")
    assert inflation([deployed]) == []


def test_cli_imports_lists_and_refuses_a_bad_file(cli, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("COSTCAST_DB", raising=False)
    assert cli("ingest", untagged_weeks(tmp_path / "u.csv"))[0] == 0
    (tmp_path / "d.csv").write_text("id,time,feature\ntriage-v2,2026-03-09,triage\n")
    code, out, err = cli("deployments", "import", "d.csv")
    assert code == 0, err
    assert "1 new" in out
    code, out, _ = cli("deployments", "list", "--output", "json")
    assert [(r["team"], r["deployment"]) for r in json.loads(out)] == [("ops", "triage-v2")]
    (tmp_path / "bad.csv").write_text("id,time,feature\ntriage-v3,soon,triage\n")
    code, _, err = cli("deployments", "import", "bad.csv")
    assert code == 2 and "bad.csv, line 2, field 'time'" in err and "Traceback" not in err


def test_the_api_serves_impact_ranking_and_deployments(tmp_path):
    from apikit import bearer, make_workspace
    from fastapi.testclient import TestClient

    from api.main import create_app
    from api.settings import Settings, get_settings
    from forecast.ledger import Ledger

    workspace = make_workspace(tmp_path, with_run=False, with_usage=False)
    with Ledger(tmp_path / "ledger.duckdb") as ledger:
        ingest_files(ledger, [untagged_weeks(tmp_path / "u.csv")])
    with workspace["config"].open("a") as config:
        config.write("deployments:\n  - {id: triage-v2, time: 2026-03-09, feature: triage}\n")
    app = create_app()
    app.dependency_overrides[get_settings] = lambda: Settings(config=workspace["config"])
    with TestClient(app) as client:
        client.headers.update(bearer(workspace["tokens"]["all"]))
        found = client.get("/v1/impact", params={"deployment": "triage-v2"}).json()
        assert found["cost_per_request_after"] == pytest.approx(0.0040)
        assert found["provenance"]["rows"] == 14
        ranked = client.get("/v1/impact/ranking").json()
        # listed on a feature used before it: measured, unlike a feature's first tag
        assert [r["deployment"] for r in ranked["data"]] == ["triage-v2"]
        listed = client.get("/v1/deployments").json()
        assert [(r["team"], r["source"]) for r in listed["data"]] == [("ops", "costcast.yaml")]
        missing = client.get("/v1/impact", params={"deployment": "v9"})
        assert missing.status_code == 404 and missing.json()["field"] == "deployment"
