"""Forecast runs: start one (202; it runs in the background), poll it, list them, and read a
run's series per level, fiscal period and quantiles."""

from __future__ import annotations

import datetime as dt
import logging
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi.exceptions import RequestValidationError
from pydantic import AliasChoices, BaseModel, ConfigDict, Field, ValidationError

from api.body import check_type, read_limited
from api.deps import ForecastsWrite, Read, State, WorkspaceDep
from api.errors import NotReady
from api.models import ForecastDetail
from api.pages import ERRORS, Limit, Offset, Page, page
from api.state import AppState
from forecast.errors import CostcastError, NotFoundError
from forecast.runs import MAX_PATHS, MAX_SEED, MIN_PATHS, RunSettings, new_run_id
from forecast.workspace import Workspace

router = APIRouter(prefix="/v1/forecasts", tags=["forecasts"], responses=ERRORS)
log = logging.getLogger("costcast.api")


class ForecastCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    horizon: str = Field(
        "90d",
        max_length=40,
        description="Days ahead (90d), a fiscal period to reach (2027-Q2, FY2027), or "
        "this-quarter, next-quarter, this-year, next-year.",
    )
    forecasters: str = Field(
        "auto",
        max_length=100,
        # "models" was this field's name before "model" came to mean the LLM only
        validation_alias=AliasChoices("forecasters", "models"),
        description="auto, or comma-separated: seasonal_naive, ets, theta, tsb, imapa, "
        "croston_sba, prophet, global_gbm.",
    )
    as_of: dt.date | None = Field(None, description="Cut the history at this day.")
    paths: int = Field(200, ge=MIN_PATHS, le=MAX_PATHS, description="Sample paths per series.")
    seed: int = Field(0, ge=0, le=MAX_SEED)


class ForecastAccepted(BaseModel):
    run_id: str
    status: str
    href: str


async def _body(request: Request, token: ForecastsWrite) -> ForecastCreate:
    """The request body, read only once the token is known good: a caller without one
    learns nothing from how a body is checked."""
    check_type(request, ("application/json",))
    raw = await read_limited(request, MAX_BODY)
    try:
        return ForecastCreate.model_validate_json(raw or b"{}")
    except ValidationError as exc:
        errors = [{**e, "loc": ("body", *e["loc"])} for e in exc.errors()]
        raise RequestValidationError(errors) from None


MAX_BODY = 16 * 1024  # a forecast request is a few short fields
BODY = {"requestBody": {"required": False, "content": {
    "application/json": {"schema": ForecastCreate.model_json_schema()}}}}  # fmt: skip


@router.post("", status_code=202, response_model=ForecastAccepted, openapi_extra=BODY)
def start_forecast(
    body: Annotated[ForecastCreate, Depends(_body)],
    state: State,
    workspace: WorkspaceDep,
    response: Response,
) -> ForecastAccepted:
    """Queue a run; poll ``href`` until its status is done (or failed, with the error)."""
    # a bad horizon, model list or as-of date is the caller's mistake: say so now, not in the job
    horizon = workspace.horizon(body.horizon)
    as_of, _ = workspace.check_forecast(horizon, body.as_of, body.forecasters)
    run_id = new_run_id(as_of)
    workspace.queue_job(run_id, body.model_dump(mode="json"))
    state.jobs.submit(_run_job, state, run_id, body)
    href = f"/v1/forecasts/{run_id}"
    response.headers["Location"] = href
    return ForecastAccepted(run_id=run_id, status="queued", href=href)


def _run_job(state: AppState, run_id: str, body: ForecastCreate) -> None:
    with state.workspace() as workspace:
        try:
            workspace.job_status(run_id, "running")
            workspace.forecast(
                workspace.horizon(body.horizon),
                as_of=body.as_of,
                settings=RunSettings(
                    forecasters=body.forecasters, n_paths=body.paths, seed=body.seed
                ),
                jobs=state.settings.forecast_jobs,
                run_id=run_id,
            )
            workspace.job_status(run_id, "done")
        except CostcastError as exc:
            workspace.job_status(run_id, "failed", exc.to_dict())
        except Exception as exc:  # a bug: the job must still end, and say so
            log.exception("forecast job %s failed", run_id)
            workspace.job_status(
                run_id, "failed",
                {"error": "InternalError", "message": f"unexpected {type(exc).__name__}; see the server log"},
            )  # fmt: skip


@router.get("", response_model=Page)
def list_all(
    request: Request,
    state: State,
    workspace: WorkspaceDep,
    token: Read,
    status: str | None = Query(None, description="queued, running, done or failed."),
    limit: int = Limit,
    offset: int = Offset,
) -> Page:
    """Saved runs and jobs not yet done, newest first."""
    return state.cached(request, lambda: page(workspace.runs(status), limit, offset))


@router.get("/{run_id}", response_model=ForecastDetail)
def get_one(
    run_id: str, request: Request, state: State, workspace: WorkspaceDep, token: Read
) -> dict[str, Any]:
    """A run with its provenance (rows, days, content hash), settings, backtest and the
    forecaster chosen per series; for a job not done, its status and error."""
    return state.cached(request, lambda: workspace.run_detail(run_id))


@router.get("/{run_id}/series", response_model=Page)
def series(
    run_id: str,
    request: Request,
    state: State,
    workspace: WorkspaceDep,
    token: Read,
    by: str = Query("team", description="Comma-separated: team, feature, model; empty for total."),
    freq: str = Query("month", description="day, week, month, quarter or year (fiscal)."),
    period: str | None = Query(None, description="Only this period (2027-Q1, 2027-03, FY2027)."),
    quantiles: str = Query("0.1,0.5,0.9", description="Comma-separated, each in (0, 1)."),
    limit: int = Limit,
    offset: int = Offset,
) -> Page:
    """Mean and quantiles of spend per group and fiscal period (actuals to date included),
    with budgets and the chance of exceeding them."""
    return state.cached(
        request, lambda: _series(workspace, run_id, by, freq, period, quantiles, limit, offset)
    )


def _series(
    workspace: Workspace,
    run_id: str,
    by: str,
    freq: str,
    period: str | None,
    quantiles: str,
    limit: int,
    offset: int,
) -> Page:
    try:
        run = workspace.run(run_id)
    except NotFoundError:
        detail = workspace.run_detail(run_id)  # 404 if there is no such job either
        raise NotReady(f"run {run_id} is {detail['status']}", field="run_id") from None
    try:
        qs = [float(q) for q in quantiles.split(",") if q.strip()]
    except ValueError:
        raise CostcastError(
            "quantiles must be numbers like 0.1,0.5,0.9", param="quantiles", value=quantiles
        ) from None
    frame = workspace.forecast_table(run, by=by, freq=freq, quantiles=qs)
    if period is not None:
        frame = frame[frame["period"] == period.strip()]
    return page(frame, limit, offset)
