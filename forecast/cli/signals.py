"""Signals kept beside the usage: deployments and outcomes."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from forecast.cli.common import ConfigOption, Output, OutputOption, emit, out, workspace

app = typer.Typer()
deployments_app = typer.Typer(
    help="Deployments: tagged in the usage, listed in costcast.yaml or imported from files.",
    no_args_is_help=True,
)
app.add_typer(deployments_app, name="deployments")
outcomes_app = typer.Typer(
    help="Whether the work LLM calls were for succeeded: per request or per day and feature.",
    no_args_is_help=True,
)
app.add_typer(outcomes_app, name="outcomes")


@deployments_app.command("import")
def deployments_import(
    files: Annotated[list[Path], typer.Argument(help="CSV or JSON Lines files.")],
    config: ConfigOption = None,
) -> None:
    """Store deployments from files (CSV or JSON Lines).

    Columns: id, time (ISO 8601, UTC without an offset), team and/or feature, description.
    All files or none; importing an entry again (same id, team and feature) replaces it."""
    with workspace(config) as ws:
        results = ws.import_deployments(files)
    for r in results:
        out.print(f"{r.path}: {r.rows} deployment(s): {r.added} new, {r.changed} changed, "
                  f"{r.unchanged} unchanged")  # fmt: skip


@deployments_app.command("list")
def deployments_list(output: OutputOption = Output.table, config: ConfigOption = None) -> None:
    """Every deployment of every team's feature, in order.

    Each with where it comes from: the usage, the config or an imported file."""
    with workspace(config, read_only=True) as ws:
        emit(ws.deployments(), output, title="deployments")


@outcomes_app.command("import")
def outcomes_import(
    files: Annotated[list[Path], typer.Argument(help="CSV or JSON Lines files.")],
    config: ConfigOption = None,
) -> None:
    """Store outcomes of the work LLM calls were for, per request or per day and group.

    Per request: request_id, outcome (success, failure or a score 0-1); or per day and group:
    date, team, feature, successes, attempts. All files or none; a file imported before
    changes nothing; an outcome given again replaces the earlier one. KPIs then add
    resolution_rate and cost_per_successful_outcome."""
    with workspace(config) as ws:
        results = ws.import_outcomes(files)
    for r in results:
        if r.skipped:
            out.print(f"{r.path}: imported before, nothing changed")
            continue
        unmatched = f"; {r.unmatched} request id(s) not in the usage yet" if r.unmatched else ""
        out.print(f"{r.path}: {r.rows} outcome(s) per {r.kind}: {r.added} new, "
                  f"{r.replaced} replaced{unmatched}")  # fmt: skip


@outcomes_app.command("list")
def outcomes_list(output: OutputOption = Output.table, config: ConfigOption = None) -> None:
    """Every outcomes import: file, shape, rows, added and replaced."""
    with workspace(config, read_only=True) as ws:
        emit(ws.outcome_imports(), output, title="outcome imports")


@outcomes_app.command("schema")
def outcomes_schema() -> None:
    """Print the JSON Schema of an outcome record (kept in schemas/outcomes.json)."""
    from forecast.outcomes import outcomes_json_schema

    typer.echo(outcomes_json_schema(), nl=False)
