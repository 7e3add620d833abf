"""sunset: a feature stopped from a date."""

from __future__ import annotations

from dataclasses import replace
from typing import Literal

import numpy as np

from forecast.scenario.changes.base import ChangeKind, Names, Values
from forecast.scenario.streams import Context, Stream


class Sunset(ChangeKind):
    """Stop a feature from a date."""

    kind: Literal["sunset"]
    feature: Names

    def apply(
        self, streams: list[Stream], values: Values, weight: np.ndarray, ctx: Context
    ) -> list[Stream]:
        return self.each_target(streams, ctx, lambda s: replace(s, volume=s.volume * (1 - weight)))
