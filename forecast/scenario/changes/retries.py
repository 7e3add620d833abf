"""retries: the failure (and so retry) rate changed, e.g. a retry loop fixed."""

from __future__ import annotations

from dataclasses import replace
from typing import Literal

import numpy as np
from pydantic import model_validator

from forecast.scenario.changes.base import MAX_FACTOR, ChangeKind, Number, Values, bounded
from forecast.scenario.streams import Context, Stream


class Retries(ChangeKind):
    """Change the failure (and so retry) rate, e.g. fixing a retry loop."""

    kind: Literal["retries"]
    failure_rate: Number | None = None
    failure_factor: Number | None = None

    @model_validator(mode="after")
    def _one(self) -> Retries:
        if (self.failure_rate is None) == (self.failure_factor is None):
            raise ValueError("give exactly one of failure_rate or failure_factor")
        if self.failure_rate is not None:
            bounded(self.failure_rate, 0, 1, "failure_rate")
        if self.failure_factor is not None:
            bounded(self.failure_factor, 0, MAX_FACTOR, "failure_factor")
        return self

    def apply(
        self, streams: list[Stream], values: Values, weight: np.ndarray, ctx: Context
    ) -> list[Stream]:
        def retried(s: Stream) -> Stream:
            rate, factor = values["failure_rate"], values["failure_factor"]
            target = rate if rate is not None else s.failure * factor
            new = np.clip(s.failure + weight * (target - s.failure), 0.0, 0.99)
            # calls = successes / (1 - failure rate): each failure is retried
            return replace(s, volume=s.volume * (1 - s.failure) / (1 - new), failure=new)

        return self.each_target(streams, ctx, retried)
