"""Plan renderings, over real plans built from manifests (old revision -> new revision)."""

from __future__ import annotations

import dataclasses
import json
import re
from collections.abc import Mapping
from typing import Any

import jsonpatch
import pytest

from syncd.core.desired import DesiredState, resolve
from syncd.core.live import LiveState, ServiceStatus
from syncd.core.plan import EMPTY_STACK, Action, Plan, VolumeAction, as_live, plan
from syncd.ids import StackKey
from syncd.manifests import ManifestFile, read_manifests
from syncd.render import PlanFormat, render
from syncd.render.markdown import cell
from syncd.render.vocabulary import action_symbol, volume_symbol

OLD_REV = "a" * 40
NEW_REV = "b" * 40
SECRET = "s3cr3t-value"
ANSI = re.compile(r"\x1b\[")

SHOP_OLD = """kind: Stack
project: shop
services:
  web: {image: busybox:1.36, environment: {GREETING: hi}}
  db: {image: busybox:1.36}
  old: {image: busybox:1.36}
volumes:
  data: {name: data}
  cache: {name: cache}
"""
SHOP_NEW = """kind: Stack
project: shop
services:
  web: {image: busybox:1.36, environment: {GREETING: hello}}
  db: {image: busybox:1.36, description: the db}
  api: {image: busybox:1.37, ports: ["8080:80/tcp"]}
volumes:
  data: {name: data}
"""
BLOG = "kind: Stack\nproject: blog\nservices:\n  web: {image: busybox:1.36}\n"
GONE = "kind: Stack\nproject: gone\nservices:\n  x: {image: busybox:1.36}\n"
UPD_OLD = """kind: Stack
project: upd
strategy: update
services:
  a: {image: busybox:1.36}
  b: {image: busybox:1.36}
"""
UPD_NEW = "kind: Stack\nproject: upd\nstrategy: update\nservices:\n  a: {}\n"

OLD = {"shop.yaml": SHOP_OLD, "blog.yaml": BLOG, "gone.yaml": GONE, "upd.yaml": UPD_OLD}
NEW = {"shop.yaml": SHOP_NEW, "blog.yaml": BLOG, "upd.yaml": UPD_NEW}

SECRET_STACK = """kind: Stack
project: vault
services:
  app: {image: busybox:1.36, environment: {PASS: '${SECRET}', MODE: '%s'}}
"""


def state(
    docs: Mapping[str, str], env: Mapping[str, str], revision: str, base: LiveState | None = None
) -> DesiredState:
    files = [ManifestFile(path, text.encode()) for path, text in sorted(docs.items())]
    last = base.last_applied() if base is not None else None
    return resolve(read_manifests(files, env), revision, last_applied=last)


def revisions(
    old: Mapping[str, str],
    new: Mapping[str, str],
    old_env: Mapping[str, str] | None = None,
    new_env: Mapping[str, str] | None = None,
) -> tuple[LiveState, DesiredState, Plan]:
    live = as_live(state(old, old_env or {}, OLD_REV))
    desired = state(new, new_env or {}, NEW_REV, live)
    return live, desired, plan(desired, live, base=OLD_REV)


@pytest.fixture(scope="module")
def big() -> tuple[LiveState, DesiredState, Plan]:
    return revisions(OLD, NEW)


@pytest.fixture(scope="module")
def secret_plan() -> Plan:
    # The secret's value changes, and a new service takes it too: both must be redacted.
    new = {"a.yaml": SECRET_STACK % "b" + "  new: {image: busybox:1.36, envs: {K: '${SECRET}'}}\n"}
    return revisions(
        {"a.yaml": SECRET_STACK % "a"}, new, {"SECRET": "old-" + SECRET}, {"SECRET": SECRET}
    )[2]


def test_text_lists_each_change_with_its_symbol_key_action_and_reason(
    big: tuple[LiveState, DesiredState, Plan],
) -> None:
    out = render(big[2], PlanFormat.TEXT)
    lines = out.splitlines()
    assert lines[0] == f"syncd plan: {OLD_REV[:12]} -> {NEW_REV[:12]}"
    for expected in [
        "stack gone/default (no longer in the repository)",
        "  - gone/default/x: remove (its stack is no longer in the repository)",
        "stack shop/default",
        "  + shop/default/api: create (not running yet)",
        '      + /image: "busybox:1.37"',
        '      + /ports: ["8080:80/tcp"]',
        "  ~ shop/default/db: update (only metadata changed; no new container; "
        "changed description)",
        '      ~ /description: "" → "the db"',
        "  ~ shop/default/web: recreate (the declared spec changed; forced by environment)",
        '      ~ /environment/GREETING: "hi" → "hello"',
        "  - shop/default/old: remove (no longer declared by its stack)",
        "  - volume shop/default/cache: detach (kept, orphaned: no longer declared by its stack)",
        "  - upd/default/a: remove (declared as {} under strategy update)",
        "1 stack unchanged.",
    ]:
        assert expected in lines
    assert lines[
        -1
    ] == "Plan: 1 to create, 1 to recreate, 0 to start, 1 to update, 3 to remove. " + (
        "Volumes: 1 to detach. 1 service will restart, 1 of them down meanwhile."
    )
    assert "blog/default" not in out
    assert "/command" not in out, "a create shows only the fields not left at their default"


def test_text_shows_start_attach_and_the_stack_description() -> None:
    old = {"s.yaml": "kind: Stack\nproject: s\nservices:\n  w: {image: busybox:1.36}\n"}
    new = {"s.yaml": old["s.yaml"] + "description: Shop\nvolumes:\n  v: {name: v}\n"}
    live = as_live(state(old, {}, OLD_REV))
    stack = live.stacks[StackKey("s", "default")]
    stopped = dataclasses.replace(stack.services["w"], status=ServiceStatus.STOPPED)
    orphan = dataclasses.replace(stack, services={"w": stopped})
    orphan_volume = as_live(state(new, {}, OLD_REV)).stacks[stack.key].volumes["v"]
    orphan = dataclasses.replace(
        orphan, volumes={"v": dataclasses.replace(orphan_volume, orphaned=True)}
    )
    live = LiveState({stack.key: orphan})
    out = render(plan(state(new, {}, NEW_REV, live), live, base=OLD_REV), PlanFormat.TEXT)
    assert '  ~ /description: "" → "Shop"' in out
    assert "  > s/default/w: start (declared but not running)" in out
    assert "  ~ volume s/default/v: attach (declared again; no longer orphaned)" in out
    assert "0 to create, 0 to recreate, 1 to start, 0 to update, 0 to remove." in out


def test_colour_only_when_asked(big: tuple[LiveState, DesiredState, Plan]) -> None:
    for fmt in PlanFormat:
        assert not ANSI.search(render(big[2], fmt)), fmt
    coloured = render(big[2], PlanFormat.TEXT, color=True)
    assert "\x1b[32m+\x1b[0m" in coloured and "\x1b[31m-\x1b[0m" in coloured
    assert re.sub(r"\x1b\[[0-9]+m", "", coloured) == render(big[2], PlanFormat.TEXT)


def test_names_cannot_drive_the_terminal() -> None:
    before = "kind: Stack\nproject: e\nservices:\n  w: {image: busybox:1.36}\n"
    after = before.replace("}", ', environment: {"A\\eB": "x\\ey"}}')
    p = revisions({"a.yaml": before}, {"a.yaml": after})[2]
    for fmt in PlanFormat:
        assert "\x1b" not in render(p, fmt), fmt
    text = render(p, PlanFormat.TEXT)
    assert '      + /environment/A\\x1bB: "x\\u001by"' in text  # the path, then the JSON value


def test_markdown_has_a_table_row_and_a_details_section_per_change(
    big: tuple[LiveState, DesiredState, Plan],
) -> None:
    out = render(big[2], PlanFormat.MARKDOWN)
    lines = out.splitlines()
    assert lines[0] == f"### syncd plan: {OLD_REV[:12]} → {NEW_REV[:12]}"
    header = "| stack | create | recreate | start | update | remove | volumes |"
    rows = lines[lines.index(header) + 2 : lines.index(header) + 5]
    assert rows == [
        "| gone/default (removed) | 0 | 0 | 0 | 0 | 1 | 0 |",
        "| shop/default | 1 | 1 | 0 | 1 | 1 | 1 |",
        "| upd/default | 0 | 0 | 0 | 0 | 1 | 0 |",
    ]
    assert lines[lines.index(header) + 5] == ""
    changes = sum(len(s.changes) for s in big[2].stacks)
    assert out.count("<details><summary>") == out.count("</details>") == changes == 6
    web = out.index("<code>~ shop/default/web</code> recreate: the declared spec changed")
    block = out[web : out.index("</details>", web)]
    assert '```diff\n~ /environment/GREETING: "hi" → "hello"\n```' in block
    assert "- volume shop/default/cache: detach (kept, orphaned" in out
    assert "#### shop/default" in lines and "blog/default" not in out
    assert "1 stack unchanged." in lines
    assert lines[-1] == f"**{render(big[2], PlanFormat.TEXT).splitlines()[-1]}**"


def test_markdown_escapes_cells_and_outgrows_backticks_in_values() -> None:
    assert cell("a|b") == "a\\|b"
    docs = {"a.yaml": "kind: Stack\nproject: m\nservices:\n  w: {image: busybox:1.36, "}
    docs["a.yaml"] += "environment: {X: 'a```b'}}\n"
    out = render(revisions({}, docs)[2], PlanFormat.MARKDOWN)
    assert '````diff\n+ /image: "busybox:1.36"\n+ /environment: {"X": "a```b"}\n````' in out


def test_json_holds_every_stack_service_and_volume(
    big: tuple[LiveState, DesiredState, Plan],
) -> None:
    out = render(big[2], PlanFormat.JSON)
    assert out == render(big[2], PlanFormat.JSON)
    body: dict[str, Any] = json.loads(out)
    assert body["base"] == OLD_REV and body["head"] == NEW_REV and body["changed"] is True
    assert body["counts"] == {"create": 1, "recreate": 1, "start": 0, "update": 1, "remove": 3}
    stacks = {s["stack"]: s for s in body["stacks"]}
    assert list(stacks) == ["blog/default", "gone/default", "shop/default", "upd/default"]
    blog = stacks["blog/default"]
    assert blog["id"] == StackKey("blog", "default").id and blog["patch"] == []
    assert blog["services"][0]["service"] == "blog/default/web"
    assert blog["services"][0]["action"] == "none"
    assert stacks["gone/default"]["removed"] is True
    web = next(s for s in stacks["shop/default"]["services"] if s["service"].endswith("/web"))
    assert web == {
        "service": "shop/default/web",
        "id": StackKey("shop", "default").service("web").id,
        "action": "recreate",
        "reason": "spec_changed",
        "reasonText": "the declared spec changed",
        "fields": ["environment"],
        "patch": [{"op": "replace", "path": "/environment/GREETING", "value": "hello"}],
        "changes": [
            {"op": "replace", "path": "/environment/GREETING", "old": "hi", "new": "hello"}
        ],
        "impact": {
            "down": True,
            "updateOrder": "stop-first",
            "declaredUpdateOrder": "stop-first",
            "updateOrderReason": None,
            "replicas": 1,
            "stopSeconds": 10,
            "stopSource": "the stop_timeout setting",
            "health": None,
            "hostPorts": [],
            "volumes": [],
            "dependents": [],
            "restart": False,
            "healthHidden": False,
        },
    }
    volumes = {v["volume"]: v for v in stacks["shop/default"]["volumes"]}
    assert volumes["shop/default/cache"]["action"] == "detach"
    assert volumes["shop/default/data"]["action"] == "none"
    assert volumes["shop/default/data"]["id"] == StackKey("shop", "default").volume("data").id


def test_json_patch_turns_the_old_stack_into_the_new_one(
    big: tuple[LiveState, DesiredState, Plan],
) -> None:
    live, desired, p = big
    patches: dict[str, list[dict[str, Any]]] = json.loads(render(p, PlanFormat.JSON_PATCH))
    assert sorted(patches) == ["gone/default", "shop/default", "upd/default"]
    old = {str(k): s.spec() for k, s in live.stacks.items()}
    new = {str(k): s.spec() for k, s in desired.stacks.items()}
    new["gone/default"] = EMPTY_STACK
    upd = old["upd/default"]  # update strategy: `a: {}` removes a, the omitted b stays
    new["upd/default"] = {**upd, "services": {"b": upd["services"]["b"]}}
    for key, ops in patches.items():
        assert jsonpatch.apply_patch(old[key], ops) == new[key], key


@pytest.mark.parametrize("fmt", list(PlanFormat))
def test_no_format_shows_a_secret(secret_plan: Plan, fmt: PlanFormat) -> None:
    out = render(secret_plan, fmt, color=True)
    assert SECRET not in out
    assert "<redacted>" in out


def test_the_secret_change_is_shown_redacted(secret_plan: Plan) -> None:
    text = render(secret_plan, PlanFormat.TEXT)
    assert '      ~ /environment/PASS: "<redacted>"' in text
    assert '      + /environment: {"K": "<redacted>"}' in text


@pytest.mark.parametrize(
    "op",
    [
        "{op: add, path: /services/web/environment, value: {PASS: '${SECRET}'}}",
        "{op: add, path: /services/api, value: {image: busybox:1.36, envs: {P: '${SECRET}'}}}",
    ],
)
def test_no_format_shows_a_secret_set_by_a_stack_patch(op: str) -> None:
    overlay = f"kind: StackPatch\nproject: shop\nstack: default\npatch:\n  - {op}\n"
    new = {"a.yaml": SHOP_OLD, "b.yaml": overlay}
    p = revisions({"a.yaml": SHOP_OLD}, new, new_env={"SECRET": SECRET})[2]
    for fmt in PlanFormat:
        assert SECRET not in render(p, fmt), fmt


def test_an_unchanged_revision_says_so(big: tuple[LiveState, DesiredState, Plan]) -> None:
    live = as_live(big[1])
    p = plan(state(NEW, {}, NEW_REV, live), live, base=NEW_REV)
    line = f"No changes. Docker matches revision {NEW_REV[:12]}."
    text = render(p, PlanFormat.TEXT).splitlines()
    assert text[-1] == line and "3 stacks unchanged." in text
    assert (
        render(p, PlanFormat.MARKDOWN)
        == f"### syncd plan: {NEW_REV[:12]} → {NEW_REV[:12]}\n\n{line}\n"
    )
    assert json.loads(render(p, PlanFormat.JSON_PATCH)) == {}
    assert json.loads(render(p, PlanFormat.JSON))["changed"] is False
    work_tree = dataclasses.replace(p, base=None, head=None)
    assert render(work_tree, PlanFormat.TEXT).endswith("Docker matches revision (work tree).")


def test_every_action_has_a_symbol_and_every_format_a_value() -> None:
    assert {action_symbol(a) for a in Action} == {"+", "~", ">", "-", " "}
    assert {volume_symbol(a) for a in VolumeAction} == {"+", "~", "-", " "}
    assert [f.value for f in PlanFormat] == ["text", "markdown", "json", "json-patch"]
