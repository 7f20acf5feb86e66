"""`command:` / `entrypoint:` written as one string, split into words as Compose does (a POSIX
shell word list: quotes and backslashes, no variables, globs or comments), with Python's `shlex`
in POSIX mode. A list is taken as written. An unclosed quote or a trailing backslash is a
located problem that says where in the string it stands. Bounded: at most `MAX_COMMAND_CHARS`
characters and `MAX_WORDS` words. Pure: no I/O.
"""

from __future__ import annotations

import functools
import shlex
from dataclasses import dataclass

from syncd.problems import Position, Problem

MAX_COMMAND_CHARS = 64 * 1024
MAX_WORDS = 4096


@dataclass(frozen=True)
class Place:
    """Where the value stands: its file, JSON pointer and position."""

    path: str
    pointer: str
    position: Position

    def problem(self, message: str) -> Problem:
        return Problem(self.path, message, self.pointer, self.position)


def _unclosed(text: str) -> str:
    """Why `shlex` refused `text`: the quote left open, or the trailing backslash."""
    quote, start, i = "", 0, 0
    while i < len(text):
        char = text[i]
        if char == "\\" and quote != "'":
            if i + 1 == len(text):
                return f"the backslash at character {i + 1} escapes nothing (it ends the string)"
            i += 2
            continue
        if quote:
            if char == quote:
                quote = ""
        elif char in "'\"":
            quote, start = char, i
        i += 1
    if quote:
        return (
            f"the quote {quote} at character {start + 1} is never closed; close it, or "
            "give the words as a list"
        )
    return "the string cannot be split into words"


@functools.lru_cache(maxsize=1024)  # pure; services of a revision repeat their commands
def _shell_words(value: str) -> tuple[str, ...]:
    return _split(value)


def _split(value: str) -> tuple[str, ...]:
    return tuple(shlex.split(value, comments=False, posix=True))


def split_words(value: str, place: Place) -> tuple[list[str] | None, list[Problem]]:
    """The words of a command string, or None and the problem."""
    if len(value) > MAX_COMMAND_CHARS:
        return None, [
            place.problem(f"the command is {len(value)} characters long, over {MAX_COMMAND_CHARS}")
        ]
    if "\x00" in value:
        return None, [place.problem("a NUL character cannot be passed to a container")]
    try:
        words = list(_shell_words(value) if len(value) <= 1024 else _split(value))
    except ValueError:
        return None, [place.problem(_unclosed(value))]
    if len(words) > MAX_WORDS:
        return None, [place.problem(f"the command has {len(words)} words, over {MAX_WORDS}")]
    return words, []


def _kind(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    return "a list" if isinstance(value, list) else "a mapping"


def command_words(value: object, place: Place) -> tuple[list[str] | None, list[Problem]]:
    """`command` / `entrypoint` as Compose takes it: a string split into words, or a list of
    strings (numbers are written as text, as YAML 1.2 reads `sleep 10` items); None when
    omitted."""
    if value is None:
        return None, []
    if isinstance(value, str):
        return split_words(value, place)
    if isinstance(value, list):
        if len(value) > MAX_WORDS:
            return None, [place.problem(f"the command has {len(value)} words, over {MAX_WORDS}")]
        words: list[str] = []
        for index, word in enumerate(value):
            if isinstance(word, bool) or not isinstance(word, str | int | float):
                item = Place(place.path, f"{place.pointer}/{index}", place.position)
                return None, [
                    item.problem(f"a command word must be text, not {_kind(word)}; quote it")
                ]
            words.append(str(word))
        return words, []
    return None, [place.problem("a command is a string or a list of strings")]
