"""`eslflow validate` and `eslflow schema`: exit codes and exactly what they print."""

import json
import os
from pathlib import Path

import pytest
from typer.testing import CliRunner

from runner.cli import app

ROOT = Path(__file__).resolve().parents[1]

BAD = "flow: bad\nsteps:\n  - exectue: answer\n  - hangup: BUSY\n"


def invoke(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, list(args))
    return result.exit_code, result.output


def words(output: str) -> str:
    """Usage errors come in a box that wraps lines: compare their words."""
    return " ".join(output.replace("│", " ").split())


def test_validate_the_shipped_examples() -> None:
    code, output = invoke("validate", str(ROOT / "flows"))
    assert (code, output) == (0, "8 flows in 7 files: all valid\n")


def test_validate_one_file(tmp_path: Path) -> None:
    (tmp_path / "one.yaml").write_text("flow: one\nsteps: [stop]\n")
    assert invoke("validate", str(tmp_path / "one.yaml")) == (0, "1 flow in 1 file: all valid\n")


def test_validate_prints_every_error_with_its_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    Path("flows").mkdir()
    Path("flows/bad.yaml").write_text(BAD)
    Path("flows/good.yaml").write_text("flow: good\nsteps: [stop]\n")
    code, output = invoke("validate", "flows")
    assert code == 1
    assert output == (
        f"flows{os.sep}bad.yaml:3:5: unknown step 'exectue' — did you mean 'execute'?\n"
        "      - exectue: answer\n"
        "        ^\n"
        f"flows{os.sep}bad.yaml:4:13: unknown hangup cause 'BUSY' — did you mean 'USER_BUSY'?\n"
        "      - hangup: BUSY\n"
        "                ^\n"
        "2 errors in 1 of 2 files\n"
    )


def test_validate_json_for_ci(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    Path("bad.yaml").write_text(BAD)
    code, output = invoke("validate", "--format", "json", "bad.yaml")
    assert code == 1
    assert json.loads(output) == {
        "valid": False,
        "files": 1,
        "flows": 0,
        "errors": [
            {
                "path": "bad.yaml",
                "line": 3,
                "column": 5,
                "message": "unknown step 'exectue' — did you mean 'execute'?",
            },
            {
                "path": "bad.yaml",
                "line": 4,
                "column": 13,
                "message": "unknown hangup cause 'BUSY' — did you mean 'USER_BUSY'?",
            },
        ],
        "warnings": [],
    }


def test_validate_json_when_valid() -> None:
    code, output = invoke("validate", "--format", "json", str(ROOT / "flows"))
    assert code == 0
    assert json.loads(output) == {
        "valid": True,
        "files": 7,
        "flows": 8,
        "errors": [],
        "warnings": [],
    }


SPIN = (
    "flow: spin\nsteps: [{goto: a}]\nvars: {x: 0}\nblocks:\n"
    "  a: [{set: {x: 1}}, {goto: b}]\n  b: [{goto: a}]\n"
)
SPIN_WARNING = (
    "this goto/call cycle never waits on the switch (no execute, api, bgapi, wait, sleep, "
    "hangup...): goto b at spin.yaml:5:22 -> goto a at spin.yaml:6:7; an instance that "
    "enters it keeps the engine busy until its step budget ends it"
)


def test_validate_warns_about_a_cycle_that_never_waits(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    Path("spin.yaml").write_text(SPIN)
    assert invoke("validate", "spin.yaml") == (
        0,
        f"spin.yaml:5:22: warning: {SPIN_WARNING}\n"
        "      a: [{set: {x: 1}}, {goto: b}]\n"
        "                         ^\n"
        "1 flow in 1 file: all valid, 1 warning\n",
    )
    code, output = invoke("validate", "--format", "json", "spin.yaml")
    assert code == 0
    assert json.loads(output) == {
        "valid": True,
        "files": 1,
        "flows": 1,
        "errors": [],
        "warnings": [{"path": "spin.yaml", "line": 5, "column": 22, "message": SPIN_WARNING}],
    }


def test_an_empty_folder_is_invalid(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    Path("empty").mkdir()
    assert invoke("validate", "empty") == (
        1,
        "empty: no flow files (*.yaml, *.yml)\n1 error in 1 of 0 files\n",
    )


def test_a_missing_path_is_a_usage_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    code, output = invoke("validate", "no-such-flows")
    assert code == 2
    assert "Invalid value for 'PATH': path 'no-such-flows' does not exist." in words(output)


def test_validate_needs_a_path() -> None:
    code, output = invoke("validate")
    assert code == 2
    assert "Missing argument 'PATH'." in words(output)


def test_an_unknown_format_is_a_usage_error() -> None:
    code, output = invoke("validate", "--format", "xml", str(ROOT / "flows"))
    assert code == 2
    assert "Invalid value for '--format': Value error, 'xml' is not one of 'text', 'json'." in (
        words(output)
    )


def test_schema_check_passes_on_the_committed_schemas() -> None:
    code, output = invoke("schema", "--check", "--out", str(ROOT / "schemas"))
    assert (code, output) == (0, f"3 schema file(s) in {ROOT / 'schemas'} up to date\n")


def test_schema_writes_and_check_notices_staleness(tmp_path: Path) -> None:
    out = tmp_path / "schemas"
    flow, config = out / "flow.schema.json", out / "config.schema.json"
    tests = out / "test.schema.json"
    code, output = invoke("schema", "--check", "--out", str(out))
    assert (code, output) == (
        1,
        f"{flow} is missing: run `eslflow schema --out {out}`\n"
        f"{config} is missing: run `eslflow schema --out {out}`\n"
        f"{tests} is missing: run `eslflow schema --out {out}`\n",
    )
    code, output = invoke("schema", "--out", str(out))
    assert (code, output) == (0, f"wrote {flow}\nwrote {config}\nwrote {tests}\n")
    for written in (flow, config, tests):
        assert written.read_text() == (ROOT / "schemas" / written.name).read_text()
    config.write_text("{}\n")
    code, output = invoke("schema", "--check", "--out", str(out))
    assert (code, output) == (
        1,
        f"{config} is out of date: run `eslflow schema --out {out}`\n",
    )


def test_run_prints_the_warnings_before_it_starts(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    Path("spin.yaml").write_text(SPIN)
    served: list[int] = []
    # Only what `run` prints before serving is under test: no service, no global logging.
    monkeypatch.setattr("runner.aio.run", lambda serve, settings, flows: served.append(len(flows)))
    monkeypatch.setattr("runner.engine.logs.setup_logging", lambda *args: None)
    result = CliRunner().invoke(app, ["run", "--flows", "spin.yaml", "--outbound", "127.0.0.1:0"])
    assert (result.exit_code, served) == (0, [1]), result.output
    assert result.stderr == (
        f"spin.yaml:5:22: warning: {SPIN_WARNING}\n"
        "      a: [{set: {x: 1}}, {goto: b}]\n"
        "                         ^\n"
    )
