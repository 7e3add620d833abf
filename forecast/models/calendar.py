"""The holiday calendar the forecasters share: a flag per day (1 on a public holiday)."""

from __future__ import annotations

from functools import lru_cache

import numpy as np
import pandas as pd


@lru_cache(maxsize=64)
def _holiday_days(country: str, year: int) -> np.ndarray:
    import holidays

    return np.array(sorted(holidays.country_holidays(country, years=[year])), dtype="datetime64[D]")


def holiday_flags(days: pd.DatetimeIndex, country: str | None) -> np.ndarray:
    """1.0 on the country's public holidays (observed days included), else 0.0."""
    if not country:
        return np.zeros(len(days))
    known = np.concatenate([_holiday_days(country, int(y)) for y in sorted(set(days.year))])
    return np.isin(days.to_numpy().astype("datetime64[D]"), known).astype(float)
