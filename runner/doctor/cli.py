"""`eslflow doctor`: the typer command; the checks live in `runner.doctor.checks`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from runner.doctor.findings import OutputFormat


def doctor(
    config: Annotated[
        Path | None,
        typer.Option("--config", help="Check the nodes, listener and flows of this config file."),
    ] = None,
    inbound: Annotated[
        list[str] | None,
        typer.Option(
            "--inbound",
            metavar="HOST:PORT",
            help="The FreeSWITCH event socket to check (repeatable; default 127.0.0.1:8021).",
        ),
    ] = None,
    password: Annotated[
        str | None,
        typer.Option(
            "--password",
            help="Event socket password for --inbound (default: $ESL_PASSWORD, else ClueCon).",
            show_default=False,
        ),
    ] = None,
    outbound: Annotated[
        str | None,
        typer.Option(
            "--outbound",
            metavar="HOST:PORT",
            help="Where the dialplan's `socket` should reach eslflow; checked by --call.",
        ),
    ] = None,
    flows: Annotated[
        list[Path] | None,
        typer.Option("--flows", help="Check the events these flows need (repeatable)."),
    ] = None,
    call: Annotated[
        list[str] | None,
        typer.Option(
            "--call",
            metavar="EXT",
            help="Place a loopback test call to this extension: does it park, or reach "
            "--outbound through `socket`? (repeatable; no call is placed without it)",
        ),
    ] = None,
    context: Annotated[
        str, typer.Option("--context", help="Dialplan context of the --call extensions.")
    ] = "default",
    timeout: Annotated[
        float, typer.Option("--timeout", help="Seconds to wait for each check.", min=0.1)
    ] = 5.0,
    output_format: Annotated[
        OutputFormat, typer.Option("--format", help="text for people, json for tools.")
    ] = OutputFormat.text,
) -> None:
    """Check a FreeSWITCH before going live: exit 0 when ready, 1 when a check fails."""
    from runner.aio import run as run_async
    from runner.doctor.checks import Plan, diagnose
    from runner.doctor.findings import failed, render_json, render_table
    from runner.engine.app import node_specs, outbound_spec
    from runner.engine.config import ConfigError, EngineConfig, apply_overrides, load_config
    from runner.engine.service import ENGINE_EVENTS
    from runner.flow import FlowValidationError, load_flows

    try:
        settings = load_config(config) if config is not None else EngineConfig()
        if not inbound and not settings.inbound:
            inbound = ["127.0.0.1:8021"]
        settings = apply_overrides(
            settings, flows=flows, inbound=inbound, password=password, outbound=outbound
        )
        nodes = node_specs(settings)
    except ConfigError as exc:
        typer.echo(exc.display(), err=True)
        raise typer.Exit(1) from None
    events = ENGINE_EVENTS
    if settings.flows and (config is not None or flows):
        try:
            events = events | load_flows(list(settings.flows)).subscriptions()
        except FlowValidationError as exc:
            for error in exc.errors:
                typer.echo(error.display(), err=True)
            raise typer.Exit(1) from None
    plan = Plan(
        nodes=tuple(nodes),
        outbound=outbound_spec(settings),
        events=frozenset(events),
        calls=tuple(call or ()),
        context=context,
        timeout=timeout,
    )
    findings = run_async(diagnose, plan)
    if output_format is OutputFormat.json:
        typer.echo(render_json(findings))
    else:
        typer.echo(render_table(findings))
    if failed(findings):
        raise typer.Exit(1)
