"""The ``costcast`` command line: each command opens what it needs, calls one library function,
and turns library errors into one clean message and exit code 2."""

from __future__ import annotations

import datetime as dt
import json
import sys
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import numpy as np
import pandas as pd
import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from forecast.config import Config, load_config
from forecast.errors import CostcastError
from forecast.ledger import Ledger

app = typer.Typer(
    name="costcast",
    help="Forecast and steer LLM API spend.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
# Piped output (CI logs, files) gets a wide table instead of rich's 80 columns.
out = Console(width=None if sys.stdout.isatty() else 200)
err = Console(stderr=True, width=None if sys.stderr.isatty() else 200)


class Output(StrEnum):
    table = "table"
    csv = "csv"
    json = "json"


ConfigOption = Annotated[
    Path | None,
    typer.Option("--config", help="costcast.yaml to use (default: ./costcast.yaml if present)."),
]


OutputOption = Annotated[Output, typer.Option(help="table, csv or json.")]
JobsOption = Annotated[
    int | None, typer.Option(help="Worker processes (default: all cores).", min=1)
]
DaskOption = Annotated[
    str | None, typer.Option(help="Run the fits on a Dask scheduler at tcp://HOST:PORT.")
]
AsOfOption = Annotated[
    str | None, typer.Option("--as-of", help="Cut the history at this day (YYYY-MM-DD).")
]


def _config(path: Path | None) -> Config:
    return load_config(path)


def _date(value: str | None, option: str) -> dt.date | None:
    if value is None:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise CostcastError("expected a date as YYYY-MM-DD", field=option, value=value) from None


def emit(frame: pd.DataFrame, output: Output, title: str | None = None) -> None:
    """Print a frame as a rich table, CSV or a JSON list of records on stdout."""
    if output is Output.csv:
        frame.to_csv(sys.stdout, index=False, date_format="%Y-%m-%dT%H:%M:%SZ")
    elif output is Output.json:
        records = json.loads(frame.to_json(orient="records", date_format="iso", date_unit="s"))
        sys.stdout.write(json.dumps(records, indent=1) + "\n")
    else:
        table = Table(title=title, show_lines=False)
        for col in frame.columns:
            numeric = pd.api.types.is_numeric_dtype(frame[col])
            table.add_column(str(col), justify="right" if numeric else "left")
        for row in frame.itertuples(index=False):
            table.add_row(*(_cell(v) for v in row))
        out.print(table)


def _cell(value) -> str:
    if value is None or value is pd.NA or value is pd.NaT:
        return ""
    if isinstance(value, bool | np.bool_):
        return "yes" if value else ""
    if isinstance(value, float) and value != value:
        return ""
    if isinstance(value, pd.Timestamp):
        return (
            value.strftime("%Y-%m-%d %H:%M")
            if value.hour or value.minute
            else value.strftime("%Y-%m-%d")
        )
    if isinstance(value, float):
        # Money and counts read best with two decimals; unit prices need their digits.
        if abs(value) >= 100:
            return f"{value:,.2f}"
        return f"{value:,.6f}".rstrip("0").rstrip(".") or "0"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


@app.command("demo-data")
def demo_data(
    out_dir: Annotated[Path, typer.Option("--out", help="Folder to write into.")] = Path("data"),
    seed: Annotated[int, typer.Option(help="Random seed; same seed and dates, same files.")] = 7,
    months: Annotated[int, typer.Option(help="Months of history.", min=1, max=60)] = 15,
    end: Annotated[
        str | None, typer.Option(help="Last day of data, YYYY-MM-DD (default: yesterday, UTC).")
    ] = None,
) -> None:
    """Write a synthetic organisation's hourly usage history, its price overrides and ground truth."""
    from forecast.demo import write_demo_data

    end_day = _date(end, "--end") or dt.datetime.now(dt.UTC).date() - dt.timedelta(days=1)
    with err.status("generating demo usage…"):
        written = write_demo_data(out_dir, seed=seed, months=months, end=end_day)
    for path in written:
        err.print(f"wrote {path}")


@app.command()
def ingest(
    files: Annotated[list[Path], typer.Argument(help="Usage export files.")],
    fmt: Annotated[
        str | None, typer.Option("--format", help="Source format (default: detected).")
    ] = None,
    timezone: Annotated[
        str | None,
        typer.Option(help="Zone of timestamps written without an offset, e.g. Europe/Berlin."),
    ] = None,
    config: ConfigOption = None,
) -> None:
    """Add usage exports to the ledger: all files or none; rows seen before are not added again."""
    from forecast.ingest import ingest_files
    from forecast.pricing import load_price_book
    from forecast.sources import SourceContext

    cfg = _config(config)
    book = load_price_book(cfg)
    context = SourceContext(timezone=timezone or cfg.timezone, attribution=cfg.attribution)
    with (
        Ledger(cfg.ledger) as ledger,
        Progress(
            TextColumn("{task.description}"), BarColumn(), TimeElapsedColumn(), console=err
        ) as progress,
    ):
        task = progress.add_task("ingesting", total=len(files))

        def step(path: Path) -> None:
            progress.update(task, description=f"ingesting {path.name}", advance=1)

        results = ingest_files(ledger, files, fmt=fmt, context=context, book=book, on_file=step)
    table = Table(title=f"ledger {cfg.ledger}")
    for col in ("file", "format", "rows read", "added", "already present"):
        table.add_column(col, justify="left" if col in ("file", "format") else "right")
    for r in results:
        table.add_row(
            r.path, r.format, f"{r.rows_read:,}", f"{r.rows_added:,}", f"{r.rows_present:,}"
        )
    out.print(table)
    for r in results:
        for note in r.notes:
            err.print(f"[yellow]note[/yellow] {r.path}: {note}")


@app.command()
def usage(
    by: Annotated[
        str, typer.Option(help="Comma-separated: team, feature, model, provider, user, deployment.")
    ] = "",
    freq: Annotated[str, typer.Option(help="hour, day, week or month.")] = "month",
    start: Annotated[str | None, typer.Option("--from", help="First day, YYYY-MM-DD.")] = None,
    end: Annotated[str | None, typer.Option("--to", help="Last day (inclusive).")] = None,
    output: OutputOption = Output.table,
    config: ConfigOption = None,
) -> None:
    """Requests, failures, tokens and cost (from the price book, and as reported) per period."""
    from forecast.pricing import load_price_book
    from forecast.usage import usage_summary

    cfg = _config(config)
    book = load_price_book(cfg)
    with Ledger(cfg.ledger, read_only=True) as ledger:
        frame = usage_summary(
            ledger, book, by=by, freq=freq, start=_date(start, "--from"), end=_date(end, "--to")
        )
    emit(frame, output, title=f"usage by {by or 'total'} per {freq}")


@app.command()
def prices(
    model: Annotated[str | None, typer.Argument(help="Model name (default: every model).")] = None,
    on: Annotated[str | None, typer.Option(help="Date, YYYY-MM-DD (default: today).")] = None,
    tier: Annotated[str, typer.Option(help="standard, batch, flex or priority.")] = "standard",
    output: OutputOption = Output.table,
    config: ConfigOption = None,
) -> None:
    """The price in effect on a date (USD per million tokens), with its source."""
    from forecast.pricing import load_price_book, price_table

    book = load_price_book(_config(config))
    day = _date(on, "--on") or dt.datetime.now(dt.UTC).date()
    frame = price_table(book, day, tier, model)
    emit(frame, output, title=f"prices on {day} (USD per million tokens)")


def _dask_client(address: str | None):
    if not address:
        return None
    from distributed import Client

    try:
        return Client(address, timeout="10s")
    except OSError as exc:
        raise CostcastError(
            f"cannot reach the Dask scheduler: {exc}", field="--dask", value=address
        ) from None


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
    models: Annotated[
        str,
        typer.Option(
            help="auto (chosen or combined per series by backtest), or comma-separated "
            "forecasters: seasonal_naive, ets, theta, tsb, imapa, croston_sba, prophet, "
            "global_gbm."
        ),
    ] = "auto",
    as_of: AsOfOption = None,
    paths: Annotated[int, typer.Option(help="Sample paths per series.", min=20, max=2000)] = 200,
    seed: Annotated[int, typer.Option(help="Same data, settings and seed: same numbers.")] = 0,
    jobs: JobsOption = None,
    dask: DaskOption = None,
    plot: Annotated[Path | None, typer.Option(help="Write a fan chart (PNG) here.")] = None,
    output: OutputOption = Output.table,
    config: ConfigOption = None,
) -> None:
    """Forecast daily spend per series with P10/P50/P90 per fiscal period; saves a run."""
    from forecast.aggregate import config_budgets, parse_levels, summarize
    from forecast.fiscal import FiscalCalendar
    from forecast.pricing import load_price_book
    from forecast.runs import RunSettings, create_forecast

    cfg = _config(config)
    levels = parse_levels(by)
    calendar = FiscalCalendar(cfg.fiscal_year_start)
    book = load_price_book(cfg)
    settings = RunSettings(models=models, n_paths=paths, seed=seed)
    client = _dask_client(dask or (cfg.dask.address if cfg.dask else None))
    with (
        Ledger(cfg.ledger) as ledger,
        Progress(
            TextColumn("{task.description}"), BarColumn(), TextColumn("{task.completed}/{task.total}"),
            TimeElapsedColumn(), console=err, transient=True,
        ) as progress,
    ):  # fmt: skip
        task = progress.add_task("fitting series", total=None)
        run = create_forecast(
            ledger,
            book,
            horizon_end=lambda day: calendar.horizon_end(horizon, day),
            as_of=_date(as_of, "--as-of"),
            settings=settings,
            jobs=jobs,
            dask_client=client,
            on_plan=lambda n: progress.update(task, total=n),
            on_series=lambda _: progress.advance(task),
            config_snapshot=cfg.model_dump(mode="json", exclude={"source"}),
        )
        progress.stop()
        table = summarize(
            ledger, run, by=levels, freq=freq, calendar=calendar,
            budgets=config_budgets(cfg, ledger, run.run_id),
        )  # fmt: skip
        _report_run(ledger, run)
        if plot:
            from forecast.plots import fan_chart

            err.print(f"wrote {fan_chart(ledger, run, levels, plot)}")
    if client is not None:
        client.close()
    title = f"forecast {run.run_id}: as of {run.as_of}, through {run.horizon_end} (USD)"
    emit(table.drop(columns="run_id") if output is Output.table else table, output, title=title)


def _report_run(ledger: Ledger, run) -> None:
    from forecast.runs import run_series

    series = run_series(ledger, run.run_id)
    err.print(f"run id: {run.run_id}")
    err.print(
        f"as of {run.as_of} (history up to and including that day); forecast {run.start} to {run.horizon_end}"
    )
    if run.meta.get("stale"):
        err.print(f"[yellow]warning[/yellow]: the ledger ends on {run.as_of}, more than a week ago")
    chosen = series["forecaster"].value_counts().to_dict()
    err.print(f"forecasters chosen per series: {chosen}")
    units = series["volume_unit"].value_counts().to_dict()
    err.print(f"volume forecast in: {units}")
    bt = run.meta.get("backtest") or {}
    if bt.get("series"):
        err.print(
            f"backtest of this run's choices (total daily cost, {bt['windows']} windows x "
            f"{bt['horizon']} days, {bt['series']} series, out of sample): WAPE {bt['wape']:.1%}, "
            f"80% interval covered {bt['coverage_80']:.0%} of days"
        )
    else:
        err.print("backtest: not enough history to score")
    for name, entry in sorted((run.meta.get("skipped") or {}).items()):
        err.print(
            f"[yellow]skipped[/yellow] {name} on {entry['series']} series (e.g. {entry['example']})"
        )
    for row in series[series["flag"].notna()].itertuples():
        err.print(f"[yellow]flag[/yellow] {row.team} / {row.feature} / {row.model}: {row.flag}")


@app.command("backtest")
def backtest_command(
    horizon: Annotated[int, typer.Option(help="Days forecast from each cutoff.", min=1)] = 28,
    windows: Annotated[int, typer.Option(help="Number of cutoffs.", min=1)] = 8,
    step: Annotated[
        int | None, typer.Option(help="Days between cutoffs (default: the horizon).", min=1)
    ] = None,
    by: Annotated[str, typer.Option(help="Level: empty for total, or team, feature, model.")] = "",
    as_of: AsOfOption = None,
    paths: Annotated[int, typer.Option(help="Sample paths per series.", min=20)] = 100,
    models: Annotated[
        str, typer.Option(help="auto (every forecaster), or comma-separated forecasters.")
    ] = "auto",
    seed: Annotated[int, typer.Option(help="Random seed.")] = 0,
    jobs: JobsOption = None,
    dask: DaskOption = None,
    output: OutputOption = Output.table,
    config: ConfigOption = None,
) -> None:
    """Rolling-origin backtest of daily cost: WAPE, MASE, 80% coverage, pinball per forecaster."""
    from forecast.backtest import backtest
    from forecast.pricing import load_price_book
    from forecast.runs import RunSettings

    cfg = _config(config)
    book = load_price_book(cfg)
    client = _dask_client(dask or (cfg.dask.address if cfg.dask else None))
    with (
        Ledger(cfg.ledger, read_only=True) as ledger,
        Progress(TextColumn("{task.description}"), BarColumn(), TimeElapsedColumn(),
                 console=err, transient=True) as progress,
    ):  # fmt: skip
        task = progress.add_task("backtest", total=windows)

        def window(cutoff) -> None:
            progress.update(task, description=f"window from {cutoff}", advance=1)

        frame = backtest(
            ledger, book, horizon=horizon, windows=windows, step=step, by=by,
            as_of=_date(as_of, "--as-of"), jobs=jobs,
            settings=RunSettings(models=models, n_paths=paths, seed=seed),
            dask_client=client, on_window=window,
        )  # fmt: skip
    if client is not None:
        client.close()
    emit(frame, output, title=f"backtest: {windows} windows of {horizon} days, daily cost")


ingests_app = typer.Typer(help="The ledger's ingest log.", no_args_is_help=True)
app.add_typer(ingests_app, name="ingests")


@ingests_app.command("list")
def ingests_list(output: OutputOption = Output.table, config: ConfigOption = None) -> None:
    """Every ingest: file, content hash, format, rows read, added and already present, time."""
    cfg = _config(config)
    with Ledger(cfg.ledger, read_only=True) as ledger:
        emit(ledger.ingests(), output, title=f"ingests into {cfg.ledger}")


@ingests_app.command("remove")
def ingests_remove(
    ingest_ids: Annotated[
        list[int], typer.Argument(help="One or more ingest ids from costcast ingests list.")
    ],
    config: ConfigOption = None,
) -> None:
    """Take ingests' rows back out of the ledger, e.g. before ingesting a revised export."""
    cfg = _config(config)
    with Ledger(cfg.ledger) as ledger:
        removed = ledger.remove_ingests(ingest_ids)
    for ingest_id, rows in removed.items():
        err.print(f"removed ingest {ingest_id}: {rows:,} ledger rows")


scenario_app = typer.Typer(help="What-if scenario files.", no_args_is_help=True)
app.add_typer(scenario_app, name="scenario")


@scenario_app.command("validate")
def scenario_validate(
    files: Annotated[list[Path], typer.Argument(help="Scenario YAML files.")],
) -> None:
    """Check scenario files against the schema; errors name file, line, column and field."""
    from forecast.scenario import load_scenario

    for path in files:
        scenario = load_scenario(path)
        kinds = ", ".join(c.kind for c in scenario.changes)
        out.print(f"{path}: ok ({scenario.name!r}: {kinds})", highlight=False)


def _evaluate_file(cfg: Config, ledger: Ledger, path: Path, run_id: str | None):
    from forecast.fiscal import FiscalCalendar
    from forecast.pricing import load_price_book
    from forecast.runs import load_run
    from forecast.scenario import load_scenario
    from forecast.scenario.engine import evaluate

    scenario = load_scenario(path)
    run = load_run(ledger, run_id or scenario.baseline)
    calendar = FiscalCalendar(cfg.fiscal_year_start)
    result = evaluate(ledger, run, load_price_book(cfg), scenario, calendar)
    for note in result.warnings:
        err.print(f"[yellow]warning[/yellow] {path}: {note}")
    return result


def _scenario_table(result) -> pd.DataFrame:
    rows = [{"row": name, **result.totals[name]} for name in ("baseline", "scenario", "delta")]
    rows += [
        {"row": f"change {i + 1}: {c['kind']}", "mean": c["delta_mean"]}
        for i, c in enumerate(result.changes)
    ]
    return pd.DataFrame(rows, columns=["row", "mean", "p10", "p50", "p90"])


@scenario_app.command("run")
def scenario_run(
    file: Annotated[Path, typer.Argument(help="Scenario YAML file.")],
    run: Annotated[str | None, typer.Option(help="Baseline run id (default: the file's).")] = None,
    plot: Annotated[Path | None, typer.Option(help="Write waterfall + fan chart (PNG).")] = None,
    output: OutputOption = Output.table,
    config: ConfigOption = None,
) -> None:
    """Apply a scenario to a forecast run: baseline vs scenario, delta and each change's share."""
    cfg = _config(config)
    with Ledger(cfg.ledger, read_only=True) as ledger:
        result = _evaluate_file(cfg, ledger, file, run)
    if plot:
        from forecast.plots import waterfall_chart

        err.print(f"wrote {waterfall_chart(result, plot)}")
    if output is Output.json:
        sys.stdout.write(json.dumps(result.to_dict(), indent=1) + "\n")
        return
    if output is Output.csv:
        result.periods.to_csv(sys.stdout, index=False)
        return
    t = result.totals
    err.print(
        f"{result.scenario.name}: baseline run {result.baseline_run}, {t['days']} days; "
        f"delta {t['delta']['mean']:,.0f} USD (P10 {t['delta']['p10']:,.0f}, P90 "
        f"{t['delta']['p90']:,.0f}); annualized {t['annualized_delta_mean']:,.0f} USD"
    )
    if result.budget:
        b = result.budget
        err.print(
            f"budget {b['amount']:,.0f} for {b['period']}: chance of exceeding "
            f"{b['p_exceed_baseline']:.0%} (baseline) -> {b['p_exceed_scenario']:.0%} (scenario)"
        )
    emit(_scenario_table(result), output, title=f"{result.scenario.name} (USD over the horizon)")


@scenario_app.command("compare")
def scenario_compare(
    files: Annotated[list[Path], typer.Argument(help="Scenario YAML files.")],
    run: Annotated[str | None, typer.Option(help="Baseline run id for all files.")] = None,
    output: OutputOption = Output.table,
    config: ConfigOption = None,
) -> None:
    """Several scenarios side by side against the same baseline."""
    cfg = _config(config)
    rows = []
    with Ledger(cfg.ledger, read_only=True) as ledger:
        for path in files:
            result = _evaluate_file(cfg, ledger, path, run)
            t = result.totals
            rows.append({
                "scenario": result.scenario.name, "baseline_run": result.baseline_run,
                "baseline_mean": t["baseline"]["mean"], "scenario_mean": t["scenario"]["mean"],
                "delta_mean": t["delta"]["mean"], "delta_p10": t["delta"]["p10"],
                "delta_p90": t["delta"]["p90"], "annualized_delta_mean": t["annualized_delta_mean"],
            })  # fmt: skip
    emit(pd.DataFrame(rows), output, title="scenarios against the same baseline (USD)")


@scenario_app.command("schema")
def scenario_schema() -> None:
    """Print the scenario JSON Schema (kept in scenarios/schema.json)."""
    from forecast.scenario import scenario_json_schema

    sys.stdout.write(scenario_json_schema())


runs_app = typer.Typer(help="Saved forecast runs.", no_args_is_help=True)
app.add_typer(runs_app, name="runs")


@runs_app.command("list")
def runs_list(
    output: OutputOption = Output.table,
    config: ConfigOption = None,
) -> None:
    """Every saved forecast run, newest first."""
    from forecast.runs import list_runs

    cfg = _config(config)
    with Ledger(cfg.ledger, read_only=True) as ledger:
        emit(list_runs(ledger), output, title="forecast runs")


@runs_app.command("show")
def runs_show(
    run_id: Annotated[str, typer.Argument(help="A run id, or latest.")] = "latest",
    output: OutputOption = Output.table,
    config: ConfigOption = None,
) -> None:
    """A run's provenance, settings and the model chosen for each series."""
    from forecast.runs import load_run, run_series

    cfg = _config(config)
    with Ledger(cfg.ledger, read_only=True) as ledger:
        run = load_run(ledger, run_id)
        series = run_series(ledger, run.run_id)
    if output is Output.json:
        body = {
            "run_id": run.run_id, "created_at": str(run.created_at), "as_of": str(run.as_of),
            "horizon_end": str(run.horizon_end), "n_paths": run.n_paths, "seed": run.seed,
            **run.meta, "series": json.loads(series.to_json(orient="records")),
        }  # fmt: skip
        sys.stdout.write(json.dumps(body, indent=1) + "\n")
        return
    prov = run.meta["provenance"]
    err.print(
        f"{run.run_id}: created {run.created_at}, as of {run.as_of}, through {run.horizon_end}, "
        f"{run.n_paths} paths, seed {run.seed}\n"
        f"data: {prov['rows']:,} ledger rows, {prov['first_day']} to {prov['last_day']}, "
        f"content hash {prov['content_hash']}"
    )
    emit(series, output, title=f"series of {run.run_id}")


# Commands kept in their own modules register themselves on ``app`` when imported.
from forecast import cli_finance, cli_server  # noqa: E402, F401


def main() -> None:
    try:
        app()
    except CostcastError as exc:
        err.print(f"[bold red]error:[/bold red] {exc}", highlight=False, markup=True)
        sys.exit(exc.exit_code)


if __name__ == "__main__":
    main()
