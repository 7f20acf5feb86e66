"""A plan never says whether a plain value equals a secret's.

The state store keeps a secret as a digest and puts the value back when the desired spec's value
matches it. With plans of any pull request against what runs (`POST /v2/syncd/plans`), whoever
can open a pull request could write a guess as a plain value (`TOKEN: hunter2`) and read from
the plan whether it equals the production secret ("no changes") or not. A recorded secret is now
put back only where the declaration is secret too: a right guess and a wrong one plan alike."""

from __future__ import annotations

from pathlib import Path

from syncd.apply.store import Store
from syncd.core.desired import DesiredService, DesiredStack, DesiredState
from syncd.core.observe import observe
from syncd.core.plan import Action, Plan, plan
from syncd.engine.base import ContainerState, Observed, ObservedContainer
from syncd.ids import StackKey
from syncd.manifests.model import Strategy
from syncd.render import PlanFormat, render

STACK = StackKey("shop", "default")
WEB = STACK.service("web")
SECRET = "hunter2-production"
SECRETS = frozenset({"/environment/TOKEN"})


def spec(token: str) -> dict[str, object]:
    return {"image": "busybox:1.36", "environment": {"TOKEN": token, "MODE": "prod"}}


def desired(token: str, secrets: frozenset[str]) -> DesiredState:
    service = DesiredService(WEB, spec(token), secrets)
    stack = DesiredStack(STACK, Strategy.DECLARE, "", {"web": service}, {})
    return DesiredState("pr", {STACK: stack})


def planned(store: Store, target: DesiredState) -> Plan:
    running = ObservedContainer(
        "c1", "web", WEB, "h1", "main", "img", ContainerState.RUNNING, None, 1.0
    )
    seen = observe(Observed((running,)), store.services(), desired=target, restore=store.restore)
    return plan(target, seen.live, base="main")


def test_a_guessed_plain_value_plans_as_a_change_right_or_wrong(tmp_path: Path) -> None:
    store = Store(tmp_path / "state.sqlite")
    try:
        store.record(
            WEB, revision="main", spec=spec(SECRET), secrets=SECRETS, container_hash="h1",
            result="created",
        )  # fmt: skip
        unchanged = planned(store, desired(SECRET, SECRETS))  # still from the secret source
        right = planned(store, desired(SECRET, frozenset()))  # the guess, as a plain value
        wrong = planned(store, desired("a-wrong-guess", frozenset()))
    finally:
        store.close()
    [same] = unchanged.stacks[0].services
    assert same.action is Action.NONE and not unchanged.changed  # restoring still works
    [guess_right] = right.stacks[0].services
    [guess_wrong] = wrong.stacks[0].services
    assert guess_right.action is guess_wrong.action is not Action.NONE
    assert guess_right.fields == guess_wrong.fields == ("environment",)
    for result in (right, wrong):
        for fmt in PlanFormat:
            assert SECRET not in render(result, fmt).replace(f'"{SECRET}"', "")  # only as new


def test_a_guess_written_anywhere_else_plans_alike_right_or_wrong(tmp_path: Path) -> None:
    """A secret that moved (in a list) is recognised by its digest wherever it now stands; only
    values declared secret may be recognised so, or a plain guess at any other place (`GUESS:
    hunter2`) would put the secret back and the plan would differ for a right guess."""

    def guessing(guess: str) -> DesiredState:
        body = {"image": "busybox:1.36", "environment": {"TOKEN": guess, "MODE": guess}}
        service = DesiredService(WEB, body, frozenset())
        stack = DesiredStack(STACK, Strategy.DECLARE, "", {"web": service}, {})
        return DesiredState("pr", {STACK: stack})

    store = Store(tmp_path / "state.sqlite")
    try:
        store.record(
            WEB, revision="main", spec=spec(SECRET), secrets=SECRETS, container_hash="h1",
            result="created",
        )  # fmt: skip
        right, wrong = planned(store, guessing(SECRET)), planned(store, guessing("wrong-guess"))
    finally:
        store.close()
    paths = [sorted(op["path"] for op in p.stacks[0].services[0].patch) for p in (right, wrong)]
    assert paths[0] == paths[1] == ["/environment/MODE", "/environment/TOKEN"]
