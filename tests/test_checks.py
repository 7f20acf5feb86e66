"""The manifest checks, rule by rule: each problem at its file:line:col and pointer, with its
message, as `syncd validate` prints it; first in the documents as written, then in what a
StackPatch overlay makes of a valid stack (the post-patch check of the resolved state)."""

from __future__ import annotations

import pytest

from syncd.core.desired import resolve
from syncd.errors import ManifestError
from syncd.manifests import read_manifests
from syncd.manifests.model import MAX_PATCH_OPS
from tests.planning import File

STACK = "kind: Stack\nproject: shop\n"
PATCH = "kind: StackPatch\nproject: shop\npatch:\n"


def _report(files: dict[str, str]) -> list[str]:
    """Every problem of a revision, as `validate` finds them: the reader's, then resolve's."""
    manifests = read_manifests([File(k, v.encode()) for k, v in files.items()], {})
    lines = [str(p) for p in manifests.problems]
    if not manifests.errors:
        try:
            resolve(manifests, "rev")
        except ManifestError as err:
            lines += [str(p) for p in err.problems]
    return lines


AS_WRITTEN = {
    "volume-name": (
        "volumes:\n  data: {name: other}\nservices:\n  web: {image: x}\n",
        ["a.yaml:4:16: /volumes/data/name: the volume's name must equal its key 'data'"],
    ),
    "volume-name-equal": ("volumes:\n  data: {name: data}\nservices:\n  web: {image: x}\n", []),
    "no-image": (
        "services:\n  web: {command: [a]}\n",
        ["a.yaml:4:8: /services/web: missing required field 'image'"],
    ),
    "empty-service": (
        "services:\n  web: {}\n",
        [
            "a.yaml:4:8: /services/web: an empty service '{}' removes it only with strategy: "
            "update; under declare, leave the service out instead"
        ],
    ),
    "empty-service-update": ("strategy: update\nservices:\n  web: {}\n", []),
    "no-image-update": ("strategy: update\nservices:\n  web: {image: x}\n  api: {}\n", []),
    "envs-and-environment": (
        "services:\n  web: {image: x, environment: {A: b}, envs: {A: c}}\n",
        ["a.yaml:4:46: /services/web/envs: give 'environment' or 'envs', not both"],
    ),
    "envs": (
        "services:\n  web: {image: x, envs: {A: c}}\n",
        [
            "a.yaml:4:19: warning: /services/web/envs: 'envs' is deprecated; rename it to "
            "'environment'"
        ],
    ),
    "mountpoint-twice": (
        "volumes: {data: {}}\nservices:\n"
        "  web: {image: x, volumes: ['data:/d', '/f:/e', '/f:/d/']}\n",
        [
            "a.yaml:5:49: /services/web/volumes/2: mountpoint '/d' is already used by volumes[0]; "
            "Docker refuses a duplicate mount point"
        ],
    ),
    "undeclared-volume": (
        "volumes: {data: {}}\nservices:\n  web: {image: x, volumes: ['/f:/f', 'dta:/d']}\n",
        [
            "a.yaml:5:38: /services/web/volumes/1: volume 'dta' is not declared under this "
            "stack's 'volumes' (did you mean 'data'?)"
        ],
    ),
    "depends-on-itself": (
        "services:\n  web: {image: x, dependsOn: [web]}\n",
        ["a.yaml:4:30: /services/web/dependsOn/web: a service cannot depend on itself"],
    ),
    "depends-on-nothing": (
        "services:\n  web: {image: x, dependsOn: [wbe, api]}\n  api: {image: x}\n",
        [
            "a.yaml:4:30: /services/web/dependsOn/wbe: no service 'wbe' in this stack "
            "(did you mean 'web'?)"
        ],
    ),
    "cycle-of-three": (
        "services:\n  c: {image: x, dependsOn: [a]}\n  a: {image: x, dependsOn: [b]}\n"
        "  b: {image: x, dependsOn: [c]}\n",
        ["a.yaml:5:28: /services/a/dependsOn: dependency cycle: a -> b -> c -> a"],
    ),
    "ports-by-protocol": (
        "services:\n  web: {image: x, ports: ['53:53/udp', '53:53/tcp', '80']}\n"
        "  api: {image: x, ports: ['80', '54:53/udp', '53:54/udp']}\n",
        [
            "a.yaml:5:46: /services/api/ports/2: host port 53/udp is already published by "
            "shop/default/web at a.yaml:4:27"
        ],
    ),
    "registries": (
        "services:\n  web: {image: ghcr.io/a/b:1}\n  hub: {image: docker.io/library/x:1}\n"
        "  loc: {image: 'localhost:5000/x'}\n  plain: {image: busybox}\n",
        [
            "a.yaml:4:16: warning: /services/web/image: no Registry for ghcr.io in project shop; "
            "the image is pulled without credentials",
            "a.yaml:6:16: warning: /services/loc/image: no Registry for localhost:5000 in project "
            "shop; the image is pulled without credentials",
        ],
    ),
}


@pytest.mark.parametrize(("body", "expected"), AS_WRITTEN.values(), ids=AS_WRITTEN.keys())
def test_a_rule_of_one_stack_as_written(body: str, expected: list[str]) -> None:
    assert _report({"a.yaml": STACK + body}) == expected


def test_a_registry_of_the_project_silences_the_warning_for_its_host_only() -> None:
    registry = "kind: Registry\nproject: shop\nname: gh\nuri: GHCR.io\n"
    stacks = STACK + "services:\n  web: {image: ghcr.io/a/b:1}\n  api: {image: quay.io/a:1}\n"
    other = "kind: Stack\nproject: other\nservices:\n  web2: {image: ghcr.io/a/b:1}\n"
    assert _report({"a.yaml": stacks, "b.yaml": other, "r.yaml": registry}) == [
        "a.yaml:5:16: warning: /services/api/image: no Registry for quay.io in project shop; "
        "the image is pulled without credentials",
        "b.yaml:4:17: warning: /services/web2/image: no Registry for ghcr.io in project other; "
        "the image is pulled without credentials",
    ]


def test_a_registry_declared_twice_names_the_first() -> None:
    registry = "kind: Registry\nproject: shop\nname: r\nuri: ghcr.io\n"
    assert _report({"a.yaml": registry + "---\n" + registry}) == [
        "a.yaml:8:7: /name: registry shop/r is already declared at a.yaml:3:7"
    ]


def test_a_patch_for_no_stack_suggests_the_near_one() -> None:
    stack = STACK + "name: web\nservices: {web: {image: x}}\n"
    patch = (
        PATCH.replace("patch:", "stack: wbe\npatch:")
        + "  - {op: test, path: /kind, value: Stack}\n"
    )
    assert _report({"a.yaml": stack, "b.yaml": patch}) == [
        "b.yaml:3:8: /stack: StackPatch for stack shop/wbe, which no Stack document declares "
        "(did you mean 'shop/web'?)"
    ]


WRITTEN = STACK + "volumes: {data: {}}\nservices:\n  web: {image: x, ports: ['80:80']}\n"


def _ops(*ops: str) -> str:
    return PATCH + "".join(f"  - {op}\n" for op in ops)


# Every problem an overlay makes is located in the stack's file: the patched stack has no text.
AFTER_PATCHING = {
    "volume-name": (
        ["{op: add, path: /volumes/logs, value: {name: other}}"],
        ["a.yaml:3:10: /volumes/logs/name: the volume's name must equal its key 'logs'"],
    ),
    "no-image": (
        ["{op: remove, path: /services/web/image}"],
        ["a.yaml:5:8: /services/web: missing required field 'image'"],
    ),
    "envs-and-environment": (
        [
            "{op: add, path: /services/web/envs, value: {A: b}}",
            "{op: add, path: /services/web/environment, value: {A: c}}",
        ],
        ["a.yaml:5:8: /services/web/envs: give 'environment' or 'envs', not both"],
    ),
    "envs-is-not-warned-again": (["{op: add, path: /services/web/envs, value: {A: b}}"], []),
    "mountpoint-twice": (
        ["{op: add, path: /services/web/volumes, value: ['data:/d', 'data:/d']}"],
        [
            "a.yaml:5:8: /services/web/volumes/1: mountpoint '/d' is already used by volumes[0]; "
            "Docker refuses a duplicate mount point"
        ],
    ),
    "undeclared-volume": (
        ["{op: add, path: /services/web/volumes, value: ['dta:/d']}"],
        [
            "a.yaml:5:8: /services/web/volumes/0: volume 'dta' is not declared under this "
            "stack's 'volumes' (did you mean 'data'?)"
        ],
    ),
    "depends-on-itself": (
        ["{op: add, path: /services/web/dependsOn, value: [web]}"],
        ["a.yaml:5:8: /services/web/dependsOn/web: a service cannot depend on itself"],
    ),
    "depends-on-nothing": (
        ["{op: add, path: /services/web/dependsOn, value: [db]}"],
        ["a.yaml:5:8: /services/web/dependsOn/db: no service 'db' in this stack"],
    ),
    "cycle": (
        [
            "{op: add, path: /services/db, value: {image: x, dependsOn: [web]}}",
            "{op: add, path: /services/web/dependsOn, value: [db]}",
        ],
        ["a.yaml:5:3: /services/db/dependsOn: dependency cycle: db -> web -> db"],
    ),
    "port": (
        ["{op: add, path: /services/api, value: {image: x, ports: ['80:81']}}"],
        [
            "a.yaml:5:3: /services/api/ports/0: host port 80/tcp is already published by "
            "shop/default/web at a.yaml:5:27"
        ],
    ),
    "registry-is-not-warned-again": (
        ["{op: replace, path: /services/web/image, value: ghcr.io/a/b}"],
        [],
    ),
}


@pytest.mark.parametrize(("ops", "expected"), AFTER_PATCHING.values(), ids=AFTER_PATCHING.keys())
def test_a_rule_of_one_stack_after_patching(ops: list[str], expected: list[str]) -> None:
    assert _report({"a.yaml": WRITTEN, "b.yaml": _ops(*ops)}) == expected


def test_a_service_an_overlay_adds_may_clash_with_another_stack_of_the_project() -> None:
    other = STACK + "name: other\nservices: {api: {image: x}}\n"
    overlay = _ops("{op: add, path: /services/api, value: {image: x}}")
    assert _report({"a.yaml": WRITTEN, "b.yaml": overlay, "c.yaml": other}) == [
        "c.yaml:4:12: /services/api: service 'api' is also declared by stack shop/default "
        "(a.yaml:5:3); service names are unique in a project, since they are its DNS names"
    ]


def test_an_unpatched_stack_is_not_reported_again() -> None:
    """An invalid stack beside a patched one: the reader's error only, once."""
    bad = STACK + "name: bad\nservices: {api: {command: [a]}}\n"
    overlay = _ops("{op: add, path: /services/web/command, value: [b]}")
    assert _report({"a.yaml": WRITTEN, "b.yaml": overlay, "c.yaml": bad}) == [
        "c.yaml:4:17: /services/api: missing required field 'image'"
    ]


OP = "  - {op: test, path: /kind, value: Stack}\n"
ONE = STACK + "services: {web: {image: x}}\n"


@pytest.mark.parametrize(
    ("counts", "expected"),
    [
        ((MAX_PATCH_OPS,), []),  # the cap itself is allowed
        ((MAX_PATCH_OPS + 1,), [(4 + MAX_PATCH_OPS, "/patch/5000")]),
        ((MAX_PATCH_OPS, 1), [(4 + MAX_PATCH_OPS + 4, "/patch/0")]),  # over it in the next one
        ((MAX_PATCH_OPS, 2, 1), [(4 + MAX_PATCH_OPS + 4, "/patch/0")]),  # said once, where passed
    ],
)
def test_the_stackpatch_cap_counts_every_document_of_a_file(
    counts: tuple[int, ...], expected: list[tuple[int, str]]
) -> None:
    overlay = "---\n".join(PATCH + OP * count for count in counts)
    lines = _report({"a.yaml": ONE, "b.yaml": overlay})
    assert lines == [
        f"b.yaml:{line}:5: {where}: b.yaml holds more than {MAX_PATCH_OPS} StackPatch operations; "
        "refused (split the overlay, or write the values into the Stack)"
        for line, where in expected
    ]


def test_every_registry_password_source_is_checked() -> None:
    """One without credentials does not end the check of the others."""
    registries = [
        "kind: Registry\nproject: shop\nname: a\nuri: a.example.com\n",
        "kind: Registry\nproject: shop\nname: b\nuri: b.example.com\n"
        "credentials: {username: u, password: {env: NOT_GIVEN}}\n",
    ]
    lines = _report({"r.yaml": "---\n".join(registries)})
    assert len(lines) == 1
    assert lines[0].startswith("r.yaml:10:44: /credentials/password/env: NOT_GIVEN is not set")
