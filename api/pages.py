"""Response shapes shared by the routes: list pages as ``{data, count}``, frames as JSON."""

from __future__ import annotations

import json
from typing import Any

import pandas as pd
from fastapi import Query
from pydantic import BaseModel

from forecast.usage import GROUP_HELP


class Page(BaseModel):
    data: list[dict[str, Any]]
    count: int  # rows in the whole result, not just this page
    # the ledger rows a computed page was read from: rows, first_day, last_day, content_hash
    provenance: dict[str, Any] | None = None


class ErrorBody(BaseModel):
    error: str
    message: str
    file: str | None = None
    line: int | None = None
    column: int | None = None
    record: int | None = None
    field: str | None = None
    value: str | None = None
    hint: str | None = None


# Declared on every route so the OpenAPI schema (and schemathesis) knows the error shape.
ERRORS: dict[int | str, dict[str, Any]] = {
    code: {"model": ErrorBody, "description": text}
    for code, text in (
        (400, "The body could not be parsed (not JSON, or cut off)"),
        (401, "No valid bearer token"),
        (403, "The token lacks the scope this route needs"),
        (404, "No such run, result or model"),
        (
            409,
            "The ledger cannot answer yet (empty, no billed data, run not finished), "
            "or an upload overlaps rows of another file (see on_overlap)",
        ),
        (413, "Body over the size limit"),
        (415, "Content type not accepted"),
        (422, "Invalid request, with the field, line and column at fault"),
        (503, "The server's config is invalid: no token is accepted until it is fixed"),
    )
}


def records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """Rows as JSON values: times ISO 8601, missing values null."""
    if frame.empty:
        return []
    rows: list[dict[str, Any]] = json.loads(
        frame.to_json(orient="records", date_format="iso", date_unit="s")
    )
    return rows


def page(frame: pd.DataFrame, limit: int, offset: int,
         provenance: dict[str, Any] | None = None) -> Page:  # fmt: skip
    return Page(data=records(frame.iloc[offset : offset + limit]), count=len(frame),
                provenance=provenance)  # fmt: skip


Limit = Query(100, ge=1, le=10_000, description="Rows per page.")
GroupBy = Query("", description=GROUP_HELP)
From = Query(None, alias="from", description="First day.")
To = Query(None, alias="to", description="Last day (inclusive).")
Offset = Query(0, ge=0, description="Rows to skip.")


def raw_body(types: tuple[str, ...], schema: dict[str, Any] | None = None) -> dict[str, Any]:
    """openapi_extra for a route that reads its body itself (uploads, YAML)."""
    return {
        "requestBody": {
            "required": True,
            "content": {
                t: {"schema": schema or {"type": "string", "format": "binary"}} for t in types
            },
        }
    }
