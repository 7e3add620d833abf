"""The scenario file: pydantic models are its single definition.

The same models check YAML files, API bodies and produce the published JSON
Schema (``scenarios/schema.json``), so an editor with the YAML language
server completes and checks scenario files. Every change acts on the drivers
of a forecast run (volume, token intensity, failure rate, price), never on
dollars directly; each kind of change is defined in ``forecast.scenario.changes``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from forecast.errors import ScenarioError
from forecast.fiscal import Period
from forecast.scenario.changes import KINDS, Change
from forecast.yamlio import LocatedYaml, load_yaml, parse_yaml, raise_validation_error

MAX_BYTES = 1_000_000


class ScenarioBudget(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    amount: float = Field(gt=0, le=1e15)
    period: Period


class Scenario(BaseModel):
    """A named, ordered list of changes applied to a baseline forecast run."""

    model_config = ConfigDict(extra="forbid", title="costcast scenario")

    name: str = Field(min_length=1)
    description: str = ""
    baseline: str = Field(default="latest", description="A forecast run id, or latest.")
    budget: ScenarioBudget | None = None
    changes: list[Change] = Field(min_length=1)


def _without_tags(loc: tuple[Any, ...]) -> tuple[Any, ...]:
    """pydantic puts union tags in error paths (changes.2.route.share.range); YAML has none."""
    return tuple(
        part
        for i, part in enumerate(loc)
        if part not in ("number", "range")
        and not (i > 0 and isinstance(loc[i - 1], int) and part in KINDS)
    )


def _validate(doc: LocatedYaml) -> Scenario:
    if not isinstance(doc.data, dict):
        raise ScenarioError(
            "a scenario is a YAML mapping with name, baseline and changes", file=doc.source, line=1
        )
    try:
        return Scenario.model_validate(doc.data)
    except ValidationError as exc:
        errors = [err | {"loc": _without_tags(err["loc"])} for err in exc.errors()]
        raise_validation_error(errors, doc, ScenarioError)


def load_scenario(path: str | Path) -> Scenario:
    return _validate(load_yaml(path, error=ScenarioError, max_bytes=MAX_BYTES))


def parse_scenario(
    text: str | bytes, source: str = "<request>", max_bytes: int = MAX_BYTES
) -> Scenario:
    """A scenario from YAML (or JSON, which is YAML) text, e.g. an API body (whose size
    limit the API sets, and has checked already)."""
    return _validate(parse_yaml(text, source, error=ScenarioError, max_bytes=max_bytes))


def scenario_json_schema() -> str:
    schema = Scenario.model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    return json.dumps(schema, indent=2, sort_keys=True) + "\n"
