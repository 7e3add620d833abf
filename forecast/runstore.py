"""The run store: every read and write of the forecast run tables (``forecast_*``).

A run is immutable once saved: what data it saw, its settings, the forecaster and
score per series, the drivers it priced with, per series the volume and cost of
every sample path and day, and the history it saw. At save it also keeps what reads
need most, each series' cost per fiscal month, quarter and year and path, actuals to
date included (``forecast_period_paths``): a table by team and quarter then adds up a
few numbers per series instead of every day of every path.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import pyarrow as pa
from duckdb import DuckDBPyConnection

from forecast.errors import NotFoundError
from forecast.fiscal import FiscalCalendar
from forecast.ledger import Ledger
from forecast.periods import period_totals
from forecast.series import SERIES_KEYS, TOKEN_KINDS, usd_per_unit

if TYPE_CHECKING:
    from forecast.engine import EngineResult
    from forecast.series import DriverSeries

PATH_BATCH = 200  # series per insert: bounds the memory a save holds beyond the results
# Fiscal periods summed per series and path at save; days and weeks are summed when read.
KEPT_FREQS = ("month", "quarter", "year")


@dataclass
class ForecastRun:
    run_id: str
    created_at: dt.datetime
    as_of: dt.date
    horizon_end: dt.date
    n_paths: int
    seed: int
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def start(self) -> dt.date:
        return self.as_of + dt.timedelta(days=1)


def save_run(
    ledger: Ledger,
    run: ForecastRun,
    series: list[DriverSeries],
    result: EngineResult,
    actuals: pd.DataFrame,
    days: pd.DatetimeIndex,
    calendar: FiscalCalendar,
) -> None:
    """One transaction. Paths go in as one array per series, a batch of series at a time, so
    a run of thousands of series never builds one giant frame of Python objects."""
    con = ledger.con
    actual_periods = {freq: _actual_periods(actuals, run, freq, calendar) for freq in KEPT_FREQS}
    with ledger.transaction():
        con.execute(
            "INSERT INTO forecast_runs VALUES (?, ?, ?, ?, ?, ?, ?)",
            [run.run_id, run.created_at, run.as_of, run.horizon_end, run.n_paths, run.seed,
             json.dumps(run.meta)],
        )  # fmt: skip
        rows = []
        for s in series:
            f = result.forecasts[s.input.uid]
            rows.append(
                [run.run_id, s.team, s.feature, s.model, f.forecaster, f.score, f.flag, s.unit,
                 *f.intensity[:, 0], s.failure_rate, json.dumps(s.tiers)]
            )  # fmt: skip
        con.executemany(
            "INSERT INTO forecast_series VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", rows
        )
        for first in range(0, len(series), PATH_BATCH):
            batch = series[first : first + PATH_BATCH]
            forecasts = [result.forecasts[s.input.uid] for s in batch]
            volume = np.stack([f.paths for f in forecasts])
            unit = np.stack(
                [usd_per_unit(f.intensity, s.prices) for f, s in zip(forecasts, batch, strict=True)]
            )
            cost = volume * unit[:, None, :]
            _insert(con, "forecast_paths", _path_table(run, batch, volume, cost, days))
            intensity = np.stack([f.intensity for f in forecasts])
            _insert(con, "forecast_intensity", _intensity_table(run, batch, intensity, days))
            prices = np.stack([s.prices for s in batch])
            _insert(con, "forecast_prices", _intensity_table(run, batch, prices, days))
            for freq in KEPT_FREQS:
                table = _period_table(run, batch, cost, days, freq, calendar, actual_periods[freq])
                _insert(con, "forecast_period_paths", table)
        con.register("_frame", actuals.assign(run_id=run.run_id))
        con.execute(
            """INSERT INTO forecast_actuals
               SELECT run_id, team, feature, model, CAST(ds AS DATE), volume, cost FROM _frame"""
        )
        con.unregister("_frame")


def _insert(con: DuckDBPyConnection, table: str, rows: pa.Table) -> None:
    con.register("_rows", rows)
    con.execute(f"INSERT INTO {table} SELECT * FROM _rows")
    con.unregister("_rows")


def _actual_periods(
    actuals: pd.DataFrame, run: ForecastRun, freq: str, calendar: FiscalCalendar
) -> dict[tuple[Any, ...], float]:
    """(team, feature, model, period) -> actual cost of the period's days before the run's
    first forecast day: the landing every path of that period starts from."""
    first = pd.Timestamp(calendar.period_start(run.start, freq))
    past = actuals[pd.to_datetime(actuals["ds"]) >= first]
    if past.empty:
        return {}
    past = past.assign(period=calendar.labels(past["ds"], freq).to_numpy())
    totals: dict[tuple[Any, ...], float] = (
        past.groupby([*SERIES_KEYS, "period"])["cost"].sum().to_dict()
    )
    return totals


def _period_table(
    run: ForecastRun,
    batch: list[DriverSeries],
    cost: np.ndarray,
    days: pd.DatetimeIndex,
    freq: str,
    calendar: FiscalCalendar,
    actual: dict[tuple[Any, ...], float],
) -> pa.Table:
    """Arrow rows for forecast_period_paths: per series and period, the cost of each path."""
    sums, periods = period_totals(cost, calendar.labels(days, freq).to_numpy())
    for i, s in enumerate(batch):
        for j, period in enumerate(periods):
            sums[i, :, j] += actual.get((s.team, s.feature, s.model, period), 0.0)
    n = len(batch) * len(periods)
    return pa.table({
        "run_id": [run.run_id] * n,
        "fiscal_start": pa.array([calendar.start_month] * n, pa.int8()),
        "freq": [freq] * n,
        "team": [s.team for s in batch for _ in periods],
        "feature": [s.feature for s in batch for _ in periods],
        "model": [s.model for s in batch for _ in periods],
        "period": list(periods) * len(batch),
        "paths": _lists(sums.transpose(0, 2, 1).reshape(n, -1)),
    })  # fmt: skip


def load_period_paths(
    ledger: Ledger, run_id: str, freq: str, calendar: FiscalCalendar
) -> tuple[pd.DataFrame, np.ndarray, list[str]] | None:
    """(keys, sums (series, paths, periods), periods) as saved for ``freq`` under this fiscal
    calendar; None where the run kept no such sums (a day or week table, a run saved by an
    older costcast, or a fiscal year that started in another month then)."""
    if freq not in KEPT_FREQS or not ledger.has_table("forecast_period_paths"):
        return None
    table = ledger.con.sql(
        """SELECT team, feature, model, period, paths FROM forecast_period_paths
           WHERE run_id = $run AND freq = $freq AND fiscal_start = $start
           ORDER BY team, feature, model, period""",
        params={"run": run_id, "freq": freq, "start": calendar.start_month},
    ).to_arrow_table()
    if not len(table):
        return None
    frame = table.select([*SERIES_KEYS, "period"]).to_pandas()
    # month, quarter and year labels sort as the periods run: rows are (series, period)
    periods = sorted(set(frame["period"]))
    keys = frame[list(SERIES_KEYS)].drop_duplicates().reset_index(drop=True)
    n_paths = len(table["paths"][0])
    values = table.column("paths").combine_chunks().flatten().to_numpy()
    sums = values.reshape(len(keys), len(periods), n_paths).transpose(0, 2, 1)
    return keys, np.ascontiguousarray(sums), periods


def load_actuals(ledger: Ledger, run_id: str, since: dt.date | None = None) -> pd.DataFrame:
    """The daily cost (and volume) per series the run saw, from ``since``."""
    return ledger.con.execute(
        """SELECT team, feature, model, ds, volume, cost FROM forecast_actuals
           WHERE run_id = ? AND ds >= ?""",
        [run_id, since or dt.date.min],
    ).df()


def group_actuals(ledger: Ledger, run_id: str, by: Sequence[str], since: dt.date) -> pd.DataFrame:
    """Daily actual cost per group of ``by`` the run saw, from ``since`` to its as-of date."""
    group = ", ".join(f'"{k}"' for k in by)
    return ledger.con.execute(
        f"""SELECT {(group + ",") if by else ""} ds, sum(cost) AS cost FROM forecast_actuals
            WHERE run_id = ? AND ds >= ? GROUP BY ALL ORDER BY ALL""",
        [run_id, since],
    ).df()


def first_actual_day(ledger: Ledger, run_id: str) -> dt.date | None:
    day: dt.date | None = ledger.con.execute(
        "SELECT min(ds) FROM forecast_actuals WHERE run_id = ?", [run_id]
    ).fetchall()[0][0]
    return day


def count_runs(ledger: Ledger) -> int:
    return int(ledger.con.execute("SELECT count(*) FROM forecast_runs").fetchall()[0][0])


def series_rows(ledger: Ledger, run_id: str) -> pd.DataFrame:
    """Every column of the run's series, in key order (what scenarios rebuild streams from)."""
    return ledger.con.execute(
        "SELECT * FROM forecast_series WHERE run_id = ? ORDER BY team, feature, model", [run_id]
    ).df()


PATH_BATCH = 200  # series per insert: bounds the memory a save holds beyond the results


def _series_table(
    run: ForecastRun,
    batch: list[DriverSeries],
    days: pd.DatetimeIndex,
    n_days: int,
    columns: dict[str, Any],
) -> pa.Table:
    """Arrow rows of one run's series, one row each: the key columns, then ``columns``."""
    return pa.table({
        "run_id": [run.run_id] * len(batch),
        "team": [k.team for k in batch],
        "feature": [k.feature for k in batch],
        "model": [k.model for k in batch],
        "start": pa.array([days[0].date()] * len(batch), pa.date32()),
        "n_days": pa.array([n_days] * len(batch), pa.int32()),
        **columns,
    })  # fmt: skip


def _lists(values: np.ndarray) -> pa.ListArray:
    """One list per row of ``values`` (rows, ...), its other axes flattened in order."""
    size = int(np.prod(values.shape[1:]))
    offsets = pa.array(np.arange(len(values) + 1, dtype=np.int32) * size)
    return pa.ListArray.from_arrays(offsets, pa.array(values.reshape(-1), pa.float64()))


def _intensity_table(
    run: ForecastRun, batch: list[DriverSeries], intensity: np.ndarray, days: pd.DatetimeIndex
) -> pa.Table:
    """Arrow rows for forecast_intensity: (series, kinds, days) as one list per kind."""
    lists = {kind: _lists(intensity[:, k]) for k, kind in enumerate(TOKEN_KINDS)}
    return _series_table(run, batch, days, intensity.shape[2], lists)


def _path_table(
    run: ForecastRun,
    batch: list[DriverSeries],
    volume: np.ndarray,
    cost: np.ndarray,
    days: pd.DatetimeIndex,
) -> pa.Table:
    """Arrow rows for forecast_paths; (series, paths, days) arrays become one list each."""
    return _series_table(run, batch, days, volume.shape[2], {
        "n_paths": pa.array([volume.shape[1]] * len(batch), pa.int32()),
        "volume": _lists(volume),
        "cost": _lists(cost),
    })  # fmt: skip


def load_paths(ledger: Ledger, run_id: str, field: str = "cost") -> tuple[pd.DataFrame, np.ndarray]:
    """(keys, paths): the run's series in (team, feature, model) order and their ``field``
    ("cost" or "volume") as one (series, paths, days) array."""
    if field not in ("cost", "volume"):
        raise ValueError(f"no path field {field!r}")
    table = ledger.con.sql(
        f"""SELECT team, feature, model, n_paths, n_days, {field} FROM forecast_paths
            WHERE run_id = $run ORDER BY team, feature, model""",
        params={"run": run_id},
    ).to_arrow_table()
    keys = table.select(list(SERIES_KEYS)).to_pandas()
    if not len(keys):
        return keys, np.zeros((0, 0, 0))
    n_paths, n_days = table["n_paths"][0].as_py(), table["n_days"][0].as_py()
    values = table.column(field).combine_chunks().flatten().to_numpy()
    return keys, values.reshape(len(keys), n_paths, n_days)


def load_intensity(ledger: Ledger, run_id: str) -> dict[tuple[Any, ...], dict[str, np.ndarray]]:
    """(team, feature, model) -> kind -> tokens per unit of volume on each forecast day."""
    return _per_kind(ledger, "forecast_intensity", run_id)


def load_prices(ledger: Ledger, run_id: str) -> dict[tuple[Any, ...], dict[str, np.ndarray]]:
    """(team, feature, model) -> kind -> USD per million tokens on each forecast day, as the
    run priced them (empty for runs saved before runs kept their prices)."""
    return _per_kind(ledger, "forecast_prices", run_id)


def _per_kind(
    ledger: Ledger, table: str, run_id: str
) -> dict[tuple[Any, ...], dict[str, np.ndarray]]:
    if not ledger.has_table(table):
        return {}
    rows = ledger.con.execute(
        f"""SELECT team, feature, model, {", ".join(TOKEN_KINDS)} FROM {table}
            WHERE run_id = ?""",
        [run_id],
    ).fetchall()
    return {
        tuple(row[:3]): {
            k: np.asarray(v, dtype=float) for k, v in zip(TOKEN_KINDS, row[3:], strict=True)
        }
        for row in rows
    }


def load_run(ledger: Ledger, run_id: str = "latest") -> ForecastRun:
    if not ledger.has_table("forecast_runs"):
        raise NotFoundError("no forecast runs yet: run costcast forecast first", param="run")
    if run_id == "latest":
        rows = ledger.con.execute(
            "SELECT * FROM forecast_runs ORDER BY created_at DESC, run_id DESC LIMIT 1"
        ).fetchall()
    else:
        rows = ledger.con.execute(
            "SELECT * FROM forecast_runs WHERE run_id = ?", [run_id]
        ).fetchall()
    if not rows:
        raise NotFoundError(
            f"no forecast run {run_id!r}", param="run", hint="list them with costcast runs list"
        )
    run_id, created, as_of, end, n_paths, seed, meta = rows[0]
    return ForecastRun(run_id, created, as_of, end, n_paths, seed, json.loads(meta))


def list_runs(ledger: Ledger) -> pd.DataFrame:
    if not ledger.has_table("forecast_runs"):
        return pd.DataFrame(columns=["run_id", "created_at", "as_of", "horizon_end", "series"])
    return ledger.con.execute(
        """SELECT r.run_id, r.created_at, r.as_of, r.horizon_end, r.n_paths,
                  count(s.team) AS series,
                  coalesce(json_extract_string(r.meta, '$.settings.forecasters'),
                           json_extract_string(r.meta, '$.settings.models')) AS forecasters
           FROM forecast_runs r LEFT JOIN forecast_series s USING (run_id)
           GROUP BY ALL ORDER BY r.created_at DESC, r.run_id DESC"""
    ).df()


def run_series(ledger: Ledger, run_id: str) -> pd.DataFrame:
    return ledger.con.execute(
        "SELECT * EXCLUDE (run_id) FROM forecast_series WHERE run_id = ? ORDER BY ALL", [run_id]
    ).df()
