"""Billed actuals: what providers invoiced, kept apart from usage so the two can be compared."""

from forecast.billed.sources import BILLED_FORMATS, read_billed
from forecast.billed.store import BilledImport, billed_daily, import_billed, list_billed_imports

__all__ = [
    "BILLED_FORMATS",
    "BilledImport",
    "billed_daily",
    "import_billed",
    "list_billed_imports",
    "read_billed",
]
