"""launch: a new feature with its own volume, token intensity and model."""

from __future__ import annotations

from typing import ClassVar, Literal

import numpy as np
from pydantic import ValidationInfo, field_validator

from forecast.scenario.changes.base import (
    MAX_MONTHLY_GROWTH,
    MAX_REQUESTS_PER_DAY,
    MAX_TOKENS_PER_REQUEST,
    ChangeKind,
    Number,
    Values,
    bounded,
    months_since,
)
from forecast.scenario.streams import Context, Stream


class Launch(ChangeKind):
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

    adds: ClassVar[bool] = True

    @field_validator("requests_per_day")
    @classmethod
    def _requests(cls, v: Number) -> Number:
        return bounded(v, 0, MAX_REQUESTS_PER_DAY, "requests_per_day")

    @field_validator("input_tokens_per_request", "output_tokens_per_request")
    @classmethod
    def _tokens(cls, v: Number, info: ValidationInfo) -> Number:
        return bounded(v, 0, MAX_TOKENS_PER_REQUEST, info.field_name or "tokens")

    @field_validator("monthly_growth")
    @classmethod
    def _growth(cls, v: Number) -> Number:
        return bounded(v, -1, MAX_MONTHLY_GROWTH, "monthly_growth")

    @field_validator("cached_share")
    @classmethod
    def _share(cls, v: Number) -> Number:
        return bounded(v, 0, 1, "cached_share")

    def apply(
        self, streams: list[Stream], values: Values, weight: np.ndarray, ctx: Context
    ) -> list[Stream]:
        v, n_days = values, len(ctx.days)
        growth = (1 + v["monthly_growth"]) ** months_since(self.start, ctx.days)
        volume = np.broadcast_to(v["requests_per_day"] * weight * growth, (ctx.n_paths, n_days))
        cached = v["input_tokens_per_request"] * v["cached_share"]
        zeros = np.zeros(n_days)
        intensity = {
            "input": v["input_tokens_per_request"] - cached + zeros,
            "cached_input": cached + zeros,
            "cache_write": zeros,
            "output": v["output_tokens_per_request"] + zeros,
        }
        tiers = {"standard": 1.0}
        launched = Stream(self.team, self.feature, self.model, volume.copy(), intensity,
                          zeros, ctx.prices(self.model, tiers), tiers)  # fmt: skip
        return [*streams, launched]
