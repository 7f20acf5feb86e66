"""Properties of planning over random valid stacks (hypothesis)."""

from __future__ import annotations

from typing import Any

import jsonpatch
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from syncd.core.plan import Action, VolumeAction
from tests.planning import plan_texts

NAMES = ["web", "db", "api", "worker", "cache"]
VOLUMES = ["data", "logs", "html"]
text = st.text(alphabet="abcxyz019 -_", min_size=0, max_size=6)


@st.composite
def stacks(draw: st.DrawFn) -> dict[str, Any]:
    names = draw(st.lists(st.sampled_from(NAMES), unique=True, max_size=4))
    volumes = draw(st.lists(st.sampled_from(VOLUMES), unique=True, max_size=3))
    ports = iter(range(20000, 20100))
    services: dict[str, Any] = {}
    for name in names:
        service: dict[str, Any] = {"image": draw(st.sampled_from(["busybox:1.36", "nginx:1.27"]))}
        if draw(st.booleans()):
            service["environment"] = draw(
                st.dictionaries(st.sampled_from("ABCD"), text, max_size=3)
            )
        if draw(st.booleans()):
            count = draw(st.integers(0, 2))
            service["ports"] = [f"{next(ports)}:{80 + i}/tcp" for i in range(count)]
        if draw(st.booleans()):
            service["command"] = draw(st.lists(text.filter(bool), max_size=3))
        mount: bool = draw(st.booleans())
        if volumes and mount:
            service["volumes"] = [
                f"{v}:/mnt/{v}" for v in draw(st.lists(st.sampled_from(volumes), unique=True))
            ]
        if draw(st.booleans()):
            service["restartPolicy"] = draw(st.sampled_from(["no", "always", "unless-stopped"]))
        if draw(st.booleans()):
            service["description"] = draw(text)
        if draw(st.booleans()):
            service["deploy"] = {
                "resources": {"limits": {"cpus": draw(st.sampled_from(["0.5", "1", "2"]))}}
            }
        services[name] = service
    return {
        "kind": "Stack",
        "project": "shop",
        "description": draw(text),
        "services": services,
        "volumes": {v: {} for v in volumes},
    }


def _dump(doc: dict[str, Any]) -> str:
    return yaml.safe_dump(doc, sort_keys=False)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(stacks(), stacks())
def test_json_patch_turns_old_spec_into_new(old: dict[str, Any], new: dict[str, Any]) -> None:
    result, before, after = plan_texts(_dump(old), _dump(new))
    [stack] = result.stacks
    old_spec = before.stacks[stack.key].spec()
    assert jsonpatch.apply_patch(old_spec, list(stack.patch)) == after.stacks[stack.key].spec()
    for change in stack.services:
        if change.live is not None and change.desired is not None:
            patched = jsonpatch.apply_patch(change.live.spec, list(change.patch))
            assert patched == change.desired.spec
    assert result.changed == (old_spec != after.stacks[stack.key].spec())


@settings(max_examples=100, deadline=None)
@given(stacks())
def test_a_revision_planned_against_itself_has_no_actions(doc: dict[str, Any]) -> None:
    result, _, _ = plan_texts(_dump(doc), _dump(doc))
    assert not result.changed
    assert all(c.action is Action.NONE for s in result.stacks for c in s.services)
    assert all(v.action is VolumeAction.NONE for s in result.stacks for v in s.volumes)
