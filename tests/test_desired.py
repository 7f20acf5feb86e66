"""Desired state: strategies, overlays, nested project files and the marks of values that came
from the environment (what every output redacts), from manifest text to resolved specs."""

from __future__ import annotations

from collections.abc import Mapping

import pytest

from syncd.core.canonical import Spec
from syncd.core.desired import DesiredState, resolve
from syncd.errors import ManifestError
from syncd.ids import RegistryKey, ServiceKey, StackKey
from syncd.manifests import read_manifests
from syncd.problems import Severity
from syncd.taint import REDACTED
from tests.planning import File

SECRET = "sekrit-value"
ENV = {"S": SECRET, "P": "8081", "C": "0.5", "M": "64M", "H": "CMD", "D": "service_healthy"}
ENV |= {"R": "always", "PW": "pw"}
SHOP = StackKey("shop", "default")


def _resolve(
    text: str,
    last: Mapping[ServiceKey, Spec] | None = None,
    last_secrets: Mapping[ServiceKey, frozenset[str]] | None = None,
) -> DesiredState:
    manifests = read_manifests([File("a.yaml", text.encode())], ENV)
    assert manifests.errors == []
    return resolve(manifests, "rev", last, last_secrets)


def _problems(text: str, last: Mapping[ServiceKey, Spec] | None = None) -> list[str]:
    with pytest.raises(ManifestError) as raised:
        _resolve(text, last)
    return [str(p) for p in raised.value.problems]


TAINTED = """kind: Stack
project: shop
description: "${S}"
volumes: {data: {}}
services:
  web:
    image: "busybox:${S}"
    command: [a, "${S}"]
    entrypoint: ["${S}"]
    environment: {A: "${S}", B: plain}
    ports: ["80:80", "${P}:81"]
    volumes: ["data:/d", "/f/${S}:/x"]
    deploy: {resources: {limits: {cpus: "${C}", memory: "${M}"}}}
    healthcheck: {test: ["${H}", "true"], interval: "${P}s"}
    dependsOn: {db: "${D}"}
    restartPolicy: "${R}"
  db:
    image: x
    envs: {E: "${S}"}
    healthcheck: {test: "${S}"}
    deploy: {resources: {limits: {memory: "${M}"}}}
  plain: {image: x, environment: {A: b}, ports: ["90:90"], command: [c]}
"""


def test_every_value_from_the_environment_is_marked_where_the_spec_holds_it() -> None:
    state = _resolve(TAINTED)
    stack = state.stacks[SHOP]
    web = stack.services["web"].spec
    assert web["ports"] == ["8081:81/tcp", "80:80/tcp"]  # canonical order: the mark follows
    assert web["volumes"] == [f"/f/{SECRET}:/x:rw", "data:/d:rw"]
    assert stack.secrets() == {
        "/description",
        "/services/web/image",
        "/services/web/command/1",
        "/services/web/entrypoint/0",
        "/services/web/environment/A",
        "/services/web/ports/0",
        "/services/web/volumes/0",
        "/services/web/cpus",
        "/services/web/memory",
        "/services/web/healthcheck/test/0",
        "/services/web/healthcheck/interval",
        "/services/web/dependsOn/db",
        "/services/web/restartPolicy",
        "/services/db/environment/E",
        "/services/db/healthcheck/test",
        "/services/db/memory",
    }
    assert stack.services["plain"].secrets == frozenset()
    assert stack.description == SECRET and stack.shown_description == REDACTED
    assert stack.source == "a.yaml:1"


def test_the_stack_as_one_value_has_its_services_and_volumes_in_name_order() -> None:
    text = (
        "kind: Stack\nproject: shop\ndescription: the shop\nvolumes: {zz: {}, aa: {}}\n"
        "services:\n  web: {image: x}\n  api: {image: y}\n"
    )
    stack = _resolve(text).stacks[SHOP]
    spec = stack.spec()
    assert list(spec) == ["description", "services", "volumes"]
    assert spec["description"] == "the shop" == stack.shown_description
    assert list(spec["services"]) == ["api", "web"]
    assert spec["services"]["web"] == stack.services["web"].spec
    assert spec["services"]["web"]["image"] == "x"
    assert spec["volumes"] == {"aa": {"name": "aa"}, "zz": {"name": "zz"}}
    assert stack.secrets() == frozenset()
    assert sorted(str(v.key) for v in stack.volumes.values()) == [
        "shop/default/aa",
        "shop/default/zz",
    ]


def test_a_registry_is_resolved_with_its_marks_and_never_its_password() -> None:
    text = (
        "kind: Registry\nproject: shop\nname: r\nuri: GHCR.${S}.io\ndescription: d ${S}\n"
        "credentials: {username: '${S}', password: {env: PW}}\n"
        "---\nkind: Registry\nproject: shop\nname: plain\nuri: Quay.IO\n"
        "---\nkind: Registry\nproject: shop\nname: file\nuri: r.example.com\n"
        "description: files\ncredentials: {username: bot, password: {file: pw.txt}}\n"
    )
    registries = {str(k): r for k, r in _resolve(text).registries.items()}
    tainted, plain, file = registries["shop/r"], registries["shop/plain"], registries["shop/file"]
    assert (tainted.uri, tainted.description, tainted.username) == (
        f"ghcr.{SECRET}.io",
        f"d {SECRET}",
        SECRET,
    )
    assert tainted.key == RegistryKey("shop", "r")
    assert tainted.password_ref == "env:PW" and tainted.source == "a.yaml:1"
    assert tainted.secrets == {"uri", "description", "username"}
    assert [tainted.shown(f) for f in ("uri", "description", "username")] == [REDACTED] * 3
    assert (plain.uri, plain.description, plain.username, plain.password_ref) == (
        "quay.io",
        "",
        None,
        None,
    )
    assert plain.shown("uri") == "quay.io" and plain.shown("username") is None
    assert plain.source == "a.yaml:8"
    assert (file.username, file.password_ref, file.shown("description")) == (
        "bot",
        "file:pw.txt",
        "files",
    )


UPDATE = "kind: Stack\nproject: shop\nstrategy: update\nservices:\n"
WEB = SHOP.service("web")


def test_an_update_keeps_the_marks_of_the_fields_it_does_not_give() -> None:
    last = {WEB: {"image": f"x:{SECRET}", "environment": {"A": SECRET}, "command": ["c"]}}
    marks = {WEB: frozenset({"/image", "/environment/A"})}
    state = _resolve(UPDATE + "  old: {}\n  web: {image: 'x:2'}\n  new: {image: n}\n", last, marks)
    stack = state.stacks[SHOP]
    web = stack.services["web"]
    assert web.spec["image"] == "x:2" and web.spec["environment"] == {"A": SECRET}
    assert web.spec["command"] == ["c"]
    assert web.secrets == {"/environment/A"}
    assert stack.removed == {"old"} and list(stack.services) == ["web", "new"]


def test_a_new_update_service_without_image_is_an_error_against_a_known_live_state() -> None:
    assert _problems(UPDATE + "  web: {command: [a]}\n", {}) == [
        "a.yaml:5:8: /services/web: service shop/default/web is new (never applied), so it "
        "must name its 'image'"
    ]


def test_without_a_live_state_a_new_update_service_without_image_is_skipped_with_a_warning() -> (
    None
):
    state = _resolve(UPDATE + "  web: {command: [a]}\n  api: {image: x}\n", None)
    [warning] = state.warnings
    assert warning.severity is Severity.WARNING
    assert str(warning) == (
        "a.yaml:5:8: warning: /services/web: service shop/default/web is new (never applied), "
        "so it must name its 'image'; skipped, since no live state is known"
    )
    assert list(state.stacks[SHOP].services) == ["api"]


NESTED = "kind: Stack\nproject: %s\n%sservices:\n"


@pytest.mark.parametrize(
    ("outer", "inner"),
    [
        ("/app:/srv", "/app/conf:/etc/x"),
        ("/./app/:/srv", "/app/./conf//deep:/etc/x:ro"),
        ("/:/srv", "/conf:/etc/x"),
    ],
)
def test_a_project_files_mount_inside_a_writable_one_is_refused(outer: str, inner: str) -> None:
    text = NESTED % ("shop", "") + f"  web: {{image: x, volumes: ['{outer}']}}\n"
    twice = inner.replace(":/etc/x", "2:/etc/y")
    text += f"  api: {{image: x, volumes: ['/other:/o', '{inner}', '{twice}']}}\n"
    assert _problems(text) == [
        "a.yaml:5:28: /services/api/volumes: service shop/default/api mounts a project-files "
        "folder inside the writable project-files mount of shop/default/web, which could "
        "replace it by a symlink leading out of the project's file area; mount the outer folder "
        "read-only (':ro'), or use folders side by side"
    ]


@pytest.mark.parametrize(
    "volumes",
    [
        ["/app:/srv:ro", "/app/conf:/etc/x"],  # the outer one read-only
        ["/app:/srv", "/apps/conf:/etc/x"],  # side by side: folder names, not text prefixes
        ["/app/conf:/srv", "/app:/etc/x:ro"],  # the writable one is the inner one
        ["data:/srv", "/data/conf:/etc/x"],  # a volume is no project-files folder
        ["/app:/srv", "/other/deep/conf:/etc/x:ro"],  # a path the writable mounts do not reach
    ],
)
def test_project_files_mounts_that_cannot_replace_each_other_are_allowed(
    volumes: list[str],
) -> None:
    text = (
        NESTED % ("shop", "volumes: {data: {}}\n")
        + f"  web: {{image: x, volumes: ['{volumes[0]}']}}\n"
    )
    text += f"  api: {{image: x, volumes: ['{volumes[1]}']}}\n"
    assert list(_resolve(text).stacks[SHOP].services) == ["web", "api"]


def test_projects_do_not_share_project_files() -> None:
    text = NESTED % ("shop", "") + "  web: {image: x, volumes: ['/app:/srv']}\n---\n"
    text += NESTED % ("blog", "") + "  api: {image: x, volumes: ['/app/conf:/etc/x']}\n"
    assert len(_resolve(text).stacks) == 2


def test_a_service_nested_in_its_own_writable_mount_is_refused_too() -> None:
    text = NESTED % ("shop", "") + "  web: {image: x, volumes: ['/app:/srv', '/app/c:/c']}\n"
    [problem] = _problems(text)
    assert "service shop/default/web mounts a project-files folder inside the writable" in problem
    assert "mount of shop/default/web," in problem


PATCH = "kind: StackPatch\nproject: shop\npatch:\n"
PORTED = "kind: Stack\nproject: shop\nservices:\n  web: {image: x, ports: ['8081:80']}\n"


def _image(files: dict[str, str]) -> object:
    manifests = read_manifests([File(k, v.encode()) for k, v in files.items()], ENV)
    return resolve(manifests, "rev").stacks[SHOP].services["web"].spec["image"]


def _replace(image: str) -> str:
    return PATCH + f"  - {{op: replace, path: /services/web/image, value: {image}}}\n"


def test_patches_apply_in_the_order_of_their_file_paths_then_of_their_documents() -> None:
    files = {"a.yaml": PORTED, "c.yaml": _replace("c"), "b.yaml": _replace("b1")}
    assert _image(files) == "c"
    assert _image(files | {"b.yaml": _replace("b1") + "---\n" + _replace("b2")}) == "c"
    assert _image({"a.yaml": PORTED, "b.yaml": _replace("b1") + "---\n" + _replace("b2")}) == "b2"
    assert _image({"z.yaml": PORTED, "b.yaml": _replace("b1")}) == "b1"


def _patched_problems(*ops: str) -> list[str]:
    text = PATCH + "".join(f"  - {op}\n" for op in ops)
    manifests = read_manifests(
        [File("a.yaml", PORTED.encode()), File("b.yaml", text.encode())], ENV
    )
    assert manifests.problems == []
    with pytest.raises(ManifestError) as raised:
        resolve(manifests, "rev")
    return [str(p) for p in raised.value.problems]


def test_a_patched_stack_the_models_refuse_is_an_error_at_the_patch() -> None:
    assert _patched_problems(
        "{op: replace, path: /services/web/image, value: y}",
        "{op: replace, path: /services/web/ports, value: 7}",
    ) == [
        "b.yaml:4:3: /patch: the patched stack is invalid: /services/web/ports: Input should be "
        "a valid list"
    ]
    assert _patched_problems("{op: replace, path: /services/web/ports, value: '${S}'}") == [
        "b.yaml:4:3: /patch: the patched stack is invalid: /services/web/ports: invalid value "
        "<redacted>"
    ]


def test_after_patching_a_port_from_the_environment_is_never_compared() -> None:
    """Whether a host port from the environment clashed with one the files write would tell a
    pull request the value: it is left out of the clash check (Docker refuses a real clash when
    the revision is applied); two written ports still clash."""
    add = "{op: add, path: /services/api, value: {image: y, ports: ['${P}:81']}}"
    patch = File("b.yaml", (PATCH + f"  - {add}\n").encode())
    resolve(read_manifests([File("a.yaml", PORTED.encode()), patch], ENV), "rev")
    written = "{op: add, path: /services/api, value: {image: y, ports: ['8081:81']}}"
    assert _patched_problems(written) == [
        "a.yaml:4:3: /services/api/ports/0: host port 8081/tcp is already published by "
        "shop/default/web at a.yaml:4:27"
    ]


def test_a_refused_patch_is_reported_alone() -> None:
    """The overlay did not apply, so the stack is not checked again as if it had."""
    assert _patched_problems(
        "{op: add, path: /services/api, value: {image: y, ports: ['8081:81']}}",
        "{op: remove, path: /services/nope}",
    ) == [
        "b.yaml:5:5: /patch/1: patch op 1 (remove /services/nope): path: /services/nope does "
        "not exist"
    ]


def test_the_readers_warnings_are_the_states_warnings() -> None:
    text = PORTED.replace("web: {", "web: {envs: {A: b}, ")
    state = _resolve(text + "---\n" + _replace("z"))
    assert [str(w) for w in state.warnings] == [
        "a.yaml:4:9: warning: /services/web/envs: 'envs' is deprecated; rename it to 'environment'"
    ]
    assert state.revision == "rev"


def test_an_overlay_on_an_update_stack_keeps_the_fields_neither_gives() -> None:
    last = {WEB: {"image": "old", "command": ["c"], "environment": {"K": "v"}}}
    text = UPDATE + "  web: {image: x}\n---\n" + _replace("y")
    web = _resolve(text, last).stacks[SHOP].services["web"].spec
    assert (web["image"], web["command"], web["environment"]) == ("y", ["c"], {"K": "v"})


def test_only_the_invalid_value_that_came_from_the_environment_is_withheld() -> None:
    tainted = PORTED.replace("ports: ['8081:80']", "ports: ['8081:80'], environment: {A: '${S}'}")

    def problems(op: str) -> list[str]:
        text = tainted + "---\n" + PATCH + f"  - {op}\n"
        with pytest.raises(ManifestError) as raised:
            _resolve(text)
        return [str(p) for p in raised.value.problems]

    assert problems("{op: replace, path: /services/web/ports, value: 7}") == [
        "a.yaml:9:3: /patch: the patched stack is invalid: /services/web/ports: Input should be "
        "a valid list"
    ]
    assert problems("{op: replace, path: /services/web/ports, value: ['${S}']}") == [
        "a.yaml:9:3: /patch: the patched stack is invalid: /services/web/ports/0: invalid value "
        "<redacted>"
    ]


def test_a_plain_description_beside_values_from_the_environment_is_shown() -> None:
    text = "kind: Stack\nproject: shop\nservices:\n  web: {image: 'x:${S}'}\n"
    stack = _resolve(text).stacks[SHOP]
    assert stack.secrets() == {"/services/web/image"}
    assert stack.description == "" == stack.shown_description == stack.spec()["description"]


@pytest.mark.parametrize("field", ["name", "project"])
def test_an_overlay_cannot_take_the_stacks_identity_from_the_environment(field: str) -> None:
    """Even when the value is the same: identity becomes ids, names and labels, never marked."""
    env = {"name": "default", "project": "shop"}
    text = PORTED + "---\n" + PATCH + f"  - {{op: add, path: /{field}, value: '${{V}}'}}\n"
    manifests = read_manifests([File("a.yaml", text.encode())], {"V": env[field]})
    with pytest.raises(ManifestError) as raised:
        resolve(manifests, "rev")
    assert [str(p) for p in raised.value.problems] == [
        "a.yaml:9:3: /patch: a StackPatch cannot change the stack's kind, project or name"
    ]


def test_a_stored_volume_text_that_does_not_parse_hides_no_nested_mount_after_it() -> None:
    """A kept spec comes from the store (an older syncd may have written it): a text that does
    not parse is skipped, and the project-files mounts after it are still checked."""
    web = {"image": "x", "volumes": ["/", "/app/conf:/c:rw"]}
    text = UPDATE + "  web: {image: y}\n  api: {image: x, volumes: ['/app:/srv']}\n"
    with pytest.raises(ManifestError) as raised:
        _resolve(text, {WEB: web})
    [problem] = raised.value.problems
    assert problem.pointer == "/services/web/volumes"
    assert "service shop/default/web mounts a project-files folder inside" in problem.message
