"""The service layer: one configured costcast (config, price book, fiscal calendar, ledger)
and everything a front end can ask of it.

The CLI and the API both call these methods and do nothing else but read their
inputs and render the answer: neither builds a calendar, parses a horizon, prices,
evaluates a scenario or assembles an export on its own. A method's parameters carry
the names errors use (``param="as_of"``), which each front end renders its own way.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from forecast import rollup_cost
from forecast.config import Config
from forecast.errors import CostcastError
from forecast.fiscal import RELATIVE, FiscalCalendar, Horizon
from forecast.ledger import Ledger
from forecast.pricing import PriceBook, load_price_book
from forecast.runs import RunSettings
from forecast.runstore import ForecastRun
from forecast.watchspace import SpendWatch

if TYPE_CHECKING:  # imported where used: a CLI command loads only what it needs
    from forecast.billed.store import BilledImport
    from forecast.export.journal import Journal
    from forecast.ingest import IngestResult
    from forecast.scenario.engine import ScenarioResult
    from forecast.scenario.schema import Scenario


class Workspace(SpendWatch):
    """A config with its price book and calendar, over an open ledger (or a session of it).

    Price lookups need no ledger: a workspace without one answers them while another
    process (the API server) holds the ledger file."""

    def __init__(
        self, config: Config, ledger: Ledger | None = None, book: PriceBook | None = None
    ) -> None:
        self.config = config
        self._ledger = ledger
        self.book = book if book is not None else load_price_book(config)
        self.calendar = FiscalCalendar(config.fiscal_year_start)

    @property
    def ledger(self) -> Ledger:
        if self._ledger is None:
            raise RuntimeError("this workspace was opened without its ledger")  # a bug, not input
        return self._ledger

    @classmethod
    @contextmanager
    def open(
        cls, config: Config, *, read_only: bool = False, ledger: bool = True
    ) -> Iterator[Workspace]:
        """Open the config's ledger (unless ``ledger`` is false) for a ``with`` block."""
        book = load_price_book(config)  # a bad price file fails before the ledger is opened
        if not ledger:
            yield cls(config, None, book)
            return
        with Ledger(config.ledger, read_only=read_only) as opened:
            rollup_cost.ensure(opened, book)  # a config whose prices changed since
            yield cls(config, opened, book)

    # -- usage -----------------------------------------------------------------------------

    def ingest(
        self,
        files: Sequence[str | Path],
        *,
        fmt: str | None = None,
        timezone: str | None = None,
        origins: Sequence[str] | None = None,
        on_file: Callable[[Path], None] | None = None,
        on_overlap: str = "refuse",
    ) -> list[IngestResult]:
        """Add usage exports to the ledger, all or none (see ``forecast.ingest``)."""
        from forecast.ingest import ingest_files
        from forecast.sources import SourceContext

        context = SourceContext(
            timezone=self.config.timezone if timezone is None else timezone,
            attribution=self.config.attribution,
        )
        return ingest_files(
            self.ledger, files, fmt=fmt, context=context, book=self.book, origins=origins,
            on_file=on_file, on_overlap=on_overlap,
        )  # fmt: skip

    def ingests(self) -> pd.DataFrame:
        """The ingest log: every file ingested, by the CLI or through the API."""
        return self.ledger.ingests()

    def remove_ingests(self, ingest_ids: Sequence[int]) -> dict[int, int]:
        """Take ingests' rows back out; ingest id -> ledger rows removed."""
        return self.ledger.remove_ingests(ingest_ids)

    def usage(
        self,
        *,
        by: str = "",
        freq: str = "month",
        start: dt.date | None = None,
        end: dt.date | None = None,
        strict: bool = False,
    ) -> pd.DataFrame:
        from forecast.usage import usage_summary

        return usage_summary(
            self.ledger, self.book, by=by, freq=freq, start=start, end=end,
            calendar=self.calendar, strict=strict,
        )  # fmt: skip

    def unpriced(self) -> list[str]:
        """What the book cannot price of the ledger's usage, in words."""
        from forecast.usage import unpriced

        return [label for _, label in unpriced(self.ledger, self.book)]

    def prices(self, on: dt.date, tier: str = "standard", model: str | None = None) -> pd.DataFrame:
        from forecast.pricing import price_table

        return price_table(self.book, on, tier, model)

    # -- forecasts ---------------------------------------------------------------------------

    def horizon(self, text: str) -> Horizon:
        return Horizon.parse(text, self.calendar)

    def check_forecast(
        self, horizon: Horizon, as_of: dt.date | None, forecasters: str
    ) -> tuple[dt.date, dt.date]:
        """(as-of date, last day) a forecast would use, or the error it would fail with:
        for checking a request before it is queued."""
        from forecast.models import resolve_forecasters
        from forecast.runs import plan_dates

        dates = plan_dates(self.ledger, horizon, as_of)
        resolve_forecasters(forecasters)
        return dates

    def forecast(
        self,
        horizon: Horizon,
        *,
        as_of: dt.date | None = None,
        settings: RunSettings | None = None,
        jobs: int | None = None,
        dask_client: Any = None,
        on_plan: Callable[[int], None] | None = None,
        on_series: Callable[..., Any] | None = None,
        run_id: str | None = None,
    ) -> ForecastRun:
        """Fit, save and return a forecast run; the config it ran under (without the API's
        tokens) is kept in the run."""
        from forecast.runs import create_forecast

        return create_forecast(
            self.ledger, self.book, horizon=horizon, as_of=as_of, settings=settings, jobs=jobs,
            dask_client=dask_client, on_plan=on_plan, on_series=on_series, run_id=run_id,
            calendar=self.calendar,
            config_snapshot=self.config.model_dump(mode="json", exclude={"source", "api"}),
        )  # fmt: skip

    def queue_job(self, run_id: str, request: dict[str, Any]) -> None:
        """Record a forecast requested through the API, before it runs."""
        from forecast.jobs import add_job

        add_job(self.ledger, run_id, request)

    def job_status(self, run_id: str, status: str, error: dict[str, Any] | None = None) -> None:
        from forecast.jobs import set_status

        set_status(self.ledger, run_id, status, error)

    def run(self, run_id: str = "latest") -> ForecastRun:
        from forecast.runstore import load_run

        return load_run(self.ledger, run_id)

    def saved_runs(self) -> pd.DataFrame:
        """Every saved run, newest first."""
        from forecast.runstore import list_runs

        return list_runs(self.ledger)

    def runs(self, status: str | None = None) -> pd.DataFrame:
        """Saved runs and forecast jobs not yet done, newest first."""
        from forecast.jobs import list_forecasts

        return list_forecasts(self.ledger, status)

    def run_detail(self, run_id: str) -> dict[str, Any]:
        """A run's provenance, settings, backtest, calibration and series; a job's status."""
        from forecast.jobs import forecast_detail

        return forecast_detail(self.ledger, run_id)

    def run_series(self, run: ForecastRun) -> pd.DataFrame:
        """Per series: the forecaster chosen, its score, unit, drivers and flag."""
        from forecast.runstore import run_series

        return run_series(self.ledger, run.run_id)

    def fan_chart(self, run: ForecastRun, levels: Sequence[str], path: Path) -> Path:
        from forecast.plots import fan_chart

        return fan_chart(self.ledger, run, list(levels), path)

    def budget_chart(self, run: ForecastRun, freq: str, path: Path) -> Path:
        """Finance's chart of a run: period totals with P10-P90 against budget, and the
        burn-up of the period the forecast starts in."""
        import numpy as np

        from forecast.plots import budget_chart
        from forecast.runstore import group_actuals, load_paths

        table = self.forecast_table(run, by="", freq=freq)
        period = self.calendar.label(run.start, freq)
        first = self.calendar.period_start(run.start, freq)
        last = min(self.calendar.period_end(first, freq), run.horizon_end + dt.timedelta(days=1))
        past = group_actuals(self.ledger, run.run_id, [], first)
        _, cost = load_paths(self.ledger, run.run_id, "cost")
        ahead = cost.sum(axis=0)[:, : (last - run.start).days]  # (paths, days of the period)
        spent = np.cumsum(past["cost"].to_numpy(dtype=float))
        start = spent[-1] if len(spent) else 0.0
        bands = np.quantile(start + np.cumsum(ahead, axis=1), [0.1, 0.5, 0.9], axis=0)
        days = [*pd.to_datetime(past["ds"]), *pd.date_range(run.start, periods=ahead.shape[1])]
        nan = [np.nan] * ahead.shape[1]
        burn = pd.DataFrame({
            "day": days, "actual": [*spent, *nan],
            "p10": [*[np.nan] * len(spent), *bands[0]], "p50": [*[np.nan] * len(spent), *bands[1]],
            "p90": [*[np.nan] * len(spent), *bands[2]],
        })  # fmt: skip
        row = table[table["period"] == period]
        burn.attrs = {"period": period,
                      "budget": float(row["budget"].iloc[0]) if len(row) and pd.notna(row["budget"].iloc[0]) else None}  # fmt: skip
        return budget_chart(table, burn, f"{run.run_id}: total per {freq}", path)

    def forecast_table(
        self,
        run: ForecastRun,
        *,
        by: str | Sequence[str] = "team",
        freq: str = "month",
        quantiles: Sequence[float] | None = None,
    ) -> pd.DataFrame:
        """Mean and quantiles per group and fiscal period, with the config's budgets."""
        from forecast.aggregate import config_budgets, summarize

        options = {} if quantiles is None else {"quantiles": quantiles}
        return summarize(
            self.ledger, run, by=by, freq=freq, calendar=self.calendar,
            budgets=config_budgets(self.config, self.ledger, run.run_id), **options,
        )  # fmt: skip

    def backtest(self, **options: Any) -> pd.DataFrame:
        """Rolling-origin backtest (see ``forecast.backtest.backtest`` for the options)."""
        from forecast.backtest import backtest

        return backtest(self.ledger, self.book, **options)

    # -- scenarios ---------------------------------------------------------------------------

    def run_scenario(self, scenario: Scenario, run_id: str | None = None) -> ScenarioResult:
        """Evaluate a parsed scenario against a run (default: the one it names)."""
        from forecast.scenario.engine import evaluate

        baseline = self.run(run_id or scenario.baseline)
        return evaluate(self.ledger, baseline, self.book, scenario, self.calendar)

    def save_scenario(self, result: ScenarioResult) -> dict[str, Any]:
        """Save an evaluated scenario; returns the saved result as ``load_result`` reads it."""
        from forecast.scenario.store import load_result, save_result

        return load_result(self.ledger, save_result(self.ledger, result))

    def scenario_results(self) -> pd.DataFrame:
        from forecast.scenario.store import list_results

        return list_results(self.ledger)

    def scenario_result(self, result_id: str) -> dict[str, Any]:
        from forecast.scenario.store import load_result

        return load_result(self.ledger, result_id)

    # -- finance ---------------------------------------------------------------------------

    def billed_imports(self) -> pd.DataFrame:
        from forecast.billed import list_billed_imports

        return list_billed_imports(self.ledger)

    def import_billed(
        self, files: list[Path], fmt: str | None = None, names: list[str] | None = None
    ) -> list[BilledImport]:
        from forecast.billed import import_billed

        return import_billed(self.ledger, files, fmt, names=names)

    def reconcile(self, **options: Any) -> pd.DataFrame:
        from forecast.reconcile import reconciliation

        return reconciliation(self.ledger, self.book, self.config.attribution, **options)

    def journal(
        self,
        period: str,
        *,
        basis: str = "forecast",
        measure: str = "mean",
        run_id: str | None = None,
        scenario_id: str | None = None,
    ) -> Journal:
        from forecast.export import build_journal

        period = self._period_label(period, basis, run_id)
        return build_journal(
            self.ledger, self.book, self.config, period=period, basis=basis, measure=measure,
            run_id=run_id, scenario_id=scenario_id,
        )  # fmt: skip

    def _period_label(self, period: str, basis: str, run_id: str | None) -> str:
        """``this-month``, ``this-quarter``, ``next-quarter``, ``this-year`` or ``next-year``
        as the fiscal label they name from the run's first forecast day (today, for other
        bases)."""
        words = {"this-month": ("month", 0), **RELATIVE}
        key = period.strip().lower()
        if key not in words:
            return period
        freq, ahead = words[key]
        if basis == "forecast":
            day = self.run(run_id or "latest").start
        else:
            day = dt.datetime.now(dt.UTC).date()
        return self.calendar.label(self.calendar.period_ahead(day, freq, ahead), freq)

    def span(
        self, start: dt.date | None, end: dt.date | None, period: str | None = None
    ) -> tuple[dt.date, dt.date]:
        """[first, last] day from ``from``/``to`` or from a fiscal period."""
        if period is not None:
            first, after = self.calendar.parse_period(period)
            return first, after - dt.timedelta(days=1)
        if start is None or end is None:
            raise CostcastError("give from and to, or a period", param="from")
        return start, end

    def focus(self, start: dt.date, end: dt.date) -> pd.DataFrame:
        """FOCUS 1.2 rows for [start, end], every value formatted as text."""
        from forecast.export import focus_export

        return focus_export(self.ledger, self.book, self.config, start, end)
