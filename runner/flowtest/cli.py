"""`eslflow test`: run flow tests on the embedded simulator, on a virtual clock.

Exit codes: 0 every test passed; 1 a test failed, or a test file or its flows are
invalid (`path:line:col` errors); 2 usage errors.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

if TYPE_CHECKING:
    from runner.flowtest.suite import CaseResult


def test(
    paths: Annotated[
        list[Path] | None,
        typer.Argument(
            metavar="PATH",
            help="Test files (*.test.yaml) and folders searched for them (default: .).",
        ),
    ] = None,
    junit: Annotated[
        Path | None,
        typer.Option("--junit", metavar="FILE", dir_okay=False, help="Also write JUnit XML."),
    ] = None,
    record: Annotated[
        bool,
        typer.Option(
            "--record",
            help="Rewrite each test's expect: from what the engine did (with --call: "
            "write a new test file PATH).",
        ),
    ] = False,
    verbose: Annotated[
        bool, typer.Option("--verbose", "-v", help="Show the details of passing tests too.")
    ] = False,
    call: Annotated[
        str | None,
        typer.Option(
            "--call", metavar="DESTINATION", help="--record a new test: the number dialled."
        ),
    ] = None,
    caller: Annotated[
        str | None, typer.Option("--caller", metavar="NUMBER", help="New test: caller number.")
    ] = None,
    caller_name: Annotated[
        str | None, typer.Option("--caller-name", metavar="NAME", help="New test: caller name.")
    ] = None,
    dtmf: Annotated[
        list[str] | None,
        typer.Option("--dtmf", metavar="DIGITS", help="New test: keys for a prompt (repeatable)."),
    ] = None,
    hangup_after: Annotated[
        str | None,
        typer.Option("--hangup-after", metavar="DURATION", help="New test: the caller hangs up."),
    ] = None,
    at: Annotated[
        str | None,
        typer.Option("--at", metavar="TIME", help="New test: the clock (2026-03-02T10:00+01:00)."),
    ] = None,
    flows: Annotated[
        list[str] | None,
        typer.Option(
            "--flows", metavar="PATH", help="New test: flows to load, relative to the new file."
        ),
    ] = None,
    name: Annotated[str | None, typer.Option("--name", help="New test: its name.")] = None,
) -> None:
    """Run flow tests: a simulated call against the flows, checked against expect:."""
    given = paths or [Path(".")]
    new_options = [caller, caller_name, dtmf, hangup_after, at, flows, name]
    if call is None and any(option is not None for option in new_options):
        _usage(
            "--caller, --caller-name, --dtmf, --hangup-after, --at, --flows and --name "
            "describe a new test: give --record --call DESTINATION too"
        )
    if call is not None:
        if not record:
            _usage("--call writes a new test file: give --record too")
        if len(given) != 1:
            _usage("--record --call writes one new test file: give exactly one PATH")
        target = given[0]
        if target.exists():
            _usage(f"{target} exists: drop --call to record it again")
        if not target.name.endswith((".test.yaml", ".test.yml")):
            _usage(f"{target}: name test files *.test.yaml")
        from runner.flowtest.record import new_test_text

        target.write_text(
            new_test_text(
                name=name or f"a call to {call}",
                destination=call,
                caller_number=caller,
                caller_name=caller_name,
                dtmf=dtmf or (),
                hangup_after=hangup_after,
                at=at,
                flows=flows or (),
            ),
            encoding="utf-8",
        )
    if record:
        _record(given)
        return
    _run(given, junit, verbose)


def _usage(message: str) -> None:
    typer.echo(f"eslflow test: {message}", err=True)
    raise typer.Exit(2)


def _run(paths: list[Path], junit: Path | None, verbose: bool) -> None:
    # Imported here: the simulator, the engine and trio load only for this command.
    from runner.flowtest.report import render, summary, write_junit
    from runner.flowtest.suite import run_tests

    def show(result: CaseResult) -> None:
        typer.echo(render(result, verbose=verbose))

    suite = run_tests(paths, on_result=show)
    typer.echo(summary(suite))
    if junit is not None:
        write_junit(suite, junit)
    if not suite.ok:
        raise typer.Exit(1)


def _record(paths: list[Path]) -> None:
    from runner.flowtest.harness import format_seconds
    from runner.flowtest.record import RecordError, record_file
    from runner.flowtest.suite import FlowCache

    cache = FlowCache()
    failed = False
    for path in paths:
        if path.is_dir():
            _usage(f"{path} is a folder: --record rewrites test files; name them")
        try:
            recorded = record_file(path, cache)
        except RecordError as exc:
            typer.echo(str(exc), err=True)
            failed = True
            continue
        except FileNotFoundError:
            typer.echo(f"{path}: no such file", err=True)
            failed = True
            continue
        for result in recorded.results:
            outcome = result.run.outcome if result.run is not None else None
            commands = sum(1 for c in outcome.commands if c.by_step) if outcome else 0
            typer.echo(
                f"RECORDED {result.where}  {result.name}  "
                f"({commands} commands, {format_seconds(result.simulated)} s simulated)"
            )
            if outcome is not None:
                for line in outcome.errors:
                    typer.echo(f"  note: the engine reported an error: {line.message}")
                if outcome.timed_out:
                    typer.echo("  note: the test was still running at its timeout")
    if failed:
        raise typer.Exit(1)
