"""The effective price book on a date."""

from __future__ import annotations

import datetime as dt

from fastapi import APIRouter, Query

from api.deps import Read, WorkspaceDep
from api.pages import ERRORS, Limit, Offset, Page, page

router = APIRouter(prefix="/v1/prices", tags=["prices"], responses=ERRORS)


@router.get("", response_model=Page)
def prices(
    workspace: WorkspaceDep,
    token: Read,
    on: dt.date | None = Query(None, description="Date (default: today, UTC)."),
    tier: str = Query("standard", description="standard, batch, flex or priority."),
    model: str | None = Query(None, description="One model (default: every model)."),
    limit: int = Limit,
    offset: int = Offset,
) -> Page:
    """USD per million tokens by kind, in effect on the date, with each price's source."""
    day = on or dt.datetime.now(dt.UTC).date()
    return page(workspace.prices(day, tier, model), limit, offset)
