"""Any costcast.yaml a user can write either loads or is refused with a located error, and
whatever loads, the readers that follow its rules (alerts at an hour and replayed, budget
burn, the forecast's budgets, deployment impact) answer or give a located error, never
another exception. Drawn by hypothesis: alert rules with numbers at and past their bounds,
scopes of any dimensions, budgets for any period and group, listed deployments, the
fiscal year's start and timezones."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest
from apikit import make_workspace
from builders import answer
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from forecast.config import load_config
from forecast.errors import CostcastError
from forecast.schema import DIMENSIONS
from forecast.workspace import Workspace

pytestmark = pytest.mark.slow

LAST = dt.datetime(2026, 6, 15, 23)  # apikit's ledger: 120 days to June 15, a run after it

numbers = st.one_of(st.integers(-2, 200), st.floats(-1, 1e4, allow_nan=False), st.just(0))


def some(fields: dict) -> st.SearchStrategy[dict]:
    """A dictionary of any subset of ``fields``."""
    return st.fixed_dictionaries({}, optional=fields)


alerts = some({
    "by": st.lists(st.sampled_from(DIMENSIONS), min_size=1, max_size=3, unique=True),
    "clear_hours": numbers,
    "hourly_spike": some({"enabled": st.booleans(), "rise": numbers, "spread": numbers,
                          "min_increase_usd": numbers, "weeks": numbers,
                          "clear_hours": numbers, "escalate": numbers}),
    "failures": some({"max_share": st.floats(0, 1), "hours": numbers, "min_requests": numbers,
                      "confidence": st.floats(0, 1)}),
    "token_inflation": some({"max_rise": numbers, "window_hours": numbers,
                             "baseline_days": numbers, "min_requests": numbers,
                             "recover_rise": numbers, "spread": numbers}),
    "unpriced": some({"enabled": st.booleans()}),
    "budget": some({"levels": st.lists(st.floats(0.01, 12), min_size=1, max_size=3),
                    "forecast": st.booleans(), "max_p_exceed": st.floats(0.01, 1)}),
})  # fmt: skip
periods = st.sampled_from(["2026-Q2", "2026-Q3", "2026-06", "2026-05", "FY2026", "2025-Q4"])
budgets = st.lists(
    some({"team": st.sampled_from(["search", "support", "nobody"]),
          "feature": st.sampled_from(["ask", "bot", "triage"]), "model": st.just("gpt-4o")})
    .flatmap(lambda group: st.fixed_dictionaries(
        {"period": periods, "amount": st.floats(0.01, 1e5)}).map(group.__or__)),
    max_size=3,
)  # fmt: skip
deployments = st.lists(st.fixed_dictionaries({
    "id": st.sampled_from(["v1", "v2", "v3"]),
    "time": st.datetimes(dt.datetime(2026, 2, 1), dt.datetime(2026, 7, 1)).map(dt.datetime.isoformat),
    "feature": st.sampled_from(["ask", "bot", "triage", "gone"]),
}, optional={"team": st.sampled_from(["search", "support"])}), max_size=3)  # fmt: skip
configs = some({
    "alerts": alerts, "budgets": budgets, "deployments": deployments,
    "fiscal_year_start": st.integers(0, 13), "timezone": st.sampled_from(["UTC", "Europe/Berlin"]),
})  # fmt: skip


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    made = make_workspace(tmp_path_factory.mktemp("configs"))
    return Path(made["config"]).parent, Path(made["config"]).read_text()


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow,
          HealthCheck.function_scoped_fixture])  # fmt: skip
@given(configs)
def test_any_config_loads_or_is_refused_and_its_rules_run(folder, drawn):
    where, base = folder
    path = where / "costcast.yaml"
    # the workspace's own lines (ledger, accounting) first, then the drawn sections
    path.write_text(base + "".join(f"{key}: {json.dumps(value)}\n" for key, value in drawn.items()))
    try:
        config = load_config(path)
    except CostcastError as exc:
        assert exc.message and exc.file == str(path)
        event("refused")
        return
    event("loaded")
    with Workspace.open(config, read_only=True) as ws:
        answer("watch", lambda: ws.check_alerts(LAST, dry_run=True))
        answer("replay", lambda: ws.replay_alerts(LAST - dt.timedelta(hours=71), LAST))
        answer("burn", ws.budget_burn)
        run = ws.run()
        answer("quarters", lambda: ws.forecast_table(run, by="team", freq="quarter"))
        for listed in ("v1", "v2", "v3"):
            answer("impact", lambda d=listed: ws.deployment_impact(d))
        answer("ranking", ws.rank_deployments)
