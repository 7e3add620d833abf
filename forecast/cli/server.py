"""Server commands: API tokens and ``serve``."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import typer

from forecast.cli.common import ConfigOption, Output, OutputOption, config_of, emit, err, out
from forecast.config import DEFAULT_CONFIG_NAME, SCOPES
from forecast.engine import MAX_JOBS

app = typer.Typer()
token_app = typer.Typer(help="API tokens (only their hashes are stored).", no_args_is_help=True)
app.add_typer(token_app, name="token")


def _config_path(config: Path | None) -> Path:
    return config or Path(DEFAULT_CONFIG_NAME)


@token_app.command("create")
def token_create(
    name: Annotated[str, typer.Option(help="Who or what uses it, e.g. erp or pm-alice.")],
    scope: Annotated[
        list[str], typer.Option("--scope", help=f"Repeat for several: {', '.join(SCOPES)}.")
    ],
    config: ConfigOption = None,
) -> None:
    """Make a token and print it once; costcast.yaml keeps only its SHA-256."""
    from forecast.tokens import create_token

    path = _config_path(config)
    token = create_token(path, name, scope)
    out.print(token, highlight=False)
    err.print(f"stored the hash of token {name!r} ({', '.join(scope)}) in {path}; "
              "the token is not shown again")  # fmt: skip


@token_app.command("list")
def token_list(output: OutputOption = Output.table, config: ConfigOption = None) -> None:
    """Token names, scopes and creation times (never the tokens)."""
    import pandas as pd

    from forecast.tokens import list_tokens

    rows = list_tokens(config_of(config))
    emit(pd.DataFrame(rows, columns=["name", "scopes", "created"]), output, title="API tokens")


@token_app.command("revoke")
def token_revoke(
    name: Annotated[str, typer.Argument(help="The token's name.")],
    config: ConfigOption = None,
) -> None:
    """Remove a token; a running server refuses it from its next request."""
    from forecast.tokens import revoke_token

    revoke_token(_config_path(config), name)
    err.print(f"revoked token {name!r}")


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port.", min=1, max=65535)] = 8000,
    jobs: Annotated[
        int | None,
        typer.Option(
            help="Worker processes per forecast run (default: all cores).", min=1, max=MAX_JOBS
        ),
    ] = None,
    config: ConfigOption = None,
) -> None:
    """Run the HTTP API with uvicorn; docs at /docs.

    The server owns the ledger file while it runs: other costcast commands on the
    same ledger are refused until it stops, so work through the API meanwhile."""
    import uvicorn

    cfg = config_of(config)  # fail here, with a clean message, on a bad config
    if config is not None:
        os.environ["COSTCAST_CONFIG"] = str(config)
    if jobs is not None:
        os.environ["COSTCAST_FORECAST_JOBS"] = str(jobs)
    if not cfg.api.tokens:
        err.print(
            "[yellow]warning[/yellow]: no API tokens yet; make one with costcast token create"
        )
    # one process: DuckDB lets one process write the ledger; threads share it inside
    uvicorn.run("api.main:create_app", factory=True, host=host, port=port, workers=1)
