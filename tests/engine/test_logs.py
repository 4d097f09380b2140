"""Every log line names its call, flow and step; passwords never reach a log."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator

import pytest

from runner.engine.logs import call_uuid, flow_name, setup_logging, step_where


@pytest.fixture(autouse=True)
def restore_logging() -> Iterator[None]:
    logger = logging.getLogger("runner")
    state = (list(logger.handlers), logger.level, logger.propagate)
    yield
    logger.handlers[:] = state[0]
    logger.setLevel(state[1])
    logger.propagate = state[2]


def test_json_lines_carry_the_call_context() -> None:
    out = io.StringIO()
    setup_logging("json", "DEBUG", stream=out)
    log = logging.getLogger("runner.engine")
    log.info("outside any call")
    tokens = [call_uuid.set("u-1"), flow_name.set("ivr"), step_where.set("flows/ivr.yaml:12:7")]
    try:
        log.warning("step failed: %s", "-ERR no")
    finally:
        for var, token in zip((call_uuid, flow_name, step_where), tokens, strict=True):
            var.reset(token)
    first, second = (json.loads(line) for line in out.getvalue().splitlines())
    assert {k: first[k] for k in ("level", "logger", "message")} == {
        "level": "info",
        "logger": "runner.engine",
        "message": "outside any call",
    }
    assert "uuid" not in first
    assert {k: second[k] for k in ("level", "message", "uuid", "flow", "step")} == {
        "level": "warning",
        "message": "step failed: -ERR no",
        "uuid": "u-1",
        "flow": "ivr",
        "step": "flows/ivr.yaml:12:7",
    }


def test_text_lines_carry_the_call_context() -> None:
    out = io.StringIO()
    setup_logging("text", "INFO", stream=out)
    token = call_uuid.set("u-2")
    try:
        logging.getLogger("runner.engine").info("hello")
    finally:
        call_uuid.reset(token)
    line = out.getvalue().strip()
    assert line.endswith("INFO  [u-2] hello")


def _log_in_call(fmt: str, message: str, *args: object, exc: bool = False) -> str:
    out = io.StringIO()
    setup_logging(fmt, "INFO", stream=out)  # type: ignore[arg-type]
    tokens = [
        call_uuid.set("u-3\nFAKE"),
        flow_name.set("ivr\r\n"),
        step_where.set("flows/ivr.yaml:1:1\x1b[31m"),
    ]
    try:
        log = logging.getLogger("runner.flow")
        if exc:
            try:
                raise ValueError("bad\r\n2026-01-01T00:00:00.000Z INFO  forged")
            except ValueError:
                log.exception(message, *args)
        else:
            log.info(message, *args)
    finally:
        for var, token in zip((call_uuid, flow_name, step_where), tokens, strict=True):
            var.reset(token)
    return out.getvalue()


FORGED = "Bob\r\n2026-01-01T00:00:00.000Z INFO  [u-9] FAKE line"


def test_text_lines_escape_line_breaks_and_controls_in_every_field() -> None:
    # Issue 10 finding 10: a caller name with CR/LF printed by a `log` step forged a line.
    text = _log_in_call("text", "caller %s \u2028 \x00", FORGED)
    assert text.count("\n") == 1 and text.endswith("\n")
    assert text.rstrip("\n").endswith(
        "INFO  [u-3\\nFAKE ivr\\r\\n flows/ivr.yaml:1:1\\x1b[31m] "
        "caller Bob\\r\\n2026-01-01T00:00:00.000Z INFO  [u-9] FAKE line \\u2028 \\x00"
    )


def test_text_tracebacks_stay_indented_under_their_record() -> None:
    text = _log_in_call("text", "failed", exc=True)
    first, *rest = text.rstrip("\n").split("\n")
    assert first.endswith("ERROR [u-3\\nFAKE ivr\\r\\n flows/ivr.yaml:1:1\\x1b[31m] failed")
    assert rest[0] == "    Traceback (most recent call last):"
    assert all(line.startswith("    ") for line in rest)
    assert rest[-2:] == [
        "    ValueError: bad",
        "    2026-01-01T00:00:00.000Z INFO  forged",
    ]


@pytest.mark.parametrize("fmt", ["text", "json"])
def test_bytes_that_are_not_utf8_can_be_logged(fmt: str) -> None:
    # The codec hands such bytes on as surrogate escapes (issue 10 finding 2): logging
    # them must neither raise nor lose the line, and a JSON line must stay valid UTF-8.
    name = "a\udcff\udcfeb \ud800"
    text = _log_in_call(fmt, "caller %s", name)
    text.encode("utf-8")  # strict: no surrogate reached the output
    assert text.count("\n") == 1
    if fmt == "text":
        assert text.rstrip("\n").endswith("] caller a\\xff\\xfeb \\ud800")
    else:
        line = json.loads(text)
        assert line["message"] == f"caller {name}"
        assert line["uuid"] == "u-3\nFAKE"
        assert line["message"][:-2].encode("utf-8", "surrogateescape") == b"caller a\xff\xfeb"
