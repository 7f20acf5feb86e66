"""Anonymous volumes are one per mount and replica: a service may not multiply them past
`MAX_ANONYMOUS_VOLUMES` (500 mounts x 1000 replicas would be half a million volumes to plan and
create). A located error at the mount that passes the bound, in Compose and the native Stack;
a service under it keeps one volume per mount and replica. Pure."""

from __future__ import annotations

import pytest

from syncd.core.desired import resolve
from syncd.errors import ManifestError
from syncd.manifests import read_manifests
from tests.planning import File

MAX_ANONYMOUS_VOLUMES = 4096  # the bound the README states


def _compose(mounts: int, replicas: int) -> tuple[str, str]:
    listed = ", ".join(f"/a{i}" for i in range(mounts))
    text = (
        "services:\n  s:\n    image: busybox:1.36\n"
        f"    deploy: {{replicas: {replicas}}}\n    volumes: [{listed}]\n"
    )
    return "shop/compose.yaml", text


def _native(mounts: int, replicas: int) -> tuple[str, str]:
    listed = ", ".join(f"{{type: volume, target: /a{i}}}" for i in range(mounts))
    text = (
        "kind: Stack\nproject: shop\nservices:\n  s:\n    image: busybox:1.36\n"
        f"    deploy: {{replicas: {replicas}}}\n    volumes: [{listed}]\n"
    )
    return "shop/stack.yaml", text


def _problems(path: str, text: str) -> list[str]:
    read = read_manifests([File(path, text.encode())], {})
    assert not read.errors, [str(p) for p in read.errors]
    try:
        state = resolve(read, "r1")
    except ManifestError as err:
        return [str(p) for p in err.problems]
    [stack] = state.stacks.values()
    return [f"volumes: {len(stack.volumes)}"]


@pytest.mark.parametrize("form", [_compose, _native], ids=["compose", "native"])
def test_anonymous_volumes_times_replicas_are_bounded(form: object) -> None:
    assert callable(form)
    path, text = form(500, 1000)
    line = text.count("\n")  # the volumes line is the last
    found = _problems(path, text)
    bound = MAX_ANONYMOUS_VOLUMES // 1000  # mounts that fit: the next one passes the bound
    assert any(
        e.startswith(f"{path}:{line}:")
        and f"/services/s/volumes/{bound}:" in e
        and f"more than {MAX_ANONYMOUS_VOLUMES} anonymous volumes" in e
        for e in found
    ), found
    path, text = form(3, 100)
    assert _problems(path, text) == ["volumes: 300"]
