"""Scenarios: post a YAML or JSON scenario, get it evaluated against a run and saved; list
and read saved results. Bodies are validated by the same schema and with the same
errors (field path, line, column) as ``costcast scenario validate``."""

from __future__ import annotations

import json
from typing import Any

from fastapi import APIRouter, Query, Request
from starlette.concurrency import run_in_threadpool

from api.body import check_type, read_limited
from api.deps import Read, ScenariosWrite, State, WorkspaceDep
from api.models import ScenarioSaved, ScenarioValid
from api.pages import ERRORS, Limit, Offset, Page, page, raw_body
from api.state import AppState
from forecast.scenario import parse_scenario, scenario_json_schema
from forecast.scenario.schema import Scenario

router = APIRouter(prefix="/v1/scenarios", tags=["scenarios"], responses=ERRORS)

SCENARIO_TYPES = ("application/yaml", "application/x-yaml", "text/yaml", "application/json")
BODY = raw_body(SCENARIO_TYPES, {"type": "object", "description": "See GET /v1/scenarios/schema."})


async def _parse(request: Request, state: AppState) -> Scenario:
    check_type(request, SCENARIO_TYPES)
    config, _ = state.current()
    limit = int(config.api.max_scenario_kb * 1024)
    text = await read_limited(request, limit)  # 413 above the limit
    return parse_scenario(text, source="request body", max_bytes=limit)


@router.post("", status_code=201, response_model=ScenarioSaved, openapi_extra=BODY)
async def post_scenario(
    request: Request,
    state: State,
    token: ScenariosWrite,
    run: str | None = Query(None, description="Baseline run id (default: the scenario's)."),
) -> dict[str, Any]:
    """Evaluate a scenario against a run and save the result: baseline and scenario side by
    side per period, team and model (P10/P50/P90), the delta, each change's share of it, and
    the chance of exceeding the scenario's budget."""
    scenario = await _parse(request, state)

    def work() -> dict[str, Any]:
        with state.workspace() as workspace:
            return workspace.save_scenario(workspace.run_scenario(scenario, run))

    return await run_in_threadpool(work)


@router.post("/validate", response_model=ScenarioValid)
async def validate(request: Request, state: State, token: ScenariosWrite) -> dict[str, Any]:
    """Check a scenario against the schema without evaluating it."""
    scenario = await _parse(request, state)
    return {"valid": True, "name": scenario.name, "changes": [c.kind for c in scenario.changes]}


@router.get("/schema", response_model=dict[str, Any])
def schema(token: Read) -> dict[str, Any]:
    """The scenario JSON Schema (the one in scenarios/schema.json)."""
    schema: dict[str, Any] = json.loads(scenario_json_schema())
    return schema


@router.get("", response_model=Page)
def list_all(
    workspace: WorkspaceDep, token: Read, limit: int = Limit, offset: int = Offset
) -> Page:
    """Saved scenario results, newest first."""
    return page(workspace.scenario_results(), limit, offset)


@router.get("/{result_id}", response_model=ScenarioSaved)
def get_one(result_id: str, workspace: WorkspaceDep, token: Read) -> dict[str, Any]:
    """A saved result, with the scenario it answered."""
    return workspace.scenario_result(result_id)
