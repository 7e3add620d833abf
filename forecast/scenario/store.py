"""Saved scenario results: what was asked (the scenario as validated) and what came back.

Results are immutable like runs; each gets an id and stays readable after a
restart, so a PM's link and an ERP's journal keep pointing at the same numbers.
"""

from __future__ import annotations

import datetime as dt
import json
import uuid
from typing import Any

import pandas as pd

from forecast.errors import NotFoundError
from forecast.ledger import Ledger
from forecast.scenario.engine import ScenarioResult


def save_result(ledger: Ledger, result: ScenarioResult) -> str:
    result_id = f"scn-{uuid.uuid4().hex[:12]}"
    created = dt.datetime.now(dt.UTC).replace(tzinfo=None, microsecond=0)
    body = result.to_dict()
    with ledger.transaction() as con:
        con.execute(
            "INSERT INTO scenario_results VALUES (?, ?, ?, ?, ?, ?)",
            [result_id, created, result.scenario.name, result.baseline_run,
             result.scenario.model_dump_json(), json.dumps(body)],
        )  # fmt: skip
    return result_id


def load_result(ledger: Ledger, result_id: str) -> dict[str, Any]:
    """The saved result with its id, creation time and the scenario it answered."""
    rows = []
    if ledger.has_table("scenario_results"):
        rows = ledger.con.execute(
            "SELECT created_at, scenario, result FROM scenario_results WHERE result_id = ?",
            [result_id],
        ).fetchall()
    if not rows:
        raise NotFoundError(f"no scenario result {result_id!r}", param="scenario")
    created, scenario, result = rows[0]
    return {
        "id": result_id,
        "created_at": created.isoformat() + "Z",
        **json.loads(result),
        "scenario": json.loads(scenario),
    }


def list_results(ledger: Ledger) -> pd.DataFrame:
    if not ledger.has_table("scenario_results"):
        return pd.DataFrame(columns=["id", "created_at", "name", "baseline_run", "delta_mean"])
    return ledger.con.execute(
        """SELECT result_id AS id, created_at, name, baseline_run,
                  CAST(json_extract(result, '$.totals.delta.mean') AS DOUBLE) AS delta_mean
           FROM scenario_results ORDER BY created_at DESC, result_id DESC"""
    ).df()
