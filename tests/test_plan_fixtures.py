"""Table-driven plan tests: each folder under fixtures/plan/ holds old.yaml, new.yaml and
expected.yaml (the changes in plan order, the forcing fields, volume actions, the RFC 6902 patch
per stack, untouched stacks, or the error)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import jsonpatch
import pytest
import yaml

from syncd.core.plan import Action, VolumeAction
from syncd.errors import SyncdError
from tests.planning import plan_texts

FIXTURES = Path(__file__).parent / "fixtures" / "plan"


def _cases() -> list[Path]:
    return sorted(p for p in FIXTURES.iterdir() if p.is_dir())


@pytest.mark.parametrize("case", _cases(), ids=lambda p: p.name)
def test_plan_fixture(case: Path) -> None:
    expected: dict[str, Any] = yaml.safe_load((case / "expected.yaml").read_text()) or {}
    old = (case / "old.yaml").read_text()
    new = (case / "new.yaml").read_text()
    env = expected.get("env", {})

    if "error" in expected:
        with pytest.raises(SyncdError) as caught:
            plan_texts(old, new, env)
        problems = getattr(caught.value, "problems", None)
        text = "\n".join(str(p) for p in problems) if problems else str(caught.value)
        assert expected["error"] in text
        return

    result, before, after = plan_texts(old, new, env)

    changes = [
        f"{c.key} {c.action}"
        for s in result.stacks
        for c in s.services
        if c.action is not Action.NONE
    ]
    assert changes == expected.get("changes", [])
    fields = {
        str(c.key): list(c.fields)
        for s in result.stacks
        for c in s.changes
        if c.action in (Action.RECREATE, Action.UPDATE)
    }
    if "fields" in expected:
        assert fields == expected["fields"]
    volumes = [
        f"{v.key} {v.action}"
        for s in result.stacks
        for v in s.volumes
        if v.action is not VolumeAction.NONE
    ]
    assert volumes == expected.get("volumes", [])
    for key, ops in expected.get("patch", {}).items():
        [stack] = [s for s in result.stacks if str(s.key) == key]
        assert list(stack.patch) == ops
    for key in expected.get("unchanged", []):
        [stack] = [s for s in result.stacks if str(s.key) == key]
        assert not stack.changed and stack.patch == ()
    assert result.changed == bool(changes or volumes)

    if not env:  # without secrets, every stack's json-patch turns the old spec into the new one
        for stack in result.stacks:
            old_spec = (
                before.stacks[stack.key].spec()
                if stack.key in before.stacks
                else {"description": "", "services": {}, "volumes": {}}
            )
            new_spec = after.stacks[stack.key].spec() if stack.key in after.stacks else None
            patched = jsonpatch.apply_patch(old_spec, list(stack.patch))
            if new_spec is not None and after.stacks[stack.key].strategy == "declare":
                assert patched == new_spec


def test_secret_never_reaches_the_plan() -> None:
    case = FIXTURES / "secret-redacted"
    result, _, after = plan_texts(
        (case / "old.yaml").read_text(),
        (case / "new.yaml").read_text(),
        {"PLAN_TEST_SECRET": "s3cr3t-do-not-print"},
    )
    assert "s3cr3t-do-not-print" not in repr(
        [(s.patch, [c.patch for c in s.services]) for s in result.stacks]
    )
    # ... while the engine still gets the real value.
    [stack] = after.stacks.values()
    assert stack.services["web"].spec["environment"]["DB_PASSWORD"] == "s3cr3t-do-not-print"


def test_allow_empty_lets_every_stack_go() -> None:
    old = "kind: Stack\nproject: shop\nservices:\n  web: {image: busybox:1.36}\n"
    result, _, _ = plan_texts(old, "", allow_empty=True)
    assert [f"{c.key} {c.action}" for s in result.stacks for c in s.changes] == [
        "shop/default/web remove"
    ]


def test_an_overlay_literal_replaces_a_secret_value() -> None:
    old = "kind: Stack\nproject: shop\nservices:\n  web: {image: busybox:1.36}\n"
    new = (
        "kind: Stack\nproject: shop\nservices:\n"
        "  web: {image: busybox:1.36,\n"
        "        environment: {A: '${PLAN_T_SECRET}', B: '${PLAN_T_SECRET}'}}\n"
        "---\nkind: StackPatch\nproject: shop\npatch:\n"
        "  - {op: replace, path: /services/web/environment/A, value: public}\n"
    )
    result, _, after = plan_texts(old, new, {"PLAN_T_SECRET": "hidden-value"})
    assert after.stacks[result.stacks[0].key].services["web"].secrets == {"/environment/B"}
    [change] = result.stacks[0].changes
    ops = {op["path"]: op.get("value") for op in change.patch}
    assert ops == {"/environment/A": "public", "/environment/B": "<redacted>"}


def test_an_overlay_that_moves_or_copies_a_secret_keeps_it_redacted() -> None:
    stack = (
        "kind: Stack\nproject: shop\nservices:\n"
        "  web: {image: busybox:1.36, environment: {A: '${PLAN_T_SECRET}'}}\n"
    )
    for op in ("move", "copy"):
        new = stack + (
            "---\nkind: StackPatch\nproject: shop\npatch:\n"
            f"  - {{op: {op}, from: /services/web/environment/A, "
            "path: /services/web/environment/B}\n"
        )
        result, _, after = plan_texts("", new, {"PLAN_T_SECRET": "hidden-value"})
        secrets = after.stacks[result.stacks[0].key].services["web"].secrets
        assert secrets == (
            {"/environment/B"} if op == "move" else {"/environment/A", "/environment/B"}
        )
        assert "hidden-value" not in repr([c.patch for s in result.stacks for c in s.services])
