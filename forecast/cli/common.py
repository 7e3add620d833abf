"""What every command group of the CLI shares: consoles, options, output, dates, and the
workspace a command works in."""

from __future__ import annotations

import datetime as dt
import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import numpy as np
import pandas as pd
import typer
from rich.console import Console
from rich.table import Table

from forecast.config import Config, load_config
from forecast.errors import CostcastError
from forecast.export.csvsafe import csv_text
from forecast.workspace import Workspace

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


def config_of(path: Path | None) -> Config:
    return load_config(path)


@contextmanager
def workspace(
    path: Path | None, *, read_only: bool = False, ledger: bool = True
) -> Iterator[Workspace]:
    """The workspace of the config at ``path`` (or ./costcast.yaml), its ledger open."""
    with Workspace.open(config_of(path), read_only=read_only, ledger=ledger) as opened:
        yield opened


def parse_date(value: str | None, param: str) -> dt.date | None:
    if value is None:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise CostcastError("expected a date as YYYY-MM-DD", param=param, value=value) from None


def dask_client(address: str | None) -> Any:  # a distributed.Client, or None
    if not address:
        return None
    from distributed import Client

    try:
        return Client(address, timeout="10s")
    except OSError as exc:
        raise CostcastError(
            f"cannot reach the Dask scheduler: {exc}", param="dask", value=address
        ) from None


def emit(frame: pd.DataFrame, output: Output, title: str | None = None) -> None:
    """Print a frame as a rich table, CSV or a JSON list of records on stdout."""
    if output is Output.csv:
        sys.stdout.write(csv_text(frame, date_format="%Y-%m-%dT%H:%M:%SZ"))
    elif output is Output.json:
        records = json.loads(frame.to_json(orient="records", date_format="iso", date_unit="s"))
        sys.stdout.write(json.dumps(records, indent=1) + "\n")
    else:
        table = Table(title=title, show_lines=False)
        for col in frame.columns:
            numeric = pd.api.types.is_numeric_dtype(frame[col])
            table.add_column(str(col), justify="right" if numeric else "left")
        decimals = [_decimals(str(col)) for col in frame.columns]
        for row in frame.itertuples(index=False):
            table.add_row(*(_cell(v, d) for v, d in zip(row, decimals, strict=True)))
        out.print(table)


def say_provenance(read: dict[str, Any], of: str = "") -> None:
    """On stderr: the ledger rows a figure was read from (``usage_provenance``)."""
    err.print(f"from {read['rows']:,} ledger rows{of}, {read['first_day']} to "
              f"{read['last_day']}, content hash {read['content_hash']}")  # fmt: skip


def emit_json(body: object) -> None:
    sys.stdout.write(json.dumps(body, indent=1) + "\n")


def write_bytes(body: bytes, path: Path | None) -> None:
    """Write to ``path``, or to stdout without one."""
    if path is None:
        sys.stdout.buffer.write(body)
        sys.stdout.flush()
    else:
        path.write_bytes(body)
        err.print(f"wrote {path}")


# One number of decimals per column, whatever the values: money in cents, shares and
# ratios to four places; the rest (unit prices, tokens per request) as they come.
_MONEY_WORDS = ("usd", "cost", "mean", "budget", "delta", "amount")
_SHARE_WORDS = ("share", "p_exceed", "pct", "inflation", "coverage", "wape", "mase")


def _decimals(column: str) -> int | None:
    name = column.lower()
    if "per_success" in name or "per_request" in name:
        return 6  # fractions of a cent per call
    if any(w in name for w in _SHARE_WORDS):
        return 4
    if any(w in name for w in _MONEY_WORDS) or (name[:1] == "p" and name[1:].isdigit()):
        return 2  # mean, p10, p50, p90
    return None


def _cell(value: Any, decimals: int | None = None) -> str:
    if value is None or value is pd.NA or value is pd.NaT:
        return ""
    if isinstance(value, bool | np.bool_):
        return "yes" if value else ""
    if isinstance(value, float) and value != value:
        return ""
    if isinstance(value, pd.Timestamp):
        return str(value.strftime("%Y-%m-%d %H:%M" if value.hour or value.minute else "%Y-%m-%d"))
    if isinstance(value, float):
        if decimals is not None:
            text = f"{value:,.{decimals}f}"
            return text[1:] if text.startswith("-") and not text.strip("-0.,") else text  # no -0
        # unit prices and per-request counts keep their digits
        if abs(value) >= 100:
            return f"{value:,.2f}"
        return f"{value:,.6f}".rstrip("0").rstrip(".") or "0"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)
