"""`eslflow run` as a library call: the engine, its metrics endpoint, reload and drain.

- SIGHUP (and, with `watch`, a change to a flow file) reloads the flows: a valid new
  set serves new calls while running instances finish on the old; an invalid set is
  refused with its errors and the old set keeps serving.
- SIGTERM or Ctrl-C: stop taking new calls, let running instances finish up to the
  drain timeout, then close the connections cleanly (`exit`).
"""

from __future__ import annotations

import logging
import signal
from collections.abc import Callable
from pathlib import Path

import anyio
import anyio.abc

from runner.engine.config import EngineConfig
from runner.engine.metrics import Metrics, serve_http
from runner.engine.service import Engine, NodeSpec, OutboundSpec
from runner.flow import FlowValidationError, find_flow_files, load_flows
from runner.flow.flowset import FlowSet

log = logging.getLogger("runner.engine")

WATCH_INTERVAL = 1.0


def node_specs(config: EngineConfig) -> list[NodeSpec]:
    """The inbound nodes of `config`, passwords resolved (ConfigError if one is missing)."""
    return [
        NodeSpec(
            host=node.host,
            port=node.port,
            password=node.resolve_password(),
            format=node.format,
            label=node.label,
        )
        for node in config.inbound
    ]


def outbound_spec(config: EngineConfig) -> OutboundSpec | None:
    """The outbound listener of `config`, if it has one."""
    o = config.outbound
    if o is None:
        return None
    return OutboundSpec(o.host, o.port, tuple(o.allow), o.unmatched_hangup_cause)


def engine_from_config(config: EngineConfig, flows: FlowSet, **kwargs: object) -> Engine:
    """An Engine for `config` (passwords are resolved here, once)."""
    return Engine(
        flows,
        nodes=node_specs(config),
        outbound=outbound_spec(config),
        event_buffer=config.event_buffer,
        **kwargs,  # type: ignore[arg-type]
    )


def load_or_log(paths: list[Path]) -> FlowSet | None:
    """Load flows for a reload: the new set, or None after logging every error."""
    try:
        return load_flows(paths)
    except FlowValidationError as exc:
        for error in exc.errors:
            log.error("reload refused: %s", error)
        return None


def _mtimes(paths: list[Path]) -> dict[Path, float]:
    files, _ = find_flow_files(paths)
    out: dict[Path, float] = {}
    for file in files:
        try:
            out[file] = file.stat().st_mtime
        except OSError:
            continue
    return out


async def _watch(paths: list[Path], reload: Callable[[], object]) -> None:
    """Poll the flow files (no extra dependency, no thread); reload when they change."""
    seen = _mtimes(paths)
    while True:
        await anyio.sleep(WATCH_INTERVAL)
        now = _mtimes(paths)
        if now != seen:
            seen = now
            log.info("flow files changed; reloading")
            await reload()  # type: ignore[misc]


async def serve(
    config: EngineConfig,
    flows: FlowSet,
    *,
    engine: Engine | None = None,
    handle_signals: bool = True,
    task_status: anyio.abc.TaskStatus[Engine] = anyio.TASK_STATUS_IGNORED,
) -> None:
    """Run the service until SIGTERM/SIGINT (then drain) or cancellation."""
    metrics = engine.metrics if engine is not None else Metrics()
    engine = engine or engine_from_config(config, flows, metrics=metrics)

    async def reload() -> None:
        new = load_or_log(list(config.flows))
        if new is not None:
            await engine.reload(new)

    async with anyio.create_task_group() as tg:
        await tg.start(engine.run)
        if config.metrics is not None:
            await tg.start(
                serve_http, config.metrics.host, config.metrics.port, metrics, engine.healthy
            )
        if config.watch:
            tg.start_soon(_watch, list(config.flows), reload)
        if handle_signals:
            tg.start_soon(_signals, engine, config.drain_timeout, reload)
        task_status.started(engine)
        await engine.wait_stopped()
        tg.cancel_scope.cancel()


async def _signals(engine: Engine, drain_timeout: float, reload: Callable[[], object]) -> None:
    with anyio.open_signal_receiver(signal.SIGHUP, signal.SIGTERM, signal.SIGINT) as signals:
        async for signum in signals:
            if signum == signal.SIGHUP:
                log.info("SIGHUP: reloading flows")
                await reload()  # type: ignore[misc]
                continue
            log.info("%s: draining (up to %.0f s)", signal.Signals(signum).name, drain_timeout)
            await engine.drain(drain_timeout)
            return
