"""The engine's configuration file (`eslflow.yaml`): nodes, listeners, flows, logs.

```python
config = load_config(Path("/etc/eslflow/eslflow.yaml"))   # ConfigError: path:line:col
config = apply_overrides(config, inbound=["10.0.0.5:8021"], password="ClueCon")
password = config.inbound[0].resolve_password()            # env / file / literal
```

The file is read with the flow language's YAML layer (positions for every value,
duplicate keys and tabs refused) and its errors are translated the same way, so a
mistake reads `eslflow.yaml:7:5: unknown key 'hots' in 'inbound' — did you mean
'host'?`. Relative paths in the file resolve against the file's folder. Passwords
never appear in a message, a repr or a printed source line.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Annotated, Any, Final, Literal, Self

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PrivateAttr,
    ValidationError,
    model_validator,
)
from pydantic_core import ErrorDetails

from runner.engine.address import format_address, parse_address
from runner.engine.config_fields import (
    MASK,
    ConfigPath,
    DrainTimeout,
    Duration,
    EnvName,
    Host,
    MatchTimeout,
    MetricsListen,
    Networks,
    NodeName,
    OutboundListen,
    Password,
    Port,
    as_list,
    flows_list,
)
from runner.engine.control import DEFAULT_STEP_BUDGET
from runner.esl.password import PasswordError, clean_password
from runner.flow.errors import FlowError, suggest
from runner.flow.fields import HangupCause, OrSingle, describe_input, invalid
from runner.flow.regexes import DEFAULT_MATCH_TIMEOUT
from runner.flow.schema import SCHEMA_DIALECT
from runner.flow.translate import translate
from runner.flow.yamldoc import DataPath, Document, SourceFile, parse_yaml

DEFAULT_PASSWORD: Final = "ClueCon"
"""FreeSWITCH's shipped event socket password (event_socket.conf.xml)."""

PASSWORD_ENV: Final = "ESL_PASSWORD"
"""Read for a node that names no password source, as `eslflow esl` does."""

_CONFIG_ROOT: Final = "the configuration"
_EXPECTED: Final = "the engine's configuration (a mapping with flows:, inbound:, outbound:, ...)"
_NO_ORIGIN: Final = "configuration"
"""The `path` of an error about a node that was not read from a file."""


class ConfigError(Exception):
    """Every mistake found in the configuration (or the flags), as `path:line:col: message`.

    `errors` are FlowErrors, sorted by place, so they print like flow errors; none of them
    carries a password.
    """

    def __init__(self, errors: Iterable[FlowError]) -> None:
        self.errors: list[FlowError] = sorted(errors, key=FlowError.sort_key)
        super().__init__(self.__str__())

    def __str__(self) -> str:
        return "\n".join(str(error) for error in self.errors)

    def display(self) -> str:
        """All errors with their source lines and carets."""
        return "\n".join(error.display() for error in self.errors)


# --- models ----------------------------------------------------------------------------


class _Model(BaseModel):
    """Strict types, unknown keys refused, immutable; inputs never echoed by pydantic."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True, hide_input_in_errors=True)


class InboundNode(_Model):
    """One FreeSWITCH to connect to (its mod_event_socket, event_socket.conf.xml).

    The password comes from one of password_env, password_file or password; with none of
    them, from $ESL_PASSWORD, else FreeSWITCH's default ClueCon.
    """

    name: NodeName | None = Field(
        default=None,
        description="A name for logs and metrics (default: host:port); unique among nodes.",
        examples=["pbx1"],
    )
    host: Host = Field(
        default="127.0.0.1",
        description="The switch's address (event_socket.conf.xml listen-ip).",
        examples=["127.0.0.1", "pbx1.example.net", "::1"],
    )
    port: Port = Field(
        default=8021,
        description="The event socket port (event_socket.conf.xml listen-port).",
        examples=[8021],
    )
    password: Password | None = Field(
        default=None,
        description="The password itself. Discouraged: anyone who can read this file has "
        "it; prefer password_env or password_file.",
        examples=["ClueCon"],
    )
    password_env: EnvName | None = Field(
        default=None,
        description="Name of an environment variable holding the password (e.g. set by "
        "systemd's EnvironmentFile).",
        examples=["ESL_PASSWORD", "PBX1_ESL_PASSWORD"],
    )
    password_file: ConfigPath | None = Field(
        default=None,
        description="A file whose first line is the password (relative to this file's "
        "folder); keep it readable by eslflow's user only.",
        examples=["/etc/eslflow/pbx1.password", "/run/credentials/eslflow.service/esl"],
    )
    format: Literal["plain", "json", "xml"] = Field(
        default="json",
        description="The event format to subscribe with.",
        examples=["json"],
    )

    _origin: dict[str, FlowError] = PrivateAttr(default_factory=dict)
    """Where the node and its password source are written, for errors found later."""

    @model_validator(mode="after")
    def _one_password_source(self) -> Self:
        given = [key for key in ("password", "password_env", "password_file") if getattr(self, key)]
        if len(given) > 1:
            raise invalid(
                f"give one of password, password_env or password_file, not {given[0]} "
                f"and {given[1]}",
                at=(given[1],),
            )
        return self

    @property
    def label(self) -> str:
        """The node's name, else `host:port`."""
        return self.name if self.name is not None else format_address(self.host, self.port)

    def resolve_password(self) -> str:
        """The password from its source; ConfigError naming node and source if missing.

        Read on each call, so resolving per connection picks up a rotated password file.
        """
        if self.password is not None:
            return self.password.get_secret_value()
        if self.password_env is not None:
            value = os.environ.get(self.password_env)
            if value is None:
                raise self._error(
                    "password_env", f"environment variable {self.password_env} is not set"
                )
            return self._clean(value, f"environment variable {self.password_env}", "password_env")
        if self.password_file is not None:
            return self._read_password_file(self.password_file)
        value = os.environ.get(PASSWORD_ENV)
        if value is None:
            return DEFAULT_PASSWORD
        return self._clean(value, f"environment variable {PASSWORD_ENV}", PASSWORD_ENV)

    def _clean(self, value: str, what: str, source: str) -> str:
        try:
            return clean_password(value, what)
        except PasswordError as exc:
            raise self._error(source, str(exc)) from None

    def _read_password_file(self, path: Path) -> str:
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            raise self._error("password_file", f"cannot read {path}: no such file") from None
        except IsADirectoryError:
            raise self._error("password_file", f"cannot read {path}: it is a folder") from None
        except PermissionError:
            raise self._error("password_file", f"cannot read {path}: permission denied") from None
        except OSError as exc:
            raise self._error("password_file", f"cannot read {path}: {exc.strerror}") from None
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            raise self._error("password_file", f"{path} is not UTF-8 text") from None
        first = text.lstrip("\ufeff").split("\n", 1)[0].removesuffix("\r")
        if not first:
            raise self._error("password_file", f"{path}: the first line (the password) is empty")
        return self._clean(first, f"{path}: the first line (the password)", "password_file")

    def _error(self, source: str, message: str) -> ConfigError:
        text = f"inbound node '{self.label}': {source}: {message}"
        where = self._origin.get(source)
        if where is None:
            return ConfigError([FlowError(_NO_ORIGIN, None, None, text)])
        return ConfigError([replace(where, message=text)])


class OutboundListener(_Model):
    """The listener for FreeSWITCH's `socket` application (outbound mode)."""

    listen: OutboundListen = Field(
        default="127.0.0.1:8084",
        description="host:port to listen on; the dialplan's socket application connects "
        "here (`socket 127.0.0.1:8084 async full`).",
        examples=["127.0.0.1:8084", "[::1]:8084", "0.0.0.0:8084"],
    )
    allow: Networks = Field(
        default_factory=lambda: ["127.0.0.0/8", "::1/128"],
        description="Networks (CIDR) allowed to connect; others are refused.",
        examples=[["127.0.0.0/8", "::1/128"], ["10.0.0.0/8"]],
        json_schema_extra={"default": ["127.0.0.0/8", "::1/128"]},
    )
    unmatched_hangup_cause: HangupCause = Field(
        default="NO_ROUTE_DESTINATION",
        description="The hangup cause sent to a call that no outbound flow matches.",
        examples=["NO_ROUTE_DESTINATION", "CALL_REJECTED"],
    )
    # Bounds on what peers may hold (issue 10, finding 7).
    max_connections: int = Field(
        default=2000,
        ge=1,
        le=1_000_000,
        description="Sockets open at once, calls and handshakes together; more are closed "
        'at once (counted in eslflow_outbound_connections{result="over_cap"}).',
        examples=[2000],
    )
    max_call_duration: Duration = Field(
        default=4 * 3600.0,
        description="A call still connected after this long is hung up "
        "(ALLOTTED_TIMEOUT) and closed.",
        examples=["4h", "90m"],
        json_schema_extra={"default": "4h"},
    )
    connect_timeout: Duration = Field(
        default=5.0,
        description="How long a new socket may take to answer `connect` before it is closed.",
        examples=["5s"],
        json_schema_extra={"default": "5s"},
    )

    @property
    def host(self) -> str:
        return parse_address(self.listen, example="127.0.0.1:8084", lowest_port=0)[0]

    @property
    def port(self) -> int:
        return parse_address(self.listen, example="127.0.0.1:8084", lowest_port=0)[1]


class MetricsConfig(_Model):
    """Prometheus metrics (/metrics) and the health check (/healthz) over HTTP."""

    listen: MetricsListen = Field(
        default="127.0.0.1:9184",
        description="host:port of the HTTP endpoint.",
        examples=["127.0.0.1:9184", "0.0.0.0:9184"],
    )

    @property
    def host(self) -> str:
        return parse_address(self.listen, example="127.0.0.1:9184", lowest_port=0)[0]

    @property
    def port(self) -> int:
        return parse_address(self.listen, example="127.0.0.1:9184", lowest_port=0)[1]


class LogConfig(_Model):
    """Logs on stderr; every line carries the call's uuid, the flow and the step."""

    format: Literal["text", "json"] = Field(
        default="text",
        description="text for people, json for log shippers (one object per line).",
        examples=["text", "json"],
    )
    level: Literal["debug", "info", "warning", "error"] = Field(
        default="info",
        description="The least severe level written.",
        examples=["info", "debug"],
    )


class EngineConfig(_Model):
    """The configuration of `eslflow run`: which flows, which switches, which listeners."""

    flows: Annotated[list[ConfigPath], BeforeValidator(flows_list), OrSingle()] = Field(
        default_factory=lambda: [Path("flows")],
        validate_default=True,
        description="Flow files and folders (folders are searched for *.yaml, *.yml); "
        "relative paths are relative to this file's folder.",
        examples=[["flows"], ["/etc/eslflow/flows", "extra/ivr.yaml"]],
        json_schema_extra={"default": ["flows"]},
    )
    inbound: Annotated[list[InboundNode], BeforeValidator(as_list), OrSingle()] = Field(
        default_factory=list,
        description="FreeSWITCH nodes to connect to (inbound mode); one mapping or a list.",
        examples=[[{"name": "pbx1", "host": "127.0.0.1", "password_env": "ESL_PASSWORD"}]],
    )
    outbound: OutboundListener | None = Field(
        default=None,
        description="Listen for the dialplan's socket application (outbound mode); "
        "absent: no listener.",
        examples=[{"listen": "127.0.0.1:8084", "allow": ["127.0.0.0/8"]}],
    )
    metrics: MetricsConfig | None = Field(
        default=None,
        description="Serve /metrics and /healthz; absent: not served.",
        examples=[{"listen": "127.0.0.1:9184"}],
    )
    log: LogConfig = Field(
        default_factory=LogConfig,
        description="Log format and level.",
        examples=[{"format": "json", "level": "info"}],
    )
    drain_timeout: DrainTimeout = Field(
        default=30.0,
        description="On SIGTERM, how long running flows may take to finish before their "
        "connections are closed.",
        examples=["30s", "500ms", "2m"],
        json_schema_extra={"default": "30s"},
    )
    regex_timeout: MatchTimeout = Field(
        default=DEFAULT_MATCH_TIMEOUT,
        description="The longest one regex search of a flow condition may run; past it the "
        "condition does not hold, an error is logged and eslflow_condition_timeouts counts "
        "it. It keeps a backtracking pattern on a caller's value from stalling every call.",
        examples=["20ms", "100ms"],
        json_schema_extra={"default": "20ms"},
    )
    watch: bool = Field(
        default=False,
        description="Reload the flows when their files change (as SIGHUP does).",
        examples=[False],
    )
    event_buffer: int = Field(
        default=100_000,
        ge=100,
        le=10_000_000,
        description="Events a connection's reader may hand ahead of the engine before the "
        "oldest are dropped (counted and logged; job results are kept). Flow instances "
        "themselves queue nothing: they take an event only while a step waits for it.",
        examples=[100_000],
    )
    step_budget: int = Field(
        default=DEFAULT_STEP_BUDGET,
        ge=100,
        le=100_000_000,
        description="Steps a flow instance may run in a row without waiting for an event "
        "or sleeping; one more fails the step (its on_error runs). It stops a goto or "
        "repeat loop that never waits from holding the engine.",
        examples=[DEFAULT_STEP_BUDGET],
    )

    @model_validator(mode="after")
    def _unique_node_labels(self) -> Self:
        seen: dict[str, int] = {}
        for index, node in enumerate(self.inbound):
            first = seen.setdefault(node.label, index)
            if first != index:
                at: tuple[str | int, ...] = ("inbound", index)
                raise invalid(
                    f"inbound node '{node.label}' is given twice (items {first + 1} and "
                    f"{index + 1}): give each node a distinct name",
                    at=(*at, "name") if node.name is not None else at,
                )
        return self


# --- loading ---------------------------------------------------------------------------

_SAFE_KEYS: Final = frozenset(
    name
    for model in (EngineConfig, InboundNode, OutboundListener, MetricsConfig, LogConfig)
    for name in model.model_fields
) - {"password"}
_SECRET_WORDS: Final = re.compile(r"pass|pw|secret|token|key|auth|cred", re.IGNORECASE)


def _secret_key(key: str) -> bool:
    """Whether the value under `key` may be a password: `password`, or a key that is not
    one of ours and looks like one (`pasword`, `passwd`, `secret`)."""
    if key in _SAFE_KEYS:
        return False
    return bool(_SECRET_WORDS.search(key)) or suggest(key, ["password"]) is not None


_KEY = re.compile(r"""(?:^|[\s{,?-])["']?([A-Za-z_][\w-]*)["']?\s*:(?=\s|$)""")
_BLOCK_KEY = re.compile(r"""^\s*(?:-\s+)*["']?([A-Za-z_][\w-]*)["']?\s*:(?:\s+|$)""")


def _safe_line(line: str) -> str | None:
    """`line` as it may be printed: a password-like key's value masked, or None."""
    keys = _KEY.findall(line)
    if not any(_secret_key(key) for key in keys):
        return line
    block = _BLOCK_KEY.match(line)
    if block is not None and len(keys) == 1:
        return line[: block.end()] + MASK if line[block.end() :].strip() else line
    return None


def _scrub(errors: Iterable[FlowError]) -> list[FlowError]:
    """Errors fit to print: a password-like value masked in the quoted source line.

    Messages never hold such a value: the password's validator does not echo its input,
    and an unknown key's message names only the key.
    """
    cleaned = []
    for error in errors:
        line = None if error.source_line is None else _safe_line(error.source_line)
        cleaned.append(replace(error, source_line=line))
    return cleaned


def _translated(error: ErrorDetails, source: SourceFile, document: Document) -> FlowError:
    """Our message for a pydantic error; pydantic's own at the document if ours fails."""
    try:
        return translate(error, EngineConfig, source, document, root_name=_CONFIG_ROOT)
    except Exception:
        where = ".".join(str(part) for part in error["loc"])
        return source.error(document.values.get(()), f"{where}: {error['msg']}")


def _node_path(data: dict[str, Any], index: int) -> DataPath:
    return ("inbound",) if isinstance(data.get("inbound"), dict) else ("inbound", index)


def load_config(path: Path) -> EngineConfig:
    """Read and validate the YAML configuration at `path`.

    Raises ConfigError with every mistake (`path:line:col: message`), including a
    password_env that is not set or a password_file that cannot be read.
    """
    name = str(path)
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise ConfigError([FlowError(name, None, None, "no such file")]) from None
    except IsADirectoryError:
        raise ConfigError([FlowError(name, None, None, "is a folder, not a file")]) from None
    except OSError as exc:
        raise ConfigError([FlowError(name, None, None, f"cannot read: {exc.strerror}")]) from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        message = f"not UTF-8 text (byte {exc.start} cannot be decoded)"
        raise ConfigError([FlowError(name, None, None, message)]) from None

    source = parse_yaml(text, name, expected=_EXPECTED)
    if source.errors:
        raise ConfigError(_scrub(source.errors))
    document = source.documents[0]
    if len(source.documents) > 1:
        extra = source.documents[1]
        message = "a configuration file holds one YAML document; remove the '---' and what follows"
        raise ConfigError(_scrub([source.error(extra.values.get(()), message)]))
    data = document.data
    if not isinstance(data, dict):
        message = (
            "the configuration must be a mapping of keys (flows:, inbound:, outbound:, ...), "
            f"got {describe_input(data)}"
        )
        raise ConfigError(_scrub([source.error(document.values.get(()), message)]))

    try:
        config = EngineConfig.model_validate(data, context={"base": path.parent, "file": True})
    except ValidationError as exc:
        details = exc.errors(include_url=False, include_context=True, include_input=True)
        errors = [_translated(error, source, document) for error in details]
        raise ConfigError(_scrub(errors)) from None

    problems: list[FlowError] = []
    for index, node in enumerate(config.inbound):
        node_path = _node_path(data, index)
        for key in ("password_env", "password_file"):
            mark = document.values.get((*node_path, key))
            if mark is not None:
                node._origin[key] = source.error(mark, "")
        try:
            node.resolve_password()
        except ConfigError as exc:
            problems.extend(exc.errors)
    if problems:
        raise ConfigError(_scrub(problems))
    return config


# --- flags -----------------------------------------------------------------------------


def _flag_address(flag: str, value: str, example: str, lowest_port: int) -> tuple[str, int]:
    try:
        return parse_address(value, example=example, lowest_port=lowest_port)
    except ValueError as exc:
        raise ConfigError([FlowError(flag, None, None, str(exc))]) from None


def apply_overrides(
    config: EngineConfig,
    *,
    flows: Sequence[Path] | None = None,
    inbound: Sequence[str] | None = None,
    password: str | None = None,
    outbound: str | None = None,
    metrics: str | None = None,
    log_format: str | None = None,
) -> EngineConfig:
    """The `eslflow run` flags laid over `config` (a new config; `config` is unchanged).

    `--inbound` (host:port, repeatable) replaces the file's nodes; `--password` is the
    password of those nodes (without it they use $ESL_PASSWORD, else ClueCon).
    `--outbound` / `--metrics` set the listen address, keeping the file's other settings.
    A bad value raises ConfigError naming the flag.
    """
    update: dict[str, Any] = {}
    errors: list[FlowError] = []
    if flows is not None:
        if not flows:
            errors.append(FlowError("--flows", None, None, "needs at least one file or folder"))
        update["flows"] = [Path(path) for path in flows]
    if password is not None and not inbound:
        errors.append(
            FlowError(
                "--password",
                None,
                None,
                "applies to the nodes given by --inbound; a config file's nodes take theirs "
                "from password_env or password_file",
            )
        )
    if inbound:
        nodes: list[InboundNode] = []
        for value in inbound:
            try:
                host, port = _flag_address("--inbound", value, "127.0.0.1:8021", 1)
                nodes.append(InboundNode(host=host, port=port, password=password))  # type: ignore[arg-type]
            except ConfigError as exc:
                errors.extend(exc.errors)
            except ValidationError:
                # Only the password can fail here; its text must not be shown.
                errors.append(FlowError("--password", None, None, "must be one non-empty line"))
        labels = [node.label for node in nodes]
        for label in sorted({label for label in labels if labels.count(label) > 1}):
            errors.append(FlowError("--inbound", None, None, f"{label} is given twice"))
        update["inbound"] = nodes
    if outbound is not None:
        try:
            _flag_address("--outbound", outbound, "127.0.0.1:8084", 0)
            current = config.outbound or OutboundListener()
            update["outbound"] = current.model_copy(update={"listen": outbound})
        except ConfigError as exc:
            errors.extend(exc.errors)
    if metrics is not None:
        try:
            _flag_address("--metrics", metrics, "127.0.0.1:9184", 0)
            update["metrics"] = MetricsConfig(listen=metrics)
        except ConfigError as exc:
            errors.extend(exc.errors)
    if log_format is not None:
        if log_format not in ("text", "json"):
            errors.append(
                FlowError(
                    "--log-format", None, None, f"must be 'text' or 'json', got '{log_format}'"
                )
            )
        else:
            update["log"] = config.log.model_copy(update={"format": log_format})
    if errors:
        raise ConfigError(errors)
    return config.model_copy(update=update)


# --- schema ----------------------------------------------------------------------------

CONFIG_SCHEMA_FILE: Final = "config.schema.json"


def config_schema() -> dict[str, Any]:
    """The JSON Schema of the configuration file, for editors (yaml-language-server)."""
    schema = EngineConfig.model_json_schema(mode="validation")
    schema["$defs"] = dict(sorted(schema["$defs"].items()))
    return {
        "$schema": SCHEMA_DIALECT,
        "title": "eslflow engine configuration",
        "description": "The configuration of `eslflow run`: flows, FreeSWITCH nodes (inbound "
        "mode), the socket listener (outbound mode), metrics and logs.",
        **{key: value for key, value in schema.items() if key not in ("title", "description")},
    }
