"""route: move a share of volume from one model to another."""

from __future__ import annotations

from dataclasses import replace
from typing import Literal

import numpy as np
from pydantic import Field, ValidationInfo, field_validator

from forecast.pricing.book import PRICE_COLUMNS
from forecast.scenario.changes.base import MAX_FACTOR, ChangeKind, Names, Number, Values, bounded
from forecast.scenario.streams import Context, Stream


class Route(ChangeKind):
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
        return bounded(v, 0, 1, "share")

    @field_validator("intensity_factor", "failure_factor")
    @classmethod
    def _factor(cls, v: Number, info: ValidationInfo) -> Number:
        return bounded(v, 0, MAX_FACTOR, info.field_name or "factor")

    def selected_models(self) -> Names | None:
        return self.from_model

    def apply(
        self, streams: list[Stream], values: Values, weight: np.ndarray, ctx: Context
    ) -> list[Stream]:
        hit = set(self.targets(streams, ctx))
        kept, moved = [], []
        for i, s in enumerate(streams):
            if i not in hit:
                kept.append(s)
                continue
            part = s.volume * (values["share"] * weight)
            kept.append(replace(s, volume=s.volume - part))
            moved.append(
                Stream(s.team, s.feature, self.to_model, part,
                       {k: s.intensity[k] * values["intensity_factor"] for k in PRICE_COLUMNS},
                       np.clip(s.failure * values["failure_factor"], 0, 0.99),
                       ctx.prices(self.to_model, s.tiers), s.tiers)
            )  # fmt: skip
        return kept + moved
