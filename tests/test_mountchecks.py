"""A service's mounts checked across its items (syncd/manifests/mountchecks.py): two written
mounts or tmpfs paths of one mount point are an error at the second, in native stacks and
Compose files; an item that took the operator's variables is never compared (the outcome
would tell a pull request the value), and Docker takes what is left."""

from __future__ import annotations

import pytest

from syncd.core.desired import DesiredState, resolve
from syncd.errors import ManifestError
from syncd.manifests import read_manifests
from tests.planning import File

NATIVE = "kind: Stack\nproject: p\nservices:\n  web:\n    image: busybox:1.36\n    {field}\n"
NATIVE += "volumes:\n  data: {{}}\n"
COMPOSE = "services:\n  web:\n    image: busybox:1.36\n    {field}\nvolumes:\n  data: {{}}\n"
ENV = {"T": "/run", "M": "/data"}


def _resolved(path: str, text: str) -> DesiredState | list[str]:
    try:
        return resolve(read_manifests([File(path, text.encode())], ENV), "rev")
    except ManifestError as err:
        return [str(p) for p in err.problems]


@pytest.mark.parametrize(("path", "shape"), [("p/web.yaml", NATIVE), ("p/compose.yaml", COMPOSE)])
@pytest.mark.parametrize(
    ("field", "message"),
    [
        ("tmpfs: [/run, '/run:size=1m']",
         "/services/web/tmpfs/1: '/run' is mounted twice (tmpfs[0])"),
        ("volumes: ['data:/data', 'data:/data/']", "/services/web/volumes/1: mountpoint '/data' is "
         "already used by volumes[0]"),
    ],
    ids=["tmpfs", "volumes"],
)  # fmt: skip
def test_two_written_mounts_of_one_point_are_an_error_at_the_second(
    path: str, shape: str, field: str, message: str
) -> None:
    found = _resolved(path, shape.format(field=field))
    assert isinstance(found, list) and any(message in p for p in found), found


@pytest.mark.parametrize(("path", "shape"), [("p/web.yaml", NATIVE), ("p/compose.yaml", COMPOSE)])
@pytest.mark.parametrize(
    "field",
    ["tmpfs: ['${T}', /run]", "volumes: ['data:${M}', 'data:/data']"],
    ids=["tmpfs", "volumes"],
)
def test_a_mount_point_from_a_variable_is_never_compared(path: str, shape: str, field: str) -> None:
    found = _resolved(path, shape.format(field=field))
    assert isinstance(found, DesiredState), found
    [web] = [s for stack in found.stacks.values() for s in stack.services.values()]
    if "tmpfs" in field:  # both kept: Docker's map of tmpfs mounts keeps the last
        assert [t["target"] for t in web.spec["tmpfs"]] == ["/run", "/run"]
