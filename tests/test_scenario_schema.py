"""Scenario files: the examples validate, the JSON Schema is current, mistakes are located."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from forecast.errors import ScenarioError
from forecast.scenario import load_scenario, parse_scenario, scenario_json_schema

SCENARIOS = Path(__file__).parent.parent / "scenarios"
EXAMPLES = sorted(SCENARIOS.glob("*.yaml"))

HEAD = "name: t\nbaseline: latest\nchanges:\n"


def test_at_least_six_examples_all_valid():
    assert len(EXAMPLES) >= 6
    kinds = {c.kind for path in EXAMPLES for c in load_scenario(path).changes}
    assert kinds >= {"launch", "route", "price", "tokens", "retries", "cache"}


def test_published_schema_is_current():
    assert (SCENARIOS / "schema.json").read_text() == scenario_json_schema()
    schema = json.loads(scenario_json_schema())
    assert set(schema["required"]) == {"name", "changes"}


def test_ranges_and_fixed_numbers():
    scenario = parse_scenario(
        HEAD + "  - {kind: cache, cached_share: {low: 0.3, likely: 0.5, high: 0.6},"
        " start: 2027-01-01}\n  - {kind: traffic, factor: 1.2, start: 2027-01-01}\n"
    )
    cache, traffic = scenario.changes
    assert (cache.cached_share.low, cache.cached_share.high) == (0.3, 0.6)
    assert traffic.factor == 1.2


@pytest.mark.parametrize(
    ("change", "line", "field", "message"),
    [
        ("  - {kind: teleport, start: 2027-01-01}\n", 4, "changes[0]", "does not match any of the expected tags"),
        ("  - kind: route\n    from_model: a\n    to_model: b\n    share: 1.5\n    start: 2027-01-01\n",
         7, "changes[0].share", "share must be between 0 and 1, got 1.5"),
        ("  - kind: cache\n    cached_share: {low: 0.6, likely: 0.5, high: 0.7}\n    start: 2027-01-01\n",
         5, "changes[0].cached_share", "expected low <= likely <= high"),
        ("  - {kind: sunset, feature: x, start: 2027-02-01, end: 2027-01-01}\n", 4, "changes[0]",
         "end 2027-01-01 is before start 2027-02-01"),
        ("  - {kind: traffic, start: 2027-01-01}\n", 4, "changes[0]", "exactly one of factor or monthly_growth"),
        ("  - {kind: price, model: gpt-4o, start: 2027-01-01}\n", 4, "changes[0]", "give a discount"),
        ("  - {kind: retries, failure_rate: 0.1, start: 2027-13-01}\n", 4, "changes[0].start", "date"),
        # a day of year 1 ended in pandas' OutOfBoundsDatetime when the scenario ran (an API 500)
        ("  - {kind: traffic, factor: 2, start: 0001-01-01}\n", 4, "changes[0].start",
         "a day between 1971 and 2200"),
        ("  - {kind: sunset, feature: x, start: 2027-01-01, end: 9999-12-31}\n", 4, "changes[0].end",
         "a day between 1971 and 2200"),
    ],
)  # fmt: skip
def test_mistakes_name_line_and_field(change, line, field, message):
    with pytest.raises(ScenarioError, match=message) as info:
        parse_scenario(HEAD + change, "s.yaml")
    err = info.value
    assert (err.file, err.line, err.field) == ("s.yaml", line, field)


def test_not_a_mapping_aliases_and_size(tmp_path):
    with pytest.raises(ScenarioError, match="a scenario is a YAML mapping"):
        parse_scenario("- just\n- a list\n")
    bomb = "a: &a [1, 2]\nb: [*a, *a]\n"
    with pytest.raises(ScenarioError, match="aliases") as info:
        parse_scenario(bomb, "bomb.yaml")
    assert info.value.line == 2
    big = tmp_path / "big.yaml"
    big.write_text(HEAD + "# " + "x" * 1_000_001 + "\n")
    with pytest.raises(ScenarioError, match="limit is 1,000,000"):
        load_scenario(big)
    with pytest.raises(ScenarioError, match="not valid YAML") as info:
        parse_scenario("name: [unclosed\n", "bad.yaml")
    assert info.value.line is not None


def test_validate_command(cli):
    code, out, err = cli("scenario", "validate", *EXAMPLES)
    assert code == 0, err
    assert out.count(": ok") == len(EXAMPLES)
    code, out, err = cli("scenario", "schema")
    assert code == 0 and json.loads(out)["title"] == "costcast scenario"


@pytest.mark.parametrize(
    ("period", "message"),
    [("2026-13", "not a month"), ("9999-Q4", "a period between 1971 and 2200"),
     ("FY0001", "a period between 1971 and 2200")],
)  # fmt: skip
def test_a_budget_period_that_is_no_period_is_refused_when_read(period, message):
    # it passed validation, then failed as "outside the baseline's horizon" when run
    text = HEAD.replace("changes:", f"budget: {{amount: 10, period: {period}}}\nchanges:")
    with pytest.raises(ScenarioError, match=message) as info:
        parse_scenario(text + "  - {kind: traffic, factor: 2, start: 2027-01-01}\n", "s.yaml")
    assert (info.value.line, info.value.field) == (3, "budget.period")
