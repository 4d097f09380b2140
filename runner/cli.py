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
from runner.esl.cli import esl_app, join_filter_args
from runner.flow import FlowError, FlowValidationError, find_flow_files, load_flows
from runner.flow.schema import stale_schemas, write_schemas
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


@app.command()
def demo() -> None:
    """Run the example flows against the embedded FreeSWITCH simulator."""
    typer.echo("eslflow demo: not yet — the engine and simulator are still being built.")


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
