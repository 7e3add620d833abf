"""Reads are answered once between two changes: a repeated read is served from the cache,
and a write to the ledger or an edit of the config is seen by the very next read."""

from __future__ import annotations

import os
import time

import pytest
from apikit import bearer, make_workspace
from builders import daily_csv
from fastapi.testclient import TestClient

from api.main import create_app
from api.settings import Settings, get_settings


@pytest.fixture
def setup(tmp_path):
    workspace = make_workspace(tmp_path)
    app = create_app()
    app.dependency_overrides[get_settings] = lambda: Settings(
        config=workspace["config"], forecast_jobs=1
    )
    with TestClient(app) as client:
        client.headers.update(bearer(workspace["tokens"]["all"]))
        yield client, app.state.costcast, workspace


def test_a_repeated_read_is_served_once_and_a_write_is_seen_at_once(setup, tmp_path):
    client, state, _ = setup
    query = {"by": "team", "freq": "month"}
    first = client.get("/v1/usage", params=query).json()
    misses = state.reads.misses
    assert client.get("/v1/usage", params=query).json() == first
    assert state.reads.misses == misses and state.reads.hits >= 1
    extra = daily_csv(tmp_path / "ops.csv", [("ops", "alerts", "gpt-4o")], days=10)
    answer = client.post("/v1/usage/uploads", params={"filename": "ops.csv"},
                         content=extra.read_bytes(), headers={"Content-Type": "text/csv"})  # fmt: skip
    assert answer.status_code == 201
    after = client.get("/v1/usage", params=query).json()
    assert {row["team"] for row in after["data"]} == {"search", "support", "ops"}


def test_a_config_edit_is_seen_by_the_next_read(setup):
    client, _, workspace = setup
    series = f"/v1/forecasts/{workspace['run_id']}/series"
    query = {"by": "team", "freq": "quarter", "period": "2026-Q3"}
    rows = {r["team"]: r for r in client.get(series, params=query).json()["data"]}
    assert rows["search"]["budget"] is None
    config = workspace["config"]
    config.write_text(
        config.read_text() + "budgets:\n  - {team: search, period: 2026-Q3, amount: 1.0}\n"
    )
    later = time.time() + 5  # a new modification time, whatever the file system's resolution
    os.utime(config, (later, later))
    rows = {r["team"]: r for r in client.get(series, params=query).json()["data"]}
    assert rows["search"]["budget"] == 1.0 and rows["search"]["p_exceed"] == 1.0


def test_a_price_edit_is_priced_into_the_rollup_and_seen_by_the_next_read(setup):
    from builders import DAILY_COST

    from forecast import rollup_cost

    client, state, workspace = setup
    query = {"by": "team", "freq": "month"}
    before = client.get("/v1/usage", params=query).json()["data"]
    # 0.35 USD per key and day: support has two keys, search one
    june = {r["team"]: r for r in before if r["timestamp"].startswith("2026-06")}
    assert june["support"]["cost_usd"] == pytest.approx(2 * 15 * DAILY_COST)
    assert rollup_cost.ready(state.ledger, state.book)  # the server priced it at start
    config = workspace["config"]
    config.write_text(config.read_text() + "prices:\n  entries:\n    - {model: gpt-4o, "
                      "effective: 2025-01-01, input: 5.0, cached_input: 2.5, output: 20.0}\n")  # fmt: skip
    later = time.time() + 5
    os.utime(config, (later, later))
    after = client.get("/v1/usage", params=query).json()["data"]
    assert [r["cost_usd"] for r in after] == pytest.approx([2 * r["cost_usd"] for r in before])
    assert rollup_cost.ready(state.ledger, state.current()[1])  # and priced it again
