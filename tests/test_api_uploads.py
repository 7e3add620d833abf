"""Uploads cannot expand past the config's limits: compression is off unless allowed, a
gzip expands under a byte cap, zstd is refused, a Parquet file's rows are counted first."""

from __future__ import annotations

import gzip
import io

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from apikit import bearer, make_workspace
from fastapi.testclient import TestClient

from api.main import create_app
from api.settings import Settings, get_settings

CSV = "timestamp,team,feature,model,requests,input_tokens,output_tokens\n"
ROW = "2026-03-01T{h:02d}:00:00Z,ops,alerts,gpt-4o,1,1000,100\n"


def client_for(tmp_path, extra_api: str = "", with_run: bool = False):
    workspace = make_workspace(tmp_path, with_run=with_run)
    config = workspace["config"]
    config.write_text(
        config.read_text()
        .replace("api:\n", "api:\n" + extra_api)
        .replace(
            "  max_scenario_kb: 4\n",
            "" if "max_scenario_kb" in extra_api else "  max_scenario_kb: 4\n",
        )
    )
    app = create_app()
    app.dependency_overrides[get_settings] = lambda: Settings(config=config, forecast_jobs=1)
    client = TestClient(app)
    client.headers.update(bearer(workspace["tokens"]["all"]))
    return client


def upload(client, name: str, body: bytes):
    return client.post("/v1/usage/uploads", params={"filename": name}, content=body,
                       headers={"Content-Type": "application/octet-stream"})  # fmt: skip


def test_compressed_uploads_are_off_unless_the_config_allows_them(tmp_path):
    body = gzip.compress((CSV + ROW.format(h=1)).encode())
    with client_for(tmp_path) as client:
        answer = upload(client, "u.csv.gz", body)
        assert answer.status_code == 415 and answer.json()["file"] == "u.csv.gz"
        assert "allow_compressed_uploads" in answer.json()["hint"]


def test_an_allowed_gzip_expands_only_up_to_its_cap(tmp_path):
    small = gzip.compress((CSV + "".join(ROW.format(h=h) for h in range(3))).encode())
    # ~100 KB compressed, 2.4 MB once expanded: a bomb against a 1 MB cap
    bomb = gzip.compress((CSV + ROW.format(h=1) * 60_000).encode())
    extra = "  allow_compressed_uploads: true\n  max_upload_expanded_mb: 1\n"
    with client_for(tmp_path, extra) as client:
        ok = upload(client, "u.csv.gz", small)
        assert ok.status_code == 201 and ok.json()["rows_added"] == 3, ok.text
        too_big = upload(client, "bomb.csv.gz", bomb)
        assert too_big.status_code == 413 and too_big.json()["file"] == "bomb.csv.gz"
        assert client.get("/v1/usage/uploads").json()["count"] == 2  # the fixture's, and u


def test_zstd_is_refused_and_parquet_rows_are_counted_first(tmp_path):
    table = pa.table({"timestamp": ["2026-03-01T01:00:00Z"] * 50, "team": ["ops"] * 50,
                      "feature": ["a"] * 50, "model": ["gpt-4o"] * 50, "requests": [1] * 50,
                      "input_tokens": [10] * 50, "output_tokens": [1] * 50})  # fmt: skip
    buffer = io.BytesIO()
    pq.write_table(table, buffer)
    with client_for(tmp_path, "  max_upload_rows: 10\n") as client:
        answer = upload(client, "u.csv.zst", b"\x28\xb5\x2f\xfd" + b"\0" * 20)
        assert answer.status_code == 415 and "zstd" in answer.json()["message"]
        answer = upload(client, "u.parquet", buffer.getvalue())
        assert answer.status_code == 413 and "50 rows" in answer.json()["message"]


@pytest.mark.parametrize("body", [b"\x1f\x8b not gzip at all", b"\x1f\x8b"])
def test_a_broken_gzip_is_a_format_error(tmp_path, body):
    with client_for(tmp_path, "  allow_compressed_uploads: true\n") as client:
        answer = upload(client, "u.csv.gz", body)
        assert answer.status_code == 422 and answer.json()["file"] == "u.csv.gz"


def test_a_scenario_up_to_the_configured_limit_is_read_and_one_past_it_is_413(tmp_path):
    scenario = (
        b"name: big\nchanges:\n  - {kind: traffic, team: search, factor: 2, start: 2026-07-01}\n"
    )
    padding = b"# " + b"x" * 1000 + b"\n"
    with client_for(tmp_path, "  max_scenario_kb: 1024\n", with_run=True) as client:
        headers = {"Content-Type": "application/yaml"}
        body = scenario + padding * (1_010_000 // len(padding))  # over 1,000,000 bytes
        assert 1_000_000 < len(body) <= 1024 * 1024
        answer = client.post("/v1/scenarios", content=body, headers=headers)
        assert answer.status_code == 201, answer.text[:300]
        body = scenario + padding * (1024 * 1024 // len(padding) + 1)
        assert client.post("/v1/scenarios", content=body, headers=headers).status_code == 413


def test_a_short_last_line_is_named(tmp_path):
    body = (CSV + ROW.format(h=1) + "2026-03-01T02:00:00Z\n").encode()
    with client_for(tmp_path) as client:
        answer = upload(client, "cut.csv", body)
        assert answer.status_code == 422 and answer.json()["line"] == 3
        assert "1 field(s); the header has 7" in answer.json()["message"]


def test_a_client_that_goes_away_mid_upload_leaves_a_line_not_a_traceback(caplog):
    import asyncio
    import logging

    from starlette.requests import ClientDisconnect

    from api.body import save_upload
    from api.errors import BodyIncomplete

    class Gone:
        def __init__(self) -> None:
            self.headers: dict = {}

        async def stream(self):
            yield b"timestamp,team\n"
            raise ClientDisconnect

    caplog.set_level(logging.INFO, logger="costcast.api")
    with pytest.raises(BodyIncomplete):
        asyncio.run(save_upload(Gone(), 1 << 20, "u.csv"))  # type: ignore[arg-type]
    assert "went away after 15 bytes" in caplog.text and "Traceback" not in caplog.text
