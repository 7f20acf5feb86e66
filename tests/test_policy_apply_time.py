"""Where the policy acts besides the reader: a StackPatch's new refusals are placed at the op
that wrote them (`policycheck.patched_problems`), and a host bind is resolved on the host and
checked again just before its container is created (`apply.hostpaths`), so a symlink under an
allowed prefix cannot lead the mount out of it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from syncd.apply.hostpaths import check_host_binds
from syncd.engine.base import ContainerRequest, Mount
from syncd.errors import ServiceFailed
from syncd.ids import ServiceKey
from syncd.manifests.model import StackPatch
from syncd.manifests.parse import Located, parse_document
from syncd.manifests.policycheck import converted_problems, patched_problems
from syncd.manifests.yamlsafe import load
from syncd.policy import Policy
from syncd.problems import Problem
from syncd.settings import Settings

KEY = ServiceKey("acc", "default", "app")


def _request(*mounts: Mount) -> ContainerRequest:
    return ContainerRequest(key=KEY, image="busybox:1.36", labels={}, mounts=mounts)


def _settings(tmp_path: Path, host_paths: list[str]) -> Settings:
    policy = Policy.model_validate({"projects": {"acc": {"hostPaths": host_paths}}})
    return Settings(data_dir=tmp_path / "data", policy=policy)


def test_a_symlink_under_an_allowed_prefix_cannot_lead_a_bind_out_of_it(tmp_path: Path) -> None:
    allowed, secret = tmp_path / "allowed", tmp_path / "secret"
    (allowed / "media").mkdir(parents=True)
    secret.mkdir()
    settings = _settings(tmp_path, [str(allowed)])
    check_host_binds(settings, _request(Mount("/media", str(allowed / "media"), bind=True)))
    (allowed / "swapped").symlink_to(secret)  # pushed as /allowed/swapped, swapped on the host
    with pytest.raises(ServiceFailed) as refused:
        check_host_binds(settings, _request(Mount("/x", str(allowed / "swapped"), bind=True)))
    assert "symlinks resolved" in str(refused.value)
    assert f"add {str(secret)!r} to hostPaths" in str(refused.value)
    # a named volume is no host path; a bind elsewhere is refused as written
    check_host_binds(settings, _request(Mount("/v", "data", bind=False)))
    with pytest.raises(ServiceFailed):
        check_host_binds(settings, _request(Mount("/etc", "/etc", bind=True)))


def test_a_bind_into_syncds_data_dir_must_stay_inside_it(tmp_path: Path) -> None:
    settings = _settings(tmp_path, [])
    files = tmp_path / "data" / "projects" / "acc" / "files"
    (files / "uploads").mkdir(parents=True)
    check_host_binds(settings, _request(Mount("/up", str(files / "uploads"), bind=True)))
    (files / "escape").symlink_to("/")
    with pytest.raises(ServiceFailed) as refused:
        check_host_binds(settings, _request(Mount("/up", str(files / "escape"), bind=True)))
    assert "outside syncd's data dir" in str(refused.value)


class _Body:
    """A stack as the policy walk reads it (`project`, `model_dump`): the option fields are the
    option groups' (not on this branch's model); the walk needs only these two."""

    def __init__(self, services: dict[str, Any]) -> None:
        self.project = "acc"
        self._body = {"kind": "Stack", "project": "acc", "services": services}

    def model_dump(self, **_: Any) -> dict[str, Any]:
        return self._body


PATCH = """\
kind: StackPatch
project: acc
patch:
  - {op: replace, path: /services/app/image, value: busybox:1.37}
  - {op: add, path: /services/app/capAdd, value: [SYS_ADMIN]}
  - {op: test, path: /services/app/capAdd/0, value: SYS_ADMIN}
"""


def _patch(text: str, path: str = "stacks/overlay.yaml") -> Located[StackPatch]:
    documents, problems = load(path, text.encode())
    assert not problems
    located, problems = parse_document(documents[0], {})
    assert located is not None, problems
    return located


def test_a_refusal_a_stackpatch_brings_is_placed_at_the_op_that_wrote_it() -> None:
    before = _Body({"app": {"image": "busybox:1.36"}, "db": {"privileged": True}})
    after = _Body(
        {"app": {"image": "busybox:1.37", "capAdd": ["SYS_ADMIN"]}, "db": {"privileged": True}}
    )
    problems = patched_problems(Policy(), before, after, [_patch(PATCH)])  # type: ignore[arg-type]
    assert [str(p) for p in problems] == [
        "stacks/overlay.yaml:5:5: /patch/1: the patched stack at /services/app/capAdd/0: "
        "cap_add SYS_ADMIN is not allowed by the operator's policy: add SYS_ADMIN to "
        "capabilities (projects.acc.capabilities, or default.capabilities for every project, "
        "in the policy file)"
    ]  # the stack's own `privileged` was reported where it is written, not again here
    allowed = Policy.model_validate({"default": {"capabilities": ["SYS_ADMIN"]}})
    assert patched_problems(allowed, before, after, [_patch(PATCH)]) == []  # type: ignore[arg-type]


def test_a_converted_compose_stack_is_checked_again_without_repeating_the_reader() -> None:
    documents, _ = load("acc/compose.yaml", b"services:\n  app:\n    image: busybox:1.36\n")
    body = _Body({"app": {"image": "busybox:1.36", "capAdd": ["SYS_ADMIN"], "privileged": True}})
    located: Located[Any] = Located(body, documents[0])
    found = converted_problems(Policy(), located, [])
    assert [p.pointer for p in found] == ["/services/app/privileged", "/services/app/capAdd/0"]
    assert all(p.path == "acc/compose.yaml" and p.position.line > 1 for p in found)
    # the reader said the first already (at the Compose key): only the other one is new
    reported = [Problem("acc/compose.yaml", found[0].message, "/services/app/privileged")]
    again = converted_problems(Policy(), located, reported)
    assert [p.pointer for p in again] == ["/services/app/capAdd/0"]
    assert "cap_add SYS_ADMIN is not allowed by the operator's policy" in again[0].message
