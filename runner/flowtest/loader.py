"""Test files -> validated test cases, or every mistake as `path:line:col: message`.

A test file is named `*.test.yaml` (or `.test.yml`) and holds one test case per YAML
document. It is read with the flow language's YAML layer and its errors translated the
same way, as the engine's configuration is.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

from pydantic import ValidationError
from pydantic_core import ErrorDetails

from runner.flow.errors import FlowError, suggest
from runner.flow.fields import describe_input
from runner.flow.loader import TEST_SUFFIXES, is_test_file
from runner.flow.translate import translate
from runner.flow.yamldoc import DataPath, Document, SourceFile, parse_yaml
from runner.flowtest.models.case import TestCase

_ROOT_NAME: Final = "the test"
_EXPECTED: Final = "a test case (a mapping with test:, call: and expect:)"
FLOWS_FOLDER: Final = "flows"


@dataclass(slots=True)
class LoadedCase:
    """A valid test case with the file and document it came from (for positions)."""

    case: TestCase
    path: Path
    source: SourceFile
    document: Document
    flow_paths: list[Path]

    @property
    def line(self) -> int:
        """The 1-based line of the test's `test:` key (where a report points)."""
        mark = self.document.keys.get(("test",)) or self.document.values.get(())
        return mark[0] + 1 if mark is not None else 1

    @property
    def name(self) -> str:
        return self.case.test

    @property
    def where(self) -> str:
        return f"{self.source.path}:{self.line}"

    def place(self, path: DataPath) -> str:
        """`file:line:col` of the value at `path` in this test's document."""
        mark = self.document.values.get(path)
        if mark is None:
            return self.where
        return f"{self.source.path}:{mark[0] + 1}:{mark[1] + 1}"


@dataclass(slots=True)
class TestFile:
    """One test file: its valid cases and its errors (a file may have both)."""

    __test__ = False  # not a pytest test class

    path: Path
    cases: list[LoadedCase] = field(default_factory=list)
    errors: list[FlowError] = field(default_factory=list)


def find_test_files(paths: Iterable[Path | str]) -> tuple[list[Path], list[FlowError]]:
    """Test files named by `paths`: files as given, folders searched for *.test.yaml.

    Hidden files and folders are skipped; a missing path or a folder without test files
    is an error.
    """
    files: list[Path] = []
    errors: list[FlowError] = []
    for given in paths:
        path = Path(given)
        if path.is_dir():
            found = sorted(
                candidate
                for candidate in path.rglob("*")
                if is_test_file(candidate)
                and candidate.is_file()
                and not any(part.startswith(".") for part in candidate.relative_to(path).parts)
            )
            if not found:
                wanted = ", ".join(f"*{suffix}" for suffix in TEST_SUFFIXES)
                errors.append(FlowError(str(path), None, None, f"no test files ({wanted})"))
            files.extend(found)
        elif path.exists():
            files.append(path)
        else:
            errors.append(FlowError(str(path), None, None, "no such file or folder"))
    return list(dict.fromkeys(files)), errors


def default_flows(test_file: Path) -> Path | None:
    """The flows a test uses when it names none: the nearest folder called `flows` at or
    above the test's folder, or the nearest `flows/` beside one of those folders."""
    folder = test_file.resolve().parent
    for candidate in (folder, *folder.parents):
        if candidate.name == FLOWS_FOLDER:
            return candidate
        beside = candidate / FLOWS_FOLDER
        if beside.is_dir():
            return beside
    return None


def _relative(path: Path) -> Path:
    """`path` relative to the working folder when it is inside it (shorter messages)."""
    try:
        return path.relative_to(Path.cwd())
    except ValueError:
        return path


def load_test_file(path: Path) -> TestFile:
    """Read and validate every test case in `path`."""
    result = TestFile(path)
    name = str(path)
    try:
        text = path.read_bytes().decode("utf-8")
    except UnicodeDecodeError as exc:
        message = f"not UTF-8 text (byte {exc.start} cannot be decoded)"
        result.errors.append(FlowError(name, None, None, message))
        return result
    except OSError as exc:
        result.errors.append(FlowError(name, None, None, f"cannot read: {exc.strerror}"))
        return result
    source = parse_yaml(text, name, expected=_EXPECTED)
    result.errors.extend(source.errors)
    for document in source.documents:
        loaded, errors = _validate(path, source, document)
        result.errors.extend(errors)
        if loaded is not None:
            result.cases.append(loaded)
    result.errors.sort(key=FlowError.sort_key)
    return result


def _translated(error: ErrorDetails, source: SourceFile, document: Document) -> FlowError:
    """Our message for a pydantic error; pydantic's own at the document if ours fails."""
    try:
        return translate(error, TestCase, source, document, root_name=_ROOT_NAME)
    except Exception:
        where = ".".join(str(part) for part in error["loc"])
        return source.error(document.values.get(()), f"{where}: {error['msg']}")


def _typos_once(details: list[ErrorDetails]) -> list[ErrorDetails]:
    """Drop "missing key 'x'" where the same mapping has an unknown key that is a typo of
    'x': its message already says "did you mean 'x'?"."""
    typos = {
        (tuple(error["loc"][:-1]), suggest(str(error["loc"][-1]), [str(missing["loc"][-1])]))
        for error in details
        if error["type"] == "extra_forbidden" and error["loc"]
        for missing in details
        if missing["type"] == "missing" and missing["loc"]
    }
    return [
        error
        for error in details
        if not (
            error["type"] == "missing"
            and (tuple(error["loc"][:-1]), str(error["loc"][-1])) in typos
        )
    ]


def _validate(
    path: Path, source: SourceFile, document: Document
) -> tuple[LoadedCase | None, list[FlowError]]:
    data = document.data
    if not isinstance(data, dict):
        message = (
            "a test case must be a mapping of keys (test:, call:, expect:), "
            f"got {describe_input(data)}"
        )
        return None, [source.error(document.values.get(()), message)]
    try:
        case = TestCase.model_validate(data, context={"base": path.parent})
    except ValidationError as exc:
        details = exc.errors(include_url=False, include_context=True, include_input=True)
        return None, [_translated(error, source, document) for error in _typos_once(details)]
    if case.flows is not None:
        flow_paths = [_relative(flow_path) for flow_path in case.flows]
    else:
        found = default_flows(path)
        if found is None:
            message = (
                "no flows: given, and no flows/ folder at or above this file's folder; "
                "name the flows to load (flows: [../flows])"
            )
            return None, [source.error(document.values.get(()), message)]
        flow_paths = [_relative(found)]
    return LoadedCase(case, path, source, document, flow_paths), []
