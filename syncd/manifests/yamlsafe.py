"""A hardened YAML reader that keeps the line and column of every key and value.

It builds plain Python values straight from the parser's event stream, so that:
- every value and key has a `Position` (1-based), found later by its path;
- alias bombs are refused: an alias adds the size of what it names, and a file whose expanded
  size passes `Limits.max_nodes` is refused in linear time, before anything expands (one budget
  for all documents of a file, which may hold at most `Limits.max_documents`);
- every scalar's construction is total: a value its tag cannot hold (`!!bool maybe`), a number
  too long to convert safely, a NUL character are located errors, never an exception; what a
  plain scalar means is the `Schema`'s (YAML 1.1 for syncd's manifests, 1.2 for Compose files,
  see `yamlscalars`);
- nesting deeper than `Limits.max_depth` is refused without recursion;
- duplicate keys in one mapping, unknown tags and complex keys are reported, not ignored;
- non-UTF-8 bytes are reported with their position.

Mapping keys are kept as the text the user typed (`80: x` gives the key "80").
Pure: no I/O.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import yaml

from syncd.errors import YamlFatal as _Fatal
from syncd.manifests.yamlscalars import MERGE as _MERGE
from syncd.manifests.yamlscalars import STR as _STR
from syncd.manifests.yamlscalars import Schema, scalar, unsupported
from syncd.manifests.yamlscalars import pos as _pos
from syncd.manifests.yamlscalars import resolve12 as _resolve12
from syncd.problems import Position, Problem
from syncd.settings import DEFAULT_LIMITS, Limits

__all__ = ["Document", "Path", "PathPart", "Positions", "Schema", "load", "pointer"]

PathPart = str | int
Path = tuple[PathPart, ...]

# libyaml's parser alone (the events are all syncd reads; a CSafeLoader builds a constructor and
# a resolver per file besides), or PyYAML's own where libyaml is missing
_Parser: Any = getattr(getattr(yaml, "cyaml", None), "CParser", yaml.SafeLoader)
_ScalarEvent = yaml.ScalarEvent
_new_position: Any = tuple.__new__  # Position(line, column) without the NamedTuple's call
_MAP_TAGS = {None, "!", "tag:yaml.org,2002:map"}
_SEQ_TAGS = {None, "!", "tag:yaml.org,2002:seq"}


@dataclass
class Positions:
    """Where each value (and each mapping key) of one document stands in its file."""

    values: dict[Path, Position] = field(default_factory=dict)
    keys: dict[Path, Position] = field(default_factory=dict)

    def locate(self, path: Sequence[PathPart], *, key: bool = False) -> Position:
        """The position of `path`, or of its nearest known ancestor (e.g. inside an alias)."""
        parts = tuple(path)
        if key and parts in self.keys:
            return self.keys[parts]
        while parts:
            if parts in self.values:
                return self.values[parts]
            parts = parts[:-1]
        return self.values.get((), Position(1, 1))


@dataclass
class Document:
    path: str
    index: int
    data: Any
    positions: Positions


@dataclass(slots=True)
class _Frame:
    path: Path
    mark: Position
    anchor: str | None
    container: dict[str, Any] | list[Any]
    is_map: bool
    size: int = 1
    pending_key: str | None = None
    pending_path: Path = ()  # the pending key's path: its value's, and its children's prefix
    pending_merge: bool = False
    merges: list[tuple[Any, Position]] = field(default_factory=list)


class _Builder:
    """Values and positions from the parser's events. The hot path (about 90 events per
    service of a typical file) avoids calls where it can: events are dispatched by type,
    and the current frame's kind is a flag, not an `isinstance`."""

    def __init__(self, path: str, limits: Limits, schema: Schema) -> None:
        self.path = path
        self.limits = limits
        self.schema = schema
        self.documents: list[Document] = []
        self.problems: list[Problem] = []
        self.nodes = 0  # one budget for the whole file: documents share it
        self._reset()

    def _reset(self) -> None:
        self.stack: list[_Frame] = []
        self.anchors: dict[str, tuple[Any, int]] = {}
        self.root: Any = None
        self.positions = Positions()

    def _count(self, size: int, mark: Position) -> None:
        self.nodes += size
        if self.nodes > self.limits.max_nodes:
            raise _Fatal(
                mark,
                f"file expands to more than {self.limits.max_nodes} values "
                "(an alias bomb?); refused",
            )

    def run(self, get_event: Any) -> None:  # noqa: PLR0915 - the hot loop, inlined
        """Every event of the parser's stream. Scalars (two thirds of the events) are handled
        inline, the common cases without a call; the rest goes to the event's handler."""
        dispatch, stack, schema, limits = _DISPATCH, self.stack, self.schema, self.limits
        compose = schema is Schema.COMPOSE
        values = self.positions.values
        while (event := get_event()) is not None:
            if type(event) is not _ScalarEvent:
                handler = dispatch.get(type(event))
                if handler is not None:  # stream start and end carry nothing
                    handler(self, event)
                    stack, values = self.stack, self.positions.values  # a document resets them
                continue
            start: Any = event.start_mark
            mark = _new_position(Position, (start.line + 1, start.column + 1))
            text: str = event.value
            if compose and event.tag is None and "\x00" not in text:
                tag = _resolve12(text) if event.implicit[0] else _STR
                value: Any = text
                if tag not in (_STR, _MERGE):
                    value, tag = scalar(event, schema)
            else:
                value, tag = scalar(event, schema)
            if not stack:
                self._scalar_value(event, value, mark)
                continue
            top = stack[-1]
            if top.is_map:
                if top.pending_key is None:  # a key
                    if tag == _MERGE or text in top.container:
                        self._key(text, tag == _MERGE, mark)
                    else:
                        path = (*top.path, text)
                        self.positions.keys[path] = mark
                        top.pending_path = path
                        top.pending_key = text
                    continue
                if top.pending_merge or event.anchor:
                    self._scalar_value(event, value, mark)
                    continue
                self.nodes += 1
                if self.nodes > limits.max_nodes:
                    self._count(0, mark)
                top.size += 1
                key = top.pending_key
                top.pending_key = None
                mapping: Any = top.container
                if key not in mapping:
                    values[top.pending_path] = mark
                    mapping[key] = value
                continue
            if event.anchor:
                self._scalar_value(event, value, mark)
                continue
            self.nodes += 1
            if self.nodes > limits.max_nodes:
                self._count(0, mark)
            top.size += 1
            items: Any = top.container
            values[(*top.path, len(items))] = mark
            items.append(value)

    def _scalar_value(self, event: Any, value: Any, mark: Position) -> None:
        """A scalar value (not a key) in the general case: an anchor, a merge, the root."""
        self.nodes += 1
        if self.nodes > self.limits.max_nodes:
            self._count(0, mark)
        if event.anchor:
            self.anchors[event.anchor] = (value, 1)
        self._value(value, mark, 1)

    def _document_start(self, event: Any) -> None:
        if len(self.documents) >= self.limits.max_documents:
            raise _Fatal(
                _pos(event.start_mark),
                f"more than {self.limits.max_documents} documents in one file; split it",
            )
        self._reset()

    def _document_end(self, event: Any) -> None:
        index = len(self.documents)
        self.documents.append(Document(self.path, index, self.root, self.positions))

    def _is_key(self) -> bool:
        if not self.stack:
            return False
        top = self.stack[-1]
        return top.is_map and top.pending_key is None

    def _alias_event(self, event: Any) -> None:
        mark = _pos(event.start_mark)
        if event.anchor not in self.anchors:
            raise _Fatal(mark, f"alias *{event.anchor} names no anchor defined before it")
        if self._is_key():
            raise _Fatal(mark, "an alias cannot be a mapping key")
        value, size = self.anchors[event.anchor]
        self._count(size, mark)
        self._value(value, mark, size)

    def _start(self, event: Any) -> None:
        start = event.start_mark
        mark = _new_position(Position, (start.line + 1, start.column + 1))
        stack = self.stack
        path: Path = ()
        if stack:
            top = stack[-1]
            if top.is_map:
                if top.pending_key is None:
                    raise _Fatal(
                        mark, "complex mapping keys are not supported; use a plain string key"
                    )
                path = top.pending_path
            else:
                path = (*top.path, len(top.container))
        is_map = type(event) is yaml.MappingStartEvent
        if event.tag not in (_MAP_TAGS if is_map else _SEQ_TAGS):
            raise _Fatal(mark, unsupported(event.tag, "a mapping" if is_map else "a list"))
        if len(stack) >= self.limits.max_depth:
            raise _Fatal(mark, f"nesting is deeper than {self.limits.max_depth} levels; refused")
        self.nodes += 1
        if self.nodes > self.limits.max_nodes:
            self._count(0, mark)
        container: dict[str, Any] | list[Any] = {} if is_map else []
        stack.append(_Frame(path, mark, event.anchor, container, is_map))

    def _end(self, event: Any) -> None:
        frame = self.stack.pop()
        if frame.merges:
            self._merge(frame)
        if frame.anchor:
            self.anchors[frame.anchor] = (frame.container, frame.size)
        self._value(frame.container, frame.mark, frame.size)

    def _key(self, key: str, is_merge: bool, mark: Position) -> None:
        top = self.stack[-1]
        assert isinstance(top.container, dict)
        path = (*top.path, key)
        top.pending_path = path
        if is_merge:
            top.pending_merge = True
            top.pending_key = "<<"
            return
        if key in top.container:
            first = self.positions.keys.get(path, Position())
            self.problems.append(
                Problem(
                    self.path,
                    f"duplicate key {key!r} (first at line {first.line}); "
                    "a mapping may name each key once",
                    _pointer(path),
                    mark,
                )
            )
        else:
            self.positions.keys[path] = mark
        top.pending_key = key

    def _value(self, value: Any, mark: Position, size: int) -> None:
        if not self.stack:
            self.root = value
            self.positions.values[()] = mark
            return
        top = self.stack[-1]
        top.size += size
        container = top.container
        if not top.is_map:
            assert isinstance(container, list)
            self.positions.values[(*top.path, len(container))] = mark
            container.append(value)
            return
        assert isinstance(container, dict)
        key = top.pending_key
        assert key is not None
        top.pending_key = None
        if top.pending_merge:
            top.pending_merge = False
            top.merges.append((value, mark))
            return
        if key not in container:
            self.positions.values[top.pending_path] = mark
            container[key] = value

    def _merge(self, frame: _Frame) -> None:
        assert isinstance(frame.container, dict)
        for source, mark in frame.merges:
            parts = source if isinstance(source, list) else [source]
            for part in parts:
                if not isinstance(part, dict):
                    raise _Fatal(mark, "a merge key `<<` takes a mapping or a list of mappings")
                for key, value in part.items():
                    if key not in frame.container:
                        frame.container[key] = value
                        self.positions.values[(*frame.path, key)] = mark
                        self.positions.keys[(*frame.path, key)] = mark


# The handlers of the events `_Builder.run` does not handle inline, as functions of the class:
# bound methods kept in the builder would make it a reference cycle, and every value it read
# garbage that only the cyclic collector frees.
_DISPATCH: dict[type, Any] = {
    yaml.MappingStartEvent: _Builder._start,
    yaml.SequenceStartEvent: _Builder._start,
    yaml.MappingEndEvent: _Builder._end,
    yaml.SequenceEndEvent: _Builder._end,
    yaml.AliasEvent: _Builder._alias_event,
    yaml.DocumentStartEvent: _Builder._document_start,
    yaml.DocumentEndEvent: _Builder._document_end,
}


def _pointer(path: Sequence[PathPart]) -> str:
    return "".join("/" + str(p).replace("~", "~0").replace("/", "~1") for p in path)


def overlaps(path: Sequence[PathPart], paths: Iterable[Path]) -> bool:
    """Whether `path` is one of `paths`, lies inside one, or holds one (a tainted place)."""
    at = tuple(path)
    return any(p[: len(at)] == at or at[: len(p)] == p for p in paths)


def pointer(path: Sequence[PathPart]) -> str:
    """The RFC 6901 JSON pointer of a path (`("services", "web")` -> `/services/web`)."""
    return _pointer(path)


def _decode(path: str, data: bytes) -> tuple[str | None, Problem | None]:
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as err:
        line = data.count(b"\n", 0, err.start) + 1
        column = err.start - (data.rfind(b"\n", 0, err.start) + 1) + 1
        byte = data[err.start : err.start + 1].hex()
        return None, Problem(
            path,
            f"file is not valid UTF-8 (byte 0x{byte}); save it as UTF-8",
            "",
            Position(line, column),
        )
    return text.removeprefix("\ufeff"), None


def _text_position(text: str, index: int) -> Position:
    line = text.count("\n", 0, index) + 1
    return Position(line, index - (text.rfind("\n", 0, index) + 1) + 1)


def load(
    path: str, data: bytes, limits: Limits = DEFAULT_LIMITS, *, schema: Schema = Schema.YAML11
) -> tuple[list[Document], list[Problem]]:
    """Every document of one file, or the problems that stop it from being read; `schema`
    says what plain scalars mean (`Schema.COMPOSE` for Compose files: YAML 1.2)."""
    if len(data) > limits.max_file_bytes:
        return [], [
            Problem(
                path,
                f"file is {len(data)} bytes, over the {limits.max_file_bytes}-byte limit; "
                "split it into several files",
                "",
                Position(1, 1),
            )
        ]
    text, problem = _decode(path, data)
    if text is None:
        assert problem is not None
        return [], [problem]
    builder = _Builder(path, limits, schema)
    parser = _Parser(text)
    try:
        builder.run(parser.get_event)
    except _Fatal as err:
        return [], [*builder.problems, Problem(path, err.message, "", err.position)]
    except yaml.reader.ReaderError as err:
        where = _text_position(text, err.position)
        return [], [Problem(path, f"invalid character: {err.reason}", "", where)]
    except yaml.MarkedYAMLError as err:
        mark = err.problem_mark or err.context_mark
        message = " ".join(x for x in (err.context, err.problem) if x)
        return [], [Problem(path, f"YAML syntax error: {message}", "", _pos(mark))]
    except yaml.YAMLError as err:
        return [], [Problem(path, f"YAML error: {err}", "", Position(1, 1))]
    finally:
        parser.dispose()
    return builder.documents, builder.problems
