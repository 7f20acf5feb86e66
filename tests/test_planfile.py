"""Saved plan files without Docker: a revision-to-revision plan saved and refused when its
revision or settings moved; a plan file is untrusted input (bounded, validated, located errors,
never a traceback); the live-state fingerprint names what moved."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path

import pytest

from syncd.cli.main import main
from syncd.core.fingerprint import live_fingerprint, live_parts
from syncd.core.live import LiveService, LiveStack, LiveState, LiveVolume, Replica, ServiceStatus
from syncd.errors import PlanFileError
from syncd.ids import ServiceKey, StackKey, VolumeKey
from syncd.render import planfile
from tests.gitrepo import GitRepo

STACK = """\
kind: Stack
project: pf
services:
  web:
    image: busybox:1.36
    command: [sleep, "{n}"]
"""


@pytest.fixture
def saved(tmp_path: Path) -> tuple[GitRepo, list[str], Path]:
    """A revision-to-revision plan saved for `--head main`, and the CLI's arguments."""
    repo = GitRepo(tmp_path / "repo")
    repo.write("pf.yaml", STACK.format(n=1))
    first = repo.commit("one")
    repo.write("pf.yaml", STACK.format(n=2))
    repo.commit("two")
    args = ["--repo", str(repo.path), "--data-dir", str(tmp_path / "data")]
    out = tmp_path / "plan.json"
    assert main(["plan", *args, "--base", first, "--head", "main", "--out", str(out)]) == 2
    return repo, args, out


def test_a_moved_revision_makes_the_plan_stale(
    saved: tuple[GitRepo, list[str], Path], capsys: pytest.CaptureFixture[str]
) -> None:
    repo, args, out = saved
    planned = json.loads(out.read_text())["revision"]
    repo.write("pf.yaml", STACK.format(n=3))
    now = repo.commit("three")
    capsys.readouterr()
    assert main(["apply", *args, "--plan", str(out)]) == 1
    err = capsys.readouterr().err
    assert (
        f"stale plan: the revision moved: main was {planned[:12]} when planned, now {now[:12]}"
        in (err)
    )


def test_other_settings_make_the_plan_stale(
    saved: tuple[GitRepo, list[str], Path], capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    _repo, args, out = saved
    capsys.readouterr()
    assert main(["apply", *args, "--instance", "blue", "--plan", str(out)]) == 1
    assert "stale plan: the settings changed since the plan: instance 'default' -> 'blue'" in (
        capsys.readouterr().err
    )
    policy = tmp_path / "policy.yaml"
    policy.write_text("default:\n  capabilities: [NET_ADMIN]\n")
    assert main(["apply", *args, "--policy", str(policy), "--plan", str(out)]) == 1
    assert "the operator's policy" in capsys.readouterr().err
    assert main(["apply", *args, "--path", "other", "--plan", str(out)]) == 1
    assert "paths [] -> ['other']" in capsys.readouterr().err


def test_out_needs_a_git_revision(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "pf.yaml").write_text(STACK.format(n=1))
    code = main(["plan", "--repo", str(tmp_path), "--out", str(tmp_path / "p.json")])
    assert code == 1
    assert "--out saves the plan of a git revision" in capsys.readouterr().err
    assert not (tmp_path / "p.json").exists()


def _edited(text: str) -> str:
    body = json.loads(text)
    body["plan"]["stacks"][0]["services"][0]["action"] = "none"
    return json.dumps(body)


def _field(text: str) -> str:
    body = json.loads(text)
    body["settings"]["instance"] = "Not An Instance"
    return json.dumps(body)


def _extra(text: str) -> str:
    body = json.loads(text)
    body["execute"] = ["rm -rf /"]
    return json.dumps(body)


GARBAGE: dict[str, tuple[Callable[[str], str], str]] = {
    "not-json": (lambda t: "{not json", "plan.json:1:2: not JSON"),
    "truncated": (lambda t: t[: len(t) // 2], "not JSON"),
    "not-utf8": (lambda t: "\udcff", "not UTF-8"),
    "a-list": (lambda t: "[1, 2]", "not a syncd plan"),
    "other-version": (
        lambda t: t.replace('"syncd": "', '"syncd": "9'),
        "made by syncd 9",
    ),
    "deep": (
        lambda t: t.replace('"plan": {', '"plan": {"x": ' + "[" * 100_000 + "]" * 100_000 + ","),
        "nested too deeply",
    ),
    "huge-number": (
        lambda t: t.replace('"plan": {', '"plan": {"x": ' + "1" * 5000 + ",", 1),
        "a number too long to read",
    ),
    "lone-surrogate-in-plan": (
        lambda t: t.replace('"plan": {', '"plan": {"x": "\\ud800",', 1),
        "lone surrogate",
    ),
    "lone-surrogate-in-ref": (
        lambda t: t.replace('"ref": "', '"ref": "\\udfff', 1),
        "lone surrogate",
    ),
    "edited": (_edited, "the plan does not match its digest"),
    "bad-field": (_field, "/settings/instance"),
    "unknown-field": (_extra, "/execute: Extra inputs are not permitted"),
}


@pytest.mark.parametrize("name", sorted(GARBAGE))
def test_a_bad_plan_file_is_a_clear_error(
    saved: tuple[GitRepo, list[str], Path], capsys: pytest.CaptureFixture[str], name: str
) -> None:
    _repo, args, out = saved
    change, expected = GARBAGE[name]
    out.write_bytes(change(out.read_text()).encode("utf-8", "surrogateescape"))
    capsys.readouterr()
    assert main(["apply", *args, "--plan", str(out)]) == 1
    err = capsys.readouterr().err
    assert expected in err and "Traceback" not in err
    assert "stale" not in err


def test_a_plan_file_is_bounded_and_never_waited_on(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    big = tmp_path / "big.json"
    with big.open("wb") as handle:
        handle.truncate(planfile.MAX_PLAN_FILE + 10)
    assert main(["apply", "--repo", str(tmp_path), "--plan", str(big)]) == 1
    assert f"larger than {planfile.MAX_PLAN_FILE} bytes" in capsys.readouterr().err
    fifo = tmp_path / "fifo.json"
    os.mkfifo(fifo)
    assert main(["apply", "--repo", str(tmp_path), "--plan", str(fifo)]) == 1
    assert "is not a regular file" in capsys.readouterr().err
    assert main(["apply", "--repo", str(tmp_path), "--plan", str(tmp_path / "none")]) == 1
    assert "cannot read the plan file" in capsys.readouterr().err


def test_parse_refuses_a_live_record_that_does_not_match_its_fingerprint(
    saved: tuple[GitRepo, list[str], Path],
) -> None:
    _repo, _args, out = saved
    body = json.loads(out.read_text())
    body["live"] = {"fingerprint": "0" * 64, "parts": {"service:a/b/c": "1" * 64}}
    with pytest.raises(PlanFileError, match="does not match its fingerprint"):
        planfile.parse(json.dumps(body).encode(), "p.json")


def _state(status: ServiceStatus, container: str = "c1", orphaned: bool = False) -> LiveState:
    key = ServiceKey("shop", "default", "web")
    service = LiveService(
        key,
        {"image": "busybox:1.36"},
        hash="h" * 64,
        status=status,
        container_id=container,
        image_id="sha256:" + "a" * 64,
        replicas=(Replica(1, container, status),),
    )
    volume = LiveVolume(
        VolumeKey("shop", "default", "data"),
        orphaned=orphaned,
        declared={"driver": "local", "driverOpts": {"password": "hunter2"}, "labels": {}},
    )
    stack = LiveStack(StackKey("shop", "default"), {"web": service}, {"data": volume})
    return LiveState({stack.key: stack}, frozenset({"shop"}))


def test_the_fingerprint_is_stable_and_names_what_moved() -> None:
    running = _state(ServiceStatus.RUNNING)
    assert live_fingerprint(running) == live_fingerprint(_state(ServiceStatus.RUNNING))
    assert set(live_parts(running)) == {
        "service:shop/default/web",
        "volume:shop/default/data",
        "network:shop",
    }
    for moved, name in [
        (_state(ServiceStatus.STOPPED), "service shop/default/web changed"),
        (_state(ServiceStatus.RUNNING, container="c2"), "service shop/default/web changed"),
        (_state(ServiceStatus.RUNNING, orphaned=True), "volume shop/default/data changed"),
        (LiveState(), "service shop/default/web is gone"),
    ]:
        assert live_fingerprint(moved) != live_fingerprint(running)
        saved = planfile.LiveRecord(
            fingerprint=live_fingerprint(running), parts=live_parts(running)
        )
        now = planfile.LiveRecord(fingerprint=live_fingerprint(moved), parts=live_parts(moved))
        assert name in (planfile.live_moved(saved, now) or "")


def test_the_fingerprint_holds_nothing_derived_from_a_secret() -> None:
    """A volume's driver option values (the operator's) and the config hash (a hash of the
    spec, secret values included) do not go in: changing them alone changes no digest."""
    running = _state(ServiceStatus.RUNNING)
    stack = running.stacks[StackKey("shop", "default")]
    web = stack.services["web"]
    other = LiveService(
        web.key, web.spec, "x" * 64, web.status, None, web.container_id, web.image_id,
        replicas=web.replicas,
    )  # fmt: skip
    data = LiveVolume(
        stack.volumes["data"].key,
        declared={"driver": "local", "driverOpts": {"password": "other"}, "labels": {}},
    )
    changed = LiveState(
        {stack.key: LiveStack(stack.key, {"web": other}, {"data": data})}, running.networks
    )
    assert live_parts(changed) == live_parts(running)


def test_a_setting_the_file_cannot_hold_is_an_error_not_a_traceback(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    repo = GitRepo(tmp_path / "repo")
    repo.write("pf.yaml", STACK.format(n=1))
    repo.commit("one")
    out = tmp_path / "plan.json"
    args = ["--repo", str(repo.path), "--base", "HEAD", "--path", "a\x1b[31m", "--out", str(out)]
    assert main(["plan", *args]) == 1
    assert "cannot save the plan: paths/0:" in capsys.readouterr().err
    assert not out.exists()


def test_plan_moved_names_services_from_the_plan_computed_now() -> None:
    """The file's plan is only compared: a name or action it holds is not echoed."""
    saved = {
        "base": "a" * 40,
        "head": "b" * 40,
        "stacks": [
            {
                "stack": "s/default",
                "services": [
                    {"service": "s/default/app", "action": "recreate"},
                    {"service": "s/default/db", "action": "\x1b[31mnone"},
                    {"service": "\x1b]0;evil", "action": "create"},
                ],
            },
            {"stack": "gone/default", "services": []},
        ],
    }
    now = {
        "base": "a" * 40,
        "head": "b" * 40,
        "stacks": [
            {
                "stack": "s/default",
                "services": [
                    {"service": "s/default/app", "action": "none"},
                    {"service": "s/default/db", "action": "none"},
                ],
            }
        ],
    }
    moved = planfile.plan_moved(saved, now)
    assert moved == (
        "the plan computed now differs from the saved one: service s/default/app "
        "(recreate -> none), service s/default/db, 1 stack(s) no longer planned"
    )


def test_images_moved_names_services_whose_digest_changed() -> None:
    a, b = "sha256:" + "a" * 64, "sha256:" + "b" * 64
    assert planfile.images_moved({"s/default/web": a}, {"s/default/web": a}) is None
    assert planfile.images_moved({}, {"s/default/web": a}) is None  # planned without checks
    assert planfile.images_moved({"s/default/web": a, "\x1b[2J": a}, {"s/default/web": b}) == (
        "an image resolves to another digest than when planned: service s/default/web, "
        "1 image(s) no longer resolved"
    )


def test_a_plan_too_large_to_read_back_is_not_saved(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    repo = GitRepo(tmp_path / "repo")
    repo.write("pf.yaml", STACK.format(n=1))
    first = repo.commit("one")
    repo.write("pf.yaml", STACK.format(n=2))
    repo.commit("two")
    monkeypatch.setattr(planfile, "MAX_PLAN_FILE", 1000)
    out = tmp_path / "plan.json"
    assert main(["plan", "--repo", str(repo.path), "--base", first, "--out", str(out)]) == 1
    assert "the plan is larger than 1000 bytes: not saved" in capsys.readouterr().err
    assert not out.exists()
