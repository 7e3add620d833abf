"""What every change kind shares: when it applies (start, end, ramp), which series it
selects (team, feature, model), and numbers that may be ranges.

A change kind is one pydantic model (its part of the scenario schema) with two pure
methods: ``targets(streams, ctx)``, the indices of the streams it acts on, and
``apply(streams, values, weight, ctx)``, the streams after it (new objects; the inputs
are left as they were). ``values`` are the change's numbers with every range drawn
once per path; ``weight`` is its effect per day, 0 to 1.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Annotated, Any, ClassVar

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Discriminator, Field, Tag, model_validator

from forecast.fiscal import DAYS_PER_MONTH
from forecast.scenario.streams import Context, Stream
from forecast.schema import UsageDay

# Numbers in a scenario must be finite (a NaN or an infinity would turn into a silent null
# mean, and a zero accrual downstream); each kind bounds its own to what can be real.
NUMBERS = ConfigDict(extra="forbid", allow_inf_nan=False)
MAX_FACTOR = 1000.0  # traffic, tokens, intensity or failures x1000 is already a new product
MAX_REQUESTS_PER_DAY = 1e12
MAX_TOKENS_PER_REQUEST = 1e8
MAX_MONTHLY_GROWTH = 10.0  # +1000% a month


class Range(BaseModel):
    """A number a PM cannot know exactly; the engine samples it (PERT) across paths."""

    model_config = NUMBERS

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
Values = dict[str, Any]  # field -> the number, or its draws (paths, 1)


def bounded(value: Number, lo: float, hi: float | None, what: str) -> Number:
    values = [value] if isinstance(value, int | float) else [value.low, value.likely, value.high]
    for v in values:
        if v < lo or (hi is not None and v > hi):
            span = f"between {lo} and {hi}" if hi is not None else f"at least {lo}"
            raise ValueError(f"{what} must be {span}, got {v}")
    return value


def _listed(names: Names) -> list[str]:
    return [names] if isinstance(names, str) else names


class ChangeKind(BaseModel):
    """Fields and selection every change has; subclasses add ``kind`` and their own."""

    model_config = NUMBERS

    kind: str
    start: UsageDay
    end: UsageDay | None = Field(default=None, description="Last day the change applies.")
    ramp_days: int = Field(default=0, ge=0, description="Days to reach full effect, linearly.")
    team: Names | None = None
    feature: Names | None = None
    model: Names | None = None

    # A change that adds a stream of its own (a launch) rather than acting on existing ones.
    adds: ClassVar[bool] = False

    @model_validator(mode="after")
    def _dates(self) -> ChangeKind:
        if self.end is not None and self.end < self.start:
            raise ValueError(f"end {self.end} is before start {self.start}")
        return self

    def selected_models(self) -> Names | None:
        """The model(s) a stream must run on to be selected (a route selects by from_model)."""
        return self.model

    def weight(self, days: pd.DatetimeIndex) -> np.ndarray:
        """0 before start and after end; ramps linearly to 1 over ramp_days from start."""
        since = (days - pd.Timestamp(self.start)).days.to_numpy().astype(float)
        w = np.clip((since + 1) / max(self.ramp_days, 1), 0.0, 1.0)
        w[since < 0] = 0.0
        if self.end is not None:
            w[days > pd.Timestamp(self.end)] = 0.0
        return np.asarray(w)

    def selects(self, stream: Stream, ctx: Context) -> bool:
        for level in ("team", "feature"):
            wanted = getattr(self, level)
            if wanted is not None and getattr(stream, level) not in _listed(wanted):
                return False
        models = self.selected_models()
        return models is None or any(ctx.same_model(stream.model, m) for m in _listed(models))

    def targets(self, streams: list[Stream], ctx: Context) -> list[int]:
        """Indices of the streams this change acts on."""
        if self.adds:
            return []
        return [i for i, s in enumerate(streams) if self.selects(s, ctx)]

    def apply(
        self, streams: list[Stream], values: Values, weight: np.ndarray, ctx: Context
    ) -> list[Stream]:
        raise NotImplementedError

    def each_target(
        self, streams: list[Stream], ctx: Context, change: Callable[[Stream], Stream]
    ) -> list[Stream]:
        """``streams`` with ``change`` applied to those this change targets, in order."""
        hit = set(self.targets(streams, ctx))
        return [change(s) if i in hit else s for i, s in enumerate(streams)]


INPUT_KINDS = ("input", "cached_input", "cache_write")


def months_since(start: dt.date, days: pd.DatetimeIndex) -> np.ndarray:
    return np.asarray(np.maximum((days - pd.Timestamp(start)).days.to_numpy(), 0) / DAYS_PER_MONTH)
