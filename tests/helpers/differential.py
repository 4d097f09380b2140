"""Differential runs: one scripted scenario on the simulator and on a real FreeSWITCH.

A scenario is ``async def scenario(run: Run) -> None``; it drives the switch through
the same client code on both sides (`runner.esl.InboundConnection`, an
`OutboundServer` for socket calls) and records what it saw through `Run`. Each run
becomes a `Trace` with the uuids replaced by leg names (``9002-a`` is the a-leg of
``loopback/9002``), and `compare` lists where two traces differ as `Divergence`s.

The "Known differences" table of docs/simulator.md (`known_differences`) lists the
divergences we keep, each with its reason; a divergence that matches no entry fails
the differential test, so a new one cannot slip in unnoticed.
"""

from __future__ import annotations

import difflib
import fnmatch
import json
import re
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path

import anyio
import anyio.abc

from runner.esl import (
    EslCommandError,
    Event,
    InboundConnection,
    OutboundConnection,
    OutboundServer,
)
from runner.sim import Simulator

DOC = Path(__file__).resolve().parents[2] / "docs" / "simulator.md"
LEG = re.compile(r"^(\w+)(?:/[^-]*)?-([ab])$")  # "9002/default-a" (first CODEC) is "9002-a"
UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")

# Events that say nothing about a scenario: the switch's own clock and bookkeeping.
IGNORED = frozenset({"HEARTBEAT", "RE_SCHEDULE", "API", "SESSION_HEARTBEAT", "RELOADXML"})


@dataclass(frozen=True)
class Backend:
    """Where a scenario runs: an event socket, and the port its 9000/9001 connect to."""

    name: str  # "sim" or "real"
    host: str
    port: int
    password: str
    outbound_port: int


@dataclass(frozen=True)
class Divergence:
    """One way the simulator's trace differs from the real switch's.

    ``kind`` is events / headers / reply / api / order; ``where`` the leg, event or
    step; ``detail`` what differs (``+X``: only the real switch has X, ``-X``: only
    the simulator).
    """

    scenario: str
    kind: str
    where: str
    detail: str

    def __str__(self) -> str:
        return f"| `{self.scenario}` | {self.kind} | `{self.where}` | `{self.detail}` |"


@dataclass(frozen=True)
class Known:
    """A row of the Known differences table: fnmatch patterns and the reason it is kept."""

    scenario: str
    kind: str
    where: str
    detail: str
    reason: str

    def matches(self, d: Divergence) -> bool:
        return (
            fnmatch.fnmatchcase(d.scenario, self.scenario)
            and fnmatch.fnmatchcase(d.kind, self.kind)
            and fnmatch.fnmatchcase(d.where, self.where)
            and fnmatch.fnmatchcase(d.detail, self.detail)
        )


def known_differences(doc: Path = DOC) -> list[Known]:
    """The rows of the "Known differences" table in docs/simulator.md."""
    rows: list[Known] = []
    in_section = False
    for line in doc.read_text().splitlines():
        if line.startswith("## "):
            in_section = line.strip() == "## Known differences"
            continue
        if not in_section or not line.startswith("| `"):
            continue
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) != 5:
            raise ValueError(f"{doc}: a Known differences row needs 5 cells: {line!r}")
        scenario, kind, where, detail, reason = cells
        rows.append(Known(scenario.strip("`"), kind, where.strip("`"), detail.strip("`"), reason))
    return rows


@dataclass
class Trace:
    """What one backend did in one scenario, uuids replaced by leg names."""

    legs: dict[str, list[str]] = field(default_factory=dict)
    headers: dict[tuple[str, str], frozenset[str]] = field(default_factory=dict)
    replies: list[tuple[str, str]] = field(default_factory=list)
    apis: list[tuple[str, str]] = field(default_factory=list)
    timeline: list[str] = field(default_factory=list)  # "leg:EVENT" in arrival order
    relations: list[tuple[str, str]] = field(default_factory=list)

    def first(self, mark: str) -> int | None:
        """Where `mark` ("leg:EVENT" or a "reply:label") first appears in the timeline."""
        return self.timeline.index(mark) if mark in self.timeline else None

    def relation(self, earlier: str, later: str) -> str:
        a, b = self.first(earlier), self.first(later)
        if a is None or b is None:
            return f"missing {earlier if a is None else later}"
        return "before" if a < b else "after"


def event_label(event: Event) -> str:
    """The event's name, with the values flows branch on: the application and its
    response, the hangup cause, how a playback ended, the CUSTOM subclass."""
    name = event.name
    if name == "CUSTOM" and event.subclass:
        return f"CUSTOM::{event.subclass}"
    if name == "CHANNEL_EXECUTE":
        return f"{name}({event.get('Application')})"
    if name == "CHANNEL_EXECUTE_COMPLETE":
        return f"{name}({event.get('Application')}={event.get('Application-Response')})"
    if name in ("CHANNEL_HANGUP", "CHANNEL_HANGUP_COMPLETE"):
        return f"{name}({event.get('Hangup-Cause')})"
    if name == "PLAYBACK_STOP":
        return f"{name}({event.get('Playback-Status')})"
    if name == "":
        return f"(no Event-Name)::{event.get('Event-Subclass')}"
    return name


def base_name(label: str) -> str:
    return label.split("(", 1)[0]


class Run:
    """The client side of one scenario on one backend, recording as it goes."""

    def __init__(self, backend: Backend, conn: InboundConnection) -> None:
        self.backend = backend
        self.conn = conn
        self.events: list[Event] = []
        self._seen = anyio.Event()
        self.names: dict[str, str] = {}  # uuid -> leg name
        self._apis: list[tuple[str, str]] = []
        self._replies: list[tuple[str, str]] = []
        self._marks: list[tuple[int, str]] = []  # (events seen so far, "reply:label")
        self.relations: list[tuple[str, str]] = []
        self.outbound: Callable[[OutboundConnection], Awaitable[None]] | None = None

    # -- recording --------------------------------------------------------------------------------
    def _on_event(self, event: Event) -> None:
        if event.name in IGNORED:
            return
        uuid = event.get("Unique-ID")
        channel = event.get("Channel-Name")
        old = event.get("Old-Unique-ID")
        if event.name == "CHANNEL_UUID" and uuid and old:
            # origination_uuid renames the channel; its first CODEC events had the old one.
            if uuid not in self.names and old in self.names:
                self.names[uuid] = self.names[old]
            self.names[old] = self.names.get(uuid, "")
        if uuid and channel and uuid not in self.names:
            base = LEG.sub(r"\1-\2", channel.removeprefix("loopback/"))
            taken = set(self.names.values())
            name, n = base, 2
            while name in taken:
                name, n = f"{base}#{n}", n + 1
            self.names[uuid] = name
        self.events.append(event)
        self._seen.set()
        self._seen = anyio.Event()

    def normalise(self, text: str) -> str:
        def repl(m: re.Match[str]) -> str:
            return f"<{self.names.get(m.group(0), 'uuid')}>"

        return UUID.sub(repl, text)

    def mark(self, label: str) -> None:
        """A point in the timeline (e.g. a reply arrived) that relations can name."""
        self._marks.append((len(self.events), label))

    def before(self, earlier: str, later: str) -> None:
        """Flows depend on `earlier` coming before `later` ("leg:EVENT" or a mark)."""
        self.relations.append((earlier, later))

    # -- commands ---------------------------------------------------------------------------------
    async def api(self, label: str, command: str, shape: Callable[[str], str] | None = None) -> str:
        """An api command; its output, shaped (default: uuids normalised), is recorded."""
        out = await self.conn.api(command)
        self.mark(f"api:{label}")
        self._apis.append((label, (shape or self.normalise)(out)))
        return out

    async def reply(self, label: str, command: Awaitable[object]) -> str:
        """Await a command and record its Reply-Text (an -ERR reply is recorded too)."""
        try:
            reply = await command
            text = str(getattr(reply, "reply_text", ""))
        except EslCommandError as exc:
            text = exc.reply.reply_text if exc.reply is not None else str(exc)
        self.mark(f"reply:{label}")
        self._replies.append((label, self.normalise(text)))
        return text

    async def execute(
        self, label: str, uuid: str, app: str, arg: str | None = None, **options: object
    ) -> str:
        """sendmsg execute on `uuid` (options as `Connection.execute`); records the reply."""
        return await self.reply(
            label,
            self.conn.connection.execute(app, arg, uuid=uuid, **options),  # type: ignore[arg-type]
        )

    def record_reply(self, label: str, text: str) -> None:
        self.mark(f"reply:{label}")
        self._replies.append((label, self.normalise(text)))

    async def originate(self, dial: str, app: str = "&park()", **vars: str) -> str:
        """`api originate {origination_uuid=U,...}<dial> <app>`; returns U."""
        uuid = new_uuid()
        spec = ",".join([f"origination_uuid={uuid}", *(f"{k}={v}" for k, v in vars.items())])
        self.names.setdefault(uuid, dial.split("/")[1] + "-a")
        await self.api("originate", f"originate {{{spec}}}{dial} {app}")
        return uuid

    # -- waiting ----------------------------------------------------------------------------------
    def leg(self, name: str) -> str:
        """The uuid of leg `name` ("9002-b")."""
        for uuid, leg in self.names.items():
            if leg == name:
                return uuid
        raise KeyError(f"no leg {name} yet (legs: {sorted(self.names.values())})")

    def seen(self, leg: str, name: str, count: int = 1) -> bool:
        """`count` events `name` (a label, or a bare event name) on leg `leg` so far."""
        uuids = {u for u, n in self.names.items() if n == leg}
        exact = "(" in name
        hits = sum(
            1
            for e in self.events
            if e.get("Unique-ID") in uuids
            and (event_label(e) if exact else base_name(event_label(e))) == name
        )
        return hits >= count

    async def wait_for(self, test: Callable[[], bool], what: str, timeout: float = 10) -> None:
        try:
            with anyio.fail_after(timeout):
                while not test():
                    await self._seen.wait()
        except TimeoutError:
            raise AssertionError(
                f"{self.backend.name}: no {what} within {timeout} s; saw "
                + ", ".join(
                    f"{self.names.get(e.get('Unique-ID', ''), '-')}:{event_label(e)}"
                    for e in self.events
                )
            ) from None

    async def wait_event(self, leg: str, name: str, count: int = 1, timeout: float = 10) -> None:
        await self.wait_for(lambda: self.seen(leg, name, count), f"{leg}:{name}", timeout)

    async def wait_gone(self, timeout: float = 10) -> None:
        """Until every leg seen so far fired CHANNEL_DESTROY, then a little more for stragglers."""

        def all_gone() -> bool:
            return all(
                self.seen(leg, "CHANNEL_DESTROY")
                for leg in set(self.names.values())
                if self.seen(leg, "CHANNEL_CREATE")
            )

        await self.wait_for(all_gone, "CHANNEL_DESTROY of every leg", timeout)
        await anyio.sleep(0.3)

    # -- the result -------------------------------------------------------------------------------
    def trace(self) -> Trace:
        trace = Trace(replies=list(self._replies), apis=list(self._apis))
        marks = sorted(self._marks)
        mi = 0
        for i, event in enumerate(self.events):
            while mi < len(marks) and marks[mi][0] <= i:
                trace.timeline.append(marks[mi][1])
                mi += 1
            uuid = event.get("Unique-ID")
            leg = self.names.get(uuid or "", "-") if uuid else "-"
            if uuid and uuid not in self.names:
                continue  # another test's channel
            label = event_label(event)
            trace.legs.setdefault(leg, []).append(label)
            trace.timeline.append(f"{leg}:{label}")
            names = {name for name, _ in event.items_all() if not name.startswith("variable_")}
            key = (leg, base_name(label))
            trace.headers[key] = trace.headers.get(key, frozenset()) | names
        trace.timeline.extend(label for _, label in marks[mi:])
        trace.relations = list(self.relations)
        return trace


def new_uuid() -> str:
    import uuid

    return str(uuid.uuid4())


Scenario = Callable[[Run], Awaitable[None]]


@asynccontextmanager
async def _client(backend: Backend) -> AsyncIterator[InboundConnection]:
    async with InboundConnection.connect(backend.host, backend.port, backend.password) as conn:
        yield conn


async def run_scenario(backend: Backend, scenario: Scenario, timeout: float = 30) -> Trace:
    """Run `scenario` against `backend` (all events subscribed) and return its trace."""
    async with _client(backend) as conn, anyio.create_task_group() as tg:
        run = Run(backend, conn)
        buffer = conn.event_buffer(maxsize=100_000, overflow="error")

        async def pump() -> None:
            async for event in buffer:
                run._on_event(event)

        tg.start_soon(pump)
        await conn.subscribe(["ALL"], "plain")

        async def handle(call: OutboundConnection) -> None:
            assert run.outbound is not None, "a socket call arrived but the scenario has no handler"
            await run.outbound(call)

        server = OutboundServer(handle, host="127.0.0.1", port=backend.outbound_port)
        await tg.start(server.serve)
        with anyio.fail_after(timeout):
            await scenario(run)
        tg.cancel_scope.cancel()
    return run.trace()


@asynccontextmanager
async def sim_backend(outbound_port: int, **options: object) -> AsyncIterator[Backend]:
    """A private simulator whose 9000/9001 reach `outbound_port`."""
    async with Simulator(
        port=0,
        outbound_target=f"127.0.0.1:{outbound_port}",
        **options,  # type: ignore[arg-type]
    ) as sim:
        yield Backend("sim", "127.0.0.1", sim.port, "ClueCon", outbound_port)


# -- comparing ------------------------------------------------------------------------------------


def _seq_detail(sim: list[str], real: list[str]) -> list[str]:
    out: list[str] = []
    for tag, i1, i2, j1, j2 in difflib.SequenceMatcher(a=sim, b=real, autojunk=False).get_opcodes():
        if tag == "equal":
            continue
        out.extend(f"-{x}" for x in sim[i1:i2])
        out.extend(f"+{x}" for x in real[j1:j2])
    return out


_HANGUP = re.compile(r"^([-+])(CHANNEL_HANGUP(?:_COMPLETE)?)\((.*)\)$")


def _causes(details: list[str]) -> list[str]:
    """A leg that hung up with another cause: one "hangup cause X -> Y" for the pair of
    -CHANNEL_HANGUP(X) +CHANNEL_HANGUP(Y) (and the same for HANGUP_COMPLETE)."""
    found = {(m[2], m[1]): m[3] for d in details if (m := _HANGUP.match(d))}
    out: list[str] = []
    for d in details:
        m = _HANGUP.match(d)
        if m and (m[2], "-") in found and (m[2], "+") in found:
            if m[1] == "-":
                out.append(f"{m[2]} cause {found[(m[2], '-')]} -> {found[(m[2], '+')]}")
            continue
        out.append(d)
    return out


def compare(scenario: str, sim: Trace, real: Trace) -> list[Divergence]:
    """Every divergence of the simulator's trace from the real switch's."""
    found: list[Divergence] = []

    def add(kind: str, where: str, detail: str) -> None:
        found.append(Divergence(scenario, kind, where, detail))

    for leg in sorted(set(sim.legs) | set(real.legs)):
        a, b = sim.legs.get(leg, []), real.legs.get(leg, [])
        if a == b:
            continue
        for detail in _causes(_seq_detail(sorted(a), sorted(b))):
            add("events", leg, detail)
        common_a = [x for x in a if x in b]
        common_b = [x for x in b if x in a]
        moved = _seq_detail(common_a, common_b)
        for name in sorted({m[1:] for m in moved if f"-{m[1:]}" in moved and f"+{m[1:]}" in moved}):
            add("order", leg, f"moved {name}")
        if moved and not any(d.kind == "order" and d.where == leg for d in found):
            add("order", leg, " ".join(moved))
    # A header one backend sends and the other does not, once per leg (over its events).
    for key in sorted(set(sim.headers) & set(real.headers)):
        leg, _ = key
        for h in sorted(real.headers[key] - sim.headers[key]):
            add("headers", leg, f"+{h}")
        for h in sorted(sim.headers[key] - real.headers[key]):
            add("headers", leg, f"-{h}")
    for kind, mine, theirs in (("reply", sim.replies, real.replies), ("api", sim.apis, real.apis)):
        for (label, x), (_, y) in zip(mine, theirs, strict=False):
            if x != y:
                add(kind, label, f"sim {x.strip()!r} real {y.strip()!r}")
        if len(mine) != len(theirs):
            add(kind, "count", f"sim {len(mine)} real {len(theirs)}")
    for earlier, later in real.relations:
        x, y = sim.relation(earlier, later), real.relation(earlier, later)
        if x != y:
            add("order", f"{earlier} < {later}", f"sim {x} real {y}")
    return _dedupe(found)


def _dedupe(items: Iterable[Divergence]) -> list[Divergence]:
    seen: dict[Divergence, None] = {}
    for item in items:
        seen.setdefault(item, None)
    return list(seen)


def unlisted(found: Iterable[Divergence], known: Iterable[Known]) -> list[Divergence]:
    rows = list(known)
    return [d for d in found if not any(k.matches(d) for k in rows)]


def json_keys(out: str) -> str:
    """The shape of `show ... as json`: the keys of a row (the count depends on what
    else runs on the switch)."""
    data = json.loads(out)
    rows = data.get("rows") or [{}]
    return f"keys={sorted(rows[0])}"


def first_word(out: str) -> str:
    return out.split(" ", 1)[0].strip()
