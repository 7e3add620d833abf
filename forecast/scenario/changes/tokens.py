"""tokens: token intensity per request scaled: a longer prompt, pruning, output limits."""

from __future__ import annotations

from dataclasses import replace
from typing import Literal

import numpy as np
from pydantic import Field, model_validator

from forecast.pricing.book import PRICE_COLUMNS
from forecast.scenario.changes.base import (
    INPUT_KINDS,
    MAX_FACTOR,
    ChangeKind,
    Number,
    Values,
    bounded,
)
from forecast.scenario.streams import Context, Stream


class Tokens(ChangeKind):
    """Scale token intensity per request: a longer prompt, pruning, output limits."""

    kind: Literal["tokens"]
    factor: Number | None = Field(default=None, description="All token kinds.")
    input_factor: Number | None = None
    output_factor: Number | None = None

    @model_validator(mode="after")
    def _some(self) -> Tokens:
        given = [f for f in (self.factor, self.input_factor, self.output_factor) if f is not None]
        if not given:
            raise ValueError("give factor, input_factor or output_factor")
        for f in given:
            bounded(f, 0, MAX_FACTOR, "token factor")
        return self

    def apply(
        self, streams: list[Stream], values: Values, weight: np.ndarray, ctx: Context
    ) -> list[Stream]:
        factors = (
            {k: values["factor"] for k in PRICE_COLUMNS} if values["factor"] is not None else {}
        )
        if values["input_factor"] is not None:
            factors |= dict.fromkeys(INPUT_KINDS, values["input_factor"])
        if values["output_factor"] is not None:
            factors["output"] = values["output_factor"]
        return self.each_target(streams, ctx, lambda s: replace(s, intensity={
            **s.intensity,
            **{kind: s.intensity[kind] * (1 + weight * (f - 1)) for kind, f in factors.items()},
        }))  # fmt: skip
