"""Every resource through TestClient: answers, errors and limits, with values known by hand.

The ledger holds 120 days of three keys making 100 gpt-4o calls a day of 1000
input and 100 output tokens: 0.35 USD per key and day (see test_forecast).
"""

from __future__ import annotations

import io
import json
import time
from pathlib import Path

import pandas as pd
import pytest
from apikit import bearer, make_workspace
from builders import DAILY_COST, daily_csv
from fastapi.testclient import TestClient

from api.main import create_app
from api.settings import Settings, get_settings

YAML = {"Content-Type": "application/yaml"}
SCENARIO = b"""name: double search
baseline: latest
changes:
  - {kind: traffic, team: search, factor: 2.0, start: 2026-07-01}
"""


@pytest.fixture(scope="module")
def workspace(tmp_path_factory):
    return make_workspace(tmp_path_factory.mktemp("api"))


@pytest.fixture(scope="module")
def client(workspace):
    app = create_app()
    app.dependency_overrides[get_settings] = lambda: Settings(
        config=workspace["config"], forecast_jobs=1
    )
    with TestClient(app) as test_client:
        test_client.headers.update(bearer(workspace["tokens"]["all"]))
        yield test_client


def test_health_needs_no_token(client):
    for path in ("/health/live", "/health/ready"):
        assert client.get(path, headers={"Authorization": ""}).status_code == 200


def test_usage_summary_by_team_matches_the_constant_traffic(client):
    body = client.get("/v1/usage", params={"by": "team", "freq": "month", "from": "2026-05-01",
                                           "to": "2026-05-31"}).json()  # fmt: skip
    by_team = {row["team"]: row for row in body["data"]}
    assert body["count"] == 2
    assert by_team["search"]["requests"] == 31 * 100
    assert by_team["search"]["cost_usd"] == pytest.approx(31 * DAILY_COST)
    assert by_team["support"]["cost_usd"] == pytest.approx(2 * 31 * DAILY_COST)


def test_lists_are_paginated_with_the_full_count(client):
    full = client.get("/v1/usage", params={"freq": "day"}).json()
    part = client.get("/v1/usage", params={"freq": "day", "limit": 5, "offset": 10}).json()
    assert full["count"] == part["count"] == 120
    assert part["data"] == full["data"][10:15]


def test_upload_usage_is_atomic_and_idempotent(client, workspace, tmp_path):
    extra = daily_csv(tmp_path / "more.csv", [("ops", "alerts", "gpt-4o")], days=10)
    sent = dict(params={"filename": "more.csv"}, content=extra.read_bytes(),
                headers={"Content-Type": "text/csv"})  # fmt: skip
    first = client.post("/v1/usage/uploads", **sent)
    assert first.status_code == 201, first.text
    assert first.json()["rows_added"] == 10 and first.json()["file"] == "more.csv"
    again = client.post("/v1/usage/uploads", **sent)
    assert again.json()["rows_added"] == 0 and again.json()["rows_present"] == 10
    log = client.get("/v1/usage/uploads").json()["data"]
    assert log[-1]["path"].startswith("upload:more.csv")

    bad = extra.read_text().replace("ops,alerts,gpt-4o,100", "ops,alerts,gpt-4o,lots", 1)
    before = client.get("/v1/usage", params={"freq": "month"}).json()
    answer = client.post("/v1/usage/uploads", params={"filename": "bad.csv"},
                         content=bad.encode(), headers={"Content-Type": "text/csv"})  # fmt: skip
    assert answer.status_code == 422
    error = answer.json()
    assert error["file"] == "bad.csv" and error["line"] == 2 and error["field"] == "requests"
    assert client.get("/v1/usage", params={"freq": "month"}).json() == before


def test_upload_limits_and_content_types(client):
    big = b"x" * (1024 * 1024 + 1)  # the workspace allows 1 MB
    answer = client.post("/v1/usage/uploads", params={"filename": "u.csv"}, content=big,
                         headers={"Content-Type": "text/csv"})  # fmt: skip
    assert answer.status_code == 413
    answer = client.post("/v1/usage/uploads", params={"filename": "u.csv"}, content=b"a,b\n",
                         headers={"Content-Type": "multipart/form-data; boundary=x"})  # fmt: skip
    assert answer.status_code == 415 and "text/csv" in answer.json()["hint"]
    answer = client.post("/v1/scenarios", content=b"name: x\n" + b"#" * 5000, headers=YAML)
    assert answer.status_code == 413  # scenarios are limited to 4 KB here
    answer = client.post("/v1/scenarios", content=SCENARIO, headers={"Content-Type": "text/csv"})
    assert answer.status_code == 415


def test_forecast_job_runs_in_the_background_and_can_be_polled(client):
    answer = client.post(
        "/v1/forecasts", json={"horizon": "30d", "forecasters": "seasonal_naive", "paths": 20}
    )
    assert answer.status_code == 202
    run_id = answer.json()["run_id"]
    assert answer.headers["Location"] == f"/v1/forecasts/{run_id}"
    for _ in range(120):
        detail = client.get(f"/v1/forecasts/{run_id}").json()
        if detail["status"] in ("done", "failed"):
            break
        time.sleep(0.25)
    assert detail["status"] == "done", detail
    assert detail["provenance"]["rows"] > 0 and len(detail["provenance"]["content_hash"]) == 16
    # what the run left out or was held back by, as the command line says it
    assert (detail["unpriced"], detail["held_back"], detail["provenance"]["gaps"]) == ([], [], [])
    assert {s["forecaster"] for s in detail["series"]} == {"seasonal_naive"}
    done = client.get("/v1/forecasts", params={"status": "done"}).json()
    assert run_id in {row["run_id"] for row in done["data"]}


def test_a_parameter_mistake_names_the_query_field(client):
    answer = client.get("/v1/usage", params={"freq": "decade"})
    assert answer.status_code == 422
    assert answer.json()["field"] == "freq" and "--" not in answer.text


def test_bad_forecast_requests_fail_at_once(client):
    # an as-of date before any usage: refused before anything is queued
    answer = client.post("/v1/forecasts", json={"as_of": "2000-01-01"})
    assert answer.status_code == 422 and answer.json()["field"] == "as_of"
    assert "before the ledger's first day" in answer.json()["message"]
    answer = client.post("/v1/forecasts", json={"horizon": "soon"})
    assert answer.status_code == 422 and answer.json()["field"] == "horizon"
    answer = client.post("/v1/forecasts", json={"models": "magic"})  # the old name still works
    assert answer.json()["field"] == "forecasters"
    assert answer.status_code == 422 and "magic" in answer.json()["message"]
    answer = client.post("/v1/forecasts", json={"paths": 5})
    assert answer.status_code == 422 and answer.json()["field"] == "body.paths"


def test_series_by_team_period_and_quantiles(client, workspace):
    run_id = workspace["run_id"]
    body = client.get(
        f"/v1/forecasts/{run_id}/series",
        params={"by": "team", "freq": "month", "period": "2026-07", "quantiles": "0.05,0.5,0.95"},
    ).json()
    rows = {row["team"]: row for row in body["data"]}
    assert set(rows) == {"search", "support", "total"}
    assert rows["search"]["mean"] == pytest.approx(31 * DAILY_COST)
    assert rows["total"]["mean"] == pytest.approx(3 * 31 * DAILY_COST)
    assert {"p5", "p50", "p95"} <= set(rows["search"])
    assert client.get("/v1/forecasts/run-x/series").status_code == 404


def test_scenario_post_evaluates_saves_and_lists(client, workspace):
    # the workspace's run, not "latest": another test may have made a newer one
    run = {"run": workspace["run_id"]}
    answer = client.post("/v1/scenarios", params=run, content=SCENARIO, headers=YAML)
    assert answer.status_code == 201, answer.text
    result = answer.json()
    # search doubles from 2026-07-01 to the horizon end 2026-08-31: 62 extra days of 0.35
    assert result["totals"]["delta"]["mean"] == pytest.approx(62 * DAILY_COST)
    assert client.get(f"/v1/scenarios/{result['id']}").json()["totals"] == result["totals"]
    listed = client.get("/v1/scenarios").json()
    assert result["id"] in {row["id"] for row in listed["data"]}
    as_json = client.post(
        "/v1/scenarios",
        params=run,
        json={"name": "j", "baseline": "latest",
              "changes": [{"kind": "traffic", "team": "search", "factor": 2.0, "start": "2026-07-01"}]},
    )  # fmt: skip
    assert as_json.status_code == 201
    assert as_json.json()["totals"]["delta"]["mean"] == pytest.approx(62 * DAILY_COST)


def test_scenario_errors_say_where(client):
    answer = client.post("/v1/scenarios", content=b"name: t\nbaseline: latest\nchanges: [\n",
                         headers=YAML)  # fmt: skip
    assert answer.status_code == 422 and answer.json()["line"] is not None
    wrong = SCENARIO.replace(b"factor: 2.0", b"factor: -2")
    answer = client.post("/v1/scenarios", content=wrong, headers=YAML).json()
    assert answer["field"] == "changes[0]" and answer["line"] == 4 and answer["column"] == 5
    assert "factor must be between 0 and 1000.0, got -2.0" in answer["message"]
    answer = client.post("/v1/scenarios", params={"run": "run-missing"}, content=SCENARIO,
                         headers=YAML)  # fmt: skip
    assert answer.status_code == 404
    assert client.get("/v1/scenarios/scn-missing").status_code == 404


def test_prices_on_a_date(client):
    body = client.get("/v1/prices", params={"model": "gpt-4o", "on": "2026-01-01"}).json()
    assert body["data"][0]["input"] == 2.50 and body["data"][0]["output"] == 10.0
    answer = client.get("/v1/prices", params={"model": "gpt-9-ultra"})
    assert answer.status_code == 404 and "gpt-9-ultra" in answer.json()["message"]


def test_journal_lines_add_up_to_the_forecast_mean(client, workspace):
    params = {"period": "2026-07", "run": workspace["run_id"]}
    answer = client.get("/v1/exports/journal", params=params)
    assert answer.status_code == 200
    lines = answer.text.splitlines()
    assert lines[0].startswith("journal_id,line,posting_date,reversal_date,entity,gl_account")
    rows = [line.split(",") for line in lines[1:]]
    debits = {r[6]: r[7] for r in rows if r[7]}
    credits = {r[6]: r[8] for r in rows if r[8]}
    assert debits == credits == {"CC-SEARCH": "10.85", "CC-SUPPORT": "21.70"}  # 31 x 0.35 x keys
    assert all(r[0] == "ACR-2026-07-LLM" and r[2] == "2026-07-31" for r in rows)
    assert answer.headers["X-Costcast-Source-Id"] == workspace["run_id"]
    assert all(r[13] == workspace["run_id"] for r in rows)


@pytest.mark.parametrize("fmt", ["csv", "json", "xlsx"])
def test_journal_is_byte_identical_on_repeat(client, workspace, fmt):
    # 2026-Q2 ends two weeks into the run: 76 days of actuals, 15 forecast days
    params = {"period": "2026-Q2", "format": fmt, "run": workspace["run_id"]}
    first = client.get("/v1/exports/journal", params=params)
    time.sleep(1.1)  # a clock in the output would show now
    assert first.status_code == 200
    if fmt == "json":
        assert first.json()["total"] == f"{3 * 91 * DAILY_COST:.2f}"
    assert client.get("/v1/exports/journal", params=params).content == first.content


def test_journal_errors(client, workspace):
    answer = client.get(
        "/v1/exports/journal", params={"period": "2026-Q4", "run": workspace["run_id"]}
    )
    assert answer.status_code == 422 and "2026-08-31" in answer.json()["message"]
    answer = client.get("/v1/exports/journal", params={"period": "2026-13"})
    assert answer.status_code == 422 and answer.json()["field"] == "period"
    answer = client.get("/v1/exports/journal", params={"period": "2026-07", "basis": "scenario"})
    assert answer.status_code == 422 and answer.json()["field"] == "scenario"


def test_unknown_run_is_404(client):
    for path in ("/v1/forecasts/run-nope", "/v1/forecasts/run-nope/series"):
        assert client.get(path).status_code == 404
    answer = client.get("/v1/exports/journal", params={"period": "2026-07", "run": "run-nope"})
    assert answer.status_code == 404


def test_journal_xlsx_holds_the_same_lines_as_the_csv(client, workspace):
    params = {"period": "2026-07", "run": workspace["run_id"]}
    as_csv = pd.read_csv(
        io.StringIO(client.get("/v1/exports/journal", params=params).text), dtype=str
    )
    xlsx = client.get("/v1/exports/journal", params={**params, "format": "xlsx"})
    assert xlsx.headers["content-type"].startswith("application/vnd.openxmlformats")
    sheet = pd.read_excel(io.BytesIO(xlsx.content), sheet_name="journal", dtype=str)
    assert list(sheet.columns) == list(as_csv.columns)
    for column in ("cost_center", "gl_account", "source_id"):
        assert list(sheet[column]) == list(as_csv[column])
    assert pd.to_numeric(sheet.debit).sum() == pytest.approx(pd.to_numeric(as_csv.debit).sum())


def test_billing_upload_reconciliation_and_focus(client, fixture_path):
    costs = fixture_path("billed/openai_costs.json")
    sent = dict(params={"filename": "costs.json"}, content=costs.read_bytes(),
                headers={"Content-Type": "application/json"})  # fmt: skip
    answer = client.post("/v1/billing/uploads", **sent)
    assert answer.status_code == 201, answer.text
    assert answer.json()["format"] == "openai_costs" and answer.json()["added"] == 4
    assert client.post("/v1/billing/uploads", **sent).json()["skipped"] is True
    assert client.get("/v1/billing/uploads").json()["count"] == 1

    flagged = client.get("/v1/reconciliation", params={"flagged": True}).json()
    assert [(r["day"][:10], r["provider"]) for r in flagged["data"]] == [("2026-06-05", "openai")]
    assert flagged["data"][0]["diff_usd"] == pytest.approx(5.00 - 3 * DAILY_COST)

    focus = client.get("/v1/exports/focus", params={"from": "2026-06-03", "to": "2026-06-05"})
    assert focus.status_code == 200
    rows = pd.read_csv(io.StringIO(focus.text))
    assert rows.BilledCost.sum() == pytest.approx(1.05 + 1.06 + 5.00)
    as_json = client.get("/v1/exports/focus", params={"period": "2026-06", "format": "json"}).json()
    assert {r["ChargePeriodStart"][:7] for r in as_json} == {"2026-06"}

    bad = client.post("/v1/billing/uploads", params={"filename": "eur.json"},
                      content=costs.read_text().replace('"usd"', '"eur"').encode(),
                      headers={"Content-Type": "application/json"})  # fmt: skip
    assert bad.status_code == 422
    assert bad.json()["file"] == "eur.json" and bad.json()["field"] == "amount.currency"


def test_scenario_validate_and_schema(client):
    answer = client.post("/v1/scenarios/validate", content=SCENARIO, headers=YAML)
    assert answer.json() == {"valid": True, "name": "double search", "changes": ["traffic"]}
    schema = client.get("/v1/scenarios/schema").json()
    assert schema == json.loads(Path("scenarios/schema.json").read_text())
    assert "changes" in schema["properties"]


def test_usage_upload_of_an_unknown_format_says_which_formats_exist(client):
    answer = client.post("/v1/usage/uploads", params={"filename": "notes.txt"},
                         content=b"hello\nworld\n", headers={"Content-Type": "text/plain"})  # fmt: skip
    assert answer.status_code == 422
    assert answer.json()["file"] == "notes.txt" and "--format" in answer.json()["hint"]


def test_kpis_per_team_and_week(client):
    body = client.get("/v1/kpis", params={"by": "team", "freq": "week", "from": "2026-05-04",
                                          "to": "2026-05-10"}).json()  # fmt: skip
    # read from the week's rows: 3 keys x 7 days
    assert body["provenance"]["rows"] == 21
    assert (body["provenance"]["first_day"], body["provenance"]["last_day"]) == (
        "2026-05-04",
        "2026-05-10",
    )
    rows = {r["team"]: r for r in body["data"]}
    assert set(rows) == {"search", "support"}
    # constant traffic: 1,000 input tokens a call, no failures, no growth
    assert rows["search"]["tokens_per_request_input"] == 1000
    assert rows["search"]["failed_share"] == 0 and rows["search"]["token_inflation"] == 0
    assert rows["search"]["cost_per_success"] == pytest.approx(DAILY_COST / 100)


def test_model_spread_is_empty_where_each_feature_has_one_model(client):
    # every feature of the constant workspace runs on gpt-4o alone: nothing to compare
    body = client.get("/v1/kpis/model-spread").json()
    assert (body["data"], body["count"]) == ([], 0)
    answer = client.get("/v1/kpis/model-spread", params={"share": 2})
    assert answer.status_code == 422 and answer.json()["field"] == "query.share"


def test_budget_burn_past_the_ledger_is_refused(client):
    # the constant workspace's usage ends on 2026-06-15: later days are unknown
    answer = client.get("/v1/kpis/budget-burn", params={"to": "2026-07-01"})
    assert answer.status_code == 422, answer.text
    assert "ends on 2026-06-15" in answer.json()["message"]


EDGE_DAYS = {
    "date": ["0001-01-01", "9999-12-31", "1970-12-31", "2201-01-01", "2026-06-30"],
    "date-time": ["0001-01-01T00:00:00", "9999-12-31T23:00:00", "2026-06-30T12:00:00"],
}
# what the routes that take them need besides a day
REQUIRED = {"deployment": "v1", "period": "2026-Q2", "filename": "u.csv"}


def _day_format(param: dict) -> str | None:
    schema = param.get("schema", {})
    for option in [schema, *schema.get("anyOf", [])]:
        if option.get("format") in EDGE_DAYS:
            return option["format"]
    return None


def test_no_route_answers_5xx_to_a_day_at_the_edges_of_the_calendar(client):
    """/v1/kpis?from=0001-01-01 and /v1/exports/focus?to=9999-12-31 answered 500 (an
    OverflowError a few weeks before year 1 or a day after 9999); schemathesis had not drawn
    such days. Every GET route's day and hour parameters, alone and as from = to."""
    spec = client.app.openapi()
    tried = 0
    for path, operations in spec["paths"].items():
        get = operations.get("get")
        if "{" in path or get is None:
            continue
        params = [p for p in get.get("parameters", []) if p["in"] == "query"]
        needed = {p["name"]: REQUIRED.get(p["name"], "x") for p in params if p.get("required")}
        dated = [(p["name"], _day_format(p)) for p in params if _day_format(p)]
        for name, kind in dated:
            for value in EDGE_DAYS[kind]:
                both = {n: value for n, k in dated if k == kind and n in ("from", "to")}
                for query in ({**needed, name: value}, {**needed, **both}):
                    answer = client.get(path, params=query)
                    tried += 1
                    assert answer.status_code < 500, (path, query, answer.text[:300])
    assert tried > 60  # kpis, usage, reconciliation, focus, journal, impact, prices, alerts...


def test_no_post_answers_5xx_to_a_day_at_the_edges_of_the_calendar(client):
    """A scenario change starting 0001-01-01 answered 500 (pandas' OutOfBoundsDatetime while
    it ran); the days and periods every POST route takes, at the calendar's edges."""
    for day in ("0001-01-01", "9999-12-31", "1970-12-31", "2201-01-01"):
        for route, call in {
            "forecast": lambda d: client.post("/v1/forecasts", json={"as_of": d}),
            "horizon": lambda d: client.post("/v1/forecasts", json={"horizon": f"{d[:4]}-Q4"}),
            "check": lambda d: client.post("/v1/alerts/checks", params={"at": f"{d}T23:00:00"}),
            "change": lambda d: client.post("/v1/scenarios", headers=YAML, content=SCENARIO
                                            .replace(b"2026-07-01", d.encode())),
            "budget": lambda d: client.post("/v1/scenarios", headers=YAML, content=SCENARIO
                                            + f"budget: {{amount: 1, period: {d[:4]}-Q4}}\n"
                                            .encode()),
        }.items():  # fmt: skip
            answer = call(day)
            assert answer.status_code == 422, (route, day, answer.text[:300])
            assert answer.json()["field"] in (
                "body.as_of",
                "as_of",
                "horizon",
                "at",
                "changes[0].start",
                "budget.period",
            ), answer.text


def test_top_users_share_per_week(tmp_path):
    """GET /v1/kpis/top-users, as costcast kpis --top-users: 20 users in one week costing 1
    to 20 units; the top 5% is one user, 20 of the 210 units."""
    from forecast.ingest import ingest_files
    from forecast.ledger import Ledger

    made = make_workspace(tmp_path, with_usage=False)
    rows = ["timestamp,bucket,team,feature,model,user,requests,input_tokens,output_tokens"]
    rows += [f"2026-05-05T10:00:00Z,1h,t,f,gpt-4o,u{k},1,{1000 * k},0" for k in range(1, 21)]
    (tmp_path / "users.csv").write_text("\n".join(rows) + "\n")
    with Ledger(tmp_path / "ledger.duckdb") as ledger:
        ingest_files(ledger, [tmp_path / "users.csv"])
    app = create_app()
    app.dependency_overrides[get_settings] = lambda: Settings(config=made["config"])
    with TestClient(app) as client:
        client.headers.update(bearer(made["tokens"]["read"]))
        body = client.get("/v1/kpis/top-users", params={"freq": "week"}).json()
        assert body["data"] == [{"period_start": "2026-05-04T00:00:00", "users": 20, "top_users": 1,
                                 "top_cost_share": round(20 / 210, 6)}]  # fmt: skip
        assert body["provenance"]["rows"] == 20
        answer = client.get("/v1/kpis/top-users", params={"freq": "hour"})
        assert answer.status_code == 422 and answer.json()["field"] == "freq", answer.text
