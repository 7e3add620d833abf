"""The main flows against a real ``costcast serve`` process over HTTP on 127.0.0.1:
upload usage, start a forecast, poll it, post scenarios, pull the journal; reads during
a run and scenario posts at once; and everything still there after a restart."""

from __future__ import annotations

import csv
import io
import time
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
from apikit import Server, bearer, make_workspace
from builders import DAILY_COST

pytestmark = pytest.mark.slow

SCENARIO = """name: double search
baseline: {run}
changes:
  - {{kind: traffic, team: search, factor: 2.0, start: 2026-07-01}}
"""


def poll(client: httpx.Client, run_id: str, timeout: float = 120) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        detail = client.get(f"/v1/forecasts/{run_id}").json()
        if detail["status"] in ("done", "failed"):
            return detail
        time.sleep(0.3)
    raise AssertionError(f"run {run_id} still {detail['status']} after {timeout} s")


def test_main_flow_concurrency_and_restart(tmp_path):
    ws = make_workspace(tmp_path, with_usage=False)
    server = Server(ws["config"], "--jobs", "1")
    try:
        client = httpx.Client(base_url=server.url, headers=bearer(ws["tokens"]["all"]), timeout=60)
        upload = client.post("/v1/usage/uploads", params={"filename": "usage.csv"},
                             content=ws["usage"].read_bytes(),
                             headers={"Content-Type": "text/csv"})  # fmt: skip
        assert upload.status_code == 201 and upload.json()["rows_added"] == 360

        started = client.post("/v1/forecasts", json={"horizon": "2026-08",
                                                     "models": "seasonal_naive", "paths": 50})  # fmt: skip
        assert started.status_code == 202
        run_id = started.json()["run_id"]
        # reads while the run is queued or running: none may fail
        with ThreadPoolExecutor(8) as pool:
            reads = list(pool.map(lambda path: client.get(path).status_code,
                                  ["/v1/usage?by=team", "/v1/forecasts", "/v1/prices"] * 10))  # fmt: skip
        assert set(reads) == {200}
        assert poll(client, run_id)["status"] == "done"

        body = SCENARIO.format(run=run_id).encode()
        with ThreadPoolExecutor(2) as pool:
            posts = list(pool.map(
                lambda _: client.post("/v1/scenarios", content=body,
                                      headers={"Content-Type": "application/yaml"}),
                range(2),
            ))  # fmt: skip
        assert [p.status_code for p in posts] == [201, 201]
        ids = {p.json()["id"] for p in posts}
        assert len(ids) == 2
        for p in posts:  # search doubles for July and August: 62 days of 0.35 more
            assert p.json()["totals"]["delta"]["mean"] == pytest.approx(62 * DAILY_COST)

        journal = client.get("/v1/exports/journal", params={"period": "2026-07", "run": run_id})
        assert journal.status_code == 200
        lines = list(csv.DictReader(io.StringIO(journal.text)))
        debits = {row["cost_center"]: row["debit"] for row in lines if row["debit"]}
        assert debits == {"CC-SEARCH": "10.85", "CC-SUPPORT": "21.70"}
        assert journal.headers["x-costcast-source-id"] == run_id
    finally:
        server.stop()

    # a restart finds the run, both scenario results and the upload
    server = Server(ws["config"], "--jobs", "1")
    try:
        client = httpx.Client(base_url=server.url, headers=bearer(ws["tokens"]["all"]), timeout=60)
        assert client.get(f"/v1/forecasts/{run_id}").json()["status"] == "done"
        assert ids <= {r["id"] for r in client.get("/v1/scenarios").json()["data"]}
        assert (
            client.get("/v1/usage/uploads").json()["data"][0]["path"].startswith("upload:usage.csv")
        )
        again = client.get("/v1/exports/journal", params={"period": "2026-07", "run": run_id})
        assert again.content == journal.content

        # a server killed mid-run leaves a job that can never finish: the next start says so
        started = client.post("/v1/forecasts", json={"horizon": "90d", "models": "prophet"})
        assert started.status_code == 202
    finally:
        server.stop(kill=True)
    server = Server(ws["config"], "--jobs", "1")
    try:
        client = httpx.Client(base_url=server.url, headers=bearer(ws["tokens"]["all"]), timeout=60)
        detail = client.get(f"/v1/forecasts/{started.json()['run_id']}").json()
        assert detail["status"] == "failed" and detail["error"]["error"] == "Interrupted"
    finally:
        server.stop()
