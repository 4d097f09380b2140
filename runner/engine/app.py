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


def engine_from_config(config: EngineConfig, flows: FlowSet, **kwargs: object) -> Engine:
    """An Engine for `config` (passwords are resolved here, once)."""
    nodes = [
        NodeSpec(
            host=node.host,
            port=node.port,
            password=node.resolve_password(),
            format=node.format,
            label=node.label,
        )
        for node in config.inbound
    ]
    outbound = None
    if config.outbound is not None:
        o = config.outbound
        outbound = OutboundSpec(o.host, o.port, tuple(o.allow), o.unmatched_hangup_cause)
    return Engine(
        flows,
        nodes=nodes,
        outbound=outbound,
        event_buffer=config.event_buffer,
        step_budget=config.step_budget,
        **kwargs,  # type: ignore[arg-type]
    )


def load_or_log(paths: list[Path]) -> FlowSet | None:
    """Load flows for a reload: the new set, or None after logging every error.

    Whatever the loader raises refuses the reload and leaves the old set serving: a
    file that vanished or cannot be read, a folder where a file was, a document so deep
    the parser recurses out, memory running out. The service outlives any flow file.
    """
    try:
        return load_flows(paths)
    except FlowValidationError as exc:
        for error in exc.errors:
            log.error("reload refused: %s", error)
    except OSError as exc:
        where = f" {exc.filename}" if exc.filename is not None else ""
        log.error("reload refused: cannot read%s: %s", where, exc.strerror or exc)
    except Exception as exc:  # RecursionError and MemoryError are Exceptions too
        log.debug("reload: loading the flows failed", exc_info=exc)
        text = str(exc)
        log.error(
            "reload refused: loading the flows failed: %s%s",
            type(exc).__name__,
            f": {text}" if text else "",
        )
    return None


def _mtimes(paths: list[Path]) -> dict[Path, float]:
    try:
        files, _ = find_flow_files(paths)
    except OSError:  # a folder that cannot be listed now: the reload will say why
        return {}
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
