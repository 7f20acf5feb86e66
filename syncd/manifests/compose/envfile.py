"""The Compose `.env` / `env_file` format, as the Compose Specification and compose-go's `dotenv`
read it, with every problem at `file:line:col`.

- blank lines and `#` comment lines are skipped; `export ` before a key is allowed;
- `KEY=VALUE` (or `KEY: VALUE`); spaces around the separator are ignored; `KEY=` is empty;
- `KEY` alone takes its value from `lookup` (the operator's variables; never `SYNCD_*`), and is
  left out when `lookup` has none;
- unquoted values end at the line's end; ` #` (a blank then `#`) starts a comment; trailing
  blanks are dropped; `$` interpolates (Compose's rules: `syncd.manifests.compose.template`);
- `'single'` quotes are literal, but for `\\'`; `"double"` quotes know `\\n`, `\\r`, `\\t`,
  `\\\\`, `\\"` and `\\$` (a literal `$`), keep any other backslash as written, and
  interpolate; both may span lines; after the closing quote only a comment may follow;
- interpolation reads `lookup` first, then the keys set earlier in the file (as Compose lets the
  shell win over the file); an unset variable is empty, with a warning;
- a key set twice keeps its last value (a warning); a key starting with a digit is skipped (a
  warning; Compose skips it silently).
Bounded: at most `max_bytes` bytes and `max_lines` lines, interpolation at most
`MAX_INTERPOLATED` characters in all. `tainted` names the keys whose value took anything from
`lookup` (directly or through an earlier tainted key): the caller redacts them.
Pure: no I/O.
"""

from __future__ import annotations

import bisect
import contextlib
import re
from collections import ChainMap
from collections.abc import Mapping
from dataclasses import dataclass, field

from syncd.errors import TemplateError
from syncd.manifests.compose.template import substitute
from syncd.manifests.interpolate import MAX_INTERPOLATED
from syncd.problems import Position, Problem, Severity
from syncd.secretpolicy import is_own, unset_variable

MAX_ENV_BYTES = 256 * 1024
MAX_ENV_LINES = 10_000
_KEY = re.compile(r"[A-Za-z_][A-Za-z0-9_.-]*", re.ASCII)
_DIGIT_KEY = re.compile(r"[0-9][A-Za-z0-9_.-]*", re.ASCII)
_BLANK = re.compile(r"[ \t\f\v]*")
_SPACE = re.compile(r"\s*")
_EXPORT = re.compile(r"export[ \t]+")
_DOUBLE_ESCAPES = {"n": "\n", "r": "\r", "t": "\t", "\\": "\\", '"': '"', "$": "$$"}
_QUOTED_STOP = {"'": re.compile(r"[\\']"), '"': re.compile(r'[\\"]')}


@dataclass
class EnvFile:
    values: dict[str, str] = field(default_factory=dict)
    tainted: set[str] = field(default_factory=set)
    problems: list[Problem] = field(default_factory=list)
    failed: str | None = None  # a SOPS-encrypted file that cannot be decrypted: why


class _Stop(Exception):
    """The rest of the file cannot be read (an unterminated quote)."""


class _Reader:
    def __init__(self, path: str, text: str, lookup: Mapping[str, str]) -> None:
        self.path = path
        self.text = text
        self.lookup = lookup
        self.out = EnvFile()
        self.lines = [0] + [m.end() for m in re.finditer("\n", text)]
        self.first: dict[str, int] = {}
        self.budget = MAX_INTERPOLATED

    def where(self, index: int) -> Position:
        line = bisect.bisect_right(self.lines, index)
        return Position(line, index - self.lines[line - 1] + 1)

    def problem(self, index: int, message: str, severity: Severity = Severity.ERROR) -> None:
        self.out.problems.append(Problem(self.path, message, "", self.where(index), severity))

    def line_end(self, index: int) -> int:
        end = self.text.find("\n", index)
        return len(self.text) if end < 0 else end

    def read(self) -> None:
        i = _SPACE.match(self.text, 0).end()  # type: ignore[union-attr]
        while i < len(self.text):
            i = self.line_end(i) if self.text[i] == "#" else self.statement(i)
            i = _SPACE.match(self.text, i).end()  # type: ignore[union-attr]

    def statement(self, start: int) -> int:
        export = _EXPORT.match(self.text, start)
        i = export.end() if export else start
        key = _KEY.match(self.text, i)
        if key is None:
            digit = _DIGIT_KEY.match(self.text, i)
            char = self.text[i]
            if digit is None:
                self.problem(
                    i,
                    f"unexpected character {char!r}: a line is KEY=VALUE, KEY alone or a # comment "
                    "(a key holds letters, digits, '_', '.' and '-')",
                )
                return self.line_end(i)
            key = digit
        name = key.group()
        i = _BLANK.match(self.text, key.end()).end()  # type: ignore[union-attr]
        sep = self.text[i : i + 1]
        if sep in ("", "\n"):
            self.inherit(name, key.start(), digit_key=key.re is _DIGIT_KEY)
            return i
        if sep not in ("=", ":"):
            self.problem(i, f"{name}: expected '=' after the key, found {sep!r}")
            return self.line_end(i)
        i = _BLANK.match(self.text, i + 1).end()  # type: ignore[union-attr]
        quote = self.text[i : i + 1]
        if quote in ("'", '"'):
            raw, end = self.quoted(i, quote)
        else:
            end = self.line_end(i)
            raw = self.text[i:end]
            cut = re.search(r"[ \t]#", raw)
            raw = (raw[: cut.start()] if cut else raw).rstrip()
        if key.re is _DIGIT_KEY:
            self.problem(
                key.start(), f"{name}: a key starting with a digit is skipped", Severity.WARNING
            )
            return end
        value = (raw, False) if quote == "'" else self.interpolate(raw, i)
        if value is not None:
            self.set(name, value[0], key.start(), tainted=value[1])
        return end

    def quoted(self, start: int, quote: str) -> tuple[str, int]:
        """The text between the quotes (double: escapes done, `$$` for a literal `$`), and the
        index after the closing quote and any comment after it."""
        pieces: list[str] = []
        i = start + 1
        stop = _QUOTED_STOP[quote]
        while True:
            found = stop.search(self.text, i)
            if found is None:
                self.problem(start, f"the quote {quote} opened here is never closed")
                raise _Stop
            j = found.start()
            pieces.append(self.text[i:j])
            if self.text[j] == quote:
                break
            following = self.text[j + 1 : j + 2]
            if following == quote:
                pieces.append(quote)
            elif quote == '"' and following in _DOUBLE_ESCAPES:
                pieces.append(_DOUBLE_ESCAPES[following])
            else:
                pieces.append("\\" + following)
            i = j + 1 + len(following)
        end = _BLANK.match(self.text, j + 1).end()  # type: ignore[union-attr]
        if end < len(self.text) and self.text[end] not in "#\n":
            self.problem(end, "only a # comment may follow a closing quote on its line")
        return "".join(pieces), self.line_end(end)

    def interpolate(self, raw: str, at: int) -> tuple[str, bool] | None:
        if "$" not in raw:
            return raw, False
        env: Mapping[str, str] = ChainMap(self.lookup, self.out.values)  # type: ignore[arg-type]
        try:
            done = substitute(raw, env, max(self.budget, 0))
        except TemplateError as err:
            self.problem(at, str(err))
            return None
        self.budget -= len(done.text)
        for name in dict.fromkeys(done.unset):
            self.problem(at, f"{unset_variable(name)}: it is an empty string", Severity.WARNING)
        tainted = any(n in self.lookup or n in self.out.tainted for n in done.names)
        return done.text, tainted

    def inherit(self, name: str, at: int, *, digit_key: bool) -> None:
        if digit_key:
            self.problem(at, f"{name}: a key starting with a digit is skipped", Severity.WARNING)
        elif is_own(name):
            self.problem(at, unset_variable(name), Severity.WARNING)
        elif name in self.lookup:
            self.set(name, self.lookup[name], at, tainted=True)

    def set(self, name: str, value: str, at: int, *, tainted: bool) -> None:
        if name in self.first:
            line = self.where(self.first[name]).line
            self.problem(
                at,
                f"{name} is set again (first at line {line}); the last value wins",
                Severity.WARNING,
            )
        else:
            self.first[name] = at
        self.out.values[name] = value
        if tainted:
            self.out.tainted.add(name)
        else:
            self.out.tainted.discard(name)


def parse_env_file(
    path: str,
    data: bytes,
    lookup: Mapping[str, str] | None = None,
    *,
    max_bytes: int = MAX_ENV_BYTES,
    max_lines: int = MAX_ENV_LINES,
) -> EnvFile:
    """The variables of one env file, with its problems (errors and warnings) located."""
    if len(data) > max_bytes:
        return EnvFile(problems=[_whole(path, f"file is {len(data)} bytes, over {max_bytes}")])
    try:
        text = data.decode("utf-8").removeprefix("\ufeff").replace("\r\n", "\n")
    except UnicodeDecodeError as err:
        line = data.count(b"\n", 0, err.start) + 1
        column = err.start - (data.rfind(b"\n", 0, err.start) + 1) + 1
        return EnvFile(
            problems=[
                Problem(
                    path, "file is not valid UTF-8; save it as UTF-8", "", Position(line, column)
                )
            ]
        )
    lines = text.count("\n") + 1
    if lines > max_lines:
        return EnvFile(problems=[_whole(path, f"file has {lines} lines, over {max_lines}")])
    reader = _Reader(path, text, lookup or {})
    if "\x00" in text:
        reader.problem(text.index("\x00"), "a NUL character is not allowed in an env file")
        return reader.out
    with contextlib.suppress(_Stop):
        reader.read()
    return reader.out


def _whole(path: str, message: str) -> Problem:
    return Problem(path, f"{message}: refused", "", Position(1, 1))
