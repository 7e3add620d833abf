"""Alerts: those a watch has recorded, or a replay of history (as ``costcast watch``)."""

from __future__ import annotations

import datetime as dt
import json

import pandas as pd
from fastapi import APIRouter, Query, Request
from fastapi.concurrency import run_in_threadpool

from api.deps import AlertsWrite, Read, State, WorkspaceDep
from api.pages import ERRORS, Limit, Offset, Page, page
from forecast.errors import CostcastError
from forecast.watch.alerts import HISTORY_HOURS, utc_hour
from forecast.workspace import Workspace

router = APIRouter(prefix="/v1/alerts", tags=["alerts"], responses=ERRORS)


@router.get("", response_model=Page)
def alerts(
    request: Request,
    state: State,
    workspace: WorkspaceDep,
    token: Read,
    start: dt.datetime | None = Query(None, alias="from", description="Replay from this hour."),
    end: dt.datetime | None = Query(None, alias="to", description="... to this hour (UTC)."),
    limit: int = Limit,
    offset: int = Offset,
) -> Page:
    """Without from/to: every alert a watch check recorded, newest first. With both: the
    alerts a watch running every hour of [from, to] would have raised (nothing recorded);
    both hours inside the ledger's usage."""
    if (start is None) != (end is None):
        raise CostcastError("give both from and to to replay", param="from")
    if start is None or end is None:
        return state.cached(request, lambda: page(_stored(workspace), limit, offset))
    first, last = utc_hour(start, "from"), utc_hour(end, "to")
    if last < first:
        raise CostcastError(f"to {last} is before from {first}", param="to")
    if last - first > dt.timedelta(days=400):
        raise CostcastError("replay at most 400 days at a time", param="to")

    def replayed() -> Page:
        found = [a.to_dict() for a in workspace.replay_alerts(first, last)]
        # the replay reads the weeks of baseline before ``from`` too
        read_from = (first - dt.timedelta(hours=HISTORY_HOURS)).date()
        return Page(data=found[offset : offset + limit], count=len(found),
                    provenance=workspace.usage_provenance(read_from, last.date()))  # fmt: skip

    return state.cached(request, replayed)


def _stored(workspace: Workspace) -> pd.DataFrame:
    frame = workspace.stored_alerts()
    for col in ("scope", "contributors"):
        frame[col] = frame[col].map(json.loads)
    return frame


@router.post("/checks", response_model=Page)
async def post_check(
    state: State,
    token: AlertsWrite,
    at: dt.datetime | None = Query(None, description="The hour to check (default: the last)."),
    dry_run: bool = Query(False, description="Record and send nothing."),
) -> Page:
    """Check the rules at an hour as costcast watch --at does: new alerts are recorded and
    sent to the config's webhooks, cleared ones resolved. Each record has its status
    (fired, open or resolved). The hour lies inside the ledger's usage, and a recording
    check is not earlier than the last alert recorded (a dry run may be)."""

    def work() -> Page:
        with state.workspace() as workspace:
            records = workspace.check_alerts(None if at is None else utc_hour(at, "at"),
                                             dry_run).records()  # fmt: skip
        return Page(data=records, count=len(records))

    return await run_in_threadpool(work)
