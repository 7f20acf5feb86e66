"""Property: whatever a pusher commits, `validate` answers with located problems or a valid
revision, never an exception (issue 10, finding 5).

Random documents go through what `syncd validate` runs: `read_manifests` on the file bytes and,
when the manifests are valid, `resolve` to the desired state (with its config hashes), then the
report in every format. Three sources of documents: random YAML text (random structures with
syncd's keys mixed in, core and unknown tags, anchors, aliases and merge keys, hostile scalars),
random Stack / StackPatch / Registry documents with random field values, and random bytes.
Derandomized, so CI sees the same 2,400 documents on every run.
"""

from __future__ import annotations

import json
import random
from collections.abc import Callable
from typing import Any

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from syncd.cli import report
from syncd.cli.report import ReportFormat
from syncd.core.canonical import Spec
from syncd.core.desired import resolve
from syncd.errors import ManifestError
from syncd.ids import ServiceKey
from syncd.manifests import INTERNAL_ERROR, read_manifests
from syncd.source.reader import SourceFile

FUZZ = settings(
    derandomize=True,
    database=None,
    deadline=None,
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
ENV = {"TAG": "1.36", "PORT": "8080", "EMPTY": "", "ODD": "x\ny: [", "SECRET": "hunter2"}

KEYS = [
    "kind", "project", "name", "stack", "strategy", "services", "volumes", "description",
    "image", "command", "entrypoint", "environment", "envs", "ports", "deploy", "resources",
    "limits", "cpus", "memory", "restartPolicy", "healthcheck", "test", "interval", "timeout",
    "startPeriod", "retries", "dependsOn", "patch", "op", "path", "value", "from", "uri",
    "credentials", "username", "password", "env", "file", "web", "db", "data", "<<", "80",
    "", "x" * 300, "naïve", "\u202e", "0x10", "~", "null", "true",
]  # fmt: skip
KINDS = ["Stack", "StackPatch", "Registry", "stack", "Nope", ""]
NUMBERS = [
    "", "0", "-0", "1", "-1", "0.5", "1e3", "1.0e+400", "-.inf", ".nan", ".NaN", "0x", "0xff",
    "0o", "0o9", "0b2", "0b101", "1_000", "_", "1:30", "1:30:00.5", ":", "190:20:30", "~",
    "null", "Null", "NULL", "yes", "No", "on", "OFF", "y", "n", "maybe", "true", "False",
    "2001-12-14", "2001-12-14t21:59:43.10-05:00", "2001-13-45", "abc", "zero", "<<", "=",
    "9" * 5000, "9" * 30, "-" + "9" * 19, "1" + "0" * 19,
]  # fmt: skip
DURATIONS = [
    "10s",
    "1m30s",
    "500ms",
    "0.5ms",
    "0s",
    "1h" * 10,
    "9000h",
    "\u0661\u0660s",
    "9" * 400 + "s",
]
MEMORY = ["256mb", "1gb", "6mb", "5mb", "1e3mb", "\u0662mb", "9" * 40 + "gb", "0.000001gb"]
CPUS = ["0.5", "0.001", "0.01", "8193", "1e999999999", "Infinity", "-1", "\uff11", "1_0", "2"]
PORTS = ["80/tcp", "8080:80/tcp", "99999:80", "0/tcp", "80/icmp", "\u0668\u0660/tcp", "8" * 5000]
IMAGES = [
    "busybox:1.36", "nginx:1.27-alpine", "127.0.0.1:5555/a/b:1", "busybox:\u0661", "UPPER:1",
    "a" * 600, "busybox@sha256:" + "a" * 64, "localhost/x", "${TAG}", "busybox:${TAG}",
]  # fmt: skip
MOUNTS = ["data:/data", "data:/", "/a:/", "/a://", "/a:/./", "/../x:/y", "x:y:z:w", "data:/d:rx"]
NAMES = ["web", "db", "shop", "default", "Web", "-web", "a" * 64, "web\n"]
WORDS = [
    "declare", "update", "no", "always", "on-failure", "service_healthy", "service_started",
    "CMD", "CMD-SHELL", "NONE", "add", "remove", "replace", "move", "copy", "test",
    "registry.example.com", "registry.example.com:5000", "https://x", "[::1]:5000",
]  # fmt: skip
POINTERS = [
    "", "/", "/~2", "/services", "/services/web", "/services/-", "/services/web/ports/-",
    "/services/web/environment/A", "/volumes", "/services/web/image", "/kind", "x",
]  # fmt: skip
ODD = [
    "${SECRET}", "${MISSING}", "${MISSING:-d}", "${MISSING:?need it}", "$$", "${", "${ODD}",
    "${ 1}", "$", "\x00", "a\x00b", "\x85", "\u2028", "\ufeff", "\U0001f600", "\u202e", "\t",
    " ", "\r\n", "\u00e9" * 50,
]  # fmt: skip
SCALARS = [
    *NUMBERS,
    *DURATIONS,
    *MEMORY,
    *CPUS,
    *PORTS,
    *IMAGES,
    *MOUNTS,
    *NAMES,
    *WORDS,
    *POINTERS,
    *ODD,
]
TAGS = [
    "!!str ", "!!int ", "!!float ", "!!bool ", "!!null ", "!!timestamp ",
    "!!binary ", "!!seq ", "!!map ", "!!set ", "!!omap ", "!!pairs ", "!!merge ", "!!value ",
    "!custom ", "! ", "!<tag:yaml.org,2002:int> ", "!<!> ", "!!python/object:os.system ",
    "!!python/name:os.system ",
]  # fmt: skip


# Documents are built by plain `random.Random` code from one seed that hypothesis draws: a
# thousand hypothesis draws per document cost ~30 ms, a seed costs nothing. A failure prints the
# seed, which rebuilds the document exactly.
SEEDS = st.integers(0, 2**64 - 1)
CHARACTERS = "ab z09_-:/.{}[],#&*!|>'\"%@`\\\n\t\x00\x85\u00e9\u0661\uff11\u202e\u2028\U0001f600"


def _text(rng: random.Random, size: int = 12) -> str:
    return "".join(rng.choice(CHARACTERS) for _ in range(rng.randint(0, size)))


def _quote(text: str) -> str:
    """`text` as a YAML double-quoted scalar (JSON escapes are YAML escapes)."""
    return json.dumps(text, ensure_ascii=False)


def _scalar_text(rng: random.Random) -> str:
    text = rng.choice(SCALARS) if rng.randint(0, 3) else _text(rng)
    style = rng.choice(["plain", "double", "single"])
    if style == "plain" and text and all(c.isalnum() or c in "._-/+:~" for c in text):
        return text
    if style == "single" and "\n" not in text and "\x00" not in text and text.isprintable():
        return "'" + text.replace("'", "''") + "'"
    return _quote(text)


def _key_text(rng: random.Random) -> str:
    key = rng.choice(KEYS) if rng.randint(0, 3) else _text(rng, 6)
    return key if key.isidentifier() or key == "<<" else _quote(key)


def _node(rng: random.Random, anchors: list[str], depth: int) -> str:
    """One flow-style YAML node: a scalar, a list, a mapping or an alias, maybe tagged/anchored."""
    kind = rng.choice(["scalar"] * 6 + ["list", "map", "map", "alias"])
    if depth > 4 and kind in ("list", "map"):
        kind = "scalar"
    if kind == "alias":
        return "*" + (rng.choice(anchors) if anchors and rng.randint(0, 9) else "undefined")
    prefix = rng.choice(TAGS) if rng.randint(0, 6) == 0 else ""
    if rng.randint(0, 9) == 0:
        anchors.append(f"a{len(anchors)}")
        prefix = f"&{anchors[-1]} {prefix}"
    if kind == "scalar":
        return prefix + _scalar_text(rng)
    if kind == "list":
        items = [_node(rng, anchors, depth + 1) for _ in range(rng.randint(0, 4))]
        return f"{prefix}[{', '.join(items)}]"
    pairs = [
        f"{_key_text(rng)}: {_node(rng, anchors, depth + 1)}" for _ in range(rng.randint(0, 5))
    ]
    return f"{prefix}{{{', '.join(pairs)}}}"


def yaml_text(seed: int) -> bytes:
    """A file of one to three documents: random YAML with syncd's keys near the top."""
    rng = random.Random(seed)
    documents = []
    for _ in range(rng.randint(1, 3)):
        anchors: list[str] = []
        lines = [f"kind: {rng.choice(KINDS)}"] if rng.randint(0, 3) else []
        lines += [f"{_key_text(rng)}: {_node(rng, anchors, 1)}" for _ in range(rng.randint(0, 6))]
        documents.append("\n".join(lines))
    return ("\n---\n".join(documents) + "\n").encode()


def _value(rng: random.Random, depth: int = 0) -> Any:
    """A random JSON-like value."""
    kind = rng.randint(0, 9 if depth < 3 else 7)
    if kind <= 2:
        return rng.choice(SCALARS)
    if kind == 3:
        return rng.choice([0, 1, -1, 3, 2**63 - 1, -(2**63), 2**64, 10**30])
    if kind == 4:
        return rng.choice([0.5, -0.0, 1e300, 1e-300, 2.5])
    if kind == 5:
        return rng.choice([True, False, None])
    if kind <= 7:
        return _text(rng)
    if kind == 8:
        return [_value(rng, depth + 1) for _ in range(rng.randint(0, 3))]
    return {rng.choice(KEYS): _value(rng, depth + 1) for _ in range(rng.randint(0, 3))}


def _maybe(rng: random.Random, pick: Callable[[], Any]) -> Any:
    """Usually `pick()`, sometimes any value at all."""
    return pick() if rng.randint(0, 3) else _value(rng)


def _service(rng: random.Random) -> dict[str, Any]:
    def some(pool: list[Any], most: int) -> list[Any]:
        return [rng.choice(pool) for _ in range(rng.randint(0, most))]

    choices: dict[str, Callable[[], Any]] = {
        "image": lambda: rng.choice(IMAGES),
        "command": lambda: some(SCALARS, 3),
        "entrypoint": lambda: some(SCALARS, 2),
        "environment": lambda: {rng.choice(["A", "B", "=", ""]): rng.choice(SCALARS)},
        "envs": lambda: {"A": "1"},
        "ports": lambda: some(PORTS, 3),
        "volumes": lambda: some(MOUNTS, 3),
        "deploy": lambda: {
            "resources": {
                "limits": {
                    "cpus": rng.choice([*CPUS, 0.5, 2, 1e300]),
                    "memory": rng.choice(MEMORY),
                }
            }
        },
        "restartPolicy": lambda: rng.choice(["no", "always", "sometimes"]),
        "healthcheck": lambda: {
            "test": rng.choice([["CMD", "true"], "true", [], ["NONE"]]),
            "interval": rng.choice(DURATIONS),
            "retries": rng.choice([0, 3, 101, -1, 2**63, "3"]),
        },
        "dependsOn": lambda: rng.choice([["db"], {"db": "service_healthy"}, ["web"], {"x": "y"}]),
        "description": lambda: rng.choice(SCALARS),
    }
    names = rng.sample(sorted(choices), rng.randint(0, 6))
    return {name: _maybe(rng, choices[name]) for name in names}


def manifest_text(seed: int) -> bytes:
    """A Stack with random services, maybe a StackPatch of it and a Registry."""
    rng = random.Random(seed)
    names = rng.sample(["web", "db", "api", "Web"], rng.randint(0, 3))
    documents: list[dict[str, Any]] = [
        {
            "kind": "Stack",
            "project": _maybe(rng, lambda: "shop"),
            "strategy": rng.choice(["declare", "update"]),
            "services": {name: _service(rng) for name in names},
            "volumes": rng.choice([{}, {"data": {}}, {"data": None}, None]),
        }
    ]
    if rng.randint(0, 1):
        ops = []
        for _ in range(rng.randint(1, 3)):
            op: dict[str, Any] = {
                "op": rng.choice(["add", "remove", "replace", "move", "copy", "test"]),
                "path": rng.choice(POINTERS),
            }
            if rng.randint(0, 3):
                op["value"] = _value(rng)
            if rng.randint(0, 1):
                op["from"] = rng.choice(POINTERS)
            ops.append(op)
        documents.append({"kind": "StackPatch", "project": "shop", "patch": ops})
    if rng.randint(0, 1):
        credentials = {"username": "u", "password": {"env": "SECRET"}}
        documents.append(
            {
                "kind": "Registry",
                "project": "shop",
                "name": "team",
                "uri": _maybe(rng, lambda: "registry.example.com"),
                "credentials": _maybe(rng, lambda: credentials),
            }
        )
    return yaml.safe_dump_all(documents, allow_unicode=True).encode()


def _validate(data: bytes) -> bool:
    """What `syncd validate` does with one file; any exception fails the property.
    Whether the file resolved to a desired state."""
    result = read_manifests([SourceFile("fuzz.yaml", data)], ENV)
    for problem in result.problems:
        assert INTERNAL_ERROR not in problem.message, problem
        assert problem.position.line >= 1, problem
        str(problem).encode("utf-8")
    for fmt in ReportFormat:
        report.render(result.problems, fmt, files=1, revision=None)
    if result.errors:
        return False
    resolved = False
    bases: list[dict[ServiceKey, Spec] | None] = [None, {}]  # no live state known / none live
    for last_applied in bases:
        try:
            state = resolve(result, None, last_applied)
        except ManifestError as err:
            assert all(p.position.line >= 1 for p in err.problems)
            continue
        resolved = True
        for stack in state.stacks.values():
            for service in stack.services.values():
                assert len(service.hash) == 64
    return resolved


def _run(
    strategy: st.SearchStrategy[Any], examples: int, encode: Callable[[Any], bytes]
) -> tuple[int, int]:
    """How many documents ran, and how many of them resolved to a desired state."""
    seen: list[bool] = []

    @settings(FUZZ, max_examples=examples)
    @given(strategy)
    def check(value: Any) -> None:
        seen.append(_validate(encode(value)))

    check()
    return len(seen), sum(seen)


def test_random_yaml_text_gives_problems_or_valid_never_an_exception() -> None:
    runs, _resolved = _run(SEEDS, 1200, yaml_text)
    assert runs >= 1200


def test_random_manifests_give_problems_or_valid_never_an_exception() -> None:
    runs, resolved = _run(SEEDS, 800, manifest_text)
    assert runs >= 800
    assert resolved >= 40  # the property also covers resolving, not only refusing


def test_random_bytes_give_problems_or_valid_never_an_exception() -> None:
    prefix = st.sampled_from([b"", b"kind: Stack\nproject: shop\n", b"kind: StackPatch\n"])
    noise = st.one_of(st.binary(max_size=200), st.text(max_size=200).map(str.encode))
    runs, _resolved = _run(st.tuples(prefix, noise), 400, lambda pair: pair[0] + pair[1])
    assert runs >= 400
