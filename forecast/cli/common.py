"""What every command group of the CLI shares: consoles, options, output, dates, and the
workspace a command works in."""

from __future__ import annotations

import datetime as dt
import json
import re
import sys
from collections.abc import Iterator, Sequence
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
from forecast.engine import MAX_JOBS
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
    int | None, typer.Option(help="Worker processes (default: all cores).", min=1, max=MAX_JOBS)
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


def check_chart(path: Path | None, param: str) -> None:
    """Before the work: a chart asked for must be writable where and as named."""
    if path is None:
        return
    from forecast.plots import chart_problem

    if problem := chart_problem(path):
        raise CostcastError(problem, param=param, value=str(path))


def parse_days(value: str, param: str) -> int:
    """A number of days written as 7, 7d or 2w (weeks)."""
    found = re.fullmatch(r"\s*(\d{1,6})\s*([dDwW]?)\s*", value)
    if not found:
        raise CostcastError("expected a number of days: 7, 7d, or 2w for weeks", param=param,
                            value=value)  # fmt: skip
    return int(found[1]) * (7 if found[2].lower() == "w" else 1)


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


def emit(
    frame: pd.DataFrame, output: Output, title: str | None = None, empty: str | None = None
) -> None:
    """Print a frame as a rich table, CSV or a JSON list of records on stdout; where it has
    no rows, ``empty`` says why on stderr (an empty table alone reads as a fault)."""
    if frame.empty and empty:
        err.print(f"[yellow]note[/yellow] {empty}")
    if output is Output.csv:
        sys.stdout.write(csv_text(frame, date_format="%Y-%m-%dT%H:%M:%SZ"))
    elif output is Output.json:
        records = json.loads(frame.to_json(orient="records", date_format="iso", date_unit="s"))
        sys.stdout.write(json.dumps(records, indent=1) + "\n")
    else:
        for table in tables(frame, title, out.width):
            out.print(table)


HEADER_WIDTH = 14  # a longer header folds onto more lines rather than widen its column


def tables(frame: pd.DataFrame, title: str | None, width: int) -> list[Table]:
    """The frame as rich tables that never cut a value short. Where it is too wide for
    ``width``, text wraps between words and long headers fold after their underscores;
    where even that does not fit, its columns go into blocks that do, each repeating the
    leading text columns (what a row is about; as many as take half the width at most), as
    pandas wraps a wide frame."""
    decimals = [_decimals(str(col)) for col in frame.columns]
    cells = [[_cell(v, d) for v, d in zip(row, decimals, strict=True)]
             for row in frame.itertuples(index=False)]  # fmt: skip
    names = [str(col) for col in frame.columns]
    numeric = [pd.api.types.is_numeric_dtype(frame[col]) for col in frame.columns]

    def longest(i: int, words: bool) -> int:
        parts = (p for row in cells for p in (row[i].split() if words else [row[i]]))
        return max(map(len, parts), default=0)

    def fits(widths: Sequence[int]) -> bool:
        return sum(w + 3 for w in widths) + 1 <= width  # 3 more a column for its border

    widths = [max(len(name), longest(i, False)) for i, name in enumerate(names)]
    if not fits(widths):  # the least each column can take
        widths = [max(min(len(name), HEADER_WIDTH), longest(i, not numeric[i]))
                  for i, name in enumerate(names)]  # fmt: skip
    blocks = [list(range(len(names)))]
    keys = 0
    if not fits(widths):
        keys = next((i for i, n in enumerate(numeric) if n), len(numeric))
        while keys > 1 and sum(w + 3 for w in widths[:keys]) + 1 > width // 2:
            keys -= 1  # the repeated columns leave each block half the width at least
        blocks = []
        for i in range(keys, len(widths)):
            if not blocks or not fits(
                widths[:keys] + [widths[j] for j in blocks[-1]] + [widths[i]]
            ):
                blocks.append([])
            blocks[-1].append(i)
    found = []
    for n, block in enumerate(blocks or [[]]):
        more = f" ({n + 1} of {len(blocks)})" if len(blocks) > 1 else ""
        table = Table(title=f"{title}{more}" if title else more.strip() or None)
        shown = [*range(keys), *block]
        for i in shown:
            table.add_column(_fold(names[i], widths[i]), justify="right" if numeric[i] else "left",
                             min_width=widths[i], no_wrap=numeric[i], overflow="fold")  # fmt: skip
        for row in cells:
            table.add_row(*(row[i] for i in shown))
        found.append(table)
    return found


def say_provenance(read: dict[str, Any], of: str = "") -> None:
    """On stderr: the ledger rows a figure was read from (``usage_provenance``)."""
    if not read["rows"]:
        err.print(f"from no ledger rows{of}")
        return
    err.print(f"from {read['rows']:,} ledger rows{of}, {read['first_day']} to "
              f"{read['last_day']}, content hash {read['content_hash']}")  # fmt: skip


def emit_json(body: object) -> None:
    """``body`` as JSON on stdout: an unknown number (NaN, infinite) is null, as in every
    table's JSON, where ``json.dumps`` would write ``NaN``, which no JSON parser reads."""
    sys.stdout.write(json.dumps(_plain(body), indent=1, default=str, allow_nan=False) + "\n")


def _plain(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not np.isfinite(value):
        return None
    return value


def write_bytes(body: bytes, path: Path | None, param: str = "out") -> None:
    """Write to ``path`` (the option ``param`` named it), or to stdout without one."""
    if path is None:
        sys.stdout.buffer.write(body)
        sys.stdout.flush()
        return
    try:
        path.write_bytes(body)
    except OSError as exc:  # a folder, no such folder, a name too long, no permission
        raise CostcastError(f"cannot write {path}: {exc.strerror or exc}", param=param,
                            value=str(path)) from None  # fmt: skip
    err.print(f"wrote {path}")


# One number of decimals per column, whatever the values: money in cents, shares and
# ratios to four places; the rest (unit prices, tokens per request) as they come.
_MONEY_WORDS = ("usd", "cost", "mean", "budget", "delta", "amount", "burn_rate", "pinball")
_SHARE_WORDS = ("share", "p_exceed", "pct", "inflation", "coverage", "wape", "mase", "bias")


def _fold(header: str, width: int) -> str:
    """A header over lines of at most ``width``, broken after its underscores where it can
    (``tokens_per_request_`` / ``cached_input``), not inside a word."""
    lines = [""]
    for part in header.replace("_", "_\n").split("\n"):
        if lines[-1] and len(lines[-1]) + len(part) > width:
            lines.append("")
        lines[-1] += part
    return "\n".join(lines)


def _decimals(column: str) -> int | None:
    name = column.lower()
    if name.startswith("tokens_per"):
        return 3  # as the KPIs round them
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
        if value.is_integer():  # counts in a column of floats (it has unknowns)
            return f"{int(value):,}"
        # unit prices and per-request counts keep their digits
        if abs(value) >= 100:
            return f"{value:,.2f}"
        return f"{value:,.6f}".rstrip("0").rstrip(".") or "0"
    if isinstance(value, int | np.integer):  # numpy's too (a column of counts with unknowns)
        return f"{int(value):,}"
    return str(value)
