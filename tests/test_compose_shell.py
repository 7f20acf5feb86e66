"""`command` / `entrypoint` strings split like a POSIX shell word list, as Compose does."""

from __future__ import annotations

from typing import Any

import pytest

from syncd.manifests.compose.shell import (
    MAX_COMMAND_CHARS,
    MAX_WORDS,
    Place,
    command_words,
    split_words,
)
from syncd.problems import Position

PLACE = Place("compose.yaml", "/services/web/command", Position(7, 14))


@pytest.mark.parametrize(
    ("value", "words"),
    [
        ("bundle exec thin -p 3000", ["bundle", "exec", "thin", "-p", "3000"]),
        ("  spaced   out\t\twords \n", ["spaced", "out", "words"]),
        ('sh -c "echo hi; sleep 1"', ["sh", "-c", "echo hi; sleep 1"]),
        ("sh -c 'echo $HOME'", ["sh", "-c", "echo $HOME"]),  # no variables: the shell's job
        ('echo "a \\"b\\" c"', ["echo", 'a "b" c']),
        ("echo 'it'\\''s'", ["echo", "it's"]),
        ("echo a\\ b", ["echo", "a b"]),
        ('echo ""', ["echo", ""]),
        ("echo # not a comment", ["echo", "#", "not", "a", "comment"]),
        ("echo *.txt ~", ["echo", "*.txt", "~"]),
        ('nginx -g "daemon off;"', ["nginx", "-g", "daemon off;"]),
        ("", []),
    ],
)
def test_strings_are_split(value: str, words: list[str]) -> None:
    assert split_words(value, PLACE) == (words, [])
    assert command_words(value, PLACE) == (words, [])


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ('sh -c "echo hi', 'the quote " at character 7 is never closed'),
        ("echo 'it''s", "the quote ' at character 10 is never closed"),
        ("echo \\", "the backslash at character 6 escapes nothing"),
        ("x" * (MAX_COMMAND_CHARS + 1), f"over {MAX_COMMAND_CHARS}"),
        ("a " * (MAX_WORDS + 1), f"over {MAX_WORDS}"),
        ("a\x00b", "NUL character"),
    ],
)
def test_bad_strings_are_located_problems(value: str, message: str) -> None:
    words, problems = split_words(value, PLACE)
    assert words is None and len(problems) == 1
    problem = problems[0]
    assert message in problem.message
    assert (problem.path, problem.pointer, problem.position) == (
        "compose.yaml",
        "/services/web/command",
        Position(7, 14),
    )


@pytest.mark.parametrize(
    ("value", "words", "message"),
    [
        (None, None, None),
        (["sh", "-c", "a b"], ["sh", "-c", "a b"], None),
        (["sleep", 10, 1.5], ["sleep", "10", "1.5"], None),
        ([], [], None),
        (
            ["echo", True],
            None,
            "/services/web/command/1: a command word must be text, not a boolean",
        ),
        (["echo", None], None, "not null"),
        (["echo", ["x"]], None, "not a list"),
        (["echo", {"a": 1}], None, "not a mapping"),
        ({"a": 1}, None, "a command is a string or a list of strings"),
        (12, None, "a command is a string or a list of strings"),
        (["x"] * (MAX_WORDS + 1), None, f"over {MAX_WORDS}"),
    ],
)
def test_command_forms(value: Any, words: list[str] | None, message: str | None) -> None:
    got, problems = command_words(value, PLACE)
    assert got == words
    if message is None:
        assert problems == []
    else:
        assert len(problems) == 1 and message in str(problems[0])
