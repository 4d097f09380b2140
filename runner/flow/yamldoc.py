"""YAML text -> plain data plus the line and column of every key and value.

ruamel.yaml composes the node graph (with its C parser when ruamel.yaml.clib is
installed, ten times faster than its pure-Python round-trip loader, which matters for
`eslflow validate` over a thousand files); every node carries its start mark. We build
plain dicts, lists and scalars from the nodes ourselves so that we can refuse what
ruamel's loaders would accept silently or reject with a traceback: duplicate keys,
unknown tags, recursive aliases, and keep a position for every path.

YAML 1.2 scalars: `yes`/`no`/`on` are text; `2024-12-24` stays text (our time
conditions parse dates themselves); keys are taken as written (`1:` is the key `"1"`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar, Final

from ruamel.yaml import YAML
from ruamel.yaml.error import MarkedYAMLError, YAMLError
from ruamel.yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode
from ruamel.yaml.resolver import VersionedResolver

from runner.flow.errors import FlowError

DataPath = tuple[str | int, ...]
Mark = tuple[int, int]
"""0-based (line, column), as ruamel counts."""

MAX_NODES: Final = 200_000
"""Nodes one document may expand to through aliases (a guard against alias bombs)."""

_TAG = "tag:yaml.org,2002:"
_BOOL_TRUE: Final = frozenset({"true", "True", "TRUE"})


class YamlProblem(Exception):
    """A problem at a node, raised while building data and turned into a FlowError."""

    def __init__(self, message: str, mark: Mark) -> None:
        self.mark = mark
        super().__init__(message)


@dataclass(slots=True)
class Document:
    """One YAML document: its data and the position of every value and mapping key."""

    data: object
    number: int
    values: dict[DataPath, Mark] = field(default_factory=dict)
    keys: dict[DataPath, Mark] = field(default_factory=dict)
    styles: dict[DataPath, str | None] = field(default_factory=dict)
    multiline: set[DataPath] = field(default_factory=set)


@dataclass(slots=True)
class SourceFile:
    """A parsed file: its lines (for carets), documents, and the YAML-level errors."""

    path: str
    lines: list[str]
    documents: list[Document] = field(default_factory=list)
    errors: list[FlowError] = field(default_factory=list)

    def error(self, mark: Mark | None, message: str) -> FlowError:
        """A FlowError at 0-based `mark`, with its source line for the caret display."""
        if mark is None:
            return FlowError(self.path, None, None, message)
        line, column = mark
        source = self.lines[line] if 0 <= line < len(self.lines) else None
        return FlowError(self.path, line + 1, column + 1, message, source)

    def inside(
        self, document: Document, path: DataPath, offset: int, part: str | None = None
    ) -> Mark | None:
        """The mark of character `offset` of the scalar at `path`, when it can be known.

        `part` is the text the offset counts in, when that is only a piece of the scalar
        (`api: "cmd args"` is validated as command and args): it is found in the scalar.
        Exact for one-line plain and quoted scalars whose text appears as written (no
        escapes before the offset); otherwise None, and callers point at the scalar.
        """
        mark = document.values.get(path)
        value = _get(document.data, path)
        if mark is None or not isinstance(value, str) or path in document.multiline:
            return None
        if part is not None:
            start = value.find(part)
            if start == -1:
                return None
            offset += start
        style = document.styles.get(path) or None  # the C parser says '' for plain
        if style not in (None, '"', "'"):
            return None
        line, column = mark
        start = column + (0 if style is None else 1)
        text = self.lines[line] if line < len(self.lines) else ""
        if text[start : start + offset] != value[:offset]:
            return None
        return line, start + offset


def _get(data: object, path: DataPath) -> object:
    for key in path:
        if isinstance(data, list) and isinstance(key, int) and 0 <= key < len(data):
            data = data[key]
            continue
        if not isinstance(data, dict) or key not in data:
            return None
        data = data[key]
    return data


_STR = _TAG + "str"
_TIMESTAMP = _TAG + "timestamp"
_NULL = _TAG + "null"
_BOOL = _TAG + "bool"
_INT = _TAG + "int"
_FLOAT = _TAG + "float"
_SEQ = _TAG + "seq"
_MAP = _TAG + "map"
_MERGE = _TAG + "merge"


class _Builder:
    """Turns one document's node graph into plain data, recording positions."""

    def __init__(self, document: Document) -> None:
        self.document = document
        self.values = document.values
        self.keys = document.keys
        self.nodes = 0
        self.active: set[int] = set()
        self.problems: list[YamlProblem] = []

    def build(self, node: Node, path: DataPath) -> object:
        self.nodes += 1
        start = node.start_mark
        mark = (start.line, start.column)
        if self.nodes > MAX_NODES:
            raise YamlProblem(
                f"document too large: more than {MAX_NODES} values after alias expansion", mark
            )
        self.values[path] = mark
        if isinstance(node, ScalarNode):
            self.document.styles[path] = node.style
            end = node.end_mark
            if end is not None and end.line != start.line:
                self.document.multiline.add(path)
            return self.scalar(node, mark)
        if id(node) in self.active:
            raise YamlProblem("recursive alias: a value that contains itself", mark)
        self.active.add(id(node))
        try:
            if isinstance(node, SequenceNode):
                if node.tag != _SEQ:
                    raise YamlProblem(f"unsupported YAML tag '{node.tag}'", mark)
                return [self.build(item, (*path, index)) for index, item in enumerate(node.value)]
            if isinstance(node, MappingNode):
                return self.mapping(node, path, mark)
        finally:
            self.active.discard(id(node))
        raise YamlProblem("unsupported YAML node", mark)

    def mapping(self, node: MappingNode, path: DataPath, mark: Mark) -> dict[str, object]:
        if node.tag != _MAP:
            raise YamlProblem(f"unsupported YAML tag '{node.tag}'", mark)
        result: dict[str, object] = {}
        merges: list[Node] = []
        for key_node, value_node in node.value:
            start = key_node.start_mark
            key_mark = (start.line, start.column)
            if not isinstance(key_node, ScalarNode):
                self.problems.append(
                    YamlProblem("a key must be a plain word, not a list or mapping", key_mark)
                )
                continue
            key = str(key_node.value)
            if key == "<<" and key_node.tag == _MERGE:
                merges.append(value_node)
                continue
            key_path = (*path, key)
            if key in result:
                line = self.keys[key_path][0] + 1
                self.problems.append(
                    YamlProblem(f"duplicate key '{key}' (first defined on line {line})", key_mark)
                )
                continue
            self.keys[key_path] = key_mark
            result[key] = self.build(value_node, key_path)
        for merge in merges:
            self.merge(result, merge, path)
        return result

    def merge(self, result: dict[str, object], node: Node, path: DataPath) -> None:
        """`<<: *base`: keys of the merged mapping(s) that this mapping does not set."""
        sources = node.value if isinstance(node, SequenceNode) else [node]
        for source in sources:
            if not isinstance(source, MappingNode):
                start = source.start_mark
                raise YamlProblem("'<<' merges mappings only", (start.line, start.column))
            for key_node, value_node in source.value:
                key = str(key_node.value)
                if key not in result and isinstance(key_node, ScalarNode):
                    start = key_node.start_mark
                    self.keys[(*path, key)] = (start.line, start.column)
                    result[key] = self.build(value_node, (*path, key))

    def scalar(self, node: ScalarNode, mark: Mark) -> object:
        tag = node.tag
        text: str = node.value
        if tag in (_STR, _TIMESTAMP):
            return text
        if tag == _NULL:
            return None
        if tag == _BOOL:
            return text in _BOOL_TRUE
        if tag == _INT:
            return _int(text, mark)
        if tag == _FLOAT:
            return _float(text, mark)
        raise YamlProblem(f"unsupported YAML tag '{tag}'", mark)


def _int(text: str, mark: Mark) -> int:
    digits = text.replace("_", "")
    sign = -1 if digits.startswith("-") else 1
    digits = digits.lstrip("+-")
    try:
        if digits[:2] in ("0x", "0X"):
            return sign * int(digits[2:], 16)
        if digits[:2] in ("0o", "0O"):
            return sign * int(digits[2:], 8)
        if digits[:2] in ("0b", "0B"):
            return sign * int(digits[2:], 2)
        return sign * int(digits, 10)
    except ValueError:
        raise YamlProblem(f"'{text}' is not a number", mark) from None


def _float(text: str, mark: Mark) -> float:
    lowered = text.replace("_", "").lower()
    special = {".inf": "inf", "+.inf": "inf", "-.inf": "-inf", ".nan": "nan"}
    try:
        return float(special.get(lowered, lowered))
    except ValueError:
        raise YamlProblem(f"'{text}' is not a number", mark) from None


def _tab_errors(source: SourceFile) -> list[FlowError]:
    errors = []
    for number, line in enumerate(source.lines):
        indent = line[: len(line) - len(line.lstrip(" \t"))]
        if "\t" in indent:
            errors.append(
                source.error(
                    (number, indent.index("\t")),
                    "tab character in indentation: YAML indents with spaces",
                )
            )
    return errors


# typ="safe" uses ruamel.yaml.clib's C parser (libyaml) when installed. libyaml scans
# by YAML 1.1 and refuses some YAML 1.2 that ruamel's own parser reads, such as
# `{subclass: sofia::register}` (a ':' inside a plain scalar of a flow mapping), so a
# document the C parser refuses is read again by the pure-Python parser, which decides.
class _Yaml12Resolver(VersionedResolver):
    """ruamel's resolver, minus its per-scalar lookup of the document's YAML version.

    That lookup (`processing_version`, a chain of attribute misses) took a quarter of
    the time of validating a folder of flows. Flows are YAML 1.2; a `%YAML` directive
    does not change how their scalars read.
    """

    _tables: ClassVar[dict[Any, Any]] = {}

    @property
    def versioned_resolver(self) -> Any:
        tables = self._tables.get("1.2")
        if tables is None:
            tables = self._tables["1.2"] = VersionedResolver(version=(1, 2)).versioned_resolver
        return tables


_FAST: Final = YAML(typ="safe")
_FAST.Resolver = _Yaml12Resolver
_PURE: Final = YAML(typ="safe", pure=True)
_PURE.Resolver = _Yaml12Resolver


def _documents(text: str) -> list[Node | None]:
    try:
        return list(_FAST.compose_all(text))
    except YAMLError:
        if _FAST.Parser is _PURE.Parser:
            raise
        return list(_PURE.compose_all(text))


def parse_yaml(
    text: str,
    path: str,
    *,
    expected: str = "a flow (a mapping with flow:, trigger: and steps:)",
) -> SourceFile:
    """Parse `text` (the content of `path`) into documents, collecting YAML-level errors.

    `expected` says what the file should hold, for the message about an empty file.
    """
    if text.startswith("\ufeff"):
        text = text[1:]
    source = SourceFile(path=path, lines=text.splitlines())
    try:
        nodes = _documents(text)
    except MarkedYAMLError as exc:
        tabs = _tab_errors(source)
        if tabs:
            source.errors.extend(tabs)
            return source
        mark = exc.problem_mark or exc.context_mark
        problem = exc.problem or exc.context or "invalid YAML"
        where = None if mark is None else (mark.line, mark.column)
        context = ""
        if exc.context and exc.problem:
            start = exc.context_mark
            if start is not None and (start.line, start.column) != where:
                context = f" ({exc.context} that starts at {start.line + 1}:{start.column + 1})"
            else:
                context = f" ({exc.context})"
        source.errors.append(source.error(where, f"YAML syntax error: {problem}{context}"))
        return source
    except YAMLError as exc:
        source.errors.append(source.error((0, 0), f"YAML error: {exc}"))
        return source
    if not any(node is not None for node in nodes):
        source.errors.append(source.error((0, 0), f"empty file: expected {expected}"))
        return source
    for number, node in enumerate(nodes):
        if node is None:
            continue
        document = Document(data=None, number=number)
        builder = _Builder(document)
        try:
            document.data = builder.build(node, ())
        except YamlProblem as fatal:
            source.errors.append(source.error(fatal.mark, str(fatal)))
            continue
        for problem in builder.problems:
            source.errors.append(source.error(problem.mark, str(problem)))
        source.documents.append(document)
    return source
