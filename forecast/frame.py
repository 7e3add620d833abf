"""The one data shape: a long frame of daily series, ``unique_id, ds, y`` (plus driver columns).

Users and front ends hand over long frames, as with statsforecast; models
work on a ``Panel``, the same data as one array per series, so that fitting
thousands of series never slices a frame per series (statsforecast keeps a
``GroupedArray`` for the same reason).
"""

from __future__ import annotations

import warnings
from collections.abc import Hashable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from forecast.errors import CostcastError

ID, DS, Y = "unique_id", "ds", "y"


def validate_frame(
    df: pd.DataFrame, id_col: str = ID, time_col: str = DS, target_col: str = Y
) -> None:
    """Refuse a frame that is not a long frame of daily, finite, non-negative values."""
    missing = [c for c in (id_col, time_col, target_col) if c not in df.columns]
    if missing:
        raise CostcastError(
            f"the frame lacks column(s) {', '.join(missing)}",
            hint=f"a long frame has one row per series and day: {id_col}, {time_col}, {target_col}",
        )
    ids = df[id_col]
    # an empty id would drop its rows from every group silently; a list or a dict is no name
    unnamed = ids.isna().to_numpy()
    if ids.dtype == object:
        unnamed |= ids.map(lambda v: not isinstance(v, Hashable)).to_numpy(dtype=bool)
    if unnamed.any():
        row = int(np.flatnonzero(unnamed)[0])
        cell = ids.iloc[row]
        raise CostcastError("a series needs a name: a text or a number", field=id_col,
                            record=row + 1, value=None if _empty(cell) else cell)  # fmt: skip
    values = pd.to_numeric(df[target_col], errors="coerce").to_numpy(dtype=float)
    bad = ~np.isfinite(values) | (values < 0)
    if bad.any():
        row = df.iloc[int(np.flatnonzero(bad)[0])]
        raise CostcastError(
            f"series {row[id_col]!r} on {row[time_col]}: {target_col} must be a finite number >= 0",
            field=target_col,
            value=row[target_col],
        )


def zone_problem(name: str) -> str | None:
    """Why ``name`` is no time zone (None: it is one, an IANA name such as Europe/Berlin)."""
    import zoneinfo

    try:
        zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError, OSError):  # OSError: a name too long
        return f"unknown time zone {name!r}: give an IANA name such as Europe/Berlin, or UTC"
    return None


def times(column: pd.Series, field: str, csv_file: str | None = None, *,
          iso_utc: bool = False) -> pd.Series:  # fmt: skip
    """``column`` as timestamps, or a CostcastError naming the first cell that is not one,
    an empty one included: by its line where the column was read from ``csv_file`` (a
    header row, then one row a line), else by its record (1 for the first row).
    ``iso_utc``: ISO 8601 only, returned as UTC without a zone (an offset given is
    honoured, none means UTC)."""
    options: dict[str, Any] = {"format": "ISO8601", "utc": True} if iso_utc else {}
    parsed = _parsed(column, options)
    if parsed is None:
        row = _first_unparsed(column, options)
        where = {"file": csv_file, "line": row + 2} if csv_file else {"record": row + 1}
        cell = column.iloc[row]
        raise CostcastError(_why_not_a_time(column, row, options), field=field,
                            value=None if _empty(cell) else cell, **where)  # fmt: skip
    return parsed.dt.tz_localize(None) if iso_utc else parsed


def _parsed(column: pd.Series, options: dict[str, Any]) -> pd.Series | None:
    """``column`` as timestamps of one dtype, or None where a cell is not one. pandas
    raises on some mixtures (zoned and zoneless times) and leaves others as objects
    (several offsets): both are refused, as an empty or unreadable cell is."""
    with warnings.catch_warnings():
        # several offsets without utc (FutureWarning); a form it cannot infer (UserWarning)
        warnings.simplefilter("ignore", FutureWarning)
        warnings.simplefilter("ignore", UserWarning)
        try:
            parsed = pd.to_datetime(column, errors="coerce", **options)
        except (TypeError, ValueError, OverflowError):
            return None
    if not pd.api.types.is_datetime64_any_dtype(parsed) or parsed.isna().any():
        return None
    return parsed


def _first_unparsed(column: pd.Series, options: dict[str, Any]) -> int:
    """The first row whose column up to it does not parse: a cell that does not, or the
    first that does not go with those before it. By halves, for a long column."""
    lo, hi = 0, len(column) - 1  # the whole column does not parse
    while lo < hi:
        mid = (lo + hi) // 2
        if _parsed(column.iloc[: mid + 1], options) is None:
            hi = mid
        else:
            lo = mid + 1
    return lo


def _empty(cell: object) -> bool:
    """A missing cell (None, NaN, NaT); a list or array in a cell is not one."""
    return bool(not isinstance(cell, list | tuple | dict | np.ndarray) and pd.isna(cell))


def _why_not_a_time(column: pd.Series, row: int, options: dict[str, Any]) -> str:
    """A cell that is a time on its own failed beside the others: pandas reads a column in
    the form (or the time zone) of its first cell."""
    if _empty(column.iloc[row]):
        return "empty: a date or time is needed"
    if row > 0 and _parsed(column.iloc[row : row + 1], options) is not None:
        return (f"not in the form of the first ({column.iloc[0]!r}): give every time in one "
                "form, with the same time zone or none")  # fmt: skip
    return "not a date or time"


@dataclass(frozen=True)
class Panel:
    """Daily series, one array each, every series ending on ``end``.

    ``values[i]`` holds series ``ids[i]`` from its first day through ``end``,
    one value per consecutive day.
    """

    ids: tuple[str, ...]
    values: tuple[np.ndarray, ...]
    end: pd.Timestamp

    def __len__(self) -> int:
        return len(self.ids)

    def lengths(self) -> np.ndarray:
        return np.array([len(v) for v in self.values], dtype=int)

    def starts(self) -> list[pd.Timestamp]:
        return [self.end - pd.Timedelta(days=len(v) - 1) for v in self.values]

    def take(self, index: Sequence[int]) -> Panel:
        return Panel(tuple(self.ids[i] for i in index), tuple(self.values[i] for i in index),
                     self.end)  # fmt: skip

    def cut(self, days: int, min_length: int = 1) -> Panel:
        """The panel as it was ``days`` days before its end: series shorter than
        ``min_length`` by then are left out."""
        keep = [i for i, v in enumerate(self.values) if len(v) - days >= min_length]
        return Panel(
            tuple(self.ids[i] for i in keep),
            tuple(self.values[i][: len(self.values[i]) - days] for i in keep),
            self.end - pd.Timedelta(days=days),
        )

    @classmethod
    def from_frame(
        cls, df: pd.DataFrame, id_col: str = ID, time_col: str = DS, target_col: str = Y
    ) -> Panel:
        """Series of a long frame; gaps are refused, and every series must end on the same day
        (fill it with zeros where a series had no usage)."""
        validate_frame(df, id_col, time_col, target_col)
        frame = df[[id_col, time_col, target_col]].copy()
        frame[time_col] = times(frame[time_col], time_col)
        frame = frame.sort_values([id_col, time_col], kind="stable")
        ends = frame.groupby(id_col, sort=True)[time_col].max()
        if ends.nunique() > 1:
            raise CostcastError(
                f"every series must end on the same day; {ends.idxmin()!r} ends "
                f"{ends.min():%Y-%m-%d} and {ends.idxmax()!r} {ends.max():%Y-%m-%d}",
                field=time_col,
                hint="fill the days without usage with zeros",
            )
        ids, values = [], []
        for uid, part in frame.groupby(id_col, sort=True):
            days = part[time_col].to_numpy()
            if len(days) > 1 and not (np.diff(days) == np.timedelta64(1, "D")).all():
                raise CostcastError(
                    f"series {uid!r} must have one value per consecutive day", field=time_col
                )
            ids.append(str(uid))
            values.append(part[target_col].to_numpy(dtype=float))
        if not ids:
            raise CostcastError("the frame holds no series")
        return cls(tuple(ids), tuple(values), pd.Timestamp(ends.iloc[0]))

    def to_frame(self) -> pd.DataFrame:
        return pd.DataFrame(
            {
                ID: np.repeat(np.array(self.ids, dtype=object), self.lengths()),
                DS: np.concatenate([pd.date_range(s, self.end, freq="D") for s in self.starts()]),
                Y: np.concatenate(self.values),
            }
        )


def future_days(end: pd.Timestamp, h: int) -> pd.DatetimeIndex:
    return pd.date_range(end + pd.Timedelta(days=1), periods=h, freq="D")


def forecast_frame(
    ids: Sequence[str], end: pd.Timestamp, means: np.ndarray, name: str
) -> pd.DataFrame:
    """Long frame ``unique_id, ds, <name>`` from a (series, h) array of point forecasts."""
    h = means.shape[1]
    return pd.DataFrame(
        {
            ID: np.repeat(np.array(ids, dtype=object), h),
            DS: np.tile(future_days(end, h), len(ids)),
            name: means.reshape(-1),
        }
    )
