"""Exports for finance systems: accrual journals (CSV, JSON, XLSX) and FOCUS 1.2 rows.

The same request gives the same bytes; the source id (run, scenario result or
``actuals``) and the data hash travel in every line and in response headers.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any, Literal

from fastapi import APIRouter, Query, Response

from api.deps import ExportsRead, WorkspaceDep
from api.pages import ERRORS, From, To
from forecast.export.focus import focus_csv

router = APIRouter(prefix="/v1/exports", tags=["exports"], responses=ERRORS)

MEDIA = {
    "csv": "text/csv; charset=utf-8",
    "json": "application/json",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}
FILE_CONTENT: dict[int | str, dict[str, Any]] = {
    200: {
        "content": {m.split(";")[0]: {"schema": {"type": "string"}} for m in MEDIA.values()},
        "description": "The export file.",
    }
}


@router.get("/journal", response_class=Response, responses=FILE_CONTENT)
def journal(
    workspace: WorkspaceDep,
    token: ExportsRead,
    period: str = Query(description="Fiscal period: 2027-Q1, 2027-03 or FY2027.", max_length=20),
    basis: Literal["forecast", "actuals", "scenario"] = "forecast",
    measure: Literal["mean", "p50", "p90"] = "mean",
    run: str | None = Query(None, description="Forecast run id (default: latest)."),
    scenario: str | None = Query(None, description="Scenario result id, for basis=scenario."),
    format: Literal["csv", "json", "xlsx"] = "csv",
) -> Response:
    """Accrual journal lines for a fiscal period: one debit/credit pair per cost centre."""
    built = workspace.journal(
        period, basis=basis, measure=measure, run_id=run, scenario_id=scenario
    )
    body = {"csv": built.to_csv, "json": built.to_json, "xlsx": built.to_xlsx}[format]()
    name = f"journal-{built.meta['period']}-{basis}.{format}"
    return Response(
        body,
        media_type=MEDIA[format],
        headers={
            "Content-Disposition": f'attachment; filename="{name}"',
            "X-Costcast-Source-Id": built.meta["source_id"],
            "X-Costcast-Data-Hash": built.meta["data_hash"],
        },
    )


@router.get("/focus", response_class=Response, responses=FILE_CONTENT)
def focus(
    workspace: WorkspaceDep,
    token: ExportsRead,
    start: dt.date | None = From,
    end: dt.date | None = To,
    period: str | None = Query(
        None, description="Or a fiscal period instead of from/to.", max_length=20
    ),
    format: Literal["csv", "json"] = "csv",
) -> Response:
    """Actual LLM cost as FOCUS 1.2 rows (billed where the bill is in, else priced usage)."""
    start, end = workspace.span(start, end, period)
    frame = workspace.focus(start, end)
    if format == "csv":
        body = focus_csv(frame)
    else:
        rows = [
            {k: (v if v != "" else None) for k, v in r.items()} for r in frame.to_dict("records")
        ]
        body = (json.dumps(rows, indent=1) + "\n").encode("utf-8")
    return Response(
        body,
        media_type=MEDIA[format],
        headers={"Content-Disposition": f'attachment; filename="focus-{start}-{end}.{format}"'},
    )
