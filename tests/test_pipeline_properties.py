"""Any valid usage a ledger can hold, however odd, gets answers from every reader or a
located costcast error, never another exception; and no figure is infinite (unknown is
empty, never inf). Drawn by hypothesis: a few days to ten weeks of hourly rows for up to
two teams, features and users, on priced and unpriced models, failed calls, deployments,
files without a request count (one request a row), an Anthropic usage report, which
counts tokens but not requests, single requests with ids, outcomes per request and per day,
and a FOCUS bill; then KPIs, budget burn, top users,
model spread, usage, alerts and their replay, deployment impact, a backtest, a forecast
with its tables, a scenario on it, reconciliation and finance's exports."""

from __future__ import annotations

import datetime as dt
import json
import tempfile
from pathlib import Path

import numpy as np
import pytest
from builders import answer
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from forecast.config import load_config
from forecast.runs import RunSettings
from forecast.scenario.schema import parse_scenario
from forecast.schema import DIMENSIONS
from forecast.workspace import Workspace

pytestmark = pytest.mark.slow

END = dt.date(2026, 6, 30)
HEADER = ("timestamp,bucket,team,feature,model,user,deployment,status,requests,input_tokens,"
          "output_tokens")  # fmt: skip
CONFIG = """\
ledger: ledger.duckdb
accounting:
  entity: ACME
  cost_centers: {a: CC-A}
budgets:
  - {period: 2026-Q2, amount: 100}
  - {team: a, period: 2026-Q3, amount: 5}
"""

rows = st.fixed_dictionaries({
    "day": st.integers(0, 69), "hour": st.integers(0, 23),
    "team": st.sampled_from("ab"), "feature": st.sampled_from("xy"),
    "model": st.sampled_from(["gpt-4o", "gpt-4o-mini", "made-up-model"]),
    "user": st.sampled_from(["", "u1", "u2"]), "deployment": st.sampled_from(["", "d1", "d2"]),
    "status": st.sampled_from(["success", "error"]),
    "requests": st.integers(0, 1_000),
    "input_tokens": st.integers(0, 10**9), "output_tokens": st.integers(0, 10**7),
})  # fmt: skip


reports = st.lists(st.fixed_dictionaries({
    "day": st.integers(0, 69), "model": st.sampled_from(["claude-sonnet-4-5", "made-up-model"]),
    "uncached_input_tokens": st.integers(0, 10**8), "cache_read_input_tokens": st.integers(0, 10**8),
    "output_tokens": st.integers(0, 10**6),
}), max_size=20)  # fmt: skip


def anthropic_report(path: Path, drawn: list[dict]) -> Path:
    """Daily buckets of the Admin API's usage report (no request counts)."""
    days: dict[int, list[dict]] = {}
    for r in drawn:
        days.setdefault(r["day"], []).append(
            {"model": r["model"], "workspace_id": "wrkspc_c", "api_key_id": None,
             "service_tier": "standard", "context_window": "0-200k",
             "uncached_input_tokens": r["uncached_input_tokens"],
             "cache_creation": {"ephemeral_5m_input_tokens": 0, "ephemeral_1h_input_tokens": 0},
             "cache_read_input_tokens": r["cache_read_input_tokens"],
             "output_tokens": r["output_tokens"]})  # fmt: skip
    pages = [{"starting_at": f"{END - dt.timedelta(days=d)}T00:00:00Z",
              "ending_at": f"{END - dt.timedelta(days=d - 1)}T00:00:00Z", "results": results}
             for d, results in sorted(days.items())]  # fmt: skip
    path.write_text(json.dumps({"data": pages, "has_more": False, "next_page": None}))
    return path


requests_ = st.lists(st.fixed_dictionaries({
    "day": st.integers(0, 69), "hour": st.integers(0, 23), "team": st.sampled_from("ab"),
    "feature": st.sampled_from("xy"), "model": st.sampled_from(["gpt-4o", "made-up-model"]),
    "status": st.sampled_from(["success", "error"]), "input_tokens": st.integers(0, 10**6),
}), max_size=15)  # fmt: skip
outcomes = st.lists(st.one_of(st.just("success"), st.just("failure"), st.floats(0, 1)),
                    max_size=15)  # fmt: skip
daily_outcomes = st.lists(st.tuples(st.integers(0, 69), st.sampled_from("ab"),
                                    st.sampled_from("xy"), st.integers(0, 50), st.integers(0, 50)),
                          max_size=8)  # fmt: skip
bills = st.lists(st.tuples(st.integers(0, 69), st.floats(0, 1e4), st.sampled_from(
    ["OpenAI", "Anthropic", "Amazon Web Services"])), max_size=8)  # fmt: skip


def single_requests(folder: Path, drawn: list[dict], scores: list) -> list[Path]:
    """Requests with ids (one a row), and outcomes for the first of them."""
    lines = ["timestamp,team,feature,model,status,request_id,input_tokens,output_tokens"]
    for i, r in enumerate(drawn):
        ts = dt.datetime.combine(END - dt.timedelta(days=r["day"]), dt.time(r["hour"], 30))
        lines.append(f"{ts:%Y-%m-%dT%H:%M:%S}Z,{r['team']},{r['feature']},{r['model']},"
                     f"{r['status']},req-{i},{r['input_tokens']},10")  # fmt: skip
    (folder / "requests.csv").write_text("\n".join(lines) + "\n")
    scored = ["request_id,outcome", *(f"req-{i},{o}" for i, o in enumerate(scores[: len(drawn)]))]
    (folder / "outcomes.csv").write_text("\n".join(scored) + "\n")
    return [folder / "requests.csv", folder / "outcomes.csv"]


def usage_csv(path: Path, drawn: list[dict], with_requests: bool) -> Path:
    lines = [HEADER if with_requests else HEADER.replace(",requests", "")]
    seen = set()
    for r in drawn:
        ts = dt.datetime.combine(END - dt.timedelta(days=r["day"]), dt.time(r["hour"]))
        key = (ts, r["team"], r["feature"], r["model"], r["user"], r["deployment"], r["status"])
        if key in seen:  # one row per key and hour, as a usage export has it
            continue
        seen.add(key)
        counts = [r["requests"]] if with_requests else []
        lines.append(",".join(map(str, [f"{ts:%Y-%m-%dT%H:%M:%S}Z", "1h", *key[1:], *counts,
                                        r["input_tokens"], r["output_tokens"]])))  # fmt: skip
    path.write_text("\n".join(lines) + "\n")
    return path


SCENARIO = """
name: every kind of change at once
baseline: latest
changes:
  - {kind: traffic, team: a, growth: 0.5, start: 2026-07-03}
  - {kind: route, team: a, feature: x, from_model: gpt-4o, to_model: gpt-4o-mini, share: 0.5,
     start: 2026-07-02}
  - {kind: tokens, feature: y, input_factor: 1.3, start: 2026-07-01, ramp_days: 5}
  - {kind: price, model: gpt-4o, discount: 0.2, start: 2026-07-05}
  - {kind: retries, team: b, failure_rate: 0.5, start: 2026-07-01, end: 2026-07-03}
  - {kind: launch, team: b, feature: z, model: gpt-4o-mini, start: 2026-07-04,
     requests_per_day: 100, input_tokens_per_request: 500, output_tokens_per_request: 50}
"""


@settings(max_examples=25, deadline=None, phases=[Phase.generate],
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])  # fmt: skip
@given(st.lists(rows, min_size=1, max_size=60), st.booleans(), reports,
       st.lists(st.sampled_from(DIMENSIONS), min_size=1, max_size=3, unique=True),
       st.fixed_dictionaries({"requests": requests_, "scores": outcomes,
                              "daily": daily_outcomes, "bills": bills}))  # fmt: skip
def test_every_reader_answers_or_gives_a_located_error(
    drawn: list[dict], with_requests: bool, report: list[dict], scope: list[str], more: dict
) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        # alerts judged per any dimensions, those a row may leave empty (user) included
        (folder / "costcast.yaml").write_text(CONFIG + f"alerts: {{by: [{', '.join(scope)}]}}\n")
        config = load_config(folder / "costcast.yaml")
        with Workspace.open(config) as ws:
            files = [usage_csv(folder / "usage.csv", drawn, with_requests)]
            if report:
                files.append(anthropic_report(folder / "anthropic.json", report))
            ws.ingest(files)
            if more["requests"]:
                usage, scored = single_requests(folder, more["requests"], more["scores"])
                ws.ingest([usage])
                if more["scores"]:  # (a file of no outcomes is refused: tested elsewhere)
                    ws.import_outcomes([scored])
            if more["daily"]:
                daily = ["date,team,feature,successes,attempts"] + [
                    f"{END - dt.timedelta(days=d)},{t},{f},{min(a, b)},{max(a, b)}"
                    for d, t, f, a, b in more["daily"]]  # fmt: skip
                (folder / "daily.csv").write_text("\n".join(daily) + "\n")
                answer("daily outcomes", lambda: ws.import_outcomes([folder / "daily.csv"]))
            if more["bills"]:
                (folder / "focus.csv").write_text("\n".join(
                    ["BilledCost,BillingCurrency,ChargePeriodStart,ChargePeriodEnd,ChargeCategory,"
                     "ServiceCategory,ProviderName,SubAccountId,ChargeDescription,x_Model"]
                    + [f"{cost:.2f},USD,{END - dt.timedelta(days=d)}T00:00:00Z,"
                       f"{END - dt.timedelta(days=d - 1)}T00:00:00Z,Usage,AI and Machine Learning,"
                       f"{who},acct,usage,gpt-4o" for d, cost, who in more["bills"]]) + "\n")  # fmt: skip
                ws.import_billed([folder / "focus.csv"])
                answer("reconciliation", ws.reconcile)
            for by in ("team", "user,model", "deployment"):
                answer(f"kpis by {by}", lambda by=by: ws.kpis(by=by, freq="week"))
            answer("budget burn", ws.budget_burn)
            answer("top users", ws.top_users)
            answer("model spread", ws.model_cost_spread)
            answer("usage", lambda: ws.usage(by="team,model", freq="day"))
            answer("deployments", ws.rank_deployments)
            for deployment in ("d1", "d2"):
                found = answer("impact", lambda d=deployment: ws.deployment_impact(d, feature="x"))
                if found is not None:
                    assert not np.isinf(found["change"]) and np.isfinite(found["monthly_usd"])
            check = answer("watch", lambda: ws.check_alerts(dry_run=True))
            if check is not None:
                for record in check.records():
                    assert not np.isinf(record["value"] or 0.0), record
            run = answer("forecast", lambda: ws.forecast(
                ws.horizon("14d"), settings=RunSettings(forecasters="seasonal_naive,tsb",
                                                        n_paths=20), jobs=1))  # fmt: skip
            if run is not None:
                for by, freq in (("team", "month"), ("model", "quarter"), ("", "day")):
                    # (a budget for a team the run does not know is a located error)
                    table = answer(
                        f"forecast by {by or 'total'} and {freq}",
                        lambda b=by, f=freq: ws.forecast_table(run, by=b, freq=f),
                    )
                    assert table is None or (table["mean"] >= 0).all()
                result = answer("scenario", lambda: ws.run_scenario(parse_scenario(SCENARIO)))
                if result is not None:
                    ws.save_scenario(result)
                answer("journal", lambda: ws.journal("2026-Q3").to_csv())
            answer("actuals journal", lambda: ws.journal("2026-06", basis="actuals").to_csv())
            answer("FOCUS", lambda: ws.focus(END - dt.timedelta(days=30), END))
            last = dt.datetime.combine(END, dt.time(23))
            answer("replay", lambda: ws.replay_alerts(last - dt.timedelta(hours=47), last))
            answer("backtest", lambda: ws.backtest(horizon=7, windows=2, settings=RunSettings(
                forecasters="seasonal_naive", n_paths=20), jobs=1))  # fmt: skip
