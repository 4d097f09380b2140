"""The engine's configuration file: values, exact errors with positions, flags, secrets."""

import json
from pathlib import Path

import jsonschema
import pytest
from pydantic import SecretStr

from runner.engine.config import (
    ConfigError,
    EngineConfig,
    InboundNode,
    LogConfig,
    MetricsConfig,
    OutboundListener,
    apply_overrides,
    config_schema,
    load_config,
)
from runner.engine.config_fields import format_duration
from runner.flow import load_flows
from runner.flow.schema import render, stale_schemas
from runner.schemas import ALL_SCHEMAS

ROOT = Path(__file__).resolve().parents[2]
SECRET = "hunter2-Secret"


@pytest.fixture(autouse=True)
def _no_esl_password(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ESL_PASSWORD", raising=False)


def write(tmp_path: Path, text: str, name: str = "eslflow.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def errors_of(path: Path) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    return [str(error) for error in caught.value.errors]


# --- values ------------------------------------------------------------------------------


def test_defaults() -> None:
    config = EngineConfig()
    assert config.flows == [Path("flows")]
    assert config.inbound == []
    assert config.outbound is None
    assert config.metrics is None
    assert config.log == LogConfig(format="text", level="info")
    assert (config.drain_timeout, config.watch, config.event_buffer) == (30.0, False, 100_000)
    outbound = OutboundListener()
    assert (outbound.host, outbound.port) == ("127.0.0.1", 8084)
    assert outbound.allow == ["127.0.0.0/8", "::1/128"]
    assert outbound.unmatched_hangup_cause == "NO_ROUTE_DESTINATION"
    assert (MetricsConfig().host, MetricsConfig().port) == ("127.0.0.1", 9184)
    node = InboundNode()
    assert (node.host, node.port, node.format, node.label) == (
        "127.0.0.1",
        8021,
        "json",
        "127.0.0.1:8021",
    )


def test_an_empty_mapping_is_all_defaults_with_flows_next_to_the_file(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, "{}\n"))
    assert config == EngineConfig(flows=[tmp_path / "flows"])


def test_every_field(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PBX1_PASSWORD", "from-env")
    (tmp_path / "pbx2.password").write_text("s3cret\n")
    config = load_config(
        write(
            tmp_path,
            """\
flows: [flows, /srv/flows/extra.yaml, ../shared]
inbound:
  - name: pbx1
    host: pbx1.example.net
    port: 8022
    password_env: PBX1_PASSWORD
    format: plain
  - host: "::1"
    password_file: pbx2.password
    format: xml
outbound:
  listen: "[::1]:0"
  allow: [10.0.0.0/8, "fd00::/8"]
  unmatched_hangup_cause: 21
metrics: {listen: "0.0.0.0:9100"}
log: {format: json, level: debug}
drain_timeout: 1500ms
watch: true
event_buffer: 500
""",
        )
    )
    assert config.flows == [
        tmp_path / "flows",
        Path("/srv/flows/extra.yaml"),
        tmp_path.parent / "shared",
    ]
    first, second = config.inbound
    assert (first.label, first.host, first.port, first.format) == (
        "pbx1",
        "pbx1.example.net",
        8022,
        "plain",
    )
    assert (first.password_env, first.resolve_password()) == ("PBX1_PASSWORD", "from-env")
    assert (second.label, second.host, second.format) == ("[::1]:8021", "::1", "xml")
    assert second.password_file == tmp_path / "pbx2.password"
    assert second.resolve_password() == "s3cret"
    assert config.outbound is not None
    assert (config.outbound.host, config.outbound.port) == ("::1", 0)
    assert config.outbound.allow == ["10.0.0.0/8", "fd00::/8"]
    assert config.outbound.unmatched_hangup_cause == "CALL_REJECTED"  # Q.850 code 21
    assert config.metrics is not None
    assert (config.metrics.host, config.metrics.port) == ("0.0.0.0", 9100)
    assert config.log == LogConfig(format="json", level="debug")
    assert (config.drain_timeout, config.watch, config.event_buffer) == (1.5, True, 500)


def test_single_items_need_no_list(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, "flows: ivr.yaml\ninbound: {host: 10.0.0.5}\n"))
    assert config.flows == [tmp_path / "ivr.yaml"]
    assert [node.label for node in config.inbound] == ["10.0.0.5:8021"]


def test_relative_paths_resolve_against_the_config_files_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "etc").mkdir()
    write(tmp_path / "etc", "flows: [flows, ../var/flows]\n")
    monkeypatch.chdir(tmp_path)
    config = load_config(Path("etc/eslflow.yaml"))
    assert config.flows == [Path("etc/flows"), Path("var/flows")]


def test_hangup_cause_aliases_become_the_name_freeswitch_knows(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, "outbound: {unmatched_hangup_cause: TEMPORARY_FAILURE}\n"))
    assert config.outbound is not None
    assert config.outbound.unmatched_hangup_cause == "NORMAL_TEMPORARY_FAILURE"


def test_python_callers_may_give_seconds_and_plain_strings() -> None:
    config = EngineConfig(
        flows=["a", Path("b")],  # type: ignore[list-item]
        drain_timeout=0.25,
        inbound=[{"host": "10.0.0.1", "port": 8021}],  # type: ignore[list-item]
    )
    assert config.flows == [Path("a"), Path("b")]
    assert config.drain_timeout == 0.25
    assert config.inbound == [InboundNode(host="10.0.0.1")]
    assert EngineConfig(drain_timeout="2m").drain_timeout == 120.0  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(30.0, "30s"), (0.5, "500ms"), (120.0, "2m"), (7200.0, "2h"), (90.0, "90s"), (1.5, "1500ms")],
)
def test_durations_serialize_as_a_config_file_writes_them(seconds: float, text: str) -> None:
    assert format_duration(seconds) == text
    dumped = json.loads(EngineConfig(drain_timeout=seconds).model_dump_json())
    assert dumped["drain_timeout"] == text


def test_the_models_are_immutable() -> None:
    config = EngineConfig()
    with pytest.raises(ValueError, match="frozen"):
        config.watch = True  # type: ignore[misc]


# --- errors ------------------------------------------------------------------------------

ERRORS = [
    (
        "inboud: []\n",
        "1:1: unknown key 'inboud' in the configuration — did you mean 'inbound'?",
    ),
    (
        "inbound:\n  - hots: 10.0.0.1\n",
        "2:5: unknown key 'hots' in 'inbound' — did you mean 'host'?",
    ),
    (
        "outbound:\n  listen: 127.0.0.1:8084\n  alow: [10.0.0.0/8]\n",
        "3:3: unknown key 'alow' in 'outbound' — did you mean 'allow'?",
    ),
    ("log: {levle: info}\n", "1:7: unknown key 'levle' in 'log' — did you mean 'level'?"),
    ("inbound:\n  - port: 80210\n", "2:11: port must be from 1 to 65535, got 80210"),
    ("inbound:\n  - port: 0\n", "2:11: port must be from 1 to 65535, got 0"),
    ("inbound:\n  - port: '8021'\n", "2:11: port must be a whole number, got '8021'"),
    (
        "inbound:\n  - host: 10.0.0.1:8021\n",
        "2:11: '10.0.0.1:8021': put the port in 'port', not in 'host'",
    ),
    (
        "inbound:\n  - host: pbx 1\n",
        "2:11: 'pbx 1' is not a host name or IP address",
    ),
    ("inbound:\n  - host: 10.0.0.300\n", "2:11: '10.0.0.300' is not a host name or IP address"),
    ("inbound:\n  - format: yaml\n", "2:13: 'format' must be 'plain', 'json' or 'xml', got 'yaml'"),
    (
        "inbound:\n  - name: ''\n",
        "2:11: a node's name is one line of 1 to 100 printable characters",
    ),
    (
        "inbound:\n  - password_env: $PBX_PASSWORD\n",
        "2:19: write the variable's name without '$': PBX_PASSWORD",
    ),
    (
        "inbound:\n  - password_env: pbx-password\n",
        "2:19: 'pbx-password' is not an environment variable name (letters, digits and _)",
    ),
    (
        "inbound:\n  - password_env: A\n    password_file: /etc/x\n",
        "3:5: give one of password, password_env or password_file, not password_env and "
        "password_file",
    ),
    (
        "inbound:\n  - {name: pbx, host: 10.0.0.1}\n  - {name: pbx, host: 10.0.0.2}\n",
        "3:6: inbound node 'pbx' is given twice (items 1 and 2): give each node a distinct name",
    ),
    (
        "inbound:\n  - host: 10.0.0.1\n  - host: 10.0.0.1\n",
        "3:5: inbound node '10.0.0.1:8021' is given twice (items 1 and 2): give each node a "
        "distinct name",
    ),
    (
        "outbound: {listen: 8084}\n",
        "1:20: expected host:port like 127.0.0.1:8084, got 8084",
    ),
    (
        "outbound: {listen: '127.0.0.1'}\n",
        "1:20: expected host:port like 127.0.0.1:8084 (IPv6 in brackets: [::1]:8084), "
        "got '127.0.0.1'",
    ),
    (
        "outbound: {listen: '::1:8084'}\n",
        "1:20: expected host:port like 127.0.0.1:8084 (IPv6 in brackets: [::1]:8084), "
        "got '::1:8084'",
    ),
    (
        "outbound: {listen: '127.0.0.1:99999'}\n",
        "1:20: port must be from 0 to 65535, got 99999",
    ),
    ("outbound: {listen: '[10.0.0.1]:8084'}\n", "1:20: '[10.0.0.1]' is not an IPv6 address"),
    ("metrics: {listen: 'localhost:http'}\n", "1:19: port must be a number, got 'http'"),
    (
        "outbound:\n  allow: [10.0.0.0/8, 10.0.0.0/33]\n",
        "2:23: '10.0.0.0/33' is not a network: write an address with a prefix length, "
        "like 10.0.0.0/8 or ::1/128",
    ),
    (
        "outbound:\n  allow:\n    - 127.0.0.0/8\n    - localhost\n",
        "4:7: 'localhost' is not a network: write an address with a prefix length, "
        "like 10.0.0.0/8 or ::1/128",
    ),
    (
        "outbound: {allow: []}\n",
        "1:19: 'allow' must not be empty: an empty allow-list refuses every connection",
    ),
    (
        "outbound: {unmatched_hangup_cause: NO_ROUTE_DESTINATON}\n",
        "1:36: unknown hangup cause 'NO_ROUTE_DESTINATON' — did you mean 'NO_ROUTE_DESTINATION'?",
    ),
    ("outbound: {unmatched_hangup_cause: 4}\n", "1:36: unknown hangup cause code 4"),
    ("drain_timeout: 30\n", "1:16: a duration needs a unit: write 30s or 30ms"),
    (
        "drain_timeout: 30 seconds\n",
        "1:16: expected a duration like 500ms, 10s, 2m or 1h, got '30 seconds'",
    ),
    ("drain_timeout: 0s\n", "1:16: a duration must be longer than zero, got '0s'"),
    ("watch: yes\n", "1:8: 'watch' must be true or false, got 'yes'"),
    (
        "outbound: {max_connections: 0}\n",
        "1:29: 'max_connections' must be at least 1, got 0",
    ),
    (
        "outbound: {max_call_duration: 4}\n",
        "1:31: a duration needs a unit: write 4s or 4ms",
    ),
    ("event_buffer: 5\n", "1:15: 'event_buffer' must be at least 100, got 5"),
    ("event_buffer: 1e3\n", "1:15: 'event_buffer' must be a whole number, got 1000.0"),
    (
        "log: {format: JSON}\n",
        "1:15: 'format' must be 'text' or 'json', got 'JSON' — did you mean 'json'?",
    ),
    (
        "log: {level: warn}\n",
        "1:14: 'level' must be 'debug', 'info', 'warning' or 'error', got 'warn' — did you "
        "mean 'warning'?",
    ),
    ("flows: []\n", "1:8: 'flows' needs at least one file or folder"),
    ("flows: [flows, 3]\n", "1:16: expected a path, got 3"),
    ("inbound: [pbx1]\n", "1:11: an item of 'inbound' must be a mapping, got 'pbx1'"),
    ("outbound: true\n", "1:11: 'outbound' must be a mapping, got true"),
    ("log: json\n", "1:6: 'log' must be a mapping, got 'json'"),
    # YAML-level mistakes
    ("watch: true\nwatch: false\n", "2:1: duplicate key 'watch' (first defined on line 1)"),
    ("inbound:\n\t- host: a\n", "2:1: tab character in indentation: YAML indents with spaces"),
    (
        "log: {format: text\n",
        "2:1: YAML syntax error: expected ',' or '}', but got '<stream end>' (while parsing a "
        "flow mapping that starts at 1:6)",
    ),
    (
        "",
        "1:1: empty file: expected the engine's configuration (a mapping with flows:, "
        "inbound:, outbound:, ...)",
    ),
    (
        "- flows\n",
        "1:1: the configuration must be a mapping of keys (flows:, inbound:, outbound:, ...), "
        "got a list",
    ),
    (
        "watch: true\n---\nwatch: false\n",
        "3:1: a configuration file holds one YAML document; remove the '---' and what follows",
    ),
]


@pytest.mark.parametrize(("text", "expected"), ERRORS, ids=[e[1][:40] for e in ERRORS])
def test_each_mistake_is_reported_at_its_place(tmp_path: Path, text: str, expected: str) -> None:
    path = write(tmp_path, text)
    assert errors_of(path) == [f"{path}:{expected}"]


def test_every_mistake_of_a_file_is_reported_at_once(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "inbound:\n  - hots: a\n    port: 0\noutbound: {allow: [nope]}\ndrain_timeout: 5\n",
    )
    assert errors_of(path) == [
        f"{path}:2:5: unknown key 'hots' in 'inbound' — did you mean 'host'?",
        f"{path}:3:11: port must be from 1 to 65535, got 0",
        f"{path}:4:20: 'nope' is not a network: write an address with a prefix length, like "
        "10.0.0.0/8 or ::1/128",
        f"{path}:5:16: a duration needs a unit: write 5s or 5ms",
    ]


def test_errors_display_like_flow_errors_with_a_caret(tmp_path: Path) -> None:
    path = write(tmp_path, "log:\n  level: verbose\n")
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    assert caught.value.display() == (
        f"{path}:2:10: 'level' must be 'debug', 'info', 'warning' or 'error', got 'verbose'\n"
        "      level: verbose\n"
        "             ^"
    )
    assert str(caught.value) == str(caught.value.errors[0])


def test_a_file_that_cannot_be_read(tmp_path: Path) -> None:
    assert errors_of(tmp_path / "missing.yaml") == [f"{tmp_path / 'missing.yaml'}: no such file"]
    assert errors_of(tmp_path) == [f"{tmp_path}: is a folder, not a file"]
    path = tmp_path / "latin1.yaml"
    path.write_bytes(b"# caf\xe9\nwatch: true\n")
    assert errors_of(path) == [f"{path}: not UTF-8 text (byte 5 cannot be decoded)"]


# --- passwords ---------------------------------------------------------------------------


def test_password_sources(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert InboundNode().resolve_password() == "ClueCon"
    monkeypatch.setenv("ESL_PASSWORD", "from-default-env")
    assert InboundNode().resolve_password() == "from-default-env"
    assert InboundNode(password=SecretStr("literal")).resolve_password() == "literal"
    monkeypatch.setenv("PBX_PASSWORD", "from-env")
    assert InboundNode(password_env="PBX_PASSWORD").resolve_password() == "from-env"
    secret = tmp_path / "secret"
    secret.write_bytes(b"from-file\r\nsecond line is ignored\n")
    node = InboundNode(password_file=secret)
    assert node.resolve_password() == "from-file"
    secret.write_text("rotated")  # read on each call: a rotated file takes effect
    assert node.resolve_password() == "rotated"


def test_missing_password_sources_are_reported_at_their_place(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("PBX1_PASSWORD", raising=False)
    monkeypatch.setenv("PBX2_PASSWORD", "")
    (tmp_path / "empty.password").write_text("\nsecond\n")
    (tmp_path / "folder.password").mkdir()
    path = write(
        tmp_path,
        """\
inbound:
  - name: pbx1
    password_env: PBX1_PASSWORD
  - name: pbx2
    password_env: PBX2_PASSWORD
  - name: pbx3
    password_file: missing.password
  - name: pbx4
    password_file: empty.password
  - name: pbx5
    password_file: folder.password
""",
    )
    assert errors_of(path) == [
        f"{path}:3:19: inbound node 'pbx1': password_env: environment variable PBX1_PASSWORD "
        "is not set",
        f"{path}:5:19: inbound node 'pbx2': password_env: environment variable PBX2_PASSWORD "
        "is empty",
        f"{path}:7:20: inbound node 'pbx3': password_file: cannot read "
        f"{tmp_path / 'missing.password'}: no such file",
        f"{path}:9:20: inbound node 'pbx4': password_file: {tmp_path / 'empty.password'}: "
        "the first line (the password) is empty",
        f"{path}:11:20: inbound node 'pbx5': password_file: cannot read "
        f"{tmp_path / 'folder.password'}: it is a folder",
    ]


def test_a_password_source_that_fails_later_still_names_its_place(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PBX1_PASSWORD", "at-start")
    path = write(tmp_path, "inbound:\n  - password_env: PBX1_PASSWORD\n")
    node = load_config(path).inbound[0]
    monkeypatch.delenv("PBX1_PASSWORD")
    with pytest.raises(ConfigError) as caught:
        node.resolve_password()
    assert caught.value.display() == (
        f"{path}:2:19: inbound node '127.0.0.1:8021': password_env: environment variable "
        "PBX1_PASSWORD is not set\n"
        "      - password_env: PBX1_PASSWORD\n"
        "                      ^"
    )


def test_a_node_built_in_code_names_itself(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NOPE", raising=False)
    with pytest.raises(ConfigError) as caught:
        InboundNode(name="pbx9", password_env="NOPE").resolve_password()
    assert str(caught.value) == (
        "configuration: inbound node 'pbx9': password_env: environment variable NOPE is not set"
    )


def test_an_environment_password_with_a_line_break_is_refused(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("PBX_PASSWORD", f"{SECRET}\nauth x")
    with pytest.raises(ConfigError) as caught:
        InboundNode(password_env="PBX_PASSWORD").resolve_password()
    assert str(caught.value) == (
        "configuration: inbound node '127.0.0.1:8021': password_env: environment variable "
        "PBX_PASSWORD holds a line break"
    )


# --- no password is ever shown -----------------------------------------------------------

LEAKS = [
    # (config text, the error the user sees)
    (
        f"inbound:\n  - password: {SECRET}\n    port: 99999\n",
        "3:11: port must be from 1 to 65535, got 99999",
    ),
    (
        f"inbound:\n  - pasword: {SECRET}\n",
        "2:5: unknown key 'pasword' in 'inbound' — did you mean 'password'?",
    ),
    (
        f"inbound:\n  - {{host: a, passwd: {SECRET}}}\n",
        "2:15: unknown key 'passwd' in 'inbound' — did you mean 'password'?",
    ),
    (f"password: {SECRET}\n", "1:1: unknown key 'password' in the configuration"),
    ("inbound:\n  - password: 12345678\n", "2:15: password must be text (put it in quotes)"),
    (f"inbound:\n  - password: [{SECRET}]\n", "2:15: password must be text (put it in quotes)"),
    (
        f"inbound:\n  - password: |\n      {SECRET}\n      second\n",
        "2:15: password holds a line break",
    ),
    (
        f'inbound:\n  - password: "{SECRET}\\x1b[2J"\n',
        "2:15: password holds a control character",
    ),
    (
        f"inbound:\n  - password: {SECRET}\n    password: other-{SECRET}\n",
        "3:5: duplicate key 'password' (first defined on line 2)",
    ),
    (
        f"watch: true\n---\npassword: {SECRET}\n",
        "3:1: a configuration file holds one YAML document; remove the '---' and what follows",
    ),
    (
        f'inbound:\n  - password: "{SECRET}\n',
        "3:1: YAML syntax error: found unexpected end of stream (while scanning a quoted "
        "scalar that starts at 2:15)",
    ),
]


@pytest.mark.parametrize(("text", "expected"), LEAKS, ids=[e[1][:40] for e in LEAKS])
def test_no_error_shows_a_password(tmp_path: Path, text: str, expected: str) -> None:
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    error = caught.value
    assert [str(e) for e in error.errors] == [f"{path}:{expected}"]
    for shown in (str(error), repr(error), error.display(), repr(error.errors)):
        assert SECRET not in shown
        assert "12345678" not in shown


def test_the_masked_line_keeps_the_caret_useful(tmp_path: Path) -> None:
    path = write(tmp_path, f"inbound:\n  - pasword: {SECRET}\n")
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    assert caught.value.display() == (
        f"{path}:2:5: unknown key 'pasword' in 'inbound' — did you mean 'password'?\n"
        "      - pasword: ********\n"
        "        ^"
    )


def test_no_repr_or_dump_shows_a_password(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PBX2_PASSWORD", SECRET)
    (tmp_path / "pbx3.password").write_text(SECRET + "\n")
    path = write(
        tmp_path,
        f"""\
inbound:
  - {{name: pbx1, password: "{SECRET}"}}
  - {{name: pbx2, password_env: PBX2_PASSWORD}}
  - {{name: pbx3, password_file: pbx3.password}}
""",
    )
    config = load_config(path)
    assert [node.resolve_password() for node in config.inbound] == [SECRET] * 3
    flagged = apply_overrides(config, inbound=["10.0.0.1:8021"], password=SECRET)
    assert flagged.inbound[0].resolve_password() == SECRET
    for shown in (
        repr(config),
        str(config),
        config.model_dump_json(),
        repr(config.model_dump()),
        repr(flagged),
        flagged.model_dump_json(),
    ):
        assert SECRET not in shown


def test_a_bad_password_flag_is_not_echoed() -> None:
    with pytest.raises(ConfigError) as caught:
        apply_overrides(EngineConfig(), inbound=["10.0.0.1:8021"], password=f"{SECRET}\nx")
    assert str(caught.value) == "--password: must be one non-empty line"


def test_pydantic_errors_from_code_do_not_echo_a_password() -> None:
    with pytest.raises(ValueError) as caught:
        InboundNode(password=f"{SECRET}\r\nauth x")  # type: ignore[arg-type]
    assert "password holds a line break" in str(caught.value)
    assert SECRET not in str(caught.value)
    assert SECRET not in repr(caught.value)


# --- flags -------------------------------------------------------------------------------


def file_config(tmp_path: Path) -> EngineConfig:
    return load_config(
        write(
            tmp_path,
            """\
flows: [flows]
inbound: [{name: pbx1, host: 10.0.0.9}]
outbound: {listen: "127.0.0.1:8084", allow: [10.0.0.0/8], unmatched_hangup_cause: CALL_REJECTED}
log: {format: text, level: debug}
""",
        )
    )


def test_no_flags_change_nothing(tmp_path: Path) -> None:
    config = file_config(tmp_path)
    assert apply_overrides(config) == config


def test_flags_override_the_file(tmp_path: Path) -> None:
    config = file_config(tmp_path)
    new = apply_overrides(
        config,
        flows=[Path("other/flows"), Path("x.yaml")],
        inbound=["127.0.0.1:8021", "[::1]:8022", "pbx.example.net:8021"],
        password="ClueCon2",
        outbound="0.0.0.0:9000",
        metrics="127.0.0.1:0",
        log_format="json",
    )
    assert new.flows == [Path("other/flows"), Path("x.yaml")]
    assert [(node.label, node.host, node.port) for node in new.inbound] == [
        ("127.0.0.1:8021", "127.0.0.1", 8021),
        ("[::1]:8022", "::1", 8022),
        ("pbx.example.net:8021", "pbx.example.net", 8021),
    ]
    assert {node.resolve_password() for node in new.inbound} == {"ClueCon2"}
    assert new.outbound == OutboundListener(
        listen="0.0.0.0:9000", allow=["10.0.0.0/8"], unmatched_hangup_cause="CALL_REJECTED"
    )
    assert new.metrics == MetricsConfig(listen="127.0.0.1:0")
    assert new.log == LogConfig(format="json", level="debug")
    # the file's config is left as it was
    assert config.inbound[0].label == "pbx1"
    assert config.flows == [tmp_path / "flows"]


def test_flags_alone_need_no_file() -> None:
    config = apply_overrides(
        EngineConfig(), flows=[Path("flows")], inbound=["127.0.0.1:8021"], outbound="127.0.0.1:8084"
    )
    assert config.inbound == [InboundNode()]
    assert config.inbound[0].resolve_password() == "ClueCon"
    assert config.outbound == OutboundListener()


def test_inbound_nodes_from_flags_use_the_default_password(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("ESL_PASSWORD", "from-env")
    config = apply_overrides(EngineConfig(), inbound=["127.0.0.1:8021"])
    assert config.inbound[0].resolve_password() == "from-env"


@pytest.mark.parametrize(
    ("flags", "expected"),
    [
        (
            {"inbound": ["127.0.0.1"]},
            "--inbound: expected host:port like 127.0.0.1:8021 (IPv6 in brackets: "
            "[::1]:8021), got '127.0.0.1'",
        ),
        ({"inbound": ["127.0.0.1:0"]}, "--inbound: port must be from 1 to 65535, got 0"),
        ({"inbound": ["pbx one:8021"]}, "--inbound: 'pbx one' is not a host name or IP address"),
        (
            {"inbound": ["10.0.0.1:8021", "10.0.0.1:8021"]},
            "--inbound: 10.0.0.1:8021 is given twice",
        ),
        (
            {"outbound": "::1:8084"},
            "--outbound: expected host:port like 127.0.0.1:8084 (IPv6 in brackets: "
            "[::1]:8084), got '::1:8084'",
        ),
        ({"metrics": "localhost:99999"}, "--metrics: port must be from 0 to 65535, got 99999"),
        ({"log_format": "xml"}, "--log-format: must be 'text' or 'json', got 'xml'"),
        ({"flows": []}, "--flows: needs at least one file or folder"),
        (
            {"password": "ClueCon"},
            "--password: applies to the nodes given by --inbound; a config file's nodes take "
            "theirs from password_env or password_file",
        ),
    ],
)
def test_bad_flags_name_the_flag(flags: dict[str, object], expected: str) -> None:
    with pytest.raises(ConfigError) as caught:
        apply_overrides(EngineConfig(), **flags)  # type: ignore[arg-type]
    assert str(caught.value) == expected


# --- schema and the example --------------------------------------------------------------


def test_the_committed_schemas_are_current() -> None:
    assert stale_schemas(ROOT / "schemas", ALL_SCHEMAS) == []
    committed = (ROOT / "schemas" / "config.schema.json").read_text()
    assert committed == render(config_schema())


def test_the_schema_documents_every_key_for_editors() -> None:
    schema = config_schema()
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert schema["title"] == "eslflow engine configuration"
    definitions = [schema, *schema["$defs"].values()]
    assert len(definitions) == 5
    for definition in definitions:
        assert definition["additionalProperties"] is False
        assert definition.get("description")
        for key, value in definition["properties"].items():
            assert value.get("description"), key
            assert value.get("examples"), key
    properties = schema["properties"]
    assert properties["drain_timeout"]["default"] == "30s"
    assert properties["flows"]["default"] == ["flows"]
    cause = schema["$defs"]["OutboundListener"]["properties"]["unmatched_hangup_cause"]
    assert "NO_ROUTE_DESTINATION" in cause["enum"]


def test_the_schema_refuses_what_the_loader_refuses() -> None:
    validator = jsonschema.Draft202012Validator(config_schema())
    assert validator.is_valid({"inbound": [{"host": "a", "port": 8021}], "drain_timeout": "5s"})
    assert validator.is_valid({"flows": "flows", "inbound": {"host": "a"}})
    for bad in (
        {"inboud": []},
        {"inbound": [{"hots": "a"}]},
        {"inbound": [{"port": 70000}]},
        {"drain_timeout": 30},
        {"drain_timeout": "30 seconds"},
        {"outbound": {"unmatched_hangup_cause": "NO_ROUTE"}},
        {"log": {"level": "verbose"}},
        {"event_buffer": 5},
    ):
        assert not validator.is_valid(bad), bad


EXAMPLE = ROOT / "docs" / "eslflow.yaml"


def test_the_documented_example_loads_and_points_editors_at_the_schema() -> None:
    assert EXAMPLE.read_text().splitlines()[0] == (
        "# yaml-language-server: $schema=../schemas/config.schema.json"
    )
    config = load_config(EXAMPLE)
    assert config.flows == [ROOT / "flows"]
    assert [node.label for node in config.inbound] == ["pbx1"]
    assert config.outbound == OutboundListener()
    assert config.metrics == MetricsConfig()
    assert config.drain_timeout == 30.0
    assert len(load_flows(config.flows)) > 0


def test_the_documented_example_passes_the_committed_schema() -> None:
    from runner.flow.yamldoc import parse_yaml

    schema = json.loads((ROOT / "schemas" / "config.schema.json").read_text())
    source = parse_yaml(EXAMPLE.read_text(), str(EXAMPLE))
    assert source.errors == []
    jsonschema.Draft202012Validator(schema).validate(source.documents[0].data)


def test_outbound_limits_parse_default_and_survive_the_listen_flag(tmp_path: Path) -> None:
    defaults = load_config(write(tmp_path, "outbound: {}\n")).outbound
    assert defaults is not None
    assert (defaults.max_connections, defaults.max_call_duration, defaults.connect_timeout) == (
        2000,
        4 * 3600.0,
        5.0,
    )
    text = "outbound: {max_connections: 50, max_call_duration: 90m, connect_timeout: 2s}\n"
    config = apply_overrides(load_config(write(tmp_path, text)), outbound="127.0.0.1:0")
    assert config.outbound is not None
    assert config.outbound.port == 0
    assert (
        config.outbound.max_connections,
        config.outbound.max_call_duration,
        config.outbound.connect_timeout,
    ) == (50, 5400.0, 2.0)
