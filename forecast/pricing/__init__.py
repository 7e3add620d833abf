"""The effective-dated price book."""

from forecast.pricing.book import PriceBook, PriceEntry, price_table, resolve_model_name
from forecast.pricing.load import load_price_book

__all__ = ["PriceBook", "PriceEntry", "load_price_book", "price_table", "resolve_model_name"]
