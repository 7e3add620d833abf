"""The ``costcast`` command line, one module per command group, assembled here.

Every command reads its options, calls the service layer (``forecast.workspace``)
and renders the answer; library errors become one clean message and exit code 2.
"""

from __future__ import annotations

import sys

import typer

from forecast.cli import finance, forecasting, scenarios, server, signals, usage, watch
from forecast.cli.common import err
from forecast.errors import CostcastError

app = typer.Typer(
    name="costcast",
    help="Forecast and steer LLM API spend.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    # help text reflows as Markdown: a docstring's line breaks are the source's, not the
    # terminal's (a first paragraph of one line is the command list's summary)
    rich_markup_mode="markdown",
)
app.add_typer(usage.app)
app.add_typer(forecasting.app)
app.add_typer(scenarios.app, name="scenario")
app.add_typer(finance.app)
app.add_typer(server.app)
app.add_typer(watch.app)
app.add_typer(signals.app)


def _options(argv: list[str]) -> set[str]:
    """The long options of the command ``argv`` runs: a parameter named in an error is
    rendered as the option the user typed where that command has one (another command's
    ``--run`` is not this one's RUN_ID argument)."""
    command = typer.main.get_command(app)
    for token in argv:
        sub = getattr(command, "commands", {}).get(token)  # a group's commands
        if sub is None:
            break
        command = sub
    return {o for p in command.params for o in p.opts if o.startswith("--")}


def render_param(name: str) -> str:
    option = "--" + name.replace("_", "-")
    return f"option {option}" if option in _options(sys.argv[1:]) else name.upper()


def main() -> None:
    try:
        app()
    except CostcastError as exc:
        message = exc.render(param=render_param)
        err.print(f"[bold red]error:[/bold red] {message}", highlight=False, markup=True)
        sys.exit(exc.exit_code)


if __name__ == "__main__":
    main()
