"""cache: the share of input tokens read from the prompt cache, set from a date."""

from __future__ import annotations

from dataclasses import replace
from typing import Literal

import numpy as np
from pydantic import field_validator

from forecast.scenario.changes.base import INPUT_KINDS, ChangeKind, Number, Values, bounded
from forecast.scenario.streams import Context, Stream


class Cache(ChangeKind):
    """Set the share of input tokens read from the prompt cache."""

    kind: Literal["cache"]
    cached_share: Number

    @field_validator("cached_share")
    @classmethod
    def _share(cls, v: Number) -> Number:
        return bounded(v, 0, 1, "cached_share")

    def apply(
        self, streams: list[Stream], values: Values, weight: np.ndarray, ctx: Context
    ) -> list[Stream]:
        def cache(s: Stream) -> Stream:
            total = sum(s.intensity[k] for k in INPUT_KINDS)
            now = s.intensity["cached_input"]
            cached = now + weight * (values["cached_share"] * total - now)
            uncached = np.maximum(total - cached - s.intensity["cache_write"], 0.0)
            return replace(s, intensity={**s.intensity, "cached_input": cached, "input": uncached})

        return self.each_target(streams, ctx, cache)
