"""Loading flows: files and folders -> a valid FlowSet, or every error of every file.

```python
flows = load_flows([Path("flows")])        # FlowValidationError lists all mistakes
```
"""

from __future__ import annotations

import dataclasses
import gc
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Final

from pydantic import ValidationError
from pydantic_core import ErrorDetails

from runner.flow.checks import Loaded, check_flows
from runner.flow.cycles import silent_cycles
from runner.flow.errors import FlowError, FlowValidationError, SourcePos
from runner.flow.fields import describe_input
from runner.flow.flowset import FlowSet
from runner.flow.models import Flow
from runner.flow.translate import translate
from runner.flow.yamldoc import MAX_FILE_SIZE, Document, SourceFile, parse_yaml

FLOW_SUFFIXES: Final = (".yaml", ".yml")
TEST_SUFFIXES: Final = (".test.yaml", ".test.yml")
"""Test cases (`eslflow test`): they may live among the flows, and are not flows."""


def is_test_file(path: Path) -> bool:
    """Whether `path` is named as a test case (`*.test.yaml`)."""
    return path.name.endswith(TEST_SUFFIXES)


def find_flow_files(paths: Iterable[Path | str]) -> tuple[list[Path], list[FlowError]]:
    """Flow files named by `paths`: files as given, folders searched for *.yaml / *.yml.

    Hidden files and folders are skipped, and so are test cases (*.test.yaml), so tests
    can live in flows/tests/. A missing path or a folder without flow files is an error.
    """
    files: list[Path] = []
    errors: list[FlowError] = []
    for given in paths:
        path = Path(given)
        if path.is_dir():
            found = sorted(
                candidate
                for candidate in path.rglob("*")
                if candidate.suffix in FLOW_SUFFIXES
                and not is_test_file(candidate)
                and candidate.is_file()
                and not any(part.startswith(".") for part in candidate.relative_to(path).parts)
            )
            if not found:
                errors.append(FlowError(str(path), None, None, "no flow files (*.yaml, *.yml)"))
            files.extend(found)
        elif path.exists():
            files.append(path)
        else:
            errors.append(FlowError(str(path), None, None, "no such file or folder"))
    return list(dict.fromkeys(files)), errors


class _Unreadable(Exception):
    """A flow file refused before it is parsed (too large, not a regular file)."""


def _read(file: Path) -> bytes:
    """The file's bytes, read only when it is a regular file within MAX_FILE_SIZE.

    A FIFO would block and /dev/zero never ends: neither is a flow file. The read is
    capped too, in case the file grows between the check and the read.
    """
    if not file.is_file():
        raise _Unreadable("not a regular file")
    size = file.stat().st_size
    if size > MAX_FILE_SIZE:
        raise _Unreadable(f"file too large: {size:,} bytes; {_AT_MOST}")
    with file.open("rb") as handle:
        data = handle.read(MAX_FILE_SIZE + 1)
    if len(data) > MAX_FILE_SIZE:
        raise _Unreadable(f"file too large: more than {MAX_FILE_SIZE:,} bytes; {_AT_MOST}")
    return data


_AT_MOST: Final = f"a flow file holds at most {MAX_FILE_SIZE:,}"


def _not_utf8(path: str, data: bytes, start: int) -> FlowError:
    """The error for a byte that is not UTF-8, at its line and column (in characters)."""
    line_start = data.rfind(b"\n", 0, start) + 1
    line_end = data.find(b"\n", start)
    text = data[line_start : line_end if line_end != -1 else len(data)]
    column = len(text[: start - line_start].decode("utf-8", "replace")) + 1
    line = data.count(b"\n", 0, start) + 1
    return FlowError(
        path,
        line,
        column,
        f"not UTF-8 text: byte 0x{data[start]:02X} cannot be decoded (save the file as UTF-8)",
        text.decode("utf-8", "replace"),
    )


def load_flows(paths: Sequence[Path | str]) -> FlowSet:
    """Load and validate the flow files and folders in `paths`.

    Returns the FlowSet when every flow is valid; otherwise raises FlowValidationError
    carrying every error of every file (`path:line:col: message`).
    """
    files, errors = find_flow_files(paths)
    sources: list[tuple[str, str]] = []
    for file in files:
        try:
            data = _read(file)
            sources.append((str(file), data.decode("utf-8")))
        except _Unreadable as exc:
            errors.append(FlowError(str(file), None, None, str(exc)))
        except UnicodeDecodeError as exc:
            errors.append(_not_utf8(str(file), data, exc.start))
        except OSError as exc:
            errors.append(FlowError(str(file), None, None, f"cannot read: {exc.strerror}"))
    try:
        flows = load_flow_sources(sources)
    except FlowValidationError as exc:
        raise FlowValidationError([*errors, *exc.errors]) from None
    if errors:
        raise FlowValidationError(errors)
    return flows


@contextmanager
def _bulk_allocation() -> Iterator[None]:
    """Pause the cyclic garbage collector while a folder of flows is built.

    Loading creates many small objects and frees almost none, so the collector's
    passes find nothing; over 1,000 files they cost a quarter of the time.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def load_flow_sources(sources: Sequence[tuple[str, str]]) -> FlowSet:
    """Validate flows given as (path, text) pairs; the path is only used in messages."""
    with _bulk_allocation():
        return _load(sources)


def _load(sources: Sequence[tuple[str, str]]) -> FlowSet:
    errors: list[FlowError] = []
    loaded: list[Loaded] = []
    failed_names: dict[str, SourcePos] = {}
    for path, text in sources:
        source = parse_yaml(text, path)
        errors.extend(source.errors)
        for document in source.documents:
            item, document_errors = _validate(source, document)
            errors.extend(document_errors)
            if item is not None:
                loaded.append(item)
            else:
                name = _raw_name(document)
                if name is not None and name not in failed_names:
                    line, column = document.values.get(("flow",), (0, 0))
                    failed_names[name] = SourcePos(path, line + 1, column + 1)
    errors.extend(check_flows(loaded, failed_names))
    if errors:
        raise FlowValidationError(errors)
    return FlowSet((item.flow for item in loaded), _warnings(loaded))


def _warnings(loaded: list[Loaded]) -> list[FlowError]:
    """Warnings about valid flows: goto/call cycles that never wait."""
    sources = {item.source.path: item.source for item in loaded}
    warnings = []
    for pos, message in silent_cycles({item.flow.flow: item.flow for item in loaded}):
        error = sources[pos.path].error((pos.line - 1, pos.column - 1), message)
        warnings.append(dataclasses.replace(error, warning=True))
    return warnings


def _translated(error: ErrorDetails, source: SourceFile, document: Document) -> FlowError:
    """Our message for a pydantic error; pydantic's own at the flow if ours fails, so a
    gap in the translation costs a nicer message, never the whole report."""
    try:
        return translate(error, Flow, source, document)
    except Exception:
        where = ".".join(str(part) for part in error["loc"] if not str(part).startswith("<"))
        return source.error(document.values.get(()), f"{where}: {error['msg']}")


def _root_causes(details: list[ErrorDetails]) -> list[ErrorDetails]:
    """Drop "must not be empty" for a list whose items failed: pydantic counts only the
    valid items, so a list of one bad step is also reported as empty."""
    failed = [tuple(error["loc"]) for error in details]

    def inner_failure(loc: tuple[str | int, ...]) -> bool:
        return any(len(other) > len(loc) and other[: len(loc)] == loc for other in failed)

    return [
        error
        for error in details
        if error["type"] != "too_short" or not inner_failure(tuple(error["loc"]))
    ]


def _raw_name(document: Document) -> str | None:
    data = document.data
    if isinstance(data, dict) and isinstance(data.get("flow"), str):
        return str(data["flow"])
    return None


def _validate(source: SourceFile, document: Document) -> tuple[Loaded | None, list[FlowError]]:
    data = document.data
    if not isinstance(data, dict):
        mark = document.values.get(())
        if data is None:
            message = "empty document: expected a flow (a mapping with flow:, trigger: and steps:)"
        else:
            message = (
                "a flow must be a mapping of keys (flow:, trigger:, steps:), "
                f"got {describe_input(data)}"
            )
        return None, [source.error(mark, message)]
    try:
        flow = Flow.model_validate(data)
    except ValidationError as exc:
        details = exc.errors(include_url=False, include_context=True, include_input=True)
        return None, [_translated(error, source, document) for error in _root_causes(details)]
    return Loaded(flow, source, document), []
