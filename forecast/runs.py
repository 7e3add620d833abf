"""Forecast runs: fit the driver series, turn volume paths into cost paths, save it all.

A run is immutable once saved: what data it saw (rows, days, a content hash
of the ledger rows up to its as-of date), its settings, the model chosen per
series with its score, the drivers it priced with, and per key, day and
path the volume and cost; ``forecast.runstore`` writes and reads it.
"""

from __future__ import annotations

import datetime as dt
import json
import uuid
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import pandas as pd

from forecast.chunk import Outcome, SeriesInput
from forecast.churn import new_model_share, unseen_lines
from forecast.coverage import default_as_of, lagging_providers, last_complete_day, usage_gaps
from forecast.engine import COSTLY_SHARE, EngineResult, budget_costly, plan_cutoffs, run_engine
from forecast.errors import CostcastError, LedgerError
from forecast.fiscal import FiscalCalendar, Horizon
from forecast.intensity import better_unit
from forecast.ledger import Ledger
from forecast.models import resolve_forecasters
from forecast.pricing.book import PRICE_COLUMNS, PriceBook
from forecast.runstore import ForecastRun, save_run
from forecast.scoring import run_score
from forecast.series import (
    REQUESTS,
    SERIES_KEYS,
    TOKEN_KINDS,
    DriverSeries,
    failure_rate,
    key_id,
    kind_prices,
    priced_drivers,
    tier_mix,
    tier_shares,
    token_matrix,
)
from forecast.usage import usage_provenance

ACTUALS_DAYS = 400
STALE_AFTER_DAYS = 7
MAX_SEED = 2**31 - 1  # a seed goes to numpy (no negatives) and into the ledger's runs
# Fewer paths make a P10 noise; more cost memory (paths x days x series, in every window
# of the backtest) and no P10 gets better: 35 million took a backtest past 15 GB
MIN_PATHS, MAX_PATHS = 20, 2000


@dataclass
class RunSettings:
    forecasters: str = "auto"  # auto, or comma-separated forecaster names
    n_paths: int = 200
    seed: int = 0
    backtest_windows: int = 6  # cutoffs every series is cross-validated from ...
    backtest_step: int = 7  # ... this many days apart
    holidays_country: str | None = "US"
    # auto tries the costly forecasters (Prophet, AutoETS) on this share of the series, the
    # heaviest by recent spend (see engine.budget_costly); 1.0 tries them everywhere
    costly_share: float = COSTLY_SHARE

    def __post_init__(self) -> None:
        if not MIN_PATHS <= self.n_paths <= MAX_PATHS:
            raise CostcastError(f"paths: a whole number from {MIN_PATHS} to {MAX_PATHS:,}",
                                param="paths", value=self.n_paths)  # fmt: skip
        if not 0 <= self.seed <= MAX_SEED:
            raise CostcastError(f"the seed is a whole number from 0 to {MAX_SEED:,}",
                                param="seed", value=self.seed)  # fmt: skip


def provenance(ledger: Ledger, as_of: dt.date) -> dict[str, Any]:
    """Rows, days and an order-independent content hash of the usage up to ``as_of``, the
    spans of a week or more in it with no usage at all (``usage.usage_gaps``), and the
    providers whose usage stopped days before it (``usage.lagging_providers``)."""
    return usage_provenance(ledger, end=as_of) | {
        "gaps": usage_gaps(ledger, as_of), "behind": lagging_providers(ledger, as_of),
    }  # fmt: skip


def plan_dates(ledger: Ledger, horizon: Horizon, as_of: dt.date | None) -> tuple[dt.date, dt.date]:
    """(as_of, last forecast day) a run would use, or the error saying why it cannot run."""
    if ledger.row_count() == 0:
        raise LedgerError("the ledger is empty: ingest usage first (costcast ingest FILE)")
    complete = last_complete_day(ledger)
    if as_of is None:
        as_of = default_as_of(ledger)[0]
    elif as_of > complete:
        raise CostcastError(
            f"as-of date {as_of} is after the ledger's last complete day {complete}", param="as_of"
        )
    else:
        first = ledger.con.execute("SELECT min(ts)::DATE FROM usage").fetchall()[0][0]
        if as_of < first:
            raise CostcastError(
                f"as-of date {as_of} is before the ledger's first day {first}: "
                "there is no history to forecast from",
                param="as_of",
            )
    return as_of, horizon.end(as_of)


def create_forecast(
    ledger: Ledger,
    book: PriceBook,
    *,
    horizon: Horizon,
    as_of: dt.date | None = None,
    settings: RunSettings | None = None,
    jobs: int | None = None,
    dask_client: Any = None,
    on_series: Callable[[Outcome], None] | None = None,
    on_plan: Callable[[int], None] | None = None,
    config_snapshot: dict[str, Any] | None = None,
    run_id: str | None = None,
    calendar: FiscalCalendar | None = None,
) -> ForecastRun:
    """Fit every (team, feature, model) series up to ``as_of`` and save a run to the ledger.

    ``run_id`` lets a caller name the run before it exists (the API hands it out at once);
    ``calendar`` is the fiscal calendar its month, quarter and year totals are kept in.
    """
    settings = settings or RunSettings()
    held: list[dict[str, Any]] = []  # providers a day or two late, that held as_of back
    if as_of is None:
        as_of, held = default_as_of(ledger)
    as_of, end = plan_dates(ledger, horizon, as_of)
    candidates = resolve_forecasters(settings.forecasters)
    h = (end - as_of).days
    # a model the book cannot price is left out of the run, and the run says so
    drivers, missing = priced_drivers(ledger, book, as_of)
    days = pd.date_range(as_of + dt.timedelta(days=1), end, freq="D")
    mix = tier_mix(ledger, as_of)
    series = driver_series(drivers, book, mix, days, candidates, settings, h)
    inputs = [s.input for s in series]
    if settings.forecasters == "auto":
        budget_costly(inputs, settings.costly_share)
    if on_plan:
        on_plan(len(inputs))
    result = run_engine(
        inputs, h, end=pd.Timestamp(as_of), n_windows=settings.backtest_windows,
        step=settings.backtest_step, n_paths=settings.n_paths, seed=settings.seed,
        params=engine_params(settings), jobs=jobs, dask_client=dask_client, on_done=on_series,
    )  # fmt: skip
    run = ForecastRun(
        # Ids only name runs; reproducibility comes from data, settings and seed.
        run_id=run_id or new_run_id(as_of),
        created_at=dt.datetime.now(dt.UTC).replace(tzinfo=None, microsecond=0),
        as_of=as_of,
        horizon_end=end,
        n_paths=settings.n_paths,
        seed=settings.seed,
        meta=_meta(ledger, as_of, settings, result, config_snapshot)
        | {"unpriced": missing, "held_back": held},
    )
    _add_unseen(run, series, result, drivers, settings)
    actuals = _actuals(run, series, drivers)
    save_run(ledger, run, series, result, actuals, days, calendar or FiscalCalendar())
    return run


def _add_unseen(
    run: ForecastRun,
    series: list[DriverSeries],
    result: EngineResult,
    drivers: pd.DataFrame,
    settings: RunSettings,
) -> None:
    """Spend on features and models not used yet: each team's share of the recent past in
    the run's provenance, and a line per team that had such spend (``forecast.churn``),
    with how it was made (``new_series``)."""
    run.meta["provenance"]["new_models"] = new_model_share(drivers, run.as_of)
    h = (run.horizon_end - run.as_of).days
    lines = unseen_lines(series, result.forecasts, drivers, run.as_of, h, settings.n_paths,
                         settings.seed)  # fmt: skip
    for line, forecast, _ in lines:
        series.append(line)
        result.forecasts[line.input.uid] = forecast
    run.meta["provenance"]["new_series"] = [kept for _, _, kept in lines]


def _meta(
    ledger: Ledger, as_of: dt.date, settings: RunSettings, result: EngineResult, config: Any
) -> dict[str, Any]:
    """What a run says about itself: settings, the data it saw, its own backtest score,
    how its intervals were calibrated, what it skipped."""
    return {
        "settings": asdict(settings),
        "provenance": provenance(ledger, as_of),
        "config": config or {},
        "backtest": run_score(result, seed=settings.seed),
        "calibration": {
            "growth_exponent": result.bank.gamma,
            "spread_factors": result.bank.factors,
            # how far each series' paths were re-paired for the company total
            # (forecast.dependence), and the share of held-out days it covered at each step
            "pairing_alpha": result.paired.alpha,
            "pairing_coverage": result.paired.shares(),
            "cutoffs_days_before": list(result.plan.cutoffs),
            "window_days": result.plan.cv_horizon,
            "series_with_windows": int(result.bank.has.any(axis=1).sum()),
            # the share of paths that stop (forecast.paths): young series (no window of
            # their own) by whether used in the last week, and older ones used in it
            "stop_shares": {
                "young_quiet": float(result.stops[0, 0]),
                "young_used": float(result.stops[0, 1]),
                "older_used": float(result.stops[1, 1]),
            },
            # what young series in use did after past cutoffs, that young series' paths
            # grow by (forecast.paths.AfterCutoffs.young_growth): how many, and their quartiles
            "young_growth": {
                "observed": len(result.growth),
                "quartiles": [float(q) for q in np.quantile(result.growth, [0.25, 0.5, 0.75])]
                if len(result.growth)
                else [],
            },
        },
        "skipped": skipped_summary(result.outcomes.values()),
        "stale": (dt.datetime.now(dt.UTC).date() - as_of).days > STALE_AFTER_DAYS,
    }


def driver_series(
    drivers: pd.DataFrame,
    book: PriceBook,
    mix: pd.DataFrame,
    days: pd.DatetimeIndex,
    candidates: tuple[str, ...],
    settings: RunSettings,
    h: int,
) -> list[DriverSeries]:
    """The engine's inputs, one per key: volume in the unit that backtests better, tokens by
    kind, and the prices that weigh them. Raises on models the book cannot price."""
    cv_horizon, cutoffs = plan_cutoffs(h, settings.backtest_windows, settings.backtest_step)
    prices_of: dict[tuple[Any, ...], np.ndarray] = {}  # most keys share a model and tier mix
    out = []
    for (team, feature, model), part in drivers.groupby(list(SERIES_KEYS), sort=True):
        tiers = tier_shares(mix, team, feature, model)
        price_key = (model, json.dumps(tiers, sort_keys=True))
        if price_key not in prices_of:
            per_kind = kind_prices(book, model, tiers, days)
            prices_of[price_key] = np.stack([per_kind[k] for k in PRICE_COLUMNS])
        prices = prices_of[price_key]
        tokens = token_matrix(part)
        weights = prices[:, 0] / 1e6
        requests = part["requests"].to_numpy(dtype=float)
        unit = better_unit(requests, tokens, weights, cutoffs, cv_horizon)
        volume = requests if unit == REQUESTS else tokens.sum(axis=0)
        key = key_id(team, feature, model)
        out.append(
            DriverSeries(
                team, feature, model, unit, failure_rate(part, unit, days[0].date()), tiers,
                prices,
                SeriesInput(key, volume, tokens, weights, candidates,
                            weight=float(part["cost"].to_numpy()[-28:].sum())),
            )
        )  # fmt: skip
    return out


def engine_params(settings: RunSettings) -> dict[str, Any]:
    return {
        "prophet": {"holidays_country": settings.holidays_country},
        "global_gbm": {"holidays_country": settings.holidays_country},
    }


def skipped_summary(outcomes: Iterable[Outcome]) -> dict[str, Any]:
    """Per candidate: on how many series it could not be used, and one example why."""
    out: dict[str, dict[str, Any]] = {}
    for o in outcomes:
        for name, why in o.skipped.items():
            entry = out.setdefault(name, {"series": 0, "example": f"{o.uid}: {why}"})
            entry["series"] += 1
    return out


def new_run_id(as_of: dt.date | None = None) -> str:
    day = as_of or dt.datetime.now(dt.UTC).date()
    return f"run-{day:%Y%m%d}-{uuid.uuid4().hex[:8]}"


def _actuals(run: ForecastRun, series: list[DriverSeries], drivers: pd.DataFrame) -> pd.DataFrame:
    """The history a run keeps (its last ``ACTUALS_DAYS``): cost, and volume in each series'
    own unit."""
    since = pd.Timestamp(run.as_of) - pd.Timedelta(days=ACTUALS_DAYS)
    actuals = drivers.loc[drivers["ds"] > since, [*SERIES_KEYS, "ds", "cost"]].copy()
    unit_of = {key_id(s.team, s.feature, s.model): s.unit for s in series}
    keys = [key_id(*k) for k in actuals[list(SERIES_KEYS)].itertuples(index=False)]
    volume = np.where(
        [unit_of[k] == REQUESTS for k in keys],
        drivers.loc[actuals.index, "requests"].fillna(0.0),
        drivers.loc[actuals.index, [f"t_{k}" for k in TOKEN_KINDS]].sum(axis=1),
    )
    actuals.insert(4, "volume", volume)
    return actuals
