"""Deployments and what each did to cost per request (as ``costcast deployments list`` and
``costcast impact``)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from fastapi import APIRouter, Query, Request

from api.deps import Read, State, WorkspaceDep
from api.pages import ERRORS, Limit, Offset, Page, page
from forecast.impact import MAX_WINDOW_DAYS

router = APIRouter(tags=["impact"], responses=ERRORS)
Window = Query(7, ge=1, le=MAX_WINDOW_DAYS, description="Days before and after to compare.")


@router.get("/v1/impact", response_model=dict[str, Any])
def impact(
    request: Request,
    state: State,
    workspace: WorkspaceDep,
    token: Read,
    deployment: str = Query(min_length=1, max_length=200, description="A deployment id."),
    feature: str | None = Query(None, description="The feature, where the id ran on several."),
    window: int = Window,
) -> dict[str, Any]:
    """What a deployment did to a feature's cost per request, with a 95% interval, the
    monthly cost at the current volume and the ledger rows read (as costcast impact)."""
    return state.cached(
        request, lambda: workspace.deployment_impact(deployment, feature=feature, window=window)
    )


@router.get("/v1/impact/ranking", response_model=Page)
def ranking(
    request: Request,
    state: State,
    workspace: WorkspaceDep,
    token: Read,
    since: dt.date | None = Query(None, description="Deployments from this day."),
    window: int = Window,
    limit: int = Limit,
    offset: int = Offset,
) -> Page:
    """Every deployment with a history before it, by the size of its monthly cost change;
    those that cannot be measured say why (as costcast impact --list)."""
    return state.cached(
        request,
        lambda: page(workspace.rank_deployments(since=since, window=window), limit, offset),
    )


@router.get("/v1/deployments", response_model=Page)
def deployments(
    request: Request,
    state: State,
    workspace: WorkspaceDep,
    token: Read,
    limit: int = Limit,
    offset: int = Offset,
) -> Page:
    """Every deployment of every team's feature, tagged in the usage or listed in the config
    or an imported file, and its source (as costcast deployments list)."""
    return state.cached(request, lambda: page(workspace.deployments(), limit, offset))
