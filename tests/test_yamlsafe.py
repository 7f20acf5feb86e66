from __future__ import annotations

import gc

import pytest

from syncd.manifests.yamlsafe import load
from syncd.problems import Position
from syncd.settings import Limits


def test_positions_of_keys_and_values() -> None:
    docs, problems = load("a.yaml", b"kind: Stack\nservices:\n  web:\n    image: x\n")
    assert problems == []
    positions = docs[0].positions
    assert positions.locate(("services", "web", "image")) == Position(4, 12)
    assert positions.locate(("services", "web", "image"), key=True) == Position(4, 5)
    # unknown paths fall back to the nearest known ancestor
    assert positions.locate(("services", "web", "nope", 3)) == Position(4, 5)


def test_several_documents_and_empty_ones() -> None:
    docs, problems = load("a.yaml", b"a: 1\n---\n---\nb: 2\n")
    assert problems == []
    assert [d.data for d in docs] == [{"a": 1}, None, {"b": 2}]
    assert [d.index for d in docs] == [0, 1, 2]


def test_merge_keys_and_aliases() -> None:
    src = b"base: &b {x: 1, y: [1, 2]}\nm:\n  <<: *b\n  x: 2\n"
    docs, problems = load("a.yaml", src)
    assert problems == []
    assert docs[0].data["m"] == {"x": 2, "y": [1, 2]}


def test_keys_keep_their_text_and_scalars_resolve() -> None:
    docs, _ = load("a.yaml", b"80: on\nnull: ~\nt: 2001-12-14\nf: 1.5\ns: '1'\n")
    assert docs[0].data == {"80": True, "null": None, "t": "2001-12-14", "f": 1.5, "s": "1"}


@pytest.mark.parametrize(
    ("source", "message"),
    [
        (b"a: !!python/object:os.system x\n", "unsupported YAML tag"),
        (b"a: *nope\n", "names no anchor"),
        (b"? [a]\n: 1\n", "complex mapping keys"),
        (b"a: .nan\n", "not a finite number"),
        (b"a: !custom {b: 1}\n", "unsupported YAML tag"),
        (b"a: !!bool maybe\n", "'maybe' is not a valid !!bool"),
        (b"a: !!int abc\n", "'abc' is not a valid !!int"),
        (b"a: !!int ''\n", "'' is not a valid !!int"),
        (b"a: !!float zero\n", "'zero' is not a valid !!float"),
        (b"a: " + b"9" * 5000 + b"\n", "a number of 5000 characters is too large"),
        (b"a: 0x8000000000000000\n", "outside the 64-bit integer range"),
        (b"a: !!seq x\n", "the tag !!seq cannot be given to a scalar"),
        (b'a: "x\\0"\n', "a NUL character"),
        (b"---\n" * 1001, "more than 1000 documents"),
    ],
)
def test_refused_constructs(source: bytes, message: str) -> None:
    docs, problems = load("a.yaml", source)
    assert docs == []
    assert len(problems) == 1
    assert message in problems[0].message


def test_limits_are_settings() -> None:
    _, problems = load("a.yaml", b"a: [1, 2, 3]\n", Limits(max_nodes=3))
    assert "more than 3 values" in problems[0].message
    _, problems = load("a.yaml", b"a: {b: {c: 1}}\n", Limits(max_depth=2))
    assert "deeper than 2 levels" in problems[0].message
    _, problems = load("a.yaml", b"a: 1\n", Limits(max_file_bytes=3))
    assert "over the 3-byte limit" in problems[0].message


def test_alias_bomb_is_refused_quickly() -> None:
    lines = ['a0: &a0 ["x","x","x","x","x","x","x","x","x","x"]']
    lines += [f"a{i}: &a{i} [" + ",".join([f"*a{i - 1}"] * 10) + "]" for i in range(1, 12)]
    docs, problems = load("bomb.yaml", "\n".join(lines).encode())
    assert docs == []
    assert "alias bomb" in problems[0].message


def test_byte_order_mark_is_accepted() -> None:
    docs, problems = load("a.yaml", "\ufeffkind: Stack\n".encode())
    assert problems == [] and docs[0].data == {"kind": "Stack"}


def test_reading_leaves_no_garbage_for_the_cyclic_collector() -> None:
    """What `load` built is freed by reference counting once dropped: no reference cycle keeps
    a file's values alive until the collector runs (it may be paused while a revision is read)."""
    gc.collect()
    docs, problems = load("a.yaml", b"x: &a {b: [1, 2]}\ny: *a\nz:\n  <<: *a\n---\nw: 1\n")
    assert problems == [] and len(docs) == 2
    del docs
    assert gc.collect() == 0
