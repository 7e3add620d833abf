"""The scenario file: pydantic models are its single definition.

The same models check YAML files, API bodies and produce the published JSON
Schema (``scenarios/schema.json``), so an editor with the YAML language
server completes and checks scenario files. Every change acts on the drivers
of a forecast run (volume, token intensity, failure rate, price), never on
dollars directly.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Annotated, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Discriminator,
    Field,
    Tag,
    ValidationError,
    field_validator,
    model_validator,
)

from forecast.errors import ScenarioError
from forecast.yamlio import LocatedYaml, load_yaml, parse_yaml, raise_validation_error

MAX_BYTES = 1_000_000


class Range(BaseModel):
    """A number a PM cannot know exactly; the engine samples it (PERT) across paths."""

    model_config = ConfigDict(extra="forbid")

    low: float
    likely: float
    high: float

    @model_validator(mode="after")
    def _ordered(self) -> Range:
        if not self.low <= self.likely <= self.high:
            raise ValueError(
                f"expected low <= likely <= high, got {self.low}, {self.likely}, {self.high}"
            )
        return self


def _number_or_range(value: object) -> str:
    return "range" if isinstance(value, dict | Range) else "number"


# A plain number, or {low, likely, high}: told apart by shape, so errors speak of the right one.
Number = Annotated[
    Annotated[float, Tag("number")] | Annotated[Range, Tag("range")],
    Discriminator(_number_or_range),
]
Names = str | list[str]


def _bounds(value: Number, lo: float, hi: float | None, what: str) -> Number:
    values = [value] if isinstance(value, int | float) else [value.low, value.likely, value.high]
    for v in values:
        if v < lo or (hi is not None and v > hi):
            span = f"between {lo} and {hi}" if hi is not None else f"at least {lo}"
            raise ValueError(f"{what} must be {span}, got {v}")
    return value


class _Change(BaseModel):
    model_config = ConfigDict(extra="forbid")

    start: dt.date
    end: dt.date | None = Field(default=None, description="Last day the change applies.")
    ramp_days: int = Field(default=0, ge=0, description="Days to reach full effect, linearly.")
    team: Names | None = None
    feature: Names | None = None
    model: Names | None = None

    @model_validator(mode="after")
    def _dates(self):
        if self.end is not None and self.end < self.start:
            raise ValueError(f"end {self.end} is before start {self.start}")
        return self


class Launch(_Change):
    """A new feature: its own volume, token intensity and model."""

    kind: Literal["launch"]
    team: str
    feature: str
    model: str
    requests_per_day: Number
    input_tokens_per_request: Number
    output_tokens_per_request: Number
    cached_share: Number = 0.0
    monthly_growth: Number = 0.0

    @field_validator("requests_per_day", "input_tokens_per_request", "output_tokens_per_request")
    @classmethod
    def _positive(cls, v: Number, info) -> Number:
        return _bounds(v, 0, None, info.field_name)

    @field_validator("cached_share")
    @classmethod
    def _share(cls, v: Number) -> Number:
        return _bounds(v, 0, 1, "cached_share")


class Traffic(_Change):
    """Scale volume by a factor, or by compound monthly growth from the start."""

    kind: Literal["traffic"]
    factor: Number | None = None
    monthly_growth: Number | None = None

    @model_validator(mode="after")
    def _one(self):
        if (self.factor is None) == (self.monthly_growth is None):
            raise ValueError("give exactly one of factor or monthly_growth")
        if self.factor is not None:
            _bounds(self.factor, 0, None, "factor")
        return self


class Route(_Change):
    """Move a share of volume from one model to another."""

    kind: Literal["route"]
    from_model: str
    to_model: str
    share: Number
    intensity_factor: Number = Field(default=1.0, description="Token intensity on the new model.")
    failure_factor: Number = Field(default=1.0, description="Failure rate on the new model.")

    @field_validator("share")
    @classmethod
    def _share(cls, v: Number) -> Number:
        return _bounds(v, 0, 1, "share")


class Price(_Change):
    """A model's new prices (USD per million tokens) or a discount, from a date."""

    kind: Literal["price"]
    model: str
    discount: Number | None = None
    input_per_mtok: float | None = Field(default=None, ge=0)
    cached_input_per_mtok: float | None = Field(default=None, ge=0)
    output_per_mtok: float | None = Field(default=None, ge=0)
    tier: Literal["standard", "batch", "flex", "priority"] | None = None

    @model_validator(mode="after")
    def _what(self):
        prices = (self.input_per_mtok, self.cached_input_per_mtok, self.output_per_mtok)
        if self.discount is None and all(p is None for p in prices):
            raise ValueError("give a discount or at least one of the *_per_mtok prices")
        if self.discount is not None:
            _bounds(self.discount, 0, 1, "discount")
        return self


class Tokens(_Change):
    """Scale token intensity per request: a longer prompt, pruning, output limits."""

    kind: Literal["tokens"]
    factor: Number | None = Field(default=None, description="All token kinds.")
    input_factor: Number | None = None
    output_factor: Number | None = None

    @model_validator(mode="after")
    def _some(self):
        given = [f for f in (self.factor, self.input_factor, self.output_factor) if f is not None]
        if not given:
            raise ValueError("give factor, input_factor or output_factor")
        for f in given:
            _bounds(f, 0, None, "token factor")
        return self


class Cache(_Change):
    """Set the share of input tokens read from the prompt cache."""

    kind: Literal["cache"]
    cached_share: Number

    @field_validator("cached_share")
    @classmethod
    def _share(cls, v: Number) -> Number:
        return _bounds(v, 0, 1, "cached_share")


class Retries(_Change):
    """Change the failure (and so retry) rate, e.g. fixing a retry loop."""

    kind: Literal["retries"]
    failure_rate: Number | None = None
    failure_factor: Number | None = None

    @model_validator(mode="after")
    def _one(self):
        if (self.failure_rate is None) == (self.failure_factor is None):
            raise ValueError("give exactly one of failure_rate or failure_factor")
        if self.failure_rate is not None:
            _bounds(self.failure_rate, 0, 1, "failure_rate")
        return self


class Sunset(_Change):
    """Stop a feature from a date."""

    kind: Literal["sunset"]
    feature: Names


Change = Annotated[
    Launch | Traffic | Route | Price | Tokens | Cache | Retries | Sunset,
    Field(discriminator="kind"),
]
KINDS = ("launch", "traffic", "route", "price", "tokens", "cache", "retries", "sunset")


class ScenarioBudget(BaseModel):
    model_config = ConfigDict(extra="forbid")

    amount: float = Field(gt=0)
    period: str = Field(pattern=r"^(FY\d{4}|\d{4}-Q[1-4]|\d{4}-\d{2})$")


class Scenario(BaseModel):
    """A named, ordered list of changes applied to a baseline forecast run."""

    model_config = ConfigDict(extra="forbid", title="costcast scenario")

    name: str = Field(min_length=1)
    description: str = ""
    baseline: str = Field(default="latest", description="A forecast run id, or latest.")
    budget: ScenarioBudget | None = None
    changes: list[Change] = Field(min_length=1)


def _without_tags(loc: tuple) -> tuple:
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
        raise


def load_scenario(path: str | Path) -> Scenario:
    return _validate(load_yaml(path, error=ScenarioError, max_bytes=MAX_BYTES))


def parse_scenario(text: str | bytes, source: str = "<request>") -> Scenario:
    """A scenario from YAML (or JSON, which is YAML) text, e.g. an API body."""
    return _validate(parse_yaml(text, source, error=ScenarioError, max_bytes=MAX_BYTES))


def scenario_json_schema() -> str:
    schema = Scenario.model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    return json.dumps(schema, indent=2, sort_keys=True) + "\n"
