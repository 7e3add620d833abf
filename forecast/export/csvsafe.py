"""CSV that a spreadsheet opens as data, never as a formula.

Team, feature and model names come from usage exports and anyone can write them: a
name like ``=HYPERLINK(...)`` or ``+SUM(1+1)`` becomes a live formula when finance opens
the file. As OWASP recommends for CSV injection, a text cell that starts with ``=``,
``+``, ``-``, ``@``, a tab or a carriage return gets a leading ``'``. A text cell that
holds a control character (a bare carriage return would break the row) makes the file
quote every text field; otherwise the bytes are pandas' usual ones.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Sequence
from typing import Any

import pandas as pd

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_CONTROL = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")


def neutralised(value: object) -> object:
    if isinstance(value, str) and value.startswith(FORMULA_START):
        return "'" + value
    return value


def csv_text(frame: pd.DataFrame, text_columns: Sequence[str] | None = None, **options: Any) -> str:
    """``frame.to_csv`` with its text columns (by default every object column) made safe."""
    columns = [c for c in frame.columns if frame[c].dtype == object] if text_columns is None else [
        c for c in text_columns if c in frame.columns
    ]  # fmt: skip
    safe = frame.copy()
    controls = False
    for column in columns:
        safe[column] = safe[column].map(neutralised)
        controls |= bool(
            safe[column].map(lambda v: isinstance(v, str) and bool(_CONTROL.search(v))).any()
        )
    quoting = csv.QUOTE_NONNUMERIC if controls else csv.QUOTE_MINIMAL
    return str(safe.to_csv(index=False, lineterminator="\n", quoting=quoting, **options))
