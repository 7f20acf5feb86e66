"""A hardened YAML reader that keeps the line and column of every key and value.

It builds plain Python values straight from the parser's event stream, so that:
- every value and key has a `Position` (1-based), found later by its path;
- alias bombs are refused: an alias adds the size of what it names, and a file whose expanded
  size passes `Limits.max_nodes` is refused in linear time, before anything expands (one budget
  for all documents of a file, which may hold at most `Limits.max_documents`);
- every scalar's construction is total: a value its tag cannot hold (`!!bool maybe`), a number
  too long to convert safely, a NUL character are located errors, never an exception;
- nesting deeper than `Limits.max_depth` is refused without recursion;
- duplicate keys in one mapping, unknown tags and complex keys are reported, not ignored;
- non-UTF-8 bytes are reported with their position.

Mapping keys are kept as the text the user typed (`80: x` gives the key "80").
Pure: no I/O.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import yaml
from yaml.constructor import SafeConstructor
from yaml.resolver import Resolver

from syncd.errors import Position, Problem
from syncd.settings import DEFAULT_LIMITS, Limits

PathPart = str | int
Path = tuple[PathPart, ...]

_Parser: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_resolver = Resolver()
_constructor = SafeConstructor()

_CORE = "tag:yaml.org,2002:"
_STR = "tag:yaml.org,2002:str"
_MERGE = "tag:yaml.org,2002:merge"
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


class _Fatal(Exception):
    def __init__(self, position: Position, message: str) -> None:
        super().__init__(message)
        self.position = position
        self.message = message


def _pos(mark: Any) -> Position:
    if mark is None:
        return Position(1, 1)
    return Position(mark.line + 1, mark.column + 1)


@dataclass
class _Frame:
    path: Path
    mark: Position
    anchor: str | None
    container: dict[str, Any] | list[Any]
    size: int = 1
    pending_key: str | None = None
    pending_merge: bool = False
    merges: list[tuple[Any, Position]] = field(default_factory=list)


_SCALARS = {
    "tag:yaml.org,2002:null": _constructor.construct_yaml_null,
    "tag:yaml.org,2002:bool": _constructor.construct_yaml_bool,
    "tag:yaml.org,2002:int": _constructor.construct_yaml_int,
    "tag:yaml.org,2002:float": _constructor.construct_yaml_float,
}
_NUMBER_TAGS = {"tag:yaml.org,2002:int", "tag:yaml.org,2002:float"}
# A 64-bit integer has at most 19 digits; with sign, `0x`/`0o`/`0b`, `_` and sexagesimal `:`
# a sane number stays far below this. Longer text is refused before it is converted, so that
# neither Python's int-string limit nor a quadratic base-60 conversion is ever reached.
MAX_NUMBER_TEXT = 100
MAX_INT = 2**63 - 1


def _construct(tag: str, event: Any) -> Any:
    """The value of a scalar of `tag`, or `_Fatal` at the scalar: never a constructor's error."""
    mark = _pos(event.start_mark)
    if tag in _NUMBER_TAGS and len(event.value) > MAX_NUMBER_TEXT:
        raise _Fatal(
            mark,
            f"a number of {len(event.value)} characters is too large "
            f"(at most {MAX_NUMBER_TEXT}); quote it to use it as text",
        )
    node = yaml.ScalarNode(tag, event.value, event.start_mark, event.end_mark, event.style)
    try:
        value = _SCALARS[tag](node)
    except Exception:  # PyYAML's constructors raise KeyError, ValueError, IndexError, ...
        short = tag.removeprefix(_CORE)
        raise _Fatal(mark, f"{_clip(event.value)!r} is not a valid !!{short}") from None
    if isinstance(value, float) and not math.isfinite(value):
        raise _Fatal(mark, f"{_clip(event.value)!r} is not a finite number")
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) > MAX_INT:
        raise _Fatal(
            mark,
            f"{_clip(event.value)!r} is outside the 64-bit integer range; "
            "quote it to use it as text",
        )
    return value


def _clip(text: str, size: int = 40) -> str:
    return text if len(text) <= size else text[:size] + "..."


def _scalar(event: Any) -> tuple[Any, str]:
    tag = event.tag
    if tag is None or tag == "!":
        tag = _resolver.resolve(yaml.ScalarNode, event.value, event.implicit)  # type: ignore[no-untyped-call]
    if "\x00" in event.value:
        raise _Fatal(
            _pos(event.start_mark),
            "a NUL character (\\0) is not allowed: Docker cannot pass it to a container",
        )
    if tag in (_STR, _MERGE, "tag:yaml.org,2002:timestamp"):
        # Timestamps stay text: manifests have no date fields.
        return event.value, tag
    if tag not in _SCALARS:
        raise _Fatal(_pos(event.start_mark), _unsupported(tag, "a scalar"))
    return _construct(tag, event), tag


_COLLECTION_TAGS = {_CORE + name for name in ("map", "seq", "set", "omap", "pairs")}


def _unsupported(tag: str, node: str) -> str:
    if tag in _COLLECTION_TAGS or tag in _SCALARS or tag in (_STR, _CORE + "timestamp"):
        return f"the tag !!{tag.removeprefix(_CORE)} cannot be given to {node}"
    return f"unsupported YAML tag {_clip(tag)!r}"


class _Builder:
    def __init__(self, path: str, limits: Limits) -> None:
        self.path = path
        self.limits = limits
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

    def _child_path(self) -> Path:
        if not self.stack:
            return ()
        top = self.stack[-1]
        if isinstance(top.container, list):
            return (*top.path, len(top.container))
        assert top.pending_key is not None
        return (*top.path, top.pending_key)

    def feed(self, event: Any) -> None:
        if isinstance(event, yaml.DocumentStartEvent):
            if len(self.documents) >= self.limits.max_documents:
                raise _Fatal(
                    _pos(event.start_mark),
                    f"more than {self.limits.max_documents} documents in one file; split it",
                )
            self._reset()
        elif isinstance(event, yaml.DocumentEndEvent):
            index = len(self.documents)
            self.documents.append(Document(self.path, index, self.root, self.positions))
        elif isinstance(event, yaml.ScalarEvent):
            self._scalar_event(event)
        elif isinstance(event, yaml.AliasEvent):
            self._alias_event(event)
        elif isinstance(event, yaml.MappingStartEvent | yaml.SequenceStartEvent):
            self._start(event)
        elif isinstance(event, yaml.MappingEndEvent | yaml.SequenceEndEvent):
            self._end()

    def _is_key(self) -> bool:
        if not self.stack:
            return False
        top = self.stack[-1]
        return isinstance(top.container, dict) and top.pending_key is None

    def _scalar_event(self, event: Any) -> None:
        mark = _pos(event.start_mark)
        value, tag = _scalar(event)
        if self._is_key():
            self._key(event.value, tag == _MERGE, mark)
            return
        self._count(1, mark)
        if event.anchor:
            self.anchors[event.anchor] = (value, 1)
        self._value(value, mark, 1)

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
        mark = _pos(event.start_mark)
        if self._is_key():
            raise _Fatal(mark, "complex mapping keys are not supported; use a plain string key")
        is_map = isinstance(event, yaml.MappingStartEvent)
        if event.tag not in (_MAP_TAGS if is_map else _SEQ_TAGS):
            raise _Fatal(mark, _unsupported(event.tag, "a mapping" if is_map else "a list"))
        if len(self.stack) >= self.limits.max_depth:
            raise _Fatal(mark, f"nesting is deeper than {self.limits.max_depth} levels; refused")
        self._count(1, mark)
        container: dict[str, Any] | list[Any] = {} if is_map else []
        self.stack.append(_Frame(self._child_path(), mark, event.anchor, container))

    def _end(self) -> None:
        frame = self.stack.pop()
        if isinstance(frame.container, dict):
            self._merge(frame)
        if frame.anchor:
            self.anchors[frame.anchor] = (frame.container, frame.size)
        self._value(frame.container, frame.mark, frame.size)

    def _key(self, key: str, is_merge: bool, mark: Position) -> None:
        top = self.stack[-1]
        assert isinstance(top.container, dict)
        if is_merge:
            top.pending_merge = True
            top.pending_key = "<<"
            return
        path = (*top.path, key)
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
        if isinstance(top.container, list):
            self.positions.values[(*top.path, len(top.container))] = mark
            top.container.append(value)
            return
        key = top.pending_key
        assert key is not None
        top.pending_key = None
        if top.pending_merge:
            top.pending_merge = False
            top.merges.append((value, mark))
            return
        if key not in top.container:
            self.positions.values[(*top.path, key)] = mark
            top.container[key] = value

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


def _pointer(path: Sequence[PathPart]) -> str:
    return "".join("/" + str(p).replace("~", "~0").replace("/", "~1") for p in path)


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
    path: str, data: bytes, limits: Limits = DEFAULT_LIMITS
) -> tuple[list[Document], list[Problem]]:
    """Every document of one file, or the problems that stop it from being read."""
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
    builder = _Builder(path, limits)
    try:
        for event in yaml.parse(text, Loader=_Parser):
            builder.feed(event)
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
    return builder.documents, builder.problems
