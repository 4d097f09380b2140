"""The deployment documentation stays true: its snippets parse and load, the unit is complete."""

import configparser
import re
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from runner.engine.config import load_config

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text()


def blocks(language: str) -> list[str]:
    return re.findall(rf"```{language}\n(.*?)```", README, flags=re.DOTALL)


def test_the_quick_start_is_two_commands() -> None:
    quick = README.split("## Quick start\n", 1)[1].split("\n## ", 1)[0]
    assert re.findall(r"```sh\n(.*?)```", quick, flags=re.DOTALL) == [
        "eslflow demo          # the example flows on the embedded FreeSWITCH simulator\n"
        "python -m pytest -q   # the test suite\n"
    ]


def test_the_freeswitch_snippets_are_well_formed_xml() -> None:
    snippets = blocks("xml")
    assert len(snippets) == 3
    socket_conf, park, socket_app = (ET.fromstring(snippet) for snippet in snippets)
    params = {p.get("name"): p.get("value") for p in socket_conf.iter("param")}
    assert set(params) == {"listen-ip", "listen-port", "password", "apply-inbound-acl"}
    assert [a.get("application") for a in park.iter("action")] == ["park"]
    actions = [(a.get("application"), a.get("data")) for a in socket_app.iter("action")]
    assert actions[0] == ("socket", "127.0.0.1:8084 async full")


def test_the_readme_config_loads(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ESL_PASSWORD", "x")
    (yaml,) = blocks("yaml")
    path = tmp_path / "eslflow.yaml"
    path.write_text(yaml)
    config = load_config(path)
    assert config.flows == [tmp_path / "flows"]
    assert [node.label for node in config.inbound] == ["pbx1"]
    assert config.outbound is not None and config.outbound.allow == ["127.0.0.0/8"]
    assert config.metrics is not None and config.metrics.port == 9184


def test_the_systemd_unit() -> None:
    unit = configparser.ConfigParser(interpolation=None, strict=True)
    unit.optionxform = str  # type: ignore[assignment,method-assign]
    unit.read_string((ROOT / "docs" / "eslflow.service").read_text())
    service = unit["Service"]
    assert service["User"] == "eslflow"
    assert service["EnvironmentFile"] == "/etc/eslflow/eslflow.env"
    assert service["ExecStart"].endswith("eslflow run --config /etc/eslflow/eslflow.yaml")
    assert service["ExecReload"] == "/bin/kill -HUP $MAINPID"
    assert service["Restart"] == "on-failure"
    assert int(service["TimeoutStopSec"]) > 30  # longer than the default drain_timeout
    assert unit["Install"]["WantedBy"] == "multi-user.target"
