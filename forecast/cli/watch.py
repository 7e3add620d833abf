"""Spend watch commands: what a deployment did to a feature's cost per request."""

from __future__ import annotations

import json
from typing import Annotated

import pandas as pd
import typer

from forecast.cli.common import ConfigOption, Output, OutputOption, emit, out, parse_date, workspace

app = typer.Typer()


@app.command()
def impact(
    deployment: Annotated[
        str | None, typer.Argument(help="A deployment id from the usage's deployment column.")
    ] = None,
    feature: Annotated[
        str | None, typer.Option(help="The feature, where the id ran on several.")
    ] = None,
    window: Annotated[int, typer.Option(help="Days before and after to compare.", min=1)] = 7,
    list_: Annotated[
        bool,
        typer.Option(
            "--list", help="Rank every deployment (since --since) by its monthly cost change."
        ),
    ] = False,
    since: Annotated[
        str | None, typer.Option(help="With --list: deployments from this day, YYYY-MM-DD.")
    ] = None,
    output: OutputOption = Output.table,
    config: ConfigOption = None,
) -> None:
    """What a deployment did to cost per request: before against after (WINDOW days each,
    the after window cut at the feature's next deployment), the change with a 95% interval
    from a bootstrap over weekday-paired days, tokens per request per kind, and the monthly
    cost of the change at the current volume."""
    from forecast.errors import CostcastError

    with workspace(config, read_only=True) as ws:
        if list_:
            ranked = ws.rank_deployments(since=parse_date(since, "since"), window=window)
            if output is Output.table and not ranked.empty:  # the sentence is the JSON's
                ranked = ranked.drop(columns=["summary"])
            emit(ranked, output, title=f"deployments by monthly cost change ({window}-day windows)")
            return
        if deployment is None:
            raise CostcastError("name a deployment, or ask for --list", param="deployment")
        found = ws.deployment_impact(deployment, feature=feature, window=window)
    if output is Output.json:
        out.print_json(json.dumps(found, default=str))
        return
    tokens = found.pop("tokens_per_request")
    summary = found.pop("summary")
    frame = pd.DataFrame([found])
    for kind, values in tokens.items():
        frame[f"{kind}_per_request_before"] = values["before"]
        frame[f"{kind}_per_request_after"] = values["after"]
    emit(frame, output, title=summary)
