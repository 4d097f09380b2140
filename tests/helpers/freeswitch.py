"""A real FreeSWITCH for tests: the one `ESLFLOW_TEST_FREESWITCH` names, or a private one.

`ESLFLOW_TEST_FREESWITCH=host:port[:password]` points the real-switch tests at any
switch (`ESLFLOW_TEST_FREESWITCH_OUTBOUND=host:port` says where its test extensions
9000/9001 connect, if a test needs that). Otherwise, when `../shared/freeswitch/
start-freeswitch` is beside the checkout, a private instance is started on a free port
(under a second) and killed at the end of the run. Without either the tests skip with
one reason, unless `ESLFLOW_REQUIRE_FREESWITCH=1` (set by `.ci/run`) turns that into
a failure: CI must run them, not skip them.
"""

from __future__ import annotations

import os
import subprocess
import uuid
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from helpers.net import free_port

REPO = Path(__file__).resolve().parents[2]
BUNDLE = Path(os.environ.get("ESLFLOW_FREESWITCH", REPO.parent / "shared" / "freeswitch"))
START = BUNDLE / "start-freeswitch"
STOP = BUNDLE / "stop-freeswitch"


@dataclass(frozen=True)
class RealSwitch:
    """Where a real FreeSWITCH's event socket is, and where its 9000/9001 connect."""

    host: str
    port: int
    password: str
    outbound_host: str | None
    outbound_port: int | None
    dir: Path | None  # a private instance's directory (its log is dir/log/freeswitch.log)

    @property
    def log(self) -> str:
        """The instance's log, for a failing test's message (empty for an external switch)."""
        if self.dir is None:
            return ""
        path = self.dir / "log" / "freeswitch.log"
        return path.read_text(errors="replace") if path.exists() else ""


class Unavailable(Exception):
    """No real FreeSWITCH can be had; the text says why."""


def new_uuid() -> str:
    """A fresh origination_uuid (reusing a live one makes FreeSWITCH pick another silently)."""
    return str(uuid.uuid4())


def from_env() -> RealSwitch | None:
    """The switch `ESLFLOW_TEST_FREESWITCH` names, if it is set."""
    spec = os.environ.get("ESLFLOW_TEST_FREESWITCH")
    if not spec:
        return None
    host, _, rest = spec.partition(":")
    port, _, password = rest.partition(":")
    if not host or not port.isdigit():
        raise Unavailable(f"ESLFLOW_TEST_FREESWITCH={spec!r} is not host:port[:password]")
    out = os.environ.get("ESLFLOW_TEST_FREESWITCH_OUTBOUND", "")
    out_host, _, out_port = out.rpartition(":")
    return RealSwitch(
        host=host,
        port=int(port),
        password=password or "ClueCon",
        outbound_host=out_host or None,
        outbound_port=int(out_port) if out_port.isdigit() else None,
        dir=None,
    )


@contextmanager
def private_switch(
    directory: Path,
    *,
    outbound_port: int | None = None,
    acl: str | None = None,
    esl_port: int | None = None,
) -> Iterator[RealSwitch]:
    """Start a private FreeSWITCH in `directory`; kill it when the block ends."""
    if not START.exists():
        raise Unavailable(f"no FreeSWITCH bundle at {BUNDLE}")
    port = outbound_port or free_port()
    argv = ["bash", str(START), "--dir", str(directory), "--outbound", f"127.0.0.1:{port}"]
    if acl is not None:
        argv += ["--acl", acl]
    if esl_port is not None:
        argv += ["--esl-port", str(esl_port)]
    proc = subprocess.run(argv, capture_output=True, text=True, timeout=60, check=False)
    if proc.returncode != 0:
        raise Unavailable(f"start-freeswitch failed: {proc.stderr.strip()[-2000:]}")
    env = dict(line.split("=", 1) for line in proc.stdout.splitlines() if "=" in line)
    host, _, esl_port = env["FREESWITCH_ESL"].rpartition(":")
    switch = RealSwitch(
        host=host,
        port=int(esl_port),
        password=env["FREESWITCH_PASSWORD"],
        outbound_host="127.0.0.1",
        outbound_port=port,
        dir=Path(env["FREESWITCH_DIR"]),
    )
    try:
        yield switch
    finally:
        # --kill: a clean shutdown costs 3-4 s and tests need nothing from it.
        subprocess.run(
            ["bash", str(STOP), env["FREESWITCH_DIR"], "--kill"],
            capture_output=True,
            timeout=30,
            check=False,
        )


__all__ = [
    "RealSwitch",
    "Unavailable",
    "free_port",
    "from_env",
    "new_uuid",
    "private_or_skip",
    "private_switch",
]


def required() -> bool:
    """True where the real-switch tests must run (CI): unavailability fails them."""
    return os.environ.get("ESLFLOW_REQUIRE_FREESWITCH", "") not in ("", "0")


@contextmanager
def private_or_skip(directory: Path, **options: Any) -> Iterator[RealSwitch]:
    """`private_switch` for a test that needs a switch of its own (an ACL, a restart): the
    test skips when no bundle is here (an external ESLFLOW_TEST_FREESWITCH), or fails
    under ESLFLOW_REQUIRE_FREESWITCH."""
    with ExitStack() as stack:
        try:
            switch = stack.enter_context(private_switch(directory, **options))
        except Unavailable as exc:
            reason = f"no private FreeSWITCH: {exc}"
            if required():
                pytest.fail(reason)
            pytest.skip(reason)
        yield switch
