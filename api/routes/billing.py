"""Billed actuals: upload what providers billed, and reconcile it with priced usage."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any, Literal

from fastapi import APIRouter, Query, Request

from api.body import handle_upload
from api.deps import Read, State, UsageWrite, WorkspaceDep
from api.pages import ERRORS, From, Limit, Offset, Page, To, page, raw_body
from api.routes.usage import FilenameQuery
from forecast.billed.store import BilledImport
from forecast.reconcile import DEFAULT_TOLERANCE_PCT, DEFAULT_TOLERANCE_USD
from forecast.workspace import Workspace

router = APIRouter(tags=["billing"], responses=ERRORS)
BILLED_TYPES = ("text/csv", "application/json", "application/x-ndjson", "text/plain")


@router.post(
    "/v1/billing/uploads",
    status_code=201,
    response_model=BilledImport,
    openapi_extra=raw_body(BILLED_TYPES),
)
async def upload_billed(
    request: Request,
    state: State,
    token: UsageWrite,
    filename: str = FilenameQuery,
    format: str | None = Query(None, description="openai_costs, anthropic_costs or focus."),
) -> dict[str, Any]:
    """Import a provider's billed costs: OpenAI Costs API pages, an Anthropic cost report
    (legacy or analytics), or FOCUS CSV. Revised days replace earlier amounts."""

    def work(workspace: Workspace, path: Path) -> dict[str, Any]:
        (result,) = workspace.import_billed([path], format, names=[f"upload:{filename}"])
        return {**result.__dict__, "path": filename}

    return await handle_upload(request, state, filename, BILLED_TYPES, work)


@router.get("/v1/billing/uploads", response_model=Page)
def list_uploads(
    workspace: WorkspaceDep, token: Read, limit: int = Limit, offset: int = Offset
) -> Page:
    """Every billed-cost import with rows added, revised and unchanged."""
    return page(workspace.billed_imports(), limit, offset)


@router.get("/v1/reconciliation", response_model=Page)
def reconcile_route(
    workspace: WorkspaceDep,
    token: Read,
    start: dt.date | None = From,
    end: dt.date | None = To,
    tolerance_pct: float = Query(DEFAULT_TOLERANCE_PCT, ge=0, le=10),
    tolerance_usd: float = Query(DEFAULT_TOLERANCE_USD, ge=0, le=1e9),
    flagged: bool = Query(False, description="Only days that differ beyond both tolerances."),
    by: Literal["provider", "project"] = Query(
        "provider", description="project: where the config maps projects to teams."
    ),
    limit: int = Limit,
    offset: int = Offset,
) -> Page:
    """Priced usage against billed cost per day and provider (or project), flagged above the
    tolerances."""
    frame = workspace.reconcile(
        by=by, start=start, end=end, tolerance_pct=tolerance_pct, tolerance_usd=tolerance_usd
    )
    if flagged:
        frame = frame[frame["flag"]]
    return page(frame, limit, offset)
