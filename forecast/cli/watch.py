"""Spend watch commands: alerts (watch) and what a deployment did to cost per request."""

from __future__ import annotations

import datetime as dt
import sys
from typing import Annotated

import pandas as pd
import typer

from forecast.cli.common import (
    ConfigOption,
    Output,
    OutputOption,
    emit,
    emit_json,
    err,
    parse_date,
    parse_days,
    say_provenance,
    workspace,
)
from forecast.watch.deliver import Delivery
from forecast.watch.record import contributors_text, scope_text

app = typer.Typer()


@app.command()
def impact(
    deployment: Annotated[
        str | None, typer.Argument(help="A deployment id from the usage's deployment column.")
    ] = None,
    feature: Annotated[
        str | None, typer.Option(help="The feature, where the id ran on several.")
    ] = None,
    window: Annotated[
        str, typer.Option(help="Days before and after to compare: 7, 7d, or 2w for weeks.")
    ] = "7d",
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
    """What a deployment did to a feature's cost per request.

    Before against after (WINDOW days each, the after window cut at the feature's next
    deployment), the change with a 95% interval from a bootstrap over weekday-paired days,
    tokens per request per kind, and the monthly cost of the change at the current volume."""
    from forecast.errors import CostcastError

    days = parse_days(window, "window")
    with workspace(config, read_only=True) as ws:
        if list_:
            ranked = ws.rank_deployments(since=parse_date(since, "since"), window=days)
            if output is Output.table and not ranked.empty:  # the sentence is the JSON's
                ranked = ranked.drop(columns=["summary"], errors="ignore")  # none measured
            none = ("no deployments" + (f" since {since}" if since else "") + ": tag usage "
                    "rows in their deployment column, or list them under deployments: in "
                    "costcast.yaml (id, time, team or feature)")  # fmt: skip
            emit(ranked, output, title=f"deployments by monthly cost change ({days}-day windows)",
                 empty=none)  # fmt: skip
            return
        if deployment is None:
            raise CostcastError("name a deployment, or ask for --list", param="deployment")
        found = ws.deployment_impact(deployment, feature=feature, window=days)
    if output is Output.json:
        emit_json(found)
        return
    tokens = found.pop("tokens_per_request")
    summary = found.pop("summary")
    read = found.pop("provenance")
    frame = pd.DataFrame([found])
    for kind, values in tokens.items():
        frame[f"{kind}_per_request_before"] = values["before"]
        frame[f"{kind}_per_request_after"] = values["after"]
    emit(frame, output, title=summary)
    say_provenance(read, f" of {found['team']}/{found['feature']}")


def _hour(text: str | None, param: str) -> dt.datetime | None:
    from forecast.errors import CostcastError

    if text is None:
        return None
    from forecast.watch.alerts import utc_hour

    try:
        return utc_hour(dt.datetime.fromisoformat(text.replace("Z", "+00:00")), param)
    except ValueError:
        raise CostcastError("expected YYYY-MM-DD or YYYY-MM-DDTHH:MM (UTC)", param=param,
                            value=text) from None  # fmt: skip


@app.command()
def watch(
    at: Annotated[
        str | None, typer.Option(help="Check this hour (UTC; default the last hour of data).")
    ] = None,
    start: Annotated[
        str | None, typer.Option("--from", help="Replay history from this hour (UTC) ...")
    ] = None,
    end: Annotated[str | None, typer.Option("--to", help="... to this hour, inclusive.")] = None,
    dry_run: Annotated[
        bool, typer.Option(help="Check without recording alerts in the ledger.")
    ] = False,
    output: OutputOption = Output.table,
    config: ConfigOption = None,
) -> None:
    """Alerts from the rules under alerts: in costcast.yaml; exits 1 when one fired.

    The rules: an hour's cost above its seasonal baseline (hourly_spike), a failed share
    above 5% over 3 hours beyond chance (its 95% lower bound too: failures), input tokens
    per request 25% above their level after the last deployment (token_inflation), and
    budgets at 85% and 90% spent or landing at the burn rate or a forecast run's P50, or
    likely to pass (budget_spent, budget_landing, budget_forecast, budget_at_risk), and
    usage the price book cannot price (unpriced; budget_unpriced, whose spend is then
    unknown). A check at an hour records new alerts in the ledger and resolves cleared
    ones; --from/--to replays history hour by hour as if watch had run then, recording
    nothing. A check sends what fired or resolved to the webhooks under alerts.deliver
    (JSON, or Slack format), with retries; --dry-run and replays send nothing. Exits 1 when
    an alert fired, so that cron or CI can act on it."""
    from forecast.errors import CostcastError

    first, last, hour = _hour(start, "from"), _hour(end, "to"), _hour(at, "at")
    if (first is None) != (last is None):
        raise CostcastError("give both --from and --to to replay", param="from")
    if first is not None and hour is not None:
        raise CostcastError("either --at or --from/--to, not both", param="at")
    read_only = dry_run or first is not None
    with workspace(config, read_only=read_only) as ws:
        if first is not None and last is not None:
            if last < first:
                raise CostcastError(f"--to {last} is before --from {first}", param="to")
            records = [dict(a.to_dict(), status="replayed") for a in ws.replay_alerts(first, last)]
            fired = bool(records)
            title = f"alerts a watch would have raised from {first} to {last}"
        else:
            done = ws.check_alerts(hour, dry_run=dry_run)
            records = done.records()
            fired = bool(done.fired)
            title = f"alerts at {done.at}" + (" (dry run: nothing recorded)" if dry_run else "")
            _said(done.deliveries, len(done.records(changed_only=True)))
    if output is Output.json:
        emit_json(records)
    else:
        frame = pd.DataFrame(records, columns=["rule", "scope", "fired_at", "resolved_at",
                                               "value", "threshold", "contributors", "escalates",
                                               "exhaustion_date", "status"])  # fmt: skip
        frame["scope"] = frame["scope"].map(scope_text)
        frame["contributors"] = frame["contributors"].map(contributors_text)
        emit(frame, output, title=title)
    if fired:
        sys.exit(1)


def _said(deliveries: list[Delivery], count: int) -> None:
    """What the check sent to the config's webhooks; failures are said, not raised."""
    for sent in deliveries:
        if sent.ok:
            err.print(f"sent {count} alert(s) to {sent.url}")
        else:
            err.print(f"[yellow]warning[/yellow] could not send alerts to {sent.url} after "
                      f"{sent.attempts} attempt(s): {sent.error}")  # fmt: skip
