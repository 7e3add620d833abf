"""Usage commands: demo data, ingest, the ingest log, usage summaries and prices."""

from __future__ import annotations

import datetime as dt
from enum import Enum
from pathlib import Path
from typing import Annotated

import typer
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from forecast.cli.common import (
    ConfigOption,
    Output,
    OutputOption,
    check_chart,
    emit,
    err,
    out,
    parse_date,
    say_provenance,
    workspace,
    write_bytes,
)
from forecast.usage import GROUP_HELP
from forecast.workspace import Workspace

app = typer.Typer()


class OnOverlap(Enum):  # forecast.overlap.ON_OVERLAP, spelled out for --help
    refuse = "refuse"
    replace = "replace"
    keep = "keep"


ingests_app = typer.Typer(help="The ledger's ingest log.", no_args_is_help=True)
app.add_typer(ingests_app, name="ingests")


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

    end_day = parse_date(end, "end") or dt.datetime.now(dt.UTC).date() - dt.timedelta(days=1)
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
    on_overlap: Annotated[
        OnOverlap,
        typer.Option(
            help="Rows without a request id that another file of the same source brought for "
            "the same hours and groups: refuse the file (naming the overlap), replace that "
            "file's rows in the span this one covers (a re-export), or keep both (other "
            "requests).",
        ),
    ] = OnOverlap.refuse,
    config: ConfigOption = None,
) -> None:
    """Add usage exports to the ledger: all files or none; rows seen before are not added again."""
    with (
        workspace(config) as ws,
        Progress(
            TextColumn("{task.description}"), BarColumn(), TimeElapsedColumn(), console=err
        ) as progress,
    ):
        task = progress.add_task("ingesting", total=len(files))

        def step(path: Path) -> None:
            progress.update(task, description=f"ingesting {path.name}", advance=1)

        results = ws.ingest(
            files, fmt=fmt, timezone=timezone, on_file=step, on_overlap=on_overlap.value
        )
    table = Table(title=f"ledger {ws.config.ledger}")
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
    by: Annotated[str, typer.Option(help=GROUP_HELP)] = "",
    freq: Annotated[
        str, typer.Option(help="hour, day, week, month, or quarter or year (fiscal).")
    ] = "month",
    start: Annotated[str | None, typer.Option("--from", help="First day, YYYY-MM-DD.")] = None,
    end: Annotated[str | None, typer.Option("--to", help="Last day (inclusive).")] = None,
    strict: Annotated[
        bool, typer.Option(help="Fail on usage of a model the price book cannot price.")
    ] = False,
    output: OutputOption = Output.table,
    config: ConfigOption = None,
) -> None:
    """Requests, failures, tokens and cost (from the price book, and as reported) per period.

    A group with usage the book cannot price shows its cost as unknown (empty, never zero)
    and counts those requests in unpriced_requests; --strict makes it an error. Periods of
    a day or longer say the days their sums cover (days) and partial where that is not the
    whole period: the month the data end in is a month to date."""
    first, last = parse_date(start, "from"), parse_date(end, "to")
    with workspace(config, read_only=True) as ws:
        frame = ws.usage(by=by, freq=freq, start=first, end=last, strict=strict)
        if frame["unpriced_requests"].any():  # only then is the book asked what it lacks
            for label in ws.unpriced():
                err.print(
                    f"[yellow]warning[/yellow] no price for {label}: its cost shows as unknown"
                )
        why = _outside(ws, first, last) if frame.empty else None
    emit(frame, output, title=f"usage by {by or 'total'} per {freq}", empty=why)


def _outside(ws: Workspace, first: dt.date | None, last: dt.date | None, that: str = "") -> str:
    """Why a window of the ledger holds no usage (``that`` ...): where the ledger's usage
    lies."""
    from forecast.coverage import usage_hours

    since, until = usage_hours(ws.ledger)
    window = f" from {first or 'the start'} to {last or 'the end'}" if first or last else ""
    return (f"no usage{window}{' ' + that if that else ''}: the ledger's usage runs from "
            f"{since.date()} to {until.date()}")  # fmt: skip


# Long on purpose: one command, its options (each with its formula in --help) and its views.
@app.command()
def kpis(
    by: Annotated[str, typer.Option(help=GROUP_HELP)] = "",
    freq: Annotated[str, typer.Option(help="day, week or month.")] = "week",
    start: Annotated[str | None, typer.Option("--from", help="First day, YYYY-MM-DD.")] = None,
    end: Annotated[str | None, typer.Option("--to", help="Last day (inclusive).")] = None,
    top_users: Annotated[
        bool,
        typer.Option(
            help="Instead: per period, the top 5% of users' share of cost "
            "(top_cost_share = their cost / all users' cost)."
        ),
    ] = False,
    budget_burn: Annotated[
        bool,
        typer.Option(
            help="Instead: each budget of costcast.yaml whose period holds --to (default the "
            "last day of data): spent, used_share, the burn rate (mean and sd of the last 7 "
            "days' cost), the projected total and exhaustion date, from the latest forecast "
            "run where it covers the rest of the period (with p_exceed, the share of its "
            "paths landing above the amount), else from the burn rate (basis)."
        ),
    ] = False,
    model_spread: Annotated[
        bool,
        typer.Option(
            help="Instead: for features served by several models, each model's cost per "
            "request and the saving if --share of its requests went to the feature's cheapest "
            "(over --from/--to, default the last 28 days)."
        ),
    ] = False,
    routing_savings: Annotated[
        Path | None,
        typer.Option(
            help="With the model spread: write a scenario YAML of those routes here, ready "
            "for costcast scenario run.",
        ),
    ] = None,
    share: Annotated[
        float, typer.Option(help="Share of a costlier model's requests to move (0-1].")
    ] = 0.5,
    plot: Annotated[
        Path | None,
        typer.Option(help="With --top-users: write the Lorenz curve of cost by user (PNG)."),
    ] = None,
    output: OutputOption = Output.table,
    config: ConfigOption = None,
) -> None:
    """Spend KPIs per group and period.

    cost_per_success = cost_usd / successful_requests (failed and retried calls' cost
    included); failed_share = failed_requests / requests; failed_cost_usd = cost of the
    calls that failed; tokens_per_request_KIND = tokens / requests; token_inflation = input
    tokens per request / the same over the 28 days before the period, minus 1. Where
    outcomes were imported (costcast outcomes import): resolution_rate =
    successful_outcomes / outcome_attempts; cost_per_successful_outcome = cost of the usage
    the outcomes cover / successful_outcomes. Unknown (empty) where a source counts no
    requests, the book has no price, no outcomes exist or no success shows at 6 decimals.
    Each period says the days the usage covers (days) and partial where not all. The ledger
    rows read (count, days, content hash) go to stderr."""
    first, last = parse_date(start, "from"), parse_date(end, "to")
    check_chart(plot, "plot")
    with workspace(config, read_only=True) as ws:
        if budget_burn:
            burn = ws.budget_burn(last)
            emit(burn, output, title="budgets in progress",
                 empty=_no_budget_in_progress(ws, last) if burn.empty else None)  # fmt: skip
            return
        if model_spread or routing_savings:
            _model_spread(ws, first, last, share, routing_savings, output)
            return
        if top_users:
            frame = ws.top_users(freq=freq, start=first, end=last)
            if plot is not None:
                from forecast.plots import lorenz_chart

                costs = ws.user_costs(start=first, end=last)
                lorenz_chart(costs, plot)
                err.print(f"wrote {plot}")
                if unknown := int(costs.isna().sum()):
                    err.print(f"{unknown} users' cost is unknown (the price book cannot price "
                              "part of their usage): left out of the curve")  # fmt: skip
            emit(frame, output, title=f"the top 5% of users' share of cost per {freq}",
                 empty=_outside(ws, first, last, "names a user (the user column)")
                 if frame.empty else None)  # fmt: skip
            return
        frame = ws.kpis(by=by, freq=freq, start=first, end=last)
        source = ws.usage_provenance(first, last)
        why = _outside(ws, first, last) if frame.empty else None
    emit(frame, output, title=f"KPIs by {by or 'total'} per {freq}", empty=why)
    say_provenance(source)


def _model_spread(ws: Workspace, first: dt.date | None, last: dt.date | None, share: float,
                  scenario: Path | None, output: Output) -> None:  # fmt: skip
    from forecast.routing import routing_scenario

    frame = ws.model_cost_spread(start=first, end=last, share=share)
    if scenario is not None:
        write_bytes(routing_scenario(frame).encode(), scenario, "routing_savings")
        err.print(f"run it with costcast scenario run {scenario}")
    emit(frame, output, title="cost per request of each model of a feature, and routing savings",
         empty="no feature was served by more than one model (with counted requests) in the "
         "window")  # fmt: skip


@app.command()
def prices(
    model: Annotated[str | None, typer.Argument(help="Model name (default: every model).")] = None,
    on: Annotated[str | None, typer.Option(help="Date, YYYY-MM-DD (default: today).")] = None,
    tier: Annotated[str, typer.Option(help="standard, batch, flex or priority.")] = "standard",
    output: OutputOption = Output.table,
    config: ConfigOption = None,
) -> None:
    """The price in effect on a date (USD per million tokens), with its source."""
    day = parse_date(on, "on") or dt.datetime.now(dt.UTC).date()
    with workspace(config, ledger=False) as ws:
        frame = ws.prices(day, tier, model)
    emit(frame, output, title=f"prices on {day} (USD per million tokens)")


@ingests_app.command("list")
def ingests_list(output: OutputOption = Output.table, config: ConfigOption = None) -> None:
    """Every ingest: file, content hash, format, rows read, added and already present, time."""
    with workspace(config, read_only=True) as ws:
        emit(ws.ingests(), output, title=f"ingests into {ws.config.ledger}")


@ingests_app.command("remove")
def ingests_remove(
    ingest_ids: Annotated[
        list[int], typer.Argument(help="One or more ingest ids from costcast ingests list.")
    ],
    config: ConfigOption = None,
) -> None:
    """Take ingests' rows back out of the ledger, e.g. before ingesting a revised export."""
    with workspace(config) as ws:
        removed = ws.remove_ingests(ingest_ids)
    for ingest_id, rows in removed.items():
        err.print(f"removed ingest {ingest_id}: {rows:,} ledger rows")


def _no_budget_in_progress(ws: Workspace, day: dt.date | None) -> str:
    from forecast.coverage import usage_hours

    when = day or usage_hours(ws.ledger)[1].date()
    periods = sorted({b.period for b in ws.config.budgets})
    if not periods:
        return "no budgets: add them to costcast.yaml (budgets: - {period: 2027-Q1, amount: ...})"
    return (f"no budget's period holds {when} (budgets for {', '.join(periods)}); "
            "--to DATE takes another day")  # fmt: skip
