"""Exports for finance systems: accrual journals for an ERP, and FOCUS 1.2 cost rows."""

from forecast.export.focus import FOCUS_COLUMNS, focus_csv, focus_export
from forecast.export.journal import JOURNAL_COLUMNS, Journal, build_journal

__all__ = [
    "FOCUS_COLUMNS",
    "JOURNAL_COLUMNS",
    "Journal",
    "build_journal",
    "focus_csv",
    "focus_export",
]
