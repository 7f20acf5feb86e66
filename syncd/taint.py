"""Taint: which values came from the environment or a secret source, and how outputs hide them.

The primary mark is by place: a JSON pointer into a spec (`/image`, `/ports/0`, `/environment/PW`)
is tainted, and `redact` shows every value at or under it as `<redacted>`. Messages that quote a
value (a validator's error, Docker's answer to a pull) are scrubbed of the tainted strings and of
their pieces (`scrub`). Defence in depth: the values of the running revision and the registry
passwords read are remembered (`remember`), and the log scrubs every event of them (`scrub_known`).
Pure: no I/O.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterable, Mapping
from typing import Any

REDACTED = "<redacted>"
MAX_KNOWN = 10_000  # remembered values at most (the newest)
MIN_KNOWN = 3  # shorter remembered values are not scrubbed from logs: they would garble them
_PIECES = re.compile(r"[A-Za-z0-9_.\-]+")


def escape(token: str) -> str:
    return token.replace("~", "~0").replace("/", "~1")


def covered(at: str, secrets: Iterable[str]) -> bool:
    """Whether pointer `at` is a tainted pointer or lies under one."""
    return any(at == s or at.startswith(s + "/") for s in secrets)


def redact(value: Any, at: str, secrets: Iterable[str]) -> Any:
    """`value` (found at JSON pointer `at`) with everything at or under a tainted pointer hidden."""
    secret_set = set(secrets)
    if not secret_set:
        return value
    return _redact(value, at, secret_set)


def _redact(value: Any, at: str, secrets: set[str]) -> Any:
    if covered(at, secrets):
        return REDACTED
    if not any(s.startswith(at + "/") for s in secrets):
        return value
    if isinstance(value, Mapping):
        return {k: _redact(v, f"{at}/{escape(str(k))}", secrets) for k, v in value.items()}
    if isinstance(value, list):
        return [_redact(v, f"{at}/{i}", secrets) for i, v in enumerate(value)]
    return value


def leaves(value: Any) -> set[str]:
    """Every string (and number, as text) inside `value`."""
    if isinstance(value, Mapping):
        return {s for v in value.values() for s in leaves(v)}
    if isinstance(value, list):
        return {s for v in value for s in leaves(v)}
    if value is None or isinstance(value, bool):
        return set()
    return {str(value)}


def scalars(value: Any) -> list[Any]:
    """Every string and number inside `value`, as they are."""
    if isinstance(value, Mapping):
        return [s for v in value.values() for s in scalars(v)]
    if isinstance(value, list):
        return [s for v in value for s in scalars(v)]
    return [value] if isinstance(value, str | int | float) and not isinstance(value, bool) else []


def values_at(spec: Any, secrets: Iterable[str]) -> set[str]:
    """The tainted strings of `spec`: every leaf at or under a tainted pointer."""
    out: set[str] = set()
    for pointer in secrets:
        found: Any = spec
        for raw in pointer.split("/")[1:]:
            token = raw.replace("~1", "/").replace("~0", "~")
            if isinstance(found, Mapping) and token in found:
                found = found[token]
            elif isinstance(found, list) and token.isdigit() and int(token) < len(found):
                found = found[int(token)]
            else:
                found = None
                break
        out |= leaves(found)
    return out


def redact_lists(value: Any, at: str, secrets: Iterable[str]) -> Any:
    """`value` (found at pointer `at`) with every item of a list that holds a tainted pointer
    hidden, and hidden whole when `at` lies in such a list. List items move (an op names an
    index as it is while the ops run), so their places cannot tell which item is tainted; and
    their values must not either: a plain value hidden because it equals a tainted one would
    tell a pull request that its guess is right. A token of digits counts as an index."""
    secret_set = set(secrets)
    if not secret_set:
        return value
    tokens = at.split("/")
    for i in range(1, len(tokens)):
        if (tokens[i].isdigit() or tokens[i] == "-") and _holds("/".join(tokens[:i]), secret_set):
            return REDACTED
    return _redact_lists(value, at, secret_set)


def _holds(at: str, secrets: set[str]) -> bool:
    return any(s.startswith(at + "/") for s in secrets)


def _redact_lists(value: Any, at: str, secrets: set[str]) -> Any:
    if not _holds(at, secrets):
        return value
    if isinstance(value, list):
        return [REDACTED for _ in value]
    if isinstance(value, Mapping):
        return {k: _redact_lists(v, f"{at}/{escape(str(k))}", secrets) for k, v in value.items()}
    return value


def redact_values(value: Any, tainted: set[str]) -> Any:
    """`value` with every string leaf equal to a tainted string hidden (list ops move items, so
    a pointer alone cannot tell where a tainted item went)."""
    if not tainted:
        return value
    if isinstance(value, Mapping):
        return {k: redact_values(v, tainted) for k, v in value.items()}
    if isinstance(value, list):
        return [redact_values(v, tainted) for v in value]
    if isinstance(value, str) and value in tainted:
        return REDACTED
    return value


def pieces(values: Iterable[str]) -> set[str]:
    """The values and their word-like pieces (`registry:5000/app:v1` -> `registry`, `5000`, ...):
    an error may quote a piece of a tainted value (the repository without its tag, a port)."""
    out = set()
    for value in values:
        if not value:
            continue
        out.add(value)
        out |= {p for p in _PIECES.findall(value) if len(p) >= 2}
    return out


SHORT = 4  # a shorter value cannot be cut out of a text without its place telling what it was
WITHHELD = f"{REDACTED} (this text would show a value from the environment)"
_BOUND = r"(?<![A-Za-z0-9_]){}(?![A-Za-z0-9_])"


def scrub(
    text: str, values: Iterable[str], *, whole_only: bool = False, keep: Iterable[str] = ()
) -> str:
    """`text` with every tainted value (and, unless `whole_only`, each of its pieces but the
    public names in `keep`) hidden, in any case (a host name may be quoted lower-cased).

    Each pass replaces in one sweep, never inside a `<redacted>` it wrote. A value shorter than
    `SHORT` is looked for as a word only, and a text that holds one is withheld whole: cut out
    of `'on-failure'` or `is a daemon`, even a `<redacted>` in its place would tell it."""
    wanted = {v for v in values if v}
    if not wanted or not text:
        return text
    short = {v for v in wanted if len(v) < SHORT}
    if short and any(m.group(1) is None for m in _any_of(short, bounded=True).finditer(text)):
        return WITHHELD
    whole = sorted(wanted - short, key=len, reverse=True)
    if whole:
        text = _replace(_any_of(whole, bounded=False), text)
    if "..." in text:
        text = _cut_short(text, whole)
    if whole_only:
        return text
    public = {k.lower() for k in keep}
    found = {p for p in pieces(wanted) - wanted if p.lower() not in public}
    if found:
        text = _replace(_any_of(found, bounded=True), text)
    return text


def _any_of(values: Iterable[str], *, bounded: bool) -> re.Pattern[str]:
    """One pattern for `values` (longest first), or a `<redacted>` already written."""
    ordered = sorted(values, key=len, reverse=True)
    each = [_BOUND.format(re.escape(v)) if bounded else re.escape(v) for v in ordered]
    return re.compile(f"({re.escape(REDACTED)})|" + "|".join(each), re.IGNORECASE)


def _replace(pattern: re.Pattern[str], text: str) -> str:
    return pattern.sub(lambda m: m.group(1) or REDACTED, text)


CUT_MIN = 6  # a quote cut short to fewer characters says little, and would match too often


def _cut_short(text: str, values: list[str]) -> str:
    """Hide a tainted value quoted cut short (`'s3cr...`), as messages quote long values."""
    for value in values:
        for form in {value, repr(value)[1:-1]}:
            lowered = text.lower()
            for size in range(min(len(form), 256), CUT_MIN - 1, -1):
                quoted = form[:size] + "..."
                if quoted.lower() in lowered:
                    text = re.sub(re.escape(quoted), REDACTED + "...", text, flags=re.IGNORECASE)
                    break
    return text


_HINT = re.compile(r""" \(did you mean (?:'[^']*'|"[^"]*")\?\)""")


def unhinted(message: str) -> str:
    """A message that quotes a hidden value (hidden here, or where it was made) without its
    "did you mean" hint: the name closest to a secret, among names a pull request chose, would
    tell it piece by piece."""
    return _HINT.sub("", message) if REDACTED in message else message


def scrub_pointer(pointer: str, values: Iterable[str]) -> str:
    """A JSON pointer with each part that is a tainted value hidden: a value may become a key
    (`dependsOn: [${NAME}]` is checked at `/dependsOn/<the value>`)."""
    wanted = {v for v in values if v}
    parts = pointer.split("/")
    return "/".join(
        REDACTED if part.replace("~1", "/").replace("~0", "~") in wanted else part for part in parts
    )


class _Known:
    """The secret values this process has seen (interpolated values, passwords read): the
    newest `MAX_KNOWN`, so that a daemon running for months does not grow without bound."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._order: dict[str, None] = {}  # insertion order: the oldest is forgotten first
        # The values, and the same lower-cased (to look for fast), swapped as one.
        self.both: tuple[frozenset[str], frozenset[str]] = (frozenset(), frozenset())

    @property
    def values(self) -> frozenset[str]:
        return self.both[0]

    def add(self, values: Iterable[str]) -> None:
        new = {v for v in values if len(v) >= MIN_KNOWN}
        if new <= self.values:
            return
        with self._lock:
            for value in sorted(new):
                self._order.pop(value, None)
                self._order[value] = None
            while len(self._order) > MAX_KNOWN:
                del self._order[next(iter(self._order))]
            merged = frozenset(self._order)
            self.both = (merged, frozenset(v.lower() for v in merged))

    def clear(self) -> None:
        with self._lock:
            self._order.clear()
            self.both = (frozenset(), frozenset())


_known = _Known()


def remember(values: Iterable[str]) -> None:
    """Remember secret values, so that `scrub_known` hides them from every log line."""
    _known.add(values)


def forget_all() -> None:
    """Forget every remembered value (tests: each starts as a fresh process would)."""
    _known.clear()


def scrub_known(value: Any) -> Any:
    """`value` (a string, or a structure of them) with every remembered secret value hidden."""
    known, known_lowered = _known.both
    if not known:
        return value
    if isinstance(value, str):
        lowered = value.lower()
        found = any(k in lowered for k in known_lowered)
        return scrub(value, known, whole_only=True) if found else value
    if isinstance(value, Mapping):
        return {k: scrub_known(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return type(value)(scrub_known(v) for v in value)
    return value


_USERINFO = re.compile(r"(?<=://)[^/\s]*@")  # up to the last '@' of the authority


def redact_url(text: str) -> str:
    """`https://user:token@host/x` -> `https://<redacted>@host/x`, wherever it appears."""
    return _USERINFO.sub("<redacted>@", text)


# What a terminal, a CI log or a one-line format acts on instead of showing: C0 and C1 controls
# (ESC starts a terminal sequence; a newline starts a line of its own, e.g. a forged `::error`
# workflow command), DEL, and the invisible format characters that reorder or hide text (bidi
# overrides, isolates and marks, zero-width spaces, line and paragraph separators). The zero-width
# (non-)joiners stay: scripts such as Persian and emoji sequences need them.
_UNPRINTABLE = re.compile(
    "[\x00-\x1f\x7f-\x9f\u061c\u200b\u200e\u200f\u2028-\u202e\u2060-\u2069\ufeff]"
)


def printable(text: str, *, newlines: bool = False) -> str:
    """`text` safe to print: each control or invisible format character shown as its escape
    (`\\x1b`, `\\n`, `\\u202e`); with `newlines`, a newline is kept (a message of several lines)."""

    def shown(match: re.Match[str]) -> str:
        char = match[0]
        if newlines and char == "\n":
            return char
        return char.encode("unicode_escape").decode("ascii")

    return _UNPRINTABLE.sub(shown, text)
