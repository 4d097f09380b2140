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
