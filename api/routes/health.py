"""Liveness and readiness: the only routes without a token, for load balancers and probes."""

from __future__ import annotations

from typing import Any

import duckdb
from fastapi import APIRouter
from fastapi.responses import JSONResponse, Response

from api.deps import State
from api.models import Live, NotReadyBody, Ready
from forecast.runstore import count_runs

router = APIRouter(prefix="/health", tags=["health"])


@router.get("/live", response_model=Live)
def live() -> dict[str, Any]:
    """The process is up."""
    return {"status": "ok"}


@router.get(
    "/ready",
    response_model=Ready,
    responses={503: {"model": NotReadyBody, "description": "The ledger cannot be read"}},
)
def ready(state: State) -> Response | dict[str, object]:
    """The ledger answers a query."""
    session = state.ledger.session()
    try:
        rows = count_runs(session)
    except duckdb.Error as exc:
        return JSONResponse({"status": "not ready", "message": str(exc).splitlines()[0]}, 503)
    finally:
        session.close()
    return {"status": "ready", "forecast_runs": rows}
