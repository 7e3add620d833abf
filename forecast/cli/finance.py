"""Finance commands: billed actuals, reconciliation, journal and FOCUS exports."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from forecast.cli.common import (
    ConfigOption,
    Output,
    OutputOption,
    emit,
    err,
    out,
    parse_date,
    workspace,
    write_bytes,
)
from forecast.errors import CostcastError
from forecast.export.focus import focus_csv

app = typer.Typer()
billing_app = typer.Typer(
    help="What providers billed (kept apart from usage).", no_args_is_help=True
)
app.add_typer(billing_app, name="billing")
export_app = typer.Typer(help="Accrual journals and FOCUS 1.2 cost rows.", no_args_is_help=True)
app.add_typer(export_app, name="export")


@billing_app.command("import")
def billing_import(
    files: Annotated[list[Path], typer.Argument(help="Billed cost exports.")],
    fmt: Annotated[
        str | None,
        typer.Option(
            "--format", help="openai_costs, anthropic_costs or focus (default: detected)."
        ),
    ] = None,
    config: ConfigOption = None,
) -> None:
    """Import OpenAI Costs API pages, Anthropic cost reports or FOCUS CSV.

    All files or none; a day billed again with another amount replaces the earlier one."""
    with workspace(config) as ws:
        results = ws.import_billed(files, fmt)
    table = Table(title=f"billed actuals in {ws.config.ledger}")
    for col in ("file", "format", "rows", "added", "revised", "unchanged", "USD"):
        table.add_column(col, justify="left" if col in ("file", "format") else "right")
    for r in results:
        table.add_row(
            r.path + (" (imported before)" if r.skipped else ""), r.format, f"{r.rows:,}",
            f"{r.added:,}", f"{r.revised:,}", f"{r.unchanged:,}", f"{r.amount_usd:,.2f}",
        )  # fmt: skip
    out.print(table)
    for r in results:
        for note in r.notes:
            err.print(f"[yellow]note[/yellow] {r.path}: {note}")


@billing_app.command("list")
def billing_list(output: OutputOption = Output.table, config: ConfigOption = None) -> None:
    """Every billed-cost import: rows added, revised, unchanged and the amount."""

    with workspace(config, read_only=True) as ws:
        emit(ws.billed_imports(), output, title="billed imports")


@app.command("reconcile")
def reconcile_command(
    start: Annotated[str | None, typer.Option("--from", help="First day, YYYY-MM-DD.")] = None,
    end: Annotated[str | None, typer.Option("--to", help="Last day (inclusive).")] = None,
    tolerance_pct: Annotated[
        float, typer.Option(help="Flag days off by more than this share of the bill...", min=0)
    ] = 0.02,
    tolerance_usd: Annotated[
        float, typer.Option(help="...and by more than this many USD.", min=0)
    ] = 1.0,
    flagged: Annotated[bool, typer.Option(help="Show only flagged days.")] = False,
    by: Annotated[
        str, typer.Option(help="provider, or project (where the config maps projects to teams).")
    ] = "provider",
    output: OutputOption = Output.table,
    config: ConfigOption = None,
) -> None:
    """Compare cost priced from usage with billed cost per day and provider.

    Exits 1 when any day is flagged, so a scheduled job can alert on it."""
    with workspace(config, read_only=True) as ws:
        frame = ws.reconcile(
            by=by, start=parse_date(start, "from"), end=parse_date(end, "to"),
            tolerance_pct=tolerance_pct, tolerance_usd=tolerance_usd,
        )  # fmt: skip
    shown = frame[frame["flag"]] if flagged else frame
    emit(shown, output, title="priced usage vs billed (USD)")
    count = int(frame["flag"].sum())
    err.print(
        f"{count} of {len(frame)} {by}-days differ by more than {tolerance_pct:.0%} "
        f"and {tolerance_usd:,.2f} USD"
    )
    if count:
        raise typer.Exit(1)


@export_app.command("journal")
def export_journal(
    period: Annotated[
        str,
        typer.Argument(
            help="Fiscal period: 2027-Q1, 2027-03, FY2027, or this-month, this-quarter, next-quarter, this-year, next-year."
        ),
    ],
    basis: Annotated[str, typer.Option(help="forecast, actuals or scenario.")] = "forecast",
    measure: Annotated[str, typer.Option(help="mean (lines add up), p50 or p90.")] = "mean",
    run: Annotated[str | None, typer.Option(help="Forecast run id (default: latest).")] = None,
    scenario: Annotated[str | None, typer.Option(help="Saved scenario result id.")] = None,
    fmt: Annotated[str, typer.Option("--format", help="csv, json or xlsx.")] = "csv",
    out_file: Annotated[
        Path | None, typer.Option("--out", help="Write here (default: stdout; xlsx needs it).")
    ] = None,
    config: ConfigOption = None,
) -> None:
    """Accrual journal lines for a fiscal period: one debit/credit pair per cost centre."""
    if fmt not in ("csv", "json", "xlsx"):
        raise CostcastError("choose csv, json or xlsx", param="format", value=fmt)
    if fmt == "xlsx" and out_file is None:
        raise CostcastError("an xlsx journal needs a file to write", param="out")
    with workspace(config, read_only=True) as ws:
        journal = ws.journal(period, basis=basis, measure=measure, run_id=run, scenario_id=scenario)
    body = {"csv": journal.to_csv, "json": journal.to_json, "xlsx": journal.to_xlsx}[fmt]()
    write_bytes(body, out_file)
    err.print(
        f"{journal.meta['journal_id']}: {len(journal.lines)} lines, total "
        f"{journal.meta['total']} {journal.meta['currency']} from {journal.meta['source_id']}"
    )


@export_app.command("focus")
def export_focus(
    start: Annotated[str, typer.Option("--from", help="First day, YYYY-MM-DD.")],
    end: Annotated[str, typer.Option("--to", help="Last day (inclusive).")],
    out_file: Annotated[
        Path | None, typer.Option("--out", help="CSV file (default: stdout).")
    ] = None,
    config: ConfigOption = None,
) -> None:
    """Actual LLM cost as FOCUS 1.2 CSV rows (billed where the bill is in, else priced)."""
    with workspace(config, read_only=True) as ws:
        first, last = ws.span(parse_date(start, "from"), parse_date(end, "to"))
        frame = ws.focus(first, last)
    write_bytes(focus_csv(frame), out_file)
    err.print(f"{len(frame):,} FOCUS rows, {first} to {last}")
