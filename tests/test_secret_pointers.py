"""A value from the environment never shows in a problem's pointer, and a problem about one
gives no "did you mean" hint.

`dependsOn: ["${TOKEN}"]` becomes the mapping `{<the value>: ...}`, so a missing service was
reported at `/services/web/dependsOn/<the value>`: the secret itself, in every error answer of
`POST /v2/syncd/plans` and in the daemon's status. And the hint named, among names a pull
request chose, the one closest to the secret: asked again with better names, it spelled the
secret out piece by piece."""

from __future__ import annotations

import pytest

from syncd.manifests import read_manifests
from syncd.source.reader import SourceFile

SECRET = "hunter-prod-pw"
CLOSE = "hunter-prod-px"  # a service name one letter off

NATIVE = f"""\
kind: Stack
project: p
services:
  {CLOSE}:
    image: busybox:1.36
  web:
    image: busybox:1.36
    dependsOn: ["${{TOKEN}}"]
"""
COMPOSE = f"""\
services:
  {CLOSE}:
    image: busybox:1.36
  web:
    image: busybox:1.36
    depends_on: ["${{TOKEN}}"]
    links: ["${{TOKEN}}"]
    networks: ["${{TOKEN}}"]
networks:
  {CLOSE}: {{}}
"""


@pytest.mark.parametrize(("name", "text"), [("a.yaml", NATIVE), ("c/compose.yaml", COMPOSE)])
def test_a_reference_from_the_environment_shows_neither_itself_nor_a_close_name(
    name: str, text: str
) -> None:
    manifests = read_manifests([SourceFile(name, text.encode())], {"TOKEN": SECRET})
    assert manifests.errors
    for problem in manifests.errors:
        shown = f"{problem} {problem.pointer}"
        assert SECRET not in shown
        assert CLOSE not in shown and "did you mean" not in shown


def test_a_hint_about_a_name_of_the_repository_stays() -> None:
    text = NATIVE.replace('"${TOKEN}"', f'"{CLOSE[:-1]}"')
    [problem] = read_manifests([SourceFile("a.yaml", text.encode())], {"TOKEN": SECRET}).errors
    assert f"did you mean {CLOSE!r}" in problem.message
