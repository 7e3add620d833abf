"""The price book a config asks for: the bundled book, then the config's LiteLLM map,
price files and entries, in that order (later entries win on the same model, tier and day)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from forecast.pricing.book import PriceBook, bundled_entries, load_price_file
from forecast.pricing.litellm import load_litellm_map

if TYPE_CHECKING:
    from forecast.config import Config


def load_price_book(config: Config | None = None) -> PriceBook:
    """Bundled book, then the config's LiteLLM map, price files and entries, in that order."""
    entries = bundled_entries()
    if config is not None:
        prices = config.prices
        if prices.litellm_map is not None:
            entries += load_litellm_map(prices.litellm_map.path, prices.litellm_map.effective)
        for path in prices.files:
            entries += load_price_file(path)
        entries += list(prices.entries)
    return PriceBook(entries)
