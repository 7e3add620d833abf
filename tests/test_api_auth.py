"""Every route but health answers 401 without a valid token and 403 without its scope.

The routes come from the routers the app includes, checked against the app's
own OpenAPI route table, so a route added tomorrow is checked too; one that
declares no scope fails here.
"""

from __future__ import annotations

import re

import pytest
from apikit import bearer, make_workspace
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient

from api.deps import RequireScope
from api.main import ROUTERS, create_app
from api.settings import Settings, get_settings
from forecast.config import SCOPES
from forecast.tokens import revoke_token

PUBLIC = ("/health/",)


def scope_of(route: APIRoute) -> str | None:
    """The scope the route's RequireScope dependency demands, found in its dependency tree."""
    found = []
    stack = list(route.dependant.dependencies)
    while stack:
        dep = stack.pop()
        if isinstance(dep.call, RequireScope):
            found.append(dep.call.scope)
        stack.extend(dep.dependencies)
    assert len(found) <= 1, f"{route.path} asks for several scopes: {found}"
    return found[0] if found else None


def guarded_routes():
    for router in ROUTERS:
        for route in router.routes:
            if isinstance(route, APIRoute) and not route.path.startswith(PUBLIC):
                for method in sorted(route.methods):
                    yield method, route


def test_the_routers_are_all_the_app_serves():
    served = {
        (method.upper(), path)
        for path, operations in create_app().openapi()["paths"].items()
        for method in operations
        if not path.startswith(PUBLIC)
    }
    assert served == {(m, r.path) for m, r in guarded_routes()}


@pytest.fixture(scope="module")
def workspace(tmp_path_factory):
    return make_workspace(tmp_path_factory.mktemp("auth"), with_run=False)


@pytest.fixture(scope="module")
def client(workspace):
    app = create_app()
    app.dependency_overrides[get_settings] = lambda: Settings(config=workspace["config"])
    with TestClient(app) as test_client:
        yield test_client


def test_every_guarded_route_declares_a_scope():
    routes = list(guarded_routes())
    assert len(routes) >= 14
    missing = [f"{m} {r.path}" for m, r in routes if scope_of(r) is None]
    assert not missing, f"routes without a scope: {missing}"


@pytest.mark.parametrize(
    ("method", "route"), list(guarded_routes()), ids=lambda v: getattr(v, "path", v)
)
def test_401_without_token_and_403_without_scope(client, workspace, method, route):
    path = re.sub(r"\{[^}]+\}", "x", route.path)
    scope = scope_of(route)
    tokens = workspace["tokens"]
    for headers in ({}, bearer("cc_not-a-token"), {"Authorization": f"Basic {tokens['all']}"}):
        answer = client.request(method, path, headers=headers)
        assert answer.status_code == 401, (method, path, headers, answer.text)
        assert answer.headers["WWW-Authenticate"] == "Bearer"
    for other in SCOPES:
        if other != scope:
            answer = client.request(method, path, headers=bearer(tokens[other]))
            assert answer.status_code == 403, (method, path, other, answer.text)
            assert scope in answer.json()["message"]
    answer = client.request(method, path, headers=bearer(tokens[scope]))
    assert answer.status_code not in (401, 403), (method, path, answer.text)


def test_a_revoked_token_is_refused_at_once(client, workspace):
    token = workspace["tokens"]["read"]
    assert client.get("/v1/prices", headers=bearer(token)).status_code == 200
    revoke_token(workspace["config"], "read")
    answer = client.get("/v1/prices", headers=bearer(token))
    assert answer.status_code == 401
    assert token not in answer.text


def test_health_is_public(client):
    assert client.get("/health/live").json() == {"status": "ok"}
    assert client.get("/health/ready").json()["status"] == "ready"


def test_an_invalid_or_deleted_config_fails_closed(tmp_path, caplog):
    """A token removed from a hand-edited config that no longer validates must not stay
    valid: while the config is broken (or gone) no token is accepted, and the log says why."""
    workspace = make_workspace(tmp_path, with_run=False)
    config = workspace["config"]
    good = config.read_text()
    app = create_app()
    app.dependency_overrides[get_settings] = lambda: Settings(config=config)
    token = bearer(workspace["tokens"]["all"])
    with TestClient(app) as client:
        assert client.get("/v1/prices", headers=token).status_code == 200
        config.write_text(good + "fiscal_year_start: 13\n")  # the edit that breaks it
        answer = client.get("/v1/prices", headers=token)
        assert answer.status_code == 503 and answer.json()["error"] == "ConfigInvalid"
        assert "fiscal_year_start" in caplog.text
        config.unlink()
        assert client.get("/v1/prices", headers=token).status_code == 503
        config.write_text(good)
        assert client.get("/v1/prices", headers=token).status_code == 200


def test_a_body_is_read_only_after_the_token_is_checked(client):
    """Without a valid token a malformed body gets 401, not a description of its faults."""
    for headers in ({}, bearer("cc_not-a-token")):
        answer = client.post("/v1/forecasts", content=b"{not json",
                             headers={**headers, "Content-Type": "application/json"})  # fmt: skip
        assert answer.status_code == 401, answer.text
