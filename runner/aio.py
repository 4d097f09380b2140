"""How eslflow runs its event loop: anyio on asyncio, with uvloop where available.

uvloop is a drop-in asyncio loop written on libuv; with it an `api` round trip
through anyio costs about a third less CPU than with the stdlib loop (bench/).
"""

from __future__ import annotations

import importlib.util
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import anyio

T = TypeVar("T")


def backend_options() -> dict[str, Any]:
    """anyio backend options: uvloop when it can be imported."""
    return {"use_uvloop": importlib.util.find_spec("uvloop") is not None}


def run(func: Callable[..., Awaitable[T]], *args: object) -> T:
    """`anyio.run` with eslflow's loop choice."""
    return anyio.run(func, *args, backend_options=backend_options())
