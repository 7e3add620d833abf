"""Scenario commands: validate, run, compare and the schema."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import pandas as pd
import typer

from forecast.cli.common import (
    ConfigOption,
    Output,
    OutputOption,
    check_chart,
    emit,
    emit_json,
    err,
    out,
    workspace,
)
from forecast.export.csvsafe import csv_text

if TYPE_CHECKING:  # the scenario engine loads when a command runs one
    from forecast.scenario.engine import ScenarioResult
    from forecast.workspace import Workspace

app = typer.Typer(help="What-if scenario files.", no_args_is_help=True)


@app.command("validate")
def scenario_validate(
    files: Annotated[list[Path], typer.Argument(help="Scenario YAML files.")],
) -> None:
    """Check scenario files against the schema; errors name file, line, column and field."""
    from forecast.scenario import load_scenario

    for path in files:
        scenario = load_scenario(path)
        kinds = ", ".join(c.kind for c in scenario.changes)
        out.print(f"{path}: ok ({scenario.name!r}: {kinds})", highlight=False)


def _evaluate_file(ws: Workspace, path: Path, run_id: str | None) -> ScenarioResult:
    from forecast.scenario import load_scenario

    result = ws.run_scenario(load_scenario(path), run_id)
    for note in result.warnings:
        err.print(f"[yellow]warning[/yellow] {path}: {note}")
    return result


def _scenario_table(result: ScenarioResult) -> pd.DataFrame:
    rows = [{"row": name, **result.totals[name]} for name in ("baseline", "scenario", "delta")]
    rows += [
        {"row": f"change {i + 1}: {c['kind']}", "mean": c["delta_mean"]}
        for i, c in enumerate(result.changes)
    ]
    return pd.DataFrame(rows, columns=["row", "mean", "p10", "p50", "p90"])


@app.command("run")
def scenario_run(
    file: Annotated[Path, typer.Argument(help="Scenario YAML file.")],
    run: Annotated[str | None, typer.Option(help="Baseline run id (default: the file's).")] = None,
    plot: Annotated[Path | None, typer.Option(help="Write waterfall + fan chart (PNG).")] = None,
    save: Annotated[
        bool, typer.Option(help="Save the result (for export journal --basis scenario).")
    ] = True,
    output: OutputOption = Output.table,
    config: ConfigOption = None,
) -> None:
    """Apply a scenario to a forecast run: baseline vs scenario, delta and each change's share.

    Saves the result, as the API does, under an id that journal exports take."""
    check_chart(plot, "plot")
    with workspace(config, read_only=not save) as ws:
        result = _evaluate_file(ws, file, run)
        if save:
            saved = ws.save_scenario(result)
            err.print(f"saved as {saved['id']} (costcast export journal PERIOD --basis scenario "
                      f"--scenario {saved['id']})")  # fmt: skip
    if plot:
        from forecast.plots import waterfall_chart

        err.print(f"wrote {waterfall_chart(result, plot)}")
    if output is Output.json:
        emit_json(result.to_dict())
        return
    if output is Output.csv:
        sys.stdout.write(csv_text(result.periods))
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


@app.command("compare")
def scenario_compare(
    files: Annotated[list[Path], typer.Argument(help="Scenario YAML files.")],
    run: Annotated[str | None, typer.Option(help="Baseline run id for all files.")] = None,
    output: OutputOption = Output.table,
    config: ConfigOption = None,
) -> None:
    """Several scenarios side by side against the same baseline."""
    rows = []
    with workspace(config, read_only=True) as ws:
        for path in files:
            result = _evaluate_file(ws, path, run)
            t = result.totals
            rows.append({
                "scenario": result.scenario.name, "baseline_run": result.baseline_run,
                "baseline_mean": t["baseline"]["mean"], "scenario_mean": t["scenario"]["mean"],
                "delta_mean": t["delta"]["mean"], "delta_p10": t["delta"]["p10"],
                "delta_p90": t["delta"]["p90"], "annualized_delta_mean": t["annualized_delta_mean"],
            })  # fmt: skip
    emit(pd.DataFrame(rows), output, title="scenarios against the same baseline (USD)")


@app.command("list")
def scenario_list(output: OutputOption = Output.table, config: ConfigOption = None) -> None:
    """Saved scenario results, newest first: id, name, baseline run and the mean delta."""
    with workspace(config, read_only=True) as ws:
        emit(ws.scenario_results(), output, title="saved scenario results")


@app.command("schema")
def scenario_schema() -> None:
    """Print the scenario JSON Schema (kept in scenarios/schema.json)."""
    from forecast.scenario import scenario_json_schema

    sys.stdout.write(scenario_json_schema())
