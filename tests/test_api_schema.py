"""schemathesis over the app's own OpenAPI schema: generated requests (valid and not) to
every operation must never get a 5xx, and every answer (status, content type, headers,
body) must be one the schema documents."""

from __future__ import annotations

import pytest
import schemathesis
from apikit import bearer, make_workspace
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    allow_header_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from api.main import create_app
from api.settings import Settings, get_settings

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def workspace(tmp_path_factory):
    return make_workspace(tmp_path_factory.mktemp("fuzz"))


# The app object only (no settings, no ledger): its schema is read when tests are collected.
# (schemathesis.pytest.from_fixture would defer this, but fails under pytest 9.) Read from
# the object, not over ASGI: that request ran the app's lifespan, which opened a ledger in
# the working directory (./costcast.duckdb, created at every collection).
APP = create_app()
# The upload routes take these bodies as raw bytes too: schemathesis skips a media type it
# has no serializer for, and these bodies are the ones a client controls most.
schemathesis.serializer.alias(
    ["application/x-ndjson", "application/jsonl", "application/vnd.apache.parquet"],
    "application/octet-stream",
)
schema = schemathesis.openapi.from_dict(APP.openapi())
schema.app = APP  # calls go to the app in this process, as from_asgi's would


@pytest.fixture(scope="module", autouse=True)
def running_app(workspace):
    APP.dependency_overrides[get_settings] = lambda: Settings(
        config=workspace["config"], forecast_jobs=1
    )
    with TestClient(APP):  # runs the lifespan: the ledger is open for every generated call
        yield


@schema.parametrize()
@settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    derandomize=True,  # the same cases every run: a failure here is reproducible
)
def test_no_server_errors_and_answers_match_the_schema(case, workspace):
    case.call_and_validate(
        headers=bearer(workspace["tokens"]["all"]),
        checks=[
            not_a_server_error,
            status_code_conformance,
            content_type_conformance,
            response_headers_conformance,
            response_schema_conformance,
            allow_header_conformance,
        ],
    )
