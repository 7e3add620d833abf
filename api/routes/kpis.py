"""Spend KPIs per group and period (see ``forecast.kpis`` for the formulas)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

from fastapi import APIRouter, Query, Request

from api.deps import Read, State, WorkspaceDep
from api.pages import ERRORS, From, GroupBy, Limit, Offset, Page, To, page

router = APIRouter(prefix="/v1/kpis", tags=["kpis"], responses=ERRORS)
Freq = Query("week", description="day, week or month.")


def _traced(request: Request, state: State, workspace: WorkspaceDep, read: Callable[[], Any],
            window: tuple[dt.date | None, dt.date | None], limit: int, offset: int) -> Page:  # fmt: skip
    """``read()``'s rows as a page, with the ledger rows of the window they come from."""
    return state.cached(
        request, lambda: page(read(), limit, offset, workspace.usage_provenance(*window))
    )


@router.get("", response_model=Page)
def kpis(
    request: Request,
    state: State,
    workspace: WorkspaceDep,
    token: Read,
    by: str = GroupBy,
    freq: str = Freq,
    start: dt.date | None = From,
    end: dt.date | None = To,
    limit: int = Limit,
    offset: int = Offset,
) -> Page:
    """Spend KPIs per group and period: cost_per_success, failed_share, failed_cost_usd,
    tokens_per_request per kind, token_inflation (formulas as in costcast kpis --help); each
    period with the days the usage covers and ``partial`` where not all."""
    return _traced(request, state, workspace,
                   lambda: workspace.kpis(by=by, freq=freq, start=start, end=end),
                   (start, end), limit, offset)  # fmt: skip


@router.get("/model-spread", response_model=Page)
def model_spread(
    request: Request,
    state: State,
    workspace: WorkspaceDep,
    token: Read,
    start: dt.date | None = From,
    end: dt.date | None = To,
    share: float = Query(0.5, gt=0, le=1, description="Share of a costlier model's requests."),
    limit: int = Limit,
    offset: int = Offset,
) -> Page:
    """For features served by several models: each model's cost per request, the feature's
    cheapest, and the monthly saving if ``share`` of the requests moved to it (as
    costcast kpis --model-spread; default window the last 28 days)."""
    return state.cached(
        request,
        lambda: page(workspace.model_cost_spread(start=start, end=end, share=share), limit, offset),
    )


@router.get("/budget-burn", response_model=Page)
def budget_burn(
    request: Request,
    state: State,
    workspace: WorkspaceDep,
    token: Read,
    end: dt.date | None = To,
    limit: int = Limit,
    offset: int = Offset,
) -> Page:
    """Each budget whose period holds ``to`` (default: the last day of data): spent,
    used_share, burn rate, projected total and exhaustion date, and their basis (as costcast
    kpis --budget-burn)."""
    return state.cached(request, lambda: page(workspace.budget_burn(end), limit, offset))


@router.get("/top-users", response_model=Page)
def top_users(
    request: Request,
    state: State,
    workspace: WorkspaceDep,
    token: Read,
    freq: str = Freq,
    start: dt.date | None = From,
    end: dt.date | None = To,
    limit: int = Limit,
    offset: int = Offset,
) -> Page:
    """Per period: the users who spent, how many make up the top 5% of them, and that top's
    share of the users' cost (top_cost_share, as costcast kpis --top-users); usage without a
    user is left out. The list of users and their cost is ``/v1/kpis?by=user``."""
    return _traced(request, state, workspace,
                   lambda: workspace.top_users(freq=freq, start=start, end=end),
                   (start, end), limit, offset)  # fmt: skip
