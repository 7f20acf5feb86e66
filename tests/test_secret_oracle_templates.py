"""A plan never says whether a guess equals a secret, even when the pull request builds the
guess as a value *from the environment*: Compose's `${TOKEN:+guess}`, `guess${EMPTY}` with any
variable that is set and empty, or an env file line of its own.

`core.observe._restorable` puts a recorded secret back only where the declaration is secret too;
and the store binds each recorded secret to how the files declared the service's secret values
(`core.declarations`): a changed declaration never matches, so a right guess and a wrong one
plan alike. An unchanged declaration (the operator's own value, moved or not) still plans as
unchanged, and a changed value behind it as a change."""

from __future__ import annotations

from pathlib import Path

import pytest

from syncd.apply.store import Store
from syncd.core.desired import DesiredService, DesiredState, resolve
from syncd.core.observe import observe
from syncd.core.plan import Action, plan
from syncd.engine.base import ContainerState, Observed, ObservedContainer
from syncd.manifests import read_manifests
from syncd.source.reader import SourceFile

SECRET = "hunter2-production"
COMPOSE = (
    "services:\n  web:\n    image: busybox:1.36\n    environment:\n      TOKEN: '{token}'\n"
    "      MODE: {mode}\n"
)
ENV = {"TOKEN": SECRET, "EMPTY": ""}


def desired(token: str, mode: str = "prod", extra: dict[str, bytes] | None = None) -> DesiredState:
    text = COMPOSE.format(token=token, mode=mode)
    files = [SourceFile("shop/compose.yaml", text.encode())]
    files += [SourceFile(path, data) for path, data in (extra or {}).items()]
    manifests = read_manifests(files, ENV)
    assert not manifests.errors, manifests.errors
    return resolve(manifests, "rev")


def web(state: DesiredState) -> DesiredService:
    [stack] = state.stacks.values()
    return stack.services["web"]


def actions(tmp_path: Path, applied: DesiredState, *targets: DesiredState) -> list[Action]:
    """What a plan of each target does to web, against `applied` as it was recorded."""
    running = web(applied)
    store = Store(tmp_path / "state.sqlite")
    try:
        store.record(
            running.key, revision="main", spec=dict(running.spec), secrets=running.secrets,
            container_hash=running.hash, result="created", declaration=running.declaration,
        )  # fmt: skip
        container = ObservedContainer(
            "c1", "web", running.key, running.hash, "main", "img", ContainerState.RUNNING, None, 1.0
        )
        found = []
        for target in targets:
            seen = observe(Observed((container,)), store.services(), desired=target,
                           restore=store.restore)  # fmt: skip
            [change] = plan(target, seen.live, base="main").stacks[0].services
            found.append(change.action)
        return found
    finally:
        store.close()


@pytest.mark.parametrize(
    "template",
    ["${TOKEN:+%s}", "%s${EMPTY}", "${EMPTY}%s", "${TOKEN:+%s}${EMPTY}"],
    ids=["if-set", "set-but-empty-after", "set-but-empty-before", "both"],
)
def test_a_guess_built_from_a_template_plans_alike_right_or_wrong(
    tmp_path: Path, template: str
) -> None:
    right, wrong = (desired(template % guess) for guess in (SECRET, "a-wrong-guess"))
    assert web(right).spec["environment"]["TOKEN"] == SECRET  # the guess is the secret
    found = actions(tmp_path, desired("${TOKEN}"), right, wrong)
    assert found[0] is found[1] is not Action.NONE


def test_a_guess_from_an_env_file_of_the_pull_request_plans_alike(tmp_path: Path) -> None:
    """An env file line (`TOKEN=${EMPTY}guess`) is a declaration too: its file's content
    counts."""
    with_file = "services:\n  web:\n    image: busybox:1.36\n    env_file: [guess.env]\n"

    def from_file(guess: str) -> DesiredState:
        files = [
            SourceFile("shop/compose.yaml", with_file.encode()),
            SourceFile("shop/guess.env", f"TOKEN=${{EMPTY}}{guess}\nMODE=prod\n".encode()),
        ]
        manifests = read_manifests(files, ENV)
        assert not manifests.errors, manifests.errors
        return resolve(manifests, "rev")

    guessed = actions(tmp_path / "a", desired("${TOKEN}"), from_file(SECRET), from_file("x"))
    assert guessed[0] is guessed[1] is not Action.NONE

    applied = from_file("first-guess")  # what runs was declared by an env file of its own
    right, wrong = from_file("first-guess"), from_file("another")
    assert web(right).spec["environment"]["TOKEN"] == "first-guess"
    same, other = actions(tmp_path, applied, right, wrong)
    assert same is Action.NONE  # the same file, the same value: unchanged
    assert other is not Action.NONE
    changed = "services:\n  web:\n    image: busybox:1.36\n    env_file: [other.env]\n"
    moved = [
        SourceFile("shop/compose.yaml", changed.encode()),
        SourceFile("shop/other.env", b"TOKEN=${EMPTY}first-guess\nMODE=prod\n"),
    ]
    manifests = read_manifests(moved, ENV)
    [elsewhere] = actions(tmp_path / "b", applied, resolve(manifests, "rev"))
    # the same lines under another name: the same declaration (the same variables give the
    # same value; nothing of the guess's choosing), so it is unchanged
    assert elsewhere is Action.NONE


def test_the_operators_own_secret_still_plans_as_unchanged_or_rotated(tmp_path: Path) -> None:
    applied = desired("${TOKEN}")
    same, other_field = actions(tmp_path, applied, desired("${TOKEN}"), desired("${TOKEN}", "dev"))
    assert same is Action.NONE  # restoring still works: no replace every sync
    assert other_field is not Action.NONE
    rotated = read_manifests(
        [SourceFile("shop/compose.yaml", COMPOSE.format(token="${TOKEN}", mode="prod").encode())],
        {**ENV, "TOKEN": "rotated-value"},
    )
    [after_rotation] = actions(tmp_path / "b", applied, resolve(rotated, "rev"))
    assert after_rotation is not Action.NONE


def test_a_declaration_digest_follows_what_was_written_not_where() -> None:
    """Moving a secret within the service keeps its declaration; a changed template, a
    changed secret file source, or another service's template (stack-wide: the `.env`) not."""
    base = web(desired("${TOKEN}")).declaration
    assert base and base == web(desired("${TOKEN}", mode="dev")).declaration
    assert base != web(desired("${TOKEN:+x}")).declaration
    assert base != web(desired("${TOKEN}", extra={"shop/.env": b"OTHER=${TOKEN}\n"})).declaration
    assert base == web(desired("${TOKEN}", extra={"shop/.env": b"OTHER=plain\n"})).declaration
