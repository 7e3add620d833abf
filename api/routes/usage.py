"""Usage: upload an export (any supported format, same atomic, idempotent ingest as the CLI)
and read summaries grouped like ``costcast usage``."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any, Literal

from fastapi import APIRouter, Query, Request

from api.body import handle_upload
from api.deps import Read, State, UsageWrite, WorkspaceDep
from api.models import UsageUpload
from api.pages import ERRORS, From, GroupBy, Limit, Offset, Page, To, page, raw_body
from forecast.workspace import Workspace

router = APIRouter(prefix="/v1/usage", tags=["usage"], responses=ERRORS)

UPLOAD_TYPES = (
    "text/csv",
    "application/json",
    "application/x-ndjson",
    "application/jsonl",
    "application/vnd.apache.parquet",
    "application/octet-stream",
    "text/plain",
)
FilenameQuery = Query(
    min_length=1,
    max_length=200,
    description="The file's name; its extension helps tell the format (usage.csv, costs.json).",
)


@router.post(
    "/uploads",
    status_code=201,
    response_model=UsageUpload,
    openapi_extra=raw_body(UPLOAD_TYPES),
)
async def upload_usage(
    request: Request,
    state: State,
    token: UsageWrite,
    filename: str = FilenameQuery,
    format: str | None = Query(None, description="Source format (default: detected)."),
    timezone: str | None = Query(None, description="Zone of offset-less timestamps."),
    on_overlap: Literal["refuse", "replace", "keep"] = Query(
        "refuse",
        description="Rows without a request id that another file of the same source brought "
        "for the same hours and groups: refuse (409, naming the overlap), replace that file's "
        "rows in the span this one covers (a re-export), or keep both (other requests).",
    ),
) -> dict[str, Any]:
    """Ingest one usage export; rows seen before are not added again."""

    def ingest(workspace: Workspace, path: Path) -> dict[str, Any]:
        (result,) = workspace.ingest(
            [path], fmt=format, timezone=timezone,
            origins=[f"upload:{filename} (token {token.name})"], on_overlap=on_overlap,
        )  # fmt: skip
        return {
            "file": filename, "format": result.format, "ingest_id": result.ingest_id,
            "rows_read": result.rows_read, "rows_added": result.rows_added,
            "rows_present": result.rows_present,
            "notes": [n.replace(str(path), filename) for n in result.notes],
        }  # fmt: skip

    return await handle_upload(request, state, filename, UPLOAD_TYPES, ingest)


@router.get("/uploads", response_model=Page)
def list_uploads(
    workspace: WorkspaceDep, token: Read, limit: int = Limit, offset: int = Offset
) -> Page:
    """The ingest log: every file ingested, by the CLI or through the API."""
    return page(workspace.ingests(), limit, offset)


@router.get("", response_model=Page)
def usage(
    request: Request,
    state: State,
    workspace: WorkspaceDep,
    token: Read,
    by: str = GroupBy,
    freq: str = Query("month", description="hour, day, week, month, or quarter or year (fiscal)."),
    start: dt.date | None = From,
    end: dt.date | None = To,
    strict: bool = Query(False, description="Fail on usage the price book cannot price."),
    limit: int = Limit,
    offset: int = Offset,
) -> Page:
    """Requests, failures, tokens and cost (priced, and as reported) per period and group;
    periods of a day or longer with the days the sums cover and ``partial`` where not all."""
    return state.cached(
        request,
        lambda: page(
            workspace.usage(by=by, freq=freq, start=start, end=end, strict=strict), limit, offset
        ),
    )
