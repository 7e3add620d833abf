"""Forecast commands: forecast, backtest and the saved runs."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

from forecast.churn import NEW, SAY_SHARE
from forecast.cli.common import (
    AsOfOption,
    ConfigOption,
    DaskOption,
    JobsOption,
    Output,
    OutputOption,
    check_chart,
    dask_client,
    emit,
    emit_json,
    err,
    parse_date,
    workspace,
)
from forecast.coverage import default_as_of, lagging_providers, usage_gaps, usage_hours
from forecast.models import FORECASTERS
from forecast.runs import MAX_PATHS, MIN_PATHS, STALE_AFTER_DAYS, RunSettings
from forecast.runstore import ForecastRun
from forecast.workspace import Workspace

app = typer.Typer()
runs_app = typer.Typer(help="Saved forecast runs.", no_args_is_help=True)
app.add_typer(runs_app, name="runs")

FORECASTERS_HELP = ", ".join(FORECASTERS)  # from the registry: the help lists what works
LOW_WINDOW = 0.7  # a backtest window covering less names the series that missed most there
YOUNG_DAYS = 91  # and says how old that series was at the cutoff when younger than a quarter


# Long on purpose: most of it is the options' declarations.
@app.command()
def forecast(
    horizon: Annotated[
        str,
        typer.Option(
            help="Days ahead (90d), a fiscal period to reach (2027-Q2, FY2027), "
            "or this-quarter, next-quarter, this-year, next-year."
        ),
    ] = "90d",
    by: Annotated[str, typer.Option(help="Comma-separated: team, feature, model.")] = "team",
    freq: Annotated[str, typer.Option(help="day, week, month or quarter (fiscal).")] = "month",
    forecasters: Annotated[
        str,
        typer.Option(
            "--forecasters",
            "--models",  # its name before "model" came to mean the LLM only
            help="auto (chosen or combined per series by backtest), or comma-separated "
            f"forecasters: {FORECASTERS_HELP}.",
        ),
    ] = "auto",
    as_of: AsOfOption = None,
    paths: Annotated[
        int, typer.Option(help="Sample paths per series.", min=MIN_PATHS, max=MAX_PATHS)
    ] = 200,
    seed: Annotated[int, typer.Option(help="Same data, settings and seed: same numbers.")] = 0,
    jobs: JobsOption = None,
    dask: DaskOption = None,
    plot: Annotated[Path | None, typer.Option(help="Write a fan chart (PNG) here.")] = None,
    budget_plot: Annotated[
        Path | None,
        typer.Option(help="Write finance's chart (PNG): period totals, P10-P90, budget, burn-up."),
    ] = None,
    output: OutputOption = Output.table,
    config: ConfigOption = None,
) -> None:
    """Forecast daily spend per series with P10/P50/P90 per fiscal period; saves a run."""
    from forecast.aggregate import parse_levels

    levels = parse_levels(by)
    settings = RunSettings(forecasters=forecasters, n_paths=paths, seed=seed)
    check_chart(plot, "plot")
    check_chart(budget_plot, "budget_plot")
    with (
        workspace(config) as ws,
        Progress(
            TextColumn("{task.description}"), BarColumn(), TextColumn("{task.completed}/{task.total}"),
            TimeElapsedColumn(), console=err, transient=True,
        ) as progress,
    ):  # fmt: skip
        client = dask_client(dask or (ws.config.dask.address if ws.config.dask else None))
        task = progress.add_task("fitting series", total=None)
        try:
            run = ws.forecast(
                ws.horizon(horizon),
                as_of=parse_date(as_of, "as_of"),
                settings=settings,
                jobs=jobs,
                dask_client=client,
                on_plan=lambda n: progress.update(task, total=n),
                on_series=lambda _: progress.advance(task),
            )
        finally:
            if client is not None:
                client.close()
        progress.stop()
        table = ws.forecast_table(run, by=levels, freq=freq)
        _report_run(ws, run)
        if plot:
            err.print(f"wrote {ws.fan_chart(run, levels, plot)}")
        if budget_plot:
            period_freq = freq if freq in ("month", "quarter", "year") else "quarter"
            err.print(f"wrote {ws.budget_chart(run, period_freq, budget_plot)}")
    title = f"forecast {run.run_id}: as of {run.as_of}, through {run.horizon_end} (USD)"
    unpriced = run.meta.get("unpriced") or []
    if unpriced:  # the table's totals leave them out: said where the figures are read
        title += f"; without {len(unpriced)} unpriced model(s), listed above"
    emit(table.drop(columns="run_id") if output is Output.table else table, output, title=title)


def _report_run(ws: Workspace, run: ForecastRun) -> None:
    series = ws.run_series(run)
    err.print(f"run id: {run.run_id}")
    err.print(
        f"as of {run.as_of} (history up to and including that day); forecast {run.start} to {run.horizon_end}"
    )
    last = usage_hours(ws.ledger)[1].date()
    # the ledger's own last day: a run --as-of an earlier day than it is not stale data
    if (dt.datetime.now(dt.UTC).date() - last).days > STALE_AFTER_DAYS:
        err.print(
            f"[yellow]warning[/yellow]: the ledger's usage ends on {last}, more than a week "
            "ago: ingest the newer usage before reading this as a forecast from today"
        )
    chosen = series["forecaster"].value_counts().to_dict()
    err.print(f"forecasters chosen per series: {chosen}")
    units = series["volume_unit"].value_counts().to_dict()
    err.print(f"volume forecast in: {units}")
    bt = run.meta.get("backtest") or {}
    if bt.get("series"):
        err.print(
            f"backtest of this run's choices (total daily cost, {bt['windows']} windows x "
            f"{bt['horizon']} days, {bt['series']} series, out of sample): WAPE {bt['wape']:.1%}, "
            f"bias {bt['bias']:+.1%}, 80% interval covered {bt['coverage_80']:.0%} of days"
            + _by_window(bt.get("by_window") or [], run.as_of)
        )
    else:
        err.print("backtest: not enough history to score")
    _say_paths(run.meta.get("calibration") or {})
    for late in run.meta.get("held_back") or []:
        err.print(
            f"[yellow]held back[/yellow] as of {run.as_of}: {late['provider']}'s usage ends on "
            f"{late['last_day']} and misses {late['missing_from']}, a day it usually has "
            "usage on; the others' later days are left to a run once it is in (or give --as-of)"
        )
    kept = run.meta["provenance"]  # runs saved before these were kept have neither
    _say_gaps(kept.get("gaps") or [], kept.get("behind") or [], kept.get("new_models") or [])
    for label in run.meta.get("unpriced") or []:
        err.print(
            f"[yellow]left out[/yellow] {label}: no price in the book (add it to prices.entries)"
        )
    for name, entry in sorted((run.meta.get("skipped") or {}).items()):
        err.print(
            f"[yellow]skipped[/yellow] {name} on {entry['series']} series (e.g. {entry['example']})"
        )
    for row in series[series["flag"].notna()].itertuples():
        err.print(f"[yellow]flag[/yellow] {row.team} / {row.feature} / {row.model}: {row.flag}")


def _say_paths(calibration: dict[str, Any]) -> None:
    """What the run's paths took from its other series: the shares that stop, and the
    growth young series' paths draw from (``forecast.paths``)."""
    stops = calibration.get("stop_shares") or {}
    if any(stops.values()):  # runs saved before paths could stop have none
        err.print(
            "paths that stop (zero throughout), as this ledger's series had no usage in the "
            f"fortnight after past cutoffs: young series {stops['young_quiet']:.0%} where not "
            f"used in the last week, {stops['young_used']:.0%} where used; older series "
            f"used in the last week {stops['older_used']:.0%}"
        )
    grew = calibration.get("young_growth") or {}
    if grew.get("observed"):
        low, mid, high = grew["quartiles"]
        err.print(
            f"young series in use grow on their paths as {grew['observed']} young series in "
            f"use did after past cutoffs (over 14 days, or the horizon if shorter; quartiles "
            f"{low:.2f} / {mid:.2f} / {high:.2f}x their mean day before)"
        )


def _say_gaps(gaps: list[dict[str, Any]], behind: list[dict[str, Any]],
              new_models: Sequence[dict[str, Any]] = ()) -> None:  # fmt: skip
    """Where the history holds days of zero spend that may be usage not yet ingested, and
    teams that spend much on models they had not used before (only the team's line for new
    features and models holds those)."""
    for team in new_models:
        if team["share"] >= SAY_SHARE:
            err.print(
                f"[yellow]new models[/yellow] {team['team']} spent {team['share']:.0%} of its "
                f"cost in the fortnights after the last {team['fortnights']} weekly cutoffs on "
                "models it had first used after the cutoff; what of such spend came on top of "
                f"the models it knew is in its {NEW} line (none where it only moved to another "
                "model)"
            )
    for gap in gaps:
        err.print(
            f"[yellow]gap[/yellow] no usage at all from {gap['first']} to {gap['last']} "
            f"({gap['days']} days): every series counts them as days of zero spend; if that "
            "usage was not exported, ingest it and forecast again"
        )
    for late in behind:
        err.print(
            f"[yellow]behind[/yellow] {late['provider']}'s usage ends on {late['last_day']}, "
            f"{late['days']} days before the as-of date, and it usually has usage on those "
            "weekdays: its series count them as zero spend; if its export is behind the "
            "others', ingest the rest and forecast again (or forecast --as-of its last day)"
        )


@app.command("backtest")
def backtest_command(
    horizon: Annotated[int, typer.Option(help="Days forecast from each cutoff.", min=1)] = 28,
    windows: Annotated[int, typer.Option(help="Number of cutoffs.", min=1)] = 8,
    step: Annotated[
        int | None, typer.Option(help="Days between cutoffs (default: the horizon).", min=1)
    ] = None,
    by: Annotated[str, typer.Option(help="Level: empty for total, or team, feature, model.")] = "",
    as_of: AsOfOption = None,
    paths: Annotated[
        int, typer.Option(help="Sample paths per series.", min=MIN_PATHS, max=MAX_PATHS)
    ] = 100,
    forecasters: Annotated[
        str,
        typer.Option(
            "--forecasters",
            "--models",
            help="auto (every forecaster), or comma-separated forecasters.",
        ),
    ] = "auto",
    seed: Annotated[int, typer.Option(help="Random seed.")] = 0,
    jobs: JobsOption = None,
    dask: DaskOption = None,
    output: OutputOption = Output.table,
    config: ConfigOption = None,
) -> None:
    """Rolling-origin backtest of daily cost: WAPE, MASE, 80% coverage, pinball per forecaster."""
    with (
        workspace(config, read_only=True) as ws,
        Progress(TextColumn("{task.description}"), BarColumn(), TimeElapsedColumn(),
                 console=err, transient=True) as progress,
    ):  # fmt: skip
        client = dask_client(dask or (ws.config.dask.address if ws.config.dask else None))
        task = progress.add_task("backtest", total=windows)

        def window(cutoff: object) -> None:
            progress.update(task, description=f"window from {cutoff}", advance=1)

        until = parse_date(as_of, "as_of") or default_as_of(ws.ledger)[0]
        _say_gaps(usage_gaps(ws.ledger, until), lagging_providers(ws.ledger, until))
        try:
            frame = ws.backtest(
                horizon=horizon, windows=windows, step=step, by=by,
                as_of=until, jobs=jobs,
                settings=RunSettings(forecasters=forecasters, n_paths=paths, seed=seed),
                dask_client=client, on_window=window,
            )  # fmt: skip
        finally:
            if client is not None:
                client.close()
    emit(frame, output, title=f"backtest: {windows} windows of {horizon} days, daily cost")


@runs_app.command("list")
def runs_list(output: OutputOption = Output.table, config: ConfigOption = None) -> None:
    """Every saved forecast run, newest first."""
    with workspace(config, read_only=True) as ws:
        emit(ws.saved_runs(), output, title="forecast runs")


@runs_app.command("show")
def runs_show(
    run_id: Annotated[str, typer.Argument(help="A run id, or latest.")] = "latest",
    output: OutputOption = Output.table,
    config: ConfigOption = None,
) -> None:
    """A run's provenance, settings and the forecaster chosen for each series."""
    with workspace(config, read_only=True) as ws:
        run = ws.run(run_id)
        series = ws.run_series(run)
    if output is Output.json:
        emit_json({
            "run_id": run.run_id, "created_at": str(run.created_at), "as_of": str(run.as_of),
            "horizon_end": str(run.horizon_end), "n_paths": run.n_paths, "seed": run.seed,
            **run.meta, "series": json.loads(series.to_json(orient="records")),
        })  # fmt: skip
        return
    prov = run.meta["provenance"]
    err.print(
        f"{run.run_id}: created {run.created_at}, as of {run.as_of}, through {run.horizon_end}, "
        f"{run.n_paths} paths, seed {run.seed}\n"
        f"data: {prov['rows']:,} ledger rows, {prov['first_day']} to {prov['last_day']}, "
        f"content hash {prov['content_hash']}"
    )
    _say_gaps(prov.get("gaps") or [], prov.get("behind") or [], prov.get("new_models") or [])
    emit(series, output, title=f"series of {run.run_id}")


def _by_window(windows: list[dict[str, Any]], as_of: dt.date) -> str:
    """Each window's coverage and bias, by the day after its cutoff: with two windows, one
    whose level ran off moves the whole by tens of points; and, where a window covered under
    ``LOW_WINDOW``, the series that missed there by the most dollars."""
    if not windows:
        return ""

    def first_day(window: dict[str, Any]) -> dt.date:
        return as_of - dt.timedelta(days=window["cutoff_days_before"] - 1)

    def said_of(window: dict[str, Any]) -> str:
        bias = window.get("bias")  # runs saved before it was kept have none
        return f"{window['coverage_80']:.0%}" + ("" if bias is None else
                                                 f" covered, bias {bias:+.1%}")  # fmt: skip

    earliest_first = sorted(windows, key=lambda w: -w["cutoff_days_before"])
    parts = [f"from {first_day(w)}: {said_of(w)}" for w in earliest_first]
    joint = "; " if any("bias" in w for w in windows) else ", "
    said = f" ({joint.join(parts)})" if len(windows) > 1 else ""
    worst = min(windows, key=lambda w: w["coverage_80"])
    miss = worst.get("largest_miss")  # runs saved before it was kept have none
    if miss and worst["coverage_80"] < LOW_WINDOW:
        ratio, age = miss["forecast_vs_actual"], miss["days_old_at_cutoff"]
        said += (f"; the largest miss from {first_day(worst)}: "
                 f"{miss['series'].replace('|', ' / ')}, forecast {abs(ratio):.0%} "
                 f"{'low' if ratio < 0 else 'high'}"
                 + (f" ({age} days old at that cutoff)" if age < YOUNG_DAYS else ""))  # fmt: skip
    return said
