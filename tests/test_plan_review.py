"""Pull-request review (issue 14): old -> new values, impact per replace, plans without the
operator's variables, and no error cascading from a document that failed to read.

Plans are computed from real git repositories through the command line, or from manifest text
as the CLI reads it; `test_plan_goldens` holds the full outputs."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from syncd.apply.store import Store
from syncd.cli.main import main
from syncd.core.plan import Action, as_live, plan
from syncd.core.records import DIGEST_PREFIX
from syncd.ids import ServiceKey
from syncd.manifests import ManifestFile, read_manifests
from syncd.problems import Severity
from syncd.render import PlanFormat, render
from tests.gitrepo import GitRepo
from tests.planning import desired, plan_texts

SHOP = """kind: Stack
project: shop
services:
  web:
    image: {image}
    environment: {{TOKEN: "${{SHOP_API_TOKEN}}", MODE: prod}}
---
kind: StackPatch
project: shop
stack: default
patch:
  - {{op: replace, path: /services/web/environment/MODE, value: staging}}
"""


def _repo(tmp_path: Path, *revisions: dict[str, str]) -> GitRepo:
    repo = GitRepo(tmp_path / "repo")
    for files in revisions:
        for old in repo.path.glob("*.yaml"):
            old.unlink()
        for name, text in files.items():
            repo.write(name, text)
        repo.commit()
    return repo


PATCH = (
    "kind: StackPatch\nproject: shop\nstack: default\n"
    "patch: [{op: add, path: /description, value: x}]\n"
)


def _run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out = capsys.readouterr()
    return code, out.out, out.err


def _errors(files: dict[str, str], env: dict[str, str] | None = None) -> list[str]:
    found = read_manifests([ManifestFile(p, t.encode()) for p, t in files.items()], env or {})
    return [str(p) for p in found.problems if p.severity is Severity.ERROR]


def _warnings(files: dict[str, str]) -> list[str]:
    found = read_manifests([ManifestFile(p, t.encode()) for p, t in files.items()], {})
    return [str(p) for p in found.problems if p.severity is Severity.WARNING]


# --- one failed document, one error -----------------------------------------------------------


def test_an_unset_variable_gives_one_error_not_a_second_about_the_stackpatch() -> None:
    [error] = _errors({"shop.yaml": SHOP.format(image="busybox:1.36")})
    assert "SHOP_API_TOKEN is not set" in error
    assert "no Stack" not in error


@pytest.mark.parametrize(
    "broken",
    [
        "kind: Stack\nproject: shop\nservices:\n  web: {image: busybox:1.36, ports: ['x']}\n",
        "kind: Stack\nproject: shop\nservices:\n  web: {image: busybox:1.36, imagee: x}\n",
        "kind: Stakc\nproject: shop\nservices: {}\n",  # a kind mistyped: any stack it was
        "kind: Stack\nproject: shop\nservices: [unterminated\n",  # the file does not load
        "kind: Stack\nproject: '${P}'\nservices:\n  web: {image: busybox:1.36}\n",
    ],
    ids=["bad-value", "unknown-field", "unknown-kind", "yaml-syntax", "variable-project"],
)
def test_a_stack_that_fails_to_read_gives_its_patches_no_error(broken: str) -> None:
    patch = PATCH
    errors = _errors({"a.yaml": broken, "b.yaml": patch})
    assert errors and all(e.startswith("a.yaml:") for e in errors), errors


def test_a_compose_file_that_fails_gives_its_patches_no_error() -> None:
    compose = "name: shop\nservices:\n  web: {image: busybox:1.36, ports: ['x:y:z:w']}\n"
    patch = PATCH
    errors = _errors({"shop/compose.yaml": compose, "patch.yaml": patch})
    assert errors and all(e.startswith("shop/compose.yaml:") for e in errors), errors


def test_a_patch_for_a_stack_nobody_declares_is_still_an_error() -> None:
    stack = "kind: Stack\nproject: shop\nservices:\n  web: {image: busybox:1.36}\n"
    patch = PATCH.replace("project: shop", "project: shopp")
    other = "kind: Stack\nproject: blog\nservices:\n  web: {image: busybox:1.36, ports: [x]}\n"
    errors = _errors({"a.yaml": stack, "b.yaml": patch, "c.yaml": other})
    assert any("StackPatch for stack shopp/default, which no Stack" in e for e in errors)


def test_a_registry_that_fails_to_read_gives_no_warning_about_its_images() -> None:
    registry = "kind: Registry\nproject: shop\nname: team\nuri: reg.example.com\nbogus: 1\n"
    stack = "kind: Stack\nproject: shop\nservices:\n  web: {image: reg.example.com/app:1}\n"
    assert not [w for w in _warnings({"r.yaml": registry, "s.yaml": stack}) if "no Registry" in w]
    assert [w for w in _warnings({"s.yaml": stack}) if "no Registry" in w]  # without it: warned


def test_validate_reports_the_one_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    repo = _repo(tmp_path, {"shop.yaml": SHOP.format(image="busybox:1.36")})
    code, out, _ = _run(capsys, "validate", "--repo", str(repo.path), "--format", "json")
    assert code == 1
    [problem] = json.loads(out)["problems"]
    assert "SHOP_API_TOKEN is not set" in problem["message"]


# --- plans without the operator's variables ---------------------------------------------------


def test_a_plan_between_revisions_needs_no_variable_and_compares_by_name(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    same = SHOP.format(image="busybox:1.36")
    repo = _repo(tmp_path, {"shop.yaml": same}, {"shop.yaml": same + "# a comment\n"})
    args = ["plan", "--repo", str(repo.path), "--base", "HEAD~1", "--head", "HEAD"]
    code, out, err = _run(capsys, *args)
    assert (code, err) == (0, "")
    assert "No changes." in out

    repo = _repo(tmp_path / "2", {"shop.yaml": same}, {"shop.yaml": SHOP.format(image="x:2")})
    args[2] = str(repo.path)
    code, out, err = _run(capsys, *args)
    assert code == 2 and "error" not in err
    assert '~ /image: "busybox:1.36" → "x:2"' in out and "TOKEN" not in out


def test_a_changed_unknown_variable_is_shown_by_name(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    old = SHOP.format(image="busybox:1.36")
    repo = _repo(tmp_path, {"s.yaml": old}, {"s.yaml": old.replace("SHOP_API_TOKEN", "API_V2")})
    for fmt in ("text", "markdown"):
        args = ["plan", "--repo", str(repo.path), "--base", "HEAD~1", "--format", fmt]
        code, out, _ = _run(capsys, *args)
        assert code == 2
        assert (
            "~ /environment/TOKEN: (from $SHOP_API_TOKEN, not set here) → "
            "(from $API_V2, not set here)"
        ) in out


def test_apply_validate_and_the_live_plan_still_need_every_variable(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    repo = _repo(tmp_path, {"shop.yaml": SHOP.format(image="busybox:1.36")})
    for args in (
        ["apply", "--repo", str(repo.path), "--rev", "HEAD", "--dry-run"],
        ["plan", "--repo", str(repo.path)],
        ["validate", "--repo", str(repo.path)],
    ):
        code, out, err = _run(capsys, *args)
        assert code == 1 and "SHOP_API_TOKEN is not set" in out + err, args
    # the daemon reads with the operator's variables as they are: unset is an error
    assert _errors({"shop.yaml": SHOP.format(image="busybox:1.36")})


def test_syncd_own_variables_stay_unreadable_in_a_plan(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    text = "kind: Stack\nproject: p\nservices:\n  w: {image: busybox:1.36, "
    repo = _repo(
        tmp_path,
        {"a.yaml": text + "environment: {A: x}}\n"},
        {"a.yaml": text + "environment: {A: '${SYNCD_API_TOKEN}'}}\n"},
    )
    code, _, err = _run(capsys, "plan", "--repo", str(repo.path), "--base", "HEAD~1")
    assert code == 1 and "SYNCD_API_TOKEN is never readable" in err


def test_a_registry_password_variable_need_not_be_set_for_a_plan(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    registry = (
        "kind: Registry\nproject: shop\nname: team\nuri: reg.example.com\n"
        "credentials: {username: deploy, password: {env: SHOP_REGISTRY_PASSWORD}}\n"
    )
    stack = "kind: Stack\nproject: shop\nservices:\n  web: {image: reg.example.com/app:1}\n"
    files = {"r.yaml": registry, "s.yaml": stack}
    repo = _repo(tmp_path, files, {**files, "s.yaml": stack.replace("app:1", "app:2")})
    code, out, err = _run(capsys, "plan", "--repo", str(repo.path), "--base", "HEAD~1")
    assert code == 2, err
    assert '"reg.example.com/app:1" → "reg.example.com/app:2"' in out
    code, out, _ = _run(capsys, "validate", "--repo", str(repo.path))
    assert code == 1 and "SHOP_REGISTRY_PASSWORD is not set" in out


# --- old -> new, secrets ----------------------------------------------------------------------

SECRET_A, SECRET_B = "s3cret-alpha-1", "s3cret-bravo-2"


def _plan_text(old: str, new: str, env: dict[str, str]) -> dict[PlanFormat, str]:
    result = plan_texts(old, new, env)[0]
    return {fmt: render(result, fmt) for fmt in PlanFormat}


@pytest.mark.parametrize(
    ("new_command", "verdict"),
    [
        ('["run", "--x", "${A}"]', "(secret unchanged)"),
        ('["run", "--x", "${B}"]', "(changed)"),
    ],
)
def test_a_list_around_a_secret_says_whether_the_secret_changed(
    new_command: str, verdict: str
) -> None:
    old = "kind: Stack\nproject: p\nservices:\n  w:\n    image: busybox:1.36\n"
    new = old + f"    command: {new_command}\n"
    old += '    command: ["run", "${A}"]\n'
    outputs = _plan_text(old, new, {"A": SECRET_A, "B": SECRET_B})
    line = '~ /command: ["run", "<redacted>"] → ["run", "--x", "<redacted>"] ' + verdict
    assert line in outputs[PlanFormat.TEXT] and line in outputs[PlanFormat.MARKDOWN]
    [change] = json.loads(outputs[PlanFormat.JSON])["stacks"][0]["services"][0]["changes"]
    assert change["old"] == ["run", "<redacted>"]
    assert change["secret"] == verdict.strip("()").removeprefix("secret ")
    for out in outputs.values():
        for secret in (SECRET_A, SECRET_B):
            assert secret not in out
            for digest in (hashlib.sha256, hashlib.sha1, hashlib.md5):
                assert digest(secret.encode()).hexdigest()[:12] not in out
                assert digest(json.dumps([secret]).encode()).hexdigest()[:12] not in out


def test_a_renamed_variable_shows_both_values_and_a_long_value_is_cut() -> None:
    base = "kind: Stack\nproject: p\nservices:\n  w:\n    image: busybox:1.36\n"
    long = "y" * 5000
    old = base + "    environment: {OLD_NAME: same, LONG: a}\n"
    new = base + f"    environment: {{NEW_NAME: same, LONG: {long}}}\n"
    outputs = _plan_text(old, new, {})
    text = outputs[PlanFormat.TEXT]
    assert '- /environment/OLD_NAME: "same"' in text
    assert '+ /environment/NEW_NAME: "same"' in text
    assert "more characters)" in text and long not in text
    assert long in outputs[PlanFormat.JSON]  # programs get the whole value


# --- impact -----------------------------------------------------------------------------------

DEPS = """kind: Stack
project: p
services:
  db:
    image: busybox:{tag}
    stopGracePeriod: {grace}
    ports: ["5432:5432/tcp"]
    volumes: ["data:/var/lib/db"]
  app:
    image: busybox:1.36
    dependsOn: {{db: {{condition: service_started, restart: true}}}}
  many:
    image: busybox:{tag}
    deploy: {{replicas: 3}}
volumes:
  data: {{name: data}}
"""


def test_each_replace_and_restart_names_its_impact() -> None:
    old = DEPS.format(tag="1.36", grace="45s")
    new = DEPS.format(tag="1.37", grace="5s")
    result = plan_texts(old, new, {})[0]
    text = render(result, PlanFormat.TEXT)
    # the running container stops within ITS grace period (45 s), not the new spec's
    assert (
        "impact: replaced with downtime (stop-first): down at most 45 s to stop "
        "(stop_grace_period), then the start of the new container" in text
    )
    assert "affects: host ports 5432:5432/tcp; volumes data:/var/lib/db:rw; needed by app" in text
    assert (
        "impact: restarted with downtime: down at most 10 s to stop (the stop_timeout setting)"
        in text
    )
    assert "replaced without downtime (3 replicas one at a time, stop-first; the others" in text
    assert "3 services will restart, 2 of them down meanwhile." in text
    markdown = render(result, PlanFormat.MARKDOWN)
    assert "_No spec change: the container is restarted._" in markdown
    assert "(replaced with downtime (stop-first): down up to 45 s + start)</summary>" in markdown
    body = json.loads(render(result, PlanFormat.JSON))
    assert body["restarts"] == {"services": 3, "down": 2}
    services = {s["service"]: s for s in body["stacks"][0]["services"]}
    assert services["p/default/db"]["impact"]["stopSeconds"] == 45
    assert services["p/default/app"]["action"] == Action.START
    assert services["p/default/app"]["impact"]["restart"] is True


def test_the_stop_timeout_setting_is_named_in_the_impact() -> None:
    before = desired(
        DEPS.format(tag="1.36", grace="45s").replace("    stopGracePeriod: 45s\n", ""),
        {},
        "a",
        None,
    )
    live = as_live(before)
    after = desired(DEPS.format(tag="1.37", grace="5s"), {}, "b", live)
    result = plan(after, live, stop_timeout=25)
    [db] = [c for s in result.stacks for c in s.changes if c.key.name == "db"]
    assert db.impact is not None and db.impact.stop_seconds == 25


def test_an_impact_shows_nothing_from_the_operator_variables() -> None:
    text = """kind: Stack
project: p
services:
  w:
    image: busybox:{tag}
    stopGracePeriod: "${{GRACE}}"
    healthcheck: {{test: ["CMD", "true"], interval: "${{EVERY}}"}}
    deploy: {{updateConfig: {{order: "${{ORDER}}"}}}}
"""
    env = {"GRACE": "47s", "EVERY": "13s", "ORDER": "start-first"}
    result = plan_texts(text.format(tag="1.36"), text.format(tag="1.37"), env)[0]
    for fmt in PlanFormat:
        out = render(result, fmt)
        for value in ("47", "13", "start-first"):
            assert value not in out, (fmt, value)
    text_out = render(result, PlanFormat.TEXT)
    assert "<redacted> s to stop (stop_grace_period)" in text_out
    assert "healthcheck <redacted>" in text_out
    assert "downtime not known here" in text_out


def test_deploy_values_from_the_operator_variables_are_redacted_in_the_plan() -> None:
    base = "kind: Stack\nproject: p\nservices:\n  w:\n    image: busybox:1.36\n"
    old = base + "    deploy: {replicas: 1, updateConfig: {order: stop-first}}\n"
    new = base + '    deploy: {replicas: "${N}", updateConfig: {order: "${ORDER}"}}\n'
    result = plan_texts(old, new, {"N": "7", "ORDER": "start-first"})[0]
    for fmt in PlanFormat:
        out = render(result, fmt)
        assert "start-first" not in out and '"7"' not in out and ": 7" not in out, fmt
    text = render(result, PlanFormat.TEXT)
    assert '~ /updateOrder: "stop-first" → "<redacted>" (changed)' in text
    assert '~ /replicas: 1 → "<redacted>" (changed)' in text


def test_an_unknown_image_tag_is_planned_by_name_and_refused_elsewhere(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    text = "kind: Stack\nproject: p\nservices:\n  w: {image: 'busybox:${TAG}'}\n"
    compose = "services:\n  c: {image: 'reg.example.com/app:${TAG}'}\n"
    repo = _repo(
        tmp_path,
        {"a.yaml": text},
        {"a.yaml": text.replace("TAG", "NEW_TAG"), "app/compose.yaml": compose},
    )
    code, out, err = _run(capsys, "plan", "--repo", str(repo.path), "--base", "HEAD~1")
    assert code == 2, err
    assert (
        '~ /image: "busybox:(from $TAG, not set here)" → "busybox:(from $NEW_TAG, not set here)"'
        in out
    )
    assert '+ /image: "reg.example.com/app:(from $TAG, not set here)"' in out
    # the text written as such is no image anywhere else
    literal = text.replace("${TAG}", "(from $TAG, not set here)")
    assert any("is not an image reference" in e for e in _errors({"a.yaml": literal}))


def test_a_value_cannot_reorder_or_hide_text_in_a_plan() -> None:
    base = "kind: Stack\nproject: p\nservices:\n  w:\n    image: busybox:1.36\n"
    old = base + "    environment: {A: x}\n"
    new = base + '    environment: {A: "safe\\u202e1.0:kcab\\u200b\\u2028next"}\n'
    outputs = _plan_text(old, new, {})
    for fmt in (PlanFormat.TEXT, PlanFormat.MARKDOWN):
        out = outputs[fmt]
        assert not any(c in out for c in "\u202e\u200b\u2028"), fmt
        assert '"safe\\u202e1.0:kcab\\u200b\\u2028next"' in out, fmt


def test_the_store_knows_a_secret_that_moved_in_its_list(tmp_path: Path) -> None:
    """Only an HMAC digest of a secret is stored; a secret that now stands at another index
    (an argument inserted before it) is recognised by it, and a different value is not."""
    key = ServiceKey("p", "default", "w")
    spec = {"image": "busybox:1.36", "command": ["run", "s3cr3t-moved"]}
    store = Store(tmp_path / "s.sqlite")
    store.record(
        key,
        revision="a",
        spec=spec,
        secrets=frozenset({"/command/1"}),
        container_hash="h",
        result="created",
    )
    record = store.services()[str(key)]
    moved = {**spec, "command": ["run", "--x", "s3cr3t-moved"]}
    assert store.restore(record, moved, "")["command"] == ["run", "s3cr3t-moved"]
    other = {**spec, "command": ["run", "--x", "another-value"]}
    assert store.restore(record, other, "")["command"][1].startswith(DIGEST_PREFIX)
    store.close()
