"""The `eslflow` command line: every subcommand is a thin shell over the library.

Exit codes: 0 ok, 1 invalid input / failed run / connection or authentication
failure (one clear line on stderr), 2 usage error.
"""

from __future__ import annotations

import enum
import json
import sys
from pathlib import Path
from typing import Annotated

import typer

from runner import __version__
from runner.doctor import cli as doctor_cli
from runner.esl.cli import esl_app, join_filter_args
from runner.flow import FlowError, FlowValidationError, find_flow_files, load_flows
from runner.flow.schema import stale_schemas, write_schemas
from runner.flowtest import cli as flowtest_cli
from runner.schemas import ALL_SCHEMAS

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

# -- eslflow test ... (issue 6: runner/flowtest/cli.py) ---------------------------------
app.command(name="test")(flowtest_cli.test)

# -- eslflow doctor: is a FreeSWITCH ready for eslflow? (runner/doctor/cli.py) ---------
app.command(name="doctor")(doctor_cli.doctor)


@app.command()
def demo(
    flows: Annotated[
        Path | None,
        typer.Option("--flows", help="The flows to run (default: the examples in flows/)."),
    ] = None,
) -> None:
    """Run the example flows against the embedded FreeSWITCH simulator, with a trace."""
    from runner.demo import main as demo_main

    try:
        failures = demo_main([flows] if flows is not None else None)
    except FlowValidationError as exc:
        typer.echo(exc.display(), err=True)
        raise typer.Exit(1) from None
    if failures:
        raise typer.Exit(1)


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
    orderings: Annotated[
        str | None,
        typer.Option(
            "--orderings",
            help="sim (default) or real: settle races as FreeSWITCH's threads sometimes do.",
        ),
    ] = None,
    seed: Annotated[
        int | None, typer.Option("--seed", help="Seed of --orderings real (replays a run).")
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
        orderings=orderings,
        seed=seed,
    )
    if orderings not in (None, "sim", "real"):
        raise typer.BadParameter(f"--orderings must be sim or real, not {orderings!r}")

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


# -- eslflow run ------------------------------------------------------------------------


@app.command()
def run(
    config: Annotated[
        Path | None,
        typer.Option("--config", help="The engine's configuration file (eslflow.yaml)."),
    ] = None,
    flows: Annotated[
        list[Path] | None,
        typer.Option("--flows", help="Flow files or folders (repeatable; overrides the file)."),
    ] = None,
    inbound: Annotated[
        list[str] | None,
        typer.Option(
            "--inbound", metavar="HOST:PORT", help="Connect to this FreeSWITCH (repeatable)."
        ),
    ] = None,
    password: Annotated[
        str | None,
        typer.Option(
            "--password",
            help="Event socket password for --inbound nodes (default: $ESL_PASSWORD, "
            "else ClueCon).",
        ),
    ] = None,
    outbound: Annotated[
        str | None,
        typer.Option("--outbound", metavar="HOST:PORT", help="Listen for the socket app here."),
    ] = None,
    metrics: Annotated[
        str | None,
        typer.Option("--metrics", metavar="HOST:PORT", help="Serve /metrics and /healthz here."),
    ] = None,
    log_format: Annotated[
        str | None, typer.Option("--log-format", help="Log lines as text or json.")
    ] = None,
    watch: Annotated[
        bool, typer.Option("--watch", help="Reload the flows when their files change.")
    ] = False,
) -> None:
    """Run the flows as a service against FreeSWITCH (inbound and/or outbound)."""
    from runner.aio import run as run_async
    from runner.engine.app import serve
    from runner.engine.config import ConfigError, EngineConfig, apply_overrides, load_config
    from runner.engine.logs import setup_logging

    try:
        settings = load_config(config) if config is not None else EngineConfig()
        settings = apply_overrides(
            settings,
            flows=flows,
            inbound=inbound,
            password=password,
            outbound=outbound,
            metrics=metrics,
            log_format=log_format,
        )
    except ConfigError as exc:
        typer.echo(exc.display(), err=True)
        raise typer.Exit(1) from None
    if watch:
        settings = settings.model_copy(update={"watch": True})
    if not settings.inbound and settings.outbound is None:
        typer.echo(
            "eslflow run: nothing to serve: give --inbound HOST:PORT, --outbound HOST:PORT "
            "or a --config with inbound nodes or an outbound listener",
            err=True,
        )
        raise typer.Exit(2)
    try:
        flow_set = load_flows(list(settings.flows))
    except FlowValidationError as exc:
        for error in exc.errors:
            typer.echo(error.display(), err=True)
        typer.echo(f"eslflow run: refusing to start: {_count(len(exc.errors), 'error')}", err=True)
        raise typer.Exit(1) from None
    setup_logging(settings.log.format, settings.log.level)
    try:
        run_async(serve, settings, flow_set)
    except ConfigError as exc:
        typer.echo(exc.display(), err=True)
        raise typer.Exit(1) from None


# --- flow language: `validate` and `schema` (issue 4) -----------------------------------


class OutputFormat(enum.StrEnum):
    """How `validate` reports."""

    text = "text"
    json = "json"


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}" if number == 1 else f"{number} {noun}s"


@app.command()
def validate(
    paths: Annotated[
        list[Path],
        typer.Argument(
            exists=True,
            metavar="PATH",
            help="Flow files and folders (searched for *.yaml, *.yml).",
        ),
    ],
    output_format: Annotated[
        OutputFormat,
        typer.Option("--format", help="text for people, json for CI tools."),
    ] = OutputFormat.text,
) -> None:
    """Check flows: exit 0 when all are valid, 1 when any is not, 2 on usage errors."""
    files, _ = find_flow_files(paths)
    errors: list[FlowError] = []
    flows = 0
    try:
        flows = len(load_flows(paths))
    except FlowValidationError as exc:
        errors = exc.errors
    if output_format is OutputFormat.json:
        report = {
            "valid": not errors,
            "files": len(files),
            "flows": flows,
            "errors": [error.to_json() for error in errors],
        }
        typer.echo(json.dumps(report, indent=2, ensure_ascii=False))
    elif errors:
        for error in errors:
            typer.echo(error.display())
        broken = len({error.path for error in errors})
        typer.echo(f"{_count(len(errors), 'error')} in {broken} of {_count(len(files), 'file')}")
    else:
        typer.echo(f"{_count(flows, 'flow')} in {_count(len(files), 'file')}: all valid")
    if errors:
        raise typer.Exit(1)


@app.command()
def schema(
    check: Annotated[
        bool, typer.Option("--check", help="Exit 1 if the files in --out are out of date.")
    ] = False,
    out: Annotated[
        Path, typer.Option("--out", file_okay=False, help="Folder of the schema files.")
    ] = Path("schemas"),
) -> None:
    """Write the JSON Schemas of flows and of the engine config (for editors) into schemas/."""
    if check:
        stale = stale_schemas(out, ALL_SCHEMAS)
        for path in stale:
            state = "is out of date" if path.exists() else "is missing"
            typer.echo(f"{path} {state}: run `eslflow schema --out {out}`", err=True)
        if stale:
            raise typer.Exit(1)
        typer.echo(f"{len(ALL_SCHEMAS)} schema file(s) in {out} up to date")
        return
    for path in write_schemas(out, ALL_SCHEMAS):
        typer.echo(f"wrote {path}")


# --- end of flow language commands ------------------------------------------------------


def main() -> None:
    app(args=join_filter_args(sys.argv[1:]), prog_name="eslflow")
