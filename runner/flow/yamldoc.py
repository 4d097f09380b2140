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
from ruamel.yaml.events import CollectionEndEvent, CollectionStartEvent
from ruamel.yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode
from ruamel.yaml.reader import ReaderError
from ruamel.yaml.resolver import VersionedResolver

from runner.flow.errors import FlowError

DataPath = tuple[str | int, ...]
Mark = tuple[int, int]
"""0-based (line, column), as ruamel counts."""

MAX_FILE_SIZE: Final = 1_048_576
"""Longest flow file, in bytes (1 MiB): a real flow file is a few kilobytes."""

MAX_DOCUMENTS: Final = 1_000
"""Documents (`---`) in one file: each costs a few kilobytes once built, so this and the
size bound keep the memory of a file of many tiny documents to a small multiple of it."""

MAX_NODES: Final = 50_000
"""Values one file may hold after alias expansion (a guard against alias bombs and
millions of keys; a 2 KB flow has about 70)."""

MAX_DEPTH: Final = 64
"""Levels of nesting (mappings and lists) a document may have; ruamel's composer and
our builder recurse once per level, and Python's stack ends near 500."""

MAX_SHOWN: Final = 40
"""Characters of a value quoted in a message; longer ones are cut with `...`."""

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


def _tag(node: Node) -> str:
    """A node's tag as text. ruamel's `node.tag` is `str(node.ctag)`, which URI-decodes the
    suffix character by character and caches the result on every node: a third of the
    memory of loading 50,000 values. The resolver's implicit tags need no decoding."""
    tag: Any = getattr(node, "ctag", None)
    if tag is None or isinstance(tag, str):
        return str(node.tag)
    suffix = getattr(tag, "suffix", None)
    if getattr(tag, "handle", 0) is None and isinstance(suffix, str) and "%" not in suffix:
        return suffix
    return str(tag)


class _Builder:
    """Turns one document's node graph into plain data, recording positions."""

    def __init__(self, document: Document, nodes: int = 0) -> None:
        self.document = document
        self.values = document.values
        self.keys = document.keys
        self.nodes = nodes
        """Values built so far in the file (earlier documents included)."""
        self.active: set[int] = set()
        self.problems: list[YamlProblem] = []

    def build(self, node: Node, path: DataPath) -> object:
        self.nodes += 1
        start = node.start_mark
        mark = (start.line, start.column)
        if self.nodes > MAX_NODES:
            raise YamlProblem(
                f"file too large: more than {MAX_NODES:,} values (after alias expansion)", mark
            )
        if len(path) >= MAX_DEPTH and not isinstance(node, ScalarNode):
            raise YamlProblem(_too_deep(), mark)
        self.values[path] = mark
        if isinstance(node, ScalarNode):
            if node.style:  # plain scalars ('' from the C parser, None) are not stored
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
                if _tag(node) != _SEQ:
                    raise YamlProblem(f"unsupported YAML tag '{shown(_tag(node))}'", mark)
                return [self.build(item, (*path, index)) for index, item in enumerate(node.value)]
            if isinstance(node, MappingNode):
                return self.mapping(node, path, mark)
        finally:
            self.active.discard(id(node))
        raise YamlProblem("unsupported YAML node", mark)

    def mapping(self, node: MappingNode, path: DataPath, mark: Mark) -> dict[str, object]:
        if _tag(node) != _MAP:
            raise YamlProblem(f"unsupported YAML tag '{shown(_tag(node))}'", mark)
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
            if key == "<<" and _tag(key_node) == _MERGE:
                merges.append(value_node)
                continue
            key_path = (*path, key)
            if key in result:
                line = self.keys[key_path][0] + 1
                self.problems.append(
                    YamlProblem(
                        f"duplicate key '{shown(key)}' (first defined on line {line})", key_mark
                    )
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
        tag = _tag(node)
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
        raise YamlProblem(f"unsupported YAML tag '{shown(str(tag))}'", mark)


def shown(text: str) -> str:
    """`text` for a message: cut to MAX_SHOWN characters, so a 1 MB value is not echoed."""
    return text if len(text) <= MAX_SHOWN else text[:MAX_SHOWN] + "..."


def _too_deep() -> str:
    return f"nested too deeply: more than {MAX_DEPTH} levels of mappings and lists"


MAX_DIGITS: Final = 100
"""Longest number YAML may write (Python's int() refuses past 4,300 digits)."""


def _too_long(text: str, mark: Mark) -> YamlProblem:
    return YamlProblem(f"number too long: '{shown(text)}' has more than {MAX_DIGITS} digits", mark)


def _int(text: str, mark: Mark) -> int:
    digits = text.replace("_", "")
    if len(digits) > MAX_DIGITS:
        raise _too_long(text, mark)
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
        raise YamlProblem(f"'{shown(text)}' is not a number", mark) from None


def _float(text: str, mark: Mark) -> float:
    lowered = text.replace("_", "").lower()
    if len(lowered) > MAX_DIGITS:
        raise _too_long(text, mark)
    special = {".inf": "inf", "+.inf": "inf", "-.inf": "-inf", ".nan": "nan"}
    try:
        return float(special.get(lowered, lowered))
    except ValueError:
        raise YamlProblem(f"'{shown(text)}' is not a number", mark) from None


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


class _Refused(Exception):
    """A limit crossed or a character refused: the whole file gets this one error."""

    def __init__(self, message: str, mark: Mark) -> None:
        self.mark = mark
        super().__init__(message)


def _mark_at(text: str, index: int) -> Mark:
    """The 0-based (line, column) of character `index` of `text`."""
    line = text.count("\n", 0, index)
    return line, index - (text.rfind("\n", 0, index) + 1)


def _deep_mark(yaml: YAML, text: str) -> Mark:
    """Where nesting first passes MAX_DEPTH, found from parser events (no recursion).

    Called when composing overflowed Python's stack, which happens only far deeper.
    """
    depth = 0
    try:
        for event in yaml.parse(text):
            if isinstance(event, CollectionStartEvent):
                depth += 1
                if depth > MAX_DEPTH:
                    start = event.start_mark
                    return start.line, start.column
            elif isinstance(event, CollectionEndEvent):
                depth -= 1
    except YAMLError:
        pass
    return 0, 0


def _compose(yaml: YAML, text: str, source: SourceFile) -> bool:
    """Build `source.documents` one document at a time, so only one node graph is alive.

    Returns whether the file held any document. Raises YAMLError from the parser and
    _Refused when a file-wide limit is crossed.
    """
    nodes = 0
    seen = False
    try:
        for number, node in enumerate(yaml.compose_all(text)):
            if node is None:
                continue
            seen = True
            start = node.start_mark
            if number >= MAX_DOCUMENTS:
                raise _Refused(
                    f"too many documents: a flow file holds at most {MAX_DOCUMENTS:,}",
                    (start.line, start.column),
                )
            document = Document(data=None, number=number)
            builder = _Builder(document, nodes)
            try:
                document.data = builder.build(node, ())
            except YamlProblem as fatal:
                if builder.nodes > MAX_NODES:
                    raise _Refused(str(fatal), fatal.mark) from None
                source.errors.append(source.error(fatal.mark, str(fatal)))
                continue
            finally:
                nodes = builder.nodes
            for problem in builder.problems:
                source.errors.append(source.error(problem.mark, str(problem)))
            source.documents.append(document)
    except RecursionError:
        raise _Refused(_too_deep(), _deep_mark(yaml, text)) from None
    except ReaderError as exc:
        # A character YAML does not allow (NUL, other control characters).
        where = _mark_at(text, exc.position) if isinstance(exc.position, int) else (0, 0)
        char = exc.character
        number = ord(char) if isinstance(char, str) else char
        code = f"U+{number:04X}" if isinstance(number, int) else "this character"
        raise _Refused(f"character {code} is not allowed in YAML", where) from None
    return seen


def _parse(text: str, source: SourceFile) -> bool:
    try:
        try:
            return _compose(_FAST, text, source)
        except YAMLError:
            if _FAST.Parser is _PURE.Parser:
                raise
        source.documents.clear()
        source.errors.clear()
        return _compose(_PURE, text, source)
    finally:
        # ruamel's YAML object appends one DocInfo per compose_all and never drops it:
        # a service reloading flows for months would keep them all.
        _FAST.doc_infos.clear()
        _PURE.doc_infos.clear()


def parse_yaml(
    text: str,
    path: str,
    *,
    expected: str = "a flow (a mapping with flow:, trigger: and steps:)",
) -> SourceFile:
    """Parse `text` (the content of `path`) into documents, collecting YAML-level errors.

    `expected` says what the file should hold, for the message about an empty file.
    The limits (MAX_FILE_SIZE, MAX_DOCUMENTS, MAX_NODES, MAX_DEPTH) end the parse with
    one positioned error; nothing here raises.
    """
    if text.startswith("\ufeff"):
        text = text[1:]
    source = SourceFile(path=path, lines=text.splitlines())
    if len(text) > MAX_FILE_SIZE:
        message = f"file too large: a flow file holds at most {MAX_FILE_SIZE:,} bytes"
        source.errors.append(source.error(_mark_at(text, MAX_FILE_SIZE), message))
        return source
    try:
        seen = _parse(text, source)
    except _Refused as exc:
        source.documents.clear()
        source.errors[:] = [source.error(exc.mark, str(exc))]
        return source
    except MarkedYAMLError as exc:
        source.documents.clear()
        source.errors.clear()
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
        source.documents.clear()
        source.errors[:] = [source.error((0, 0), f"YAML error: {shown(str(exc))}")]
        return source
    if not seen:
        source.errors.append(source.error((0, 0), f"empty file: expected {expected}"))
    return source
