"""Unwrap one-exception groups at the edge of our context managers.

anyio task groups wrap every exception in an ExceptionGroup. A user's `async with
InboundConnection.connect(...)` block should see the `EslAuthError` (or their own
KeyError) itself, not a group of one.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager


def _single(group: BaseExceptionGroup[BaseException]) -> BaseException | None:
    exc: BaseException = group
    while isinstance(exc, BaseExceptionGroup):
        if len(exc.exceptions) != 1:
            return None
        exc = exc.exceptions[0]
    return exc


@contextmanager
def unwrap_single() -> Iterator[None]:
    try:
        yield
    except BaseExceptionGroup as group:
        single = _single(group)
        if single is None:
            raise
        raise single from None
