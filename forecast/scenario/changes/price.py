"""price: a model's new prices, or a discount, from a date."""

from __future__ import annotations

from dataclasses import replace
from typing import Any, Literal

import numpy as np
from pydantic import Field, model_validator

from forecast.pricing.book import PRICE_COLUMNS
from forecast.scenario.changes.base import ChangeKind, Number, Values, bounded
from forecast.scenario.streams import Context, Stream

MAX_PER_MTOK = 1e6  # USD per million tokens: a thousand times today's dearest model


class Price(ChangeKind):
    """A model's new prices (USD per million tokens) or a discount, from a date."""

    kind: Literal["price"]
    model: str
    discount: Number | None = None
    input_per_mtok: float | None = Field(default=None, ge=0, le=MAX_PER_MTOK)
    cached_input_per_mtok: float | None = Field(default=None, ge=0, le=MAX_PER_MTOK)
    output_per_mtok: float | None = Field(default=None, ge=0, le=MAX_PER_MTOK)
    tier: Literal["standard", "batch", "flex", "priority"] | None = None

    @model_validator(mode="after")
    def _what(self) -> Price:
        prices = (self.input_per_mtok, self.cached_input_per_mtok, self.output_per_mtok)
        if self.discount is None and all(p is None for p in prices):
            raise ValueError("give a discount or at least one of the *_per_mtok prices")
        if self.discount is not None:
            bounded(self.discount, 0, 1, "discount")
        return self

    def selects(self, stream: Stream, ctx: Context) -> bool:
        """A tier's price reaches only series that use that tier."""
        in_tier = self.tier is None or stream.tiers.get(self.tier, 0.0) > 0
        return in_tier and super().selects(stream, ctx)

    def apply(
        self, streams: list[Stream], values: Values, weight: np.ndarray, ctx: Context
    ) -> list[Stream]:
        new = {"input": self.input_per_mtok, "cached_input": self.cached_input_per_mtok,
               "output": self.output_per_mtok}  # fmt: skip
        return self.each_target(
            streams, ctx, lambda s: replace(s, prices=self._changed(s, values, weight, new, ctx))
        )

    def _changed(
        self, s: Stream, values: Values, weight: np.ndarray, new: dict[str, Any], ctx: Context
    ) -> dict[str, Any]:
        """The stream's blended prices with this change: on every tier, or only on the part
        of the blend its ``tier`` makes up (the book's price for that tier, times its share)."""
        prices = dict(s.prices)
        if self.tier is None:
            share, part = 1.0, prices
        else:
            share, part = s.tiers[self.tier], ctx.prices(s.model, {self.tier: 1.0})
        for kind in PRICE_COLUMNS:
            if values["discount"] is not None:
                prices[kind] = prices[kind] - share * weight * values["discount"] * part[kind]
            elif new.get(kind) is not None:
                prices[kind] = prices[kind] + share * weight * (new[kind] - part[kind])
        return prices
