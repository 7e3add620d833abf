"""The bodies routes answer with, declared so the OpenAPI schema documents every answer
(a billed upload answers with the library's own ``BilledImport``).

Pages of rows are ``pages.Page``; errors ``pages.ErrorBody``. Bodies that carry a
saved document (a run's settings and calibration, a scenario result) declare the
fields every such document has and allow the rest, which grow with the product.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict


class UsageUpload(BaseModel):
    file: str
    format: str
    ingest_id: int | None
    rows_read: int
    rows_added: int
    rows_present: int
    notes: list[str]


class ForecastDetail(BaseModel):
    """A finished run (provenance, settings, backtest, calibration, series), or a job that
    is queued, running or failed (its request, and the error it failed with)."""

    model_config = ConfigDict(extra="allow")

    run_id: str
    status: Literal["queued", "running", "done", "failed"]


class ScenarioSaved(BaseModel):
    """A saved scenario result: totals, periods, each change's share, budget, the scenario."""

    model_config = ConfigDict(extra="allow")

    id: str
    created_at: str
    name: str
    baseline_run: str
    totals: dict[str, Any]
    periods: list[dict[str, Any]]
    changes: list[dict[str, Any]]
    budget: dict[str, Any] | None
    warnings: list[str]
    scenario: dict[str, Any]


class ScenarioValid(BaseModel):
    valid: bool
    name: str
    changes: list[str]


class Live(BaseModel):
    status: Literal["ok"]


class Ready(BaseModel):
    status: Literal["ready"]
    forecast_runs: int


class NotReadyBody(BaseModel):
    status: Literal["not ready"]
    message: str
