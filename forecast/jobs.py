"""Forecast jobs: runs asked for but not yet saved, so a caller can poll them.

A job's id is the run id it will save under. The record lives in the ledger
file, so its status survives a restart; a job that was queued or running
when its server stopped is marked failed at the next start, never left
"running" for ever.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pandas as pd

from forecast.errors import CostcastError, NotFoundError
from forecast.ledger import Ledger
from forecast.runstore import list_runs, load_run, run_series

STATUSES = ("queued", "running", "done", "failed")


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(tzinfo=None, microsecond=0)


def add_job(ledger: Ledger, run_id: str, request: dict[str, Any]) -> None:
    with ledger.transaction() as con:
        con.execute(
            "INSERT INTO forecast_jobs VALUES (?, 'queued', ?, NULL, ?, NULL)",
            [run_id, _now(), json.dumps(request)],
        )


def set_status(
    ledger: Ledger, run_id: str, status: str, error: dict[str, Any] | None = None
) -> None:
    finished = _now() if status in ("done", "failed") else None
    with ledger.transaction() as con:
        con.execute(
            "UPDATE forecast_jobs SET status = ?, finished_at = ?, error = ? WHERE run_id = ?",
            [status, finished, json.dumps(error) if error else None, run_id],
        )


def fail_unfinished(ledger: Ledger) -> int:
    """At start-up: jobs a stopped server left queued or running can never finish."""
    error = {"error": "Interrupted", "message": "the server stopped before this run finished"}
    with ledger.transaction() as con:
        count = con.execute(
            "SELECT count(*) FROM forecast_jobs WHERE status IN ('queued', 'running')"
        ).fetchall()[0][0]
        con.execute(
            """UPDATE forecast_jobs SET status = 'failed', finished_at = ?, error = ?
               WHERE status IN ('queued', 'running')""",
            [_now(), json.dumps(error)],
        )
    return int(count)


def list_forecasts(ledger: Ledger, status: str | None = None) -> pd.DataFrame:
    """Saved runs (done) and jobs not done, newest first."""
    if status is not None and status not in STATUSES:
        raise CostcastError(
            f"unknown status {status!r}; choose from {', '.join(STATUSES)}", param="status"
        )
    runs = list_runs(ledger).assign(status="done", error=None)
    jobs = ledger.con.execute(
        """SELECT run_id, requested_at AS created_at, status, error FROM forecast_jobs
           WHERE status <> 'done'"""
    ).df()
    parts = [f for f in (runs, jobs) if not f.empty]
    frame = pd.concat(parts, ignore_index=True) if parts else runs
    if status is not None:
        frame = frame[frame["status"] == status]
    return frame.sort_values(["created_at", "run_id"], ascending=False).reset_index(drop=True)


# what a run says about itself, beside its dates and series
RUN_DETAIL = ("settings", "provenance", "backtest", "calibration", "skipped", "unpriced",
              "held_back")  # fmt: skip


def forecast_detail(ledger: Ledger, run_id: str) -> dict[str, Any]:
    """A saved run with provenance, backtest and series; or a job's status and error."""
    jobs = ledger.con.execute(
        "SELECT status, requested_at, finished_at, request, error FROM forecast_jobs WHERE run_id = ?",
        [run_id],
    ).fetchall()
    if jobs and jobs[0][0] != "done":
        status, requested, finished, request, error = jobs[0]
        return {
            "run_id": run_id,
            "status": status,
            "requested_at": requested.isoformat() + "Z",
            "finished_at": finished.isoformat() + "Z" if finished else None,
            "request": json.loads(request),
            "error": json.loads(error) if error else None,
        }
    try:
        run = load_run(ledger, run_id)
    except NotFoundError:
        raise NotFoundError(f"no forecast run {run_id!r}", param="run_id") from None
    series = run_series(ledger, run.run_id)
    return {
        "run_id": run.run_id,
        "status": "done",
        "created_at": run.created_at.isoformat() + "Z",
        "as_of": run.as_of.isoformat(),
        "horizon_end": run.horizon_end.isoformat(),
        "n_paths": run.n_paths,
        "seed": run.seed,
        **{k: run.meta.get(k) for k in RUN_DETAIL},
        "series": json.loads(series.to_json(orient="records")),
    }
