"""The effective-dated price book."""

from forecast.pricing.book import (
    PriceBook,
    PriceEntry,
    load_price_book,
    price_table,
    resolve_model_name,
)

__all__ = ["PriceBook", "PriceEntry", "load_price_book", "price_table", "resolve_model_name"]
