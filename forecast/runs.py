"""Forecast runs: fit the driver series, turn volume paths into cost paths, save it all.

A run is immutable once saved: what data it saw (rows, days, a content hash
of the ledger rows up to its as-of date), its settings, the model chosen per
series with its score, the drivers it priced with, and per key, day and
path the volume and cost. Every aggregate is rebuilt from those paths.
"""

from __future__ import annotations

import datetime as dt
import json
import uuid
from collections.abc import Callable
from dataclasses import asdict, dataclass, field

import numpy as np
import pandas as pd
import pyarrow as pa

from forecast.engine import (
    PROPHET_SHARE,
    SeriesForecast,
    SeriesTask,
    budget_prophet,
    calibrate,
    resolve_models,
    run_tasks,
    series_seed,
)
from forecast.errors import CostcastError, LedgerError, NotFoundError
from forecast.ledger import Ledger
from forecast.pricing.book import PriceBook
from forecast.series import (
    SERIES_KEYS,
    TOKEN_KINDS,
    daily_drivers,
    intensities,
    key_id,
    last_complete_day,
    tier_mix,
    tier_shares,
    unit_costs,
)

ACTUALS_DAYS = 400
STALE_AFTER_DAYS = 7


@dataclass
class RunSettings:
    models: str = "auto"
    n_paths: int = 200
    seed: int = 0
    backtest_windows: int = 2
    backtest_horizon: int = 14
    holidays_country: str | None = "US"
    # auto tries Prophet on this share of the series, the heaviest by recent spend (see
    # engine.budget_prophet); 1.0 tries it everywhere
    prophet_share: float = PROPHET_SHARE


@dataclass
class ForecastRun:
    run_id: str
    created_at: dt.datetime
    as_of: dt.date
    horizon_end: dt.date
    n_paths: int
    seed: int
    meta: dict = field(default_factory=dict)

    @property
    def start(self) -> dt.date:
        return self.as_of + dt.timedelta(days=1)


def provenance(ledger: Ledger, as_of: dt.date) -> dict:
    """Rows, days and an order-independent content hash of the usage up to ``as_of``."""
    rows, first, last, digest = ledger.con.execute(
        """SELECT count(*), min(ts)::DATE, max(ts)::DATE,
                  sum(hash(ts, bucket, team, feature, model, provider, service_tier, status,
                           "user", deployment, requests, input_tokens, cached_input_tokens,
                           cache_write_tokens, output_tokens, reported_cost_usd)::HUGEINT)
                      % 18446744073709551616
           FROM usage WHERE ts < ?""",
        [as_of + dt.timedelta(days=1)],
    ).fetchall()[0]
    return {
        "rows": int(rows),
        "first_day": str(first),
        "last_day": str(last),
        "content_hash": f"{int(digest or 0):016x}",
    }


def plan_dates(
    ledger: Ledger, horizon_end: dt.date | Callable[[dt.date], dt.date], as_of: dt.date | None
) -> tuple[dt.date, dt.date]:
    """(as_of, last forecast day) a run would use, or the error saying why it cannot run."""
    if ledger.row_count() == 0:
        raise LedgerError("the ledger is empty: ingest usage first (costcast ingest FILE)")
    complete = last_complete_day(ledger)
    if as_of is None:
        as_of = complete
    elif as_of > complete:
        raise CostcastError(
            f"--as-of {as_of} is after the ledger's last complete day {complete}", field="--as-of"
        )
    end = horizon_end(as_of) if callable(horizon_end) else horizon_end
    if end <= as_of:
        raise CostcastError(
            f"the horizon ends {end}, not after the as-of date {as_of}", field="--horizon"
        )
    return as_of, end


def create_forecast(
    ledger: Ledger,
    book: PriceBook,
    *,
    horizon_end: dt.date | Callable[[dt.date], dt.date],
    as_of: dt.date | None = None,
    settings: RunSettings | None = None,
    jobs: int | None = None,
    dask_client=None,
    on_series: Callable[[SeriesForecast], None] | None = None,
    on_plan: Callable[[int], None] | None = None,
    config_snapshot: dict | None = None,
    run_id: str | None = None,
) -> ForecastRun:
    """Fit every (team, feature, model) series up to ``as_of`` and save a run to the ledger.

    ``run_id`` lets a caller name the run before it exists (the API hands it out at once).
    """
    settings = settings or RunSettings()
    as_of, end = plan_dates(ledger, horizon_end, as_of)
    candidates = resolve_models(settings.models)
    h = (end - as_of).days
    drivers = daily_drivers(ledger, book, as_of)
    drivers = drivers[drivers["ds"] <= pd.Timestamp(as_of)]
    if drivers.empty:
        raise LedgerError(f"the ledger has no usage on or before {as_of}")
    keys = intensities(drivers, as_of)
    days = pd.date_range(as_of + dt.timedelta(days=1), end, freq="D")
    mix = tier_mix(ledger, as_of)
    per_unit = unit_costs(book, keys, mix, days)  # raises on unpriced models

    params = {"prophet": {"holidays_country": settings.holidays_country}}
    tasks = []
    for (team, feature, model), part in drivers.groupby(list(SERIES_KEYS), sort=True):
        key = key_id(team, feature, model)
        tasks.append(
            SeriesTask(
                key=key,
                ds=pd.DatetimeIndex(part["ds"]),
                y=part["volume"].to_numpy(dtype=float),
                h=h,
                n_paths=settings.n_paths,
                seed=series_seed(settings.seed, key),
                candidates=candidates,
                backtest_windows=settings.backtest_windows,
                backtest_horizon=settings.backtest_horizon,
                params=params,
                weight=float(part["cost"].to_numpy()[-28:].sum()),
            )
        )
    if settings.models == "auto":
        budget_prophet(tasks, settings.prophet_share)
    if on_plan:
        on_plan(len(tasks))
    results = run_tasks(tasks, jobs=jobs, dask_client=dask_client, on_done=on_series)
    backtest = _total_backtest(drivers, results, settings)  # raw: what the models did
    spread = calibrate(tasks, results)

    prov = provenance(ledger, as_of)
    created = dt.datetime.now(dt.UTC).replace(tzinfo=None, microsecond=0)
    run = ForecastRun(
        # Ids only name runs; reproducibility comes from data, settings and seed.
        run_id=run_id or new_run_id(as_of),
        created_at=created,
        as_of=as_of,
        horizon_end=end,
        n_paths=settings.n_paths,
        seed=settings.seed,
        meta={
            "settings": asdict(settings),
            "provenance": prov,
            "config": config_snapshot or {},
            "backtest": backtest,
            "spread_factor": spread,
            "stale": (dt.datetime.now(dt.UTC).date() - as_of).days > STALE_AFTER_DAYS,
        },
    )
    _save(ledger, run, keys, mix, results, per_unit, drivers, days)
    return run


def new_run_id(as_of: dt.date | None = None) -> str:
    day = as_of or dt.datetime.now(dt.UTC).date()
    return f"run-{day:%Y%m%d}-{uuid.uuid4().hex[:8]}"


def _total_backtest(drivers: pd.DataFrame, results: dict, settings: RunSettings) -> dict:
    """Score the chosen models' own rolling-origin windows on total daily cost.

    Each series' volume paths are priced at that day's actual cost per unit,
    so the score measures the forecast of volume, the part a model predicts.
    """
    from forecast.metrics import coverage, pinball, seasonal_scale, wape

    h, n_windows = settings.backtest_horizon, settings.backtest_windows
    by_key = {key_id(*k): part for k, part in drivers.groupby(list(SERIES_KEYS), sort=True)}
    total_paths = np.zeros((n_windows, 100, h))
    total_actual = np.zeros((n_windows, h))
    used = 0
    for key, result in results.items():
        if len(result.windows) != n_windows:
            continue  # too short for every window: not in the run's score
        part = by_key[key]
        volume = part["volume"].to_numpy()
        cost = part["cost"].to_numpy()
        unit = np.divide(cost, volume, out=np.zeros_like(cost), where=volume > 0)
        for w, (cut, paths) in enumerate(result.windows):
            total_paths[w] += paths * unit[cut : cut + h][None, :]
            total_actual[w] += cost[cut : cut + h]
        used += 1
    if not used:
        return {"series": 0}
    daily_total = drivers.groupby("ds")["cost"].sum().to_numpy()
    scale = seasonal_scale(daily_total[: len(daily_total) - n_windows * h])
    actual = total_actual.ravel()
    paths = total_paths.transpose(1, 0, 2).reshape(100, -1)
    return {
        "level": "total",
        "horizon": h,
        "windows": n_windows,
        "series": used,
        "wape": wape(actual, paths),
        "mase": float(np.abs(actual - paths.mean(axis=0)).mean() / scale) if scale > 0 else None,
        "coverage_80": coverage(actual, paths),
        "pinball": pinball(actual, paths),
    }


def _save(ledger, run, keys, mix, results, per_unit, drivers, days) -> None:
    """One transaction. Paths go in as one array per series, a batch of series at a time, so
    a run of thousands of series never builds one giant frame of Python objects."""
    since = pd.Timestamp(run.as_of) - pd.Timedelta(days=ACTUALS_DAYS)
    actuals = drivers.loc[drivers["ds"] > since, [*SERIES_KEYS, "ds", "volume", "cost"]].copy()
    actuals.insert(0, "run_id", run.run_id)
    con = ledger.con
    rows = list(keys.itertuples(index=False))
    with ledger.transaction():
        con.execute(
            "INSERT INTO forecast_runs VALUES (?, ?, ?, ?, ?, ?, ?)",
            [run.run_id, run.created_at, run.as_of, run.horizon_end, run.n_paths, run.seed,
             json.dumps(run.meta)],
        )  # fmt: skip
        series = []
        for key in rows:
            result = results[key_id(key.team, key.feature, key.model)]
            series.append(
                [run.run_id, key.team, key.feature, key.model, result.model, result.score,
                 result.flag, key.volume_unit, *(getattr(key, k) for k in TOKEN_KINDS),
                 key.failure_rate, json.dumps(tier_shares(mix, key.team, key.feature, key.model))]
            )  # fmt: skip
        con.executemany(
            "INSERT INTO forecast_series VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", series
        )
        for first in range(0, len(rows), PATH_BATCH):
            batch = rows[first : first + PATH_BATCH]
            volume = np.stack([results[key_id(k.team, k.feature, k.model)].paths for k in batch])
            unit = np.stack(
                [per_unit.loc[key_id(k.team, k.feature, k.model)].to_numpy() for k in batch]
            )
            con.register("_paths", _path_table(run, batch, volume, volume * unit[:, None, :], days))
            con.execute("INSERT INTO forecast_paths SELECT * FROM _paths")
            con.unregister("_paths")
        con.register("_frame", actuals)
        con.execute(
            """INSERT INTO forecast_actuals
               SELECT run_id, team, feature, model, CAST(ds AS DATE), volume, cost FROM _frame"""
        )
        con.unregister("_frame")


PATH_BATCH = 200  # series per insert: bounds the memory a save holds beyond the results


def _path_table(run, batch, volume: np.ndarray, cost: np.ndarray, days) -> pa.Table:
    """Arrow rows for forecast_paths; (series, paths, days) arrays become one list each."""
    size = volume.shape[1] * volume.shape[2]
    offsets = pa.array(np.arange(len(batch) + 1, dtype=np.int32) * size)

    def lists(values: np.ndarray) -> pa.ListArray:
        return pa.ListArray.from_arrays(offsets, pa.array(values.reshape(-1), pa.float64()))

    return pa.table({
        "run_id": [run.run_id] * len(batch),
        "team": [k.team for k in batch],
        "feature": [k.feature for k in batch],
        "model": [k.model for k in batch],
        "start": pa.array([days[0].date()] * len(batch), pa.date32()),
        "n_days": pa.array([volume.shape[2]] * len(batch), pa.int32()),
        "n_paths": pa.array([volume.shape[1]] * len(batch), pa.int32()),
        "volume": lists(volume),
        "cost": lists(cost),
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


def load_run(ledger: Ledger, run_id: str = "latest") -> ForecastRun:
    if not ledger.has_table("forecast_runs"):
        raise NotFoundError("no forecast runs yet: run costcast forecast first", field="run")
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
            f"no forecast run {run_id!r}", field="run", hint="list them with costcast runs list"
        )
    run_id, created, as_of, end, n_paths, seed, meta = rows[0]
    return ForecastRun(run_id, created, as_of, end, n_paths, seed, json.loads(meta))


def list_runs(ledger: Ledger) -> pd.DataFrame:
    if not ledger.has_table("forecast_runs"):
        return pd.DataFrame(columns=["run_id", "created_at", "as_of", "horizon_end", "series"])
    return ledger.con.execute(
        """SELECT r.run_id, r.created_at, r.as_of, r.horizon_end, r.n_paths,
                  count(s.team) AS series,
                  json_extract_string(r.meta, '$.settings.models') AS models
           FROM forecast_runs r LEFT JOIN forecast_series s USING (run_id)
           GROUP BY ALL ORDER BY r.created_at DESC, r.run_id DESC"""
    ).df()


def run_series(ledger: Ledger, run_id: str) -> pd.DataFrame:
    return ledger.con.execute(
        "SELECT * EXCLUDE (run_id) FROM forecast_series WHERE run_id = ? ORDER BY ALL", [run_id]
    ).df()
