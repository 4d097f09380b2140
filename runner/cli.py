"""The `eslflow` command line: every subcommand is a thin shell over the library.

Exit codes: 0 ok, 1 invalid input / failed run / connection or authentication
failure (one clear line on stderr), 2 usage error.
"""

from __future__ import annotations

import sys
from pathlib import Path
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


# -- eslflow sim: the FreeSWITCH simulator (runner/sim) -------------------------------
# Kept in this one block; the library does the work (runner/sim/serve.py).


@app.command()
def sim(
    listen: Annotated[
        str, typer.Option("--listen", help="HOST:PORT to listen on (loopback by default).")
    ] = "127.0.0.1:8021",
    password: Annotated[
        str, typer.Option("--password", help="Event socket password clients must send.")
    ] = "ClueCon",
    scenario: Annotated[
        Path | None, typer.Option("--scenario", help="YAML file of calls to place.")
    ] = None,
    speed: Annotated[
        float | None, typer.Option("--speed", help="Simulated seconds per real second.")
    ] = None,
    outbound: Annotated[
        str | None,
        typer.Option("--outbound", help="HOST:PORT extensions 9000/9001 connect to."),
    ] = None,
    allow: Annotated[
        list[str] | None,
        typer.Option("--allow", help="CIDR allowed to connect (repeatable; default loopback)."),
    ] = None,
    heartbeat: Annotated[
        float | None, typer.Option("--heartbeat", help="HEARTBEAT interval in seconds.")
    ] = None,
    load: Annotated[
        int | None,
        typer.Option("--load", help="Stream this many events to the first subscriber."),
    ] = None,
    load_rate: Annotated[
        float | None, typer.Option("--load-rate", help="Events per second (default: max).")
    ] = None,
    duration: Annotated[
        float | None, typer.Option("--duration", help="Stop after this many seconds.")
    ] = None,
) -> None:
    """Run the FreeSWITCH simulator: any ESL client can connect to it."""
    from runner.aio import run
    from runner.sim.acl import LOOPBACK
    from runner.sim.scenario import ScenarioError, load_scenario
    from runner.sim.serve import ServeOptions, parse_listen, serve

    try:
        host, port = parse_listen(listen)
        if outbound is not None:
            parse_listen(outbound)
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from None
    try:
        loaded = load_scenario(scenario) if scenario is not None else None
    except ScenarioError as exc:
        typer.echo(f"eslflow: {exc}", err=True)
        raise typer.Exit(1) from None
    options = ServeOptions(
        host=host,
        port=port,
        password=password,
        acl=tuple(allow) if allow else LOOPBACK,
        speed=speed,
        heartbeat_interval=heartbeat,
        outbound_target=outbound,
        scenario=loaded,
        load=load,
        load_rate=load_rate,
        duration=duration,
    )

    def report(line: str) -> None:
        typer.echo(f"eslflow sim: {line}")
        sys.stdout.flush()

    try:
        run(serve, options, report)
    except KeyboardInterrupt:
        pass
    except OSError as exc:
        typer.echo(f"eslflow: cannot listen on {listen}: {exc.strerror or exc}", err=True)
        raise typer.Exit(1) from None
    except ValueError as exc:  # e.g. an --allow entry that is not a network
        typer.echo(f"eslflow: {exc}", err=True)
        raise typer.Exit(1) from None


# -- end of eslflow sim ----------------------------------------------------------------


def main() -> None:
    app(args=join_filter_args(sys.argv[1:]), prog_name="eslflow")
