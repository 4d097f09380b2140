"""The `eslflow` command line: every subcommand is a thin shell over the library.

Exit codes: 0 ok, 1 invalid input / failed run / connection or authentication
failure (one clear line on stderr), 2 usage error.
"""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from runner import __version__
from runner.esl.cli import esl_app, join_filter_args

app = typer.Typer(
    name="eslflow",
    help="Declarative call flows for FreeSWITCH over the Event Socket.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def _print_version(value: bool) -> None:
    if value:
        typer.echo(f"eslflow {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_print_version, is_eager=True, help="Print the version and exit."
        ),
    ] = False,
) -> None:
    """Declarative call flows for FreeSWITCH over the Event Socket."""


# -- eslflow esl ... -------------------------------------------------------------------
app.add_typer(esl_app)


@app.command()
def demo() -> None:
    """Run the example flows against the embedded FreeSWITCH simulator."""
    typer.echo("eslflow demo: not yet — the engine and simulator are still being built.")


def main() -> None:
    app(args=join_filter_args(sys.argv[1:]), prog_name="eslflow")
