"""A file from the revision named from the operator's environment (`./${X}:/conf`,
`seccomp=${X}`): its name is tainted, so a plan says which field changed, never which file,
and the spec's own copy of the name (`seccompProfile.source`) is redacted too. Pure."""

from __future__ import annotations

from typing import Any

import pytest

from syncd.core.desired import DesiredState, resolve
from syncd.core.plan import as_live, plan
from syncd.manifests import read_manifests
from syncd.policy import BUILTIN, Policy
from syncd.render import PlanFormat, render
from syncd.taint import redact
from tests.planning import File

SECRET = "topsecretvalue.json"
CASES = [
    (
        "volumes",
        """\
services:
  web:
    image: busybox:1.36
    volumes: ["./${NAME}:/conf/x.json"]
""",
    ),
    (
        "seccompProfile",
        """\
services:
  web:
    image: busybox:1.36
    security_opt: ["seccomp=${NAME}"]
""",
    ),
    (
        "seccompProfile",
        """\
kind: Stack
project: shop
services:
  web:
    image: busybox:1.36
    securityOpt: ["seccomp=${NAME}"]
""",
    ),
]
POLICY = Policy.model_validate({"default": {"securityOpt": ["*"]}})


def _state(manifest: str, content: bytes, revision: str, live: Any = None) -> DesiredState:
    name = "shop/stack.yaml" if manifest.startswith("kind:") else "shop/compose.yaml"
    files = [File(name, manifest.encode()), File(f"shop/{SECRET}", content)]
    read = read_manifests(files, {"NAME": SECRET}, policy=POLICY if "sec" in manifest else BUILTIN)
    assert not read.errors, [str(p) for p in read.errors]
    return resolve(read, revision, live.last_applied() if live is not None else None)


@pytest.mark.parametrize(
    ("field", "manifest"), CASES, ids=["git-file", "seccomp-compose", "seccomp-native"]
)
def test_a_file_named_from_the_environment_is_not_named_by_the_plan(
    field: str, manifest: str
) -> None:
    before = _state(manifest, b'{"a": 1}', "old")
    live = as_live(before)
    after = _state(manifest, b'{"a": 2}', "new", live)
    made = plan(after, live, base="old")
    [change] = [c for s in made.stacks for c in s.services]
    assert change.fields == (field,)
    for fmt in PlanFormat:
        assert "topsecretvalue" not in render(made, fmt)
    [stack] = after.stacks.values()
    web = stack.services["web"]
    assert "topsecretvalue" not in str(redact(web.spec, "", web.secrets))
