"""Spend KPIs per group and period (see ``forecast.kpis`` for the formulas)."""

from __future__ import annotations

import datetime as dt

from fastapi import APIRouter, Query, Request

from api.deps import Read, State, WorkspaceDep
from api.pages import ERRORS, Limit, Offset, Page, page

router = APIRouter(prefix="/v1/kpis", tags=["kpis"], responses=ERRORS)


@router.get("", response_model=Page)
def kpis(
    request: Request,
    state: State,
    workspace: WorkspaceDep,
    token: Read,
    by: str = Query(
        "", description="Comma-separated: team, feature, model, provider, user, deployment."
    ),
    freq: str = Query("week", description="day, week or month."),
    start: dt.date | None = Query(None, alias="from", description="First day."),
    end: dt.date | None = Query(None, alias="to", description="Last day (inclusive)."),
    limit: int = Limit,
    offset: int = Offset,
) -> Page:
    """Spend KPIs per group and period: cost_per_success, failed_share, failed_cost_usd,
    tokens_per_request per kind, token_inflation (formulas as in costcast kpis --help)."""
    return state.cached(
        request,
        lambda: page(workspace.kpis(by=by, freq=freq, start=start, end=end), limit, offset),
    )
