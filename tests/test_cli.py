from typer.testing import CliRunner

from runner.cli import app


def test_no_arguments_prints_usage() -> None:
    result = CliRunner().invoke(app, [])
    assert result.exit_code == 2, result.output
    assert "demo" in result.output


def test_version() -> None:
    result = CliRunner().invoke(app, ["--version"])
    assert result.exit_code == 0, result.output
    assert result.output == "eslflow 0.1.0\n"
