"""traffic: more or less volume, by a factor or by compound monthly growth."""

from __future__ import annotations

from dataclasses import replace
from typing import Literal

import numpy as np
from pydantic import model_validator

from forecast.scenario.changes.base import (
    MAX_FACTOR,
    MAX_MONTHLY_GROWTH,
    ChangeKind,
    Number,
    Values,
    bounded,
    months_since,
)
from forecast.scenario.streams import Context, Stream


class Traffic(ChangeKind):
    """Scale volume by a factor, or by compound monthly growth from the start."""

    kind: Literal["traffic"]
    factor: Number | None = None
    monthly_growth: Number | None = None

    @model_validator(mode="after")
    def _one(self) -> Traffic:
        if (self.factor is None) == (self.monthly_growth is None):
            raise ValueError("give exactly one of factor or monthly_growth")
        if self.factor is not None:
            bounded(self.factor, 0, MAX_FACTOR, "factor")
        if self.monthly_growth is not None:
            bounded(self.monthly_growth, -1, MAX_MONTHLY_GROWTH, "monthly_growth")
        return self

    def apply(
        self, streams: list[Stream], values: Values, weight: np.ndarray, ctx: Context
    ) -> list[Stream]:
        if values["factor"] is not None:
            factor = 1 + weight * (values["factor"] - 1)
        else:
            factor = (1 + values["monthly_growth"]) ** (weight * months_since(self.start, ctx.days))
        return self.each_target(streams, ctx, lambda s: replace(s, volume=s.volume * factor))
