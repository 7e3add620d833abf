"""Any scenario a PM can write, of any change kinds with any numbers, either runs on a
forecast or is refused with a located costcast error; and what it answers is finite (the
API sends it as JSON, where NaN and infinity are not numbers) and spends no negative
dollars. Drawn by hypothesis over every change kind, their fields, ranges and dates."""

from __future__ import annotations

import datetime as dt
import json
import math

import pytest
from apikit import make_workspace
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from forecast.config import load_config
from forecast.errors import CostcastError
from forecast.scenario.schema import parse_scenario
from forecast.workspace import Workspace

pytestmark = pytest.mark.slow

START = dt.date(2026, 6, 16)  # the run's first forecast day (apikit's ledger ends June 15)
# now and then a day at the calendar's edges: year 1 ended in pandas' OutOfBoundsDatetime
EDGES = [dt.date(1, 1, 1), dt.date(1970, 12, 31), dt.date(2200, 12, 31), dt.date(2201, 1, 1),
         dt.date(9999, 10, 1)]  # fmt: skip


def number(lo: float, hi: float) -> st.SearchStrategy:
    """A number in [lo, hi], or a {low, likely, high} range inside it."""
    one = st.floats(lo, hi, allow_nan=False)
    triple = st.tuples(one, one, one).map(sorted)
    return one | triple.map(lambda t: dict(zip(("low", "likely", "high"), t, strict=True)))


share = number(0, 1)
factor = number(0, 5)
# mostly what the run holds (search/ask, support/bot and support/triage on gpt-4o), at
# times what it does not: a change that matches nothing is refused, naming what it asked
teams = st.sampled_from(["search", "support", "support", "nobody"])
features = st.sampled_from(["ask", "bot", "triage", "triage", "new-thing"])
models = st.sampled_from(["gpt-4o", "gpt-4o", "gpt-4o", "gpt-4o-mini", "claude-sonnet-4",
                          "made-up"])  # fmt: skip
# per kind: the fields it needs, the group it takes exactly one of, and those it may have
KINDS = {
    "cache": ({"cached_share": share}, {}, {}),
    "launch": ({"team": teams, "feature": features, "model": models,
                "requests_per_day": number(0, 1e6), "input_tokens_per_request": number(0, 1e5),
                "output_tokens_per_request": number(0, 1e4)}, {},
               {"cached_share": share, "monthly_growth": number(-0.5, 10)}),
    "price": ({"model": models}, {"discount": share},
              {"input_per_mtok": st.floats(0, 100), "output_per_mtok": st.floats(0, 100)}),
    "retries": ({}, {"failure_rate": number(0, 0.99), "failure_factor": factor}, {}),
    "route": ({"from_model": models, "to_model": models, "share": share}, {},
              {"intensity_factor": factor, "failure_factor": factor}),
    "sunset": ({"feature": features}, {}, {}),
    "tokens": ({}, {"factor": factor, "input_factor": factor, "output_factor": factor}, {}),
    "traffic": ({}, {"factor": factor, "monthly_growth": number(-0.5, 10)}, {}),
}  # fmt: skip


@st.composite
def changes(draw: st.DrawFn) -> dict:
    kind = draw(st.sampled_from(sorted(KINDS)))
    start = draw(st.sampled_from(EDGES)) if draw(st.integers(0, 9)) == 0 else (
        START + dt.timedelta(days=draw(st.integers(-3, 80))))  # fmt: skip
    change: dict = {"kind": kind, "start": start.isoformat()}
    if draw(st.booleans()):
        change["end"] = (start + dt.timedelta(days=draw(st.integers(0, 60)))).isoformat()
    if draw(st.booleans()):
        change["ramp_days"] = draw(st.integers(0, 90))
    for key, values in (("team", teams), ("feature", features), ("model", models)):
        if draw(st.integers(0, 4)) == 0:
            change[key] = draw(values)
    needed, one_of, optional = KINDS[kind]
    change |= {key: draw(values) for key, values in needed.items()}
    if one_of:
        key = draw(st.sampled_from(sorted(one_of)))
        change[key] = draw(one_of[key])
    change |= {key: draw(values) for key, values in optional.items() if draw(st.booleans())}
    return change


def finite(value: object, where: str = "") -> None:
    if isinstance(value, dict):
        for k, v in value.items():
            finite(v, f"{where}.{k}")
    elif isinstance(value, list | tuple):
        for i, v in enumerate(value):
            finite(v, f"{where}[{i}]")
    elif isinstance(value, float):
        assert math.isfinite(value), where


@pytest.fixture(scope="module")
def workspace(tmp_path_factory):
    made = make_workspace(tmp_path_factory.mktemp("scenarios"))
    with Workspace.open(load_config(made["config"])) as ws:
        yield ws


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow,
          HealthCheck.function_scoped_fixture])  # fmt: skip
@given(st.lists(changes(), min_size=1, max_size=4))
def test_any_scenario_runs_or_is_refused_where_it_is_wrong(workspace, drawn):
    text = json.dumps({"name": "drawn", "baseline": "latest", "changes": drawn})
    try:
        result = workspace.run_scenario(parse_scenario(text))
    except CostcastError as exc:
        assert exc.message
        event(f"refused: {type(exc).__name__}")
        return
    event("ran")
    answer = result.to_dict()
    finite(answer)
    json.dumps(answer, allow_nan=False, default=str)
    assert answer["totals"]["scenario"]["p10"] >= 0  # no change makes spend negative
