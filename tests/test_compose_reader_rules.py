"""The Compose reader's rules that the fixtures do not show one by one: taint, identity, env
files, profiles, unknown keys and bounds, each on a small Compose file written here."""

from __future__ import annotations

from typing import Any

import pytest

from syncd.core import canonical
from syncd.core.options import files as core_files
from syncd.manifests.checks import check
from syncd.manifests.compose.reader import Conversion, compose_to_stack
from syncd.manifests.yamlsafe import Schema, load
from syncd.policy import BUILTIN, Policy
from syncd.problems import Severity

SECRET = "s3cr3t-Valu3-xyz"


def convert(
    text: str,
    env: dict[str, str] | None = None,
    files: dict[str, bytes] | None = None,
    *,
    path: str = "shop/compose.yaml",
    profiles: tuple[str, ...] = (),
    policy: Policy | None = BUILTIN,
) -> Conversion:
    revision = {path: text.encode(), **(files or {})}
    documents, problems = load(path, revision[path], schema=Schema.COMPOSE)
    assert not problems, problems
    return compose_to_stack(documents[0], env or {}, revision, profiles=profiles, policy=policy)


def messages(conv: Conversion, severity: Severity = Severity.ERROR) -> list[str]:
    return [f"{p.pointer}: {p.message}" for p in conv.problems if p.severity is severity]


def services(conv: Conversion) -> dict[str, Any]:
    assert conv.data is not None, conv.problems
    found: dict[str, Any] = conv.data["services"]
    return found


def test_operator_values_are_tainted_and_never_in_messages() -> None:
    conv = convert(
        "services:\n"
        "  web:\n"
        "    image: busybox:1.36\n"
        "    environment: {PW: '${DB_PW}', BARE: null, PLAIN: x}\n"
        "  api:\n"
        "    image: busybox:1.36\n"
        "    ports: ['${DB_PW}:80']\n",
        env={"DB_PW": SECRET, "BARE": SECRET},
    )
    assert conv.data is None
    assert all(SECRET not in str(p) for p in conv.problems)
    assert any(p.pointer == "/services/api/ports/0" for p in conv.problems)


def test_tainted_places_are_reported_in_the_stack() -> None:
    conv = convert(
        "services:\n"
        "  web:\n"
        "    image: busybox:1.36\n"
        "    environment: {PW: '${DB_PW}', BARE: null, PLAIN: x}\n",
        env={"DB_PW": SECRET, "BARE": "other-secret"},
    )
    assert services(conv)["web"]["environment"] == {
        "BARE": "other-secret",
        "PLAIN": "x",
        "PW": SECRET,
    }
    assert ("services", "web", "environment", "PW") in conv.secrets
    assert ("services", "web", "environment", "BARE") in conv.secrets
    assert ("services", "web", "environment", "PLAIN") not in conv.secrets
    assert SECRET in conv.secret_values


def test_syncd_own_variables_never_fill_a_bare_name() -> None:
    conv = convert(
        "services:\n  web:\n    image: busybox:1.36\n    environment: [SYNCD_API_TOKEN]\n",
        env={"SYNCD_API_TOKEN": SECRET},
    )
    assert services(conv)["web"]["environment"] == {}
    assert any("SYNCD_API_TOKEN" in m for m in messages(conv, Severity.WARNING))


def test_identity_never_comes_from_the_operators_environment() -> None:
    conv = convert("name: ${PROJECT}\nservices: {}\n", env={"PROJECT": "victim"})
    assert conv.data is None or conv.data["project"] != "victim"
    committed = convert(
        "name: ${PROJECT}\nservices: {}\n",
        env={"PROJECT": "victim"},
        files={"shop/.env": b"PROJECT=from_env_file\n"},
    )
    assert committed.data is not None
    assert committed.data["project"] == "from-env-file"
    x_syncd = convert("x-syncd: {project: '${PROJECT}'}\nservices: {}\n", env={"PROJECT": "a"})
    assert any("x-syncd" in m for m in messages(x_syncd))


@pytest.mark.parametrize(
    ("head", "project", "stack"),
    [
        ("x-syncd: {project: shop2, stack: edge}\nname: other\n", "shop2", "edge"),
        ("name: my_app\n", "my-app", "default"),
        ("", "shop", "default"),
    ],
)
def test_project_and_stack_names(head: str, project: str, stack: str) -> None:
    conv = convert(head + "services: {}\n")
    assert conv.data is not None
    assert (conv.data["project"], conv.data["name"]) == (project, stack)
    assert conv.data["strategy"] == "declare"


def test_env_files_stay_in_the_repository() -> None:
    conv = convert(
        "services:\n"
        "  web:\n"
        "    image: busybox:1.36\n"
        "    env_file: [../../etc/passwd, /etc/shadow, missing.env]\n"
    )
    found = messages(conv)
    assert any(m.startswith("/services/web/env_file/0:") and "outside" in m for m in found)
    assert any(m.startswith("/services/web/env_file/1:") and "outside" in m for m in found)
    assert any(
        m.startswith("/services/web/env_file/2:") and "not in the revision" in m for m in found
    )


def test_env_file_problems_are_located_in_the_env_file() -> None:
    conv = convert(
        "services:\n  web:\n    image: busybox:1.36\n    env_file: app.env\n",
        files={"shop/app.env": b"A=1\nB='open\n"},
    )
    problem = next(p for p in conv.problems if p.path == "shop/app.env")
    assert problem.position.line == 2


def test_profiles_choose_the_deployed_services() -> None:
    text = (
        "services:\n"
        "  web: {image: busybox:1.36}\n"
        "  debug: {image: busybox:1.36, profiles: [debug]}\n"
    )
    assert set(services(convert(text))) == {"web"}
    assert set(services(convert(text, profiles=("debug",)))) == {"web", "debug"}


def test_unknown_keys_name_the_key_with_a_suggestion() -> None:
    conv = convert("services:\n  web:\n    imgae: busybox:1.36\n    image: busybox:1.36\n")
    assert any(
        m.startswith("/services/web/imgae:") and "did you mean 'image'" in m for m in messages(conv)
    )
    top = convert("servics: {}\n")
    assert any("did you mean 'services'" in m for m in messages(top))


def test_build_is_refused_with_the_advice() -> None:
    conv = convert("services:\n  app:\n    build: .\n    image: team/app:1\n")
    error = next(p for p in conv.problems if p.pointer == "/services/app/build")
    assert "registry" in error.message
    assert (error.position.line, error.position.column) == (3, 5)


def test_keys_not_carried_yet_are_listed_with_their_place() -> None:
    """`gpus` is carried since issue 13's rare keys: `volumes_from` stands for what is not."""
    conv = convert(
        "services:\n  db:\n    image: busybox:1.36\n  web:\n    image: busybox:1.36\n"
        "    volumes_from: [db]\n    user: '1000'\n    gpus: all\n",
        policy=Policy.model_validate({"default": {"devices": True}}),
    )
    assert conv.errors == []
    noted = {(n.key, n.pointer, n.position.line) for n in conv.not_carried}
    assert ("volumes_from", "/services/web/volumes_from", 6) in noted
    assert not any(n.key in ("user", "gpus") for n in conv.not_carried)  # carried (issue 13)
    assert "mounts shared" in next(str(n) for n in conv.not_carried if n.key == "volumes_from")


def test_port_ranges_are_bounded() -> None:
    conv = convert("services:\n  web:\n    image: busybox:1.36\n    ports: ['1-65535:1-65535']\n")
    assert any("more than" in m for m in messages(conv))


def test_a_document_that_is_not_a_mapping_is_an_error() -> None:
    conv = convert("- just\n- a list\n")
    assert conv.data is None
    assert messages(conv) == [": a Compose file is a mapping with 'services', got a list"]


def test_unknown_keys_of_top_level_members_are_errors() -> None:
    conv = convert(
        "services: {}\nnetworks:\n  front: {internl: true}\nvolumes:\n  data: {extrnal: true}\n"
    )
    found = messages(conv)
    assert any(m.startswith("/networks/front/internl:") and "'internal'" in m for m in found)
    assert any(m.startswith("/volumes/data/extrnal:") and "'external'" in m for m in found)


def test_expanded_ports_are_bounded_per_file() -> None:
    ranges = "      - '20000-20999'\n" * 70  # 70 x 1000 ports
    conv = convert(f"services:\n  web:\n    image: busybox:1.36\n    expose:\n{ranges}")
    assert any("more than 65536 ports" in m for m in messages(conv))


def test_an_env_file_named_many_times_is_read_and_reported_once() -> None:
    names = "".join("      - app.env\n" for _ in range(500))
    conv = convert(
        f"services:\n  web:\n    image: busybox:1.36\n    env_file:\n{names}",
        files={"shop/app.env": b"A=1\nB='open\n"},
    )
    assert len([p for p in conv.problems if p.path == "shop/app.env"]) == 1


@pytest.mark.parametrize(
    ("source", "kind"),
    [
        ("./conf/nginx.conf", "git"),
        ("./conf", "git"),
        ("./data", "/data:/mnt:rw"),
        ("/srv/media", "bind"),
    ],
)
def test_binds_are_told_apart_by_the_revision(source: str, kind: str) -> None:
    files = {"shop/conf/nginx.conf": b"events {}\n"}
    conv = convert(
        f"services:\n  web:\n    image: busybox:1.36\n    volumes: ['{source}:/mnt']\n",
        files=files,
        policy=Policy.model_validate({"default": {"hostPaths": ["/srv"]}}),  # a host path
    )
    assert conv.errors == []
    assert conv.not_carried == ()
    stack = conv.stack()
    assert stack is not None
    spec = core_files.resolve(
        canonical.full(stack.services["web"]), core_files.Revision("shop", files), {}, {}
    )
    (entry,) = spec["volumes"]
    assert entry == kind if isinstance(entry, str) else entry["type"] == kind


def test_native_checks_on_a_converted_stack_point_at_the_compose_lines() -> None:
    first = convert("services:\n  web:\n    image: busybox:1.36\n    ports: ['8080:80']\n")
    second = convert(
        "services:\n"
        "  api:\n"
        "    image: busybox:1.36\n"
        "    volumes: [data:/srv, 'data:/srv/']\n"
        "    ports:\n"
        "      - '9000:9000'\n"
        "      - '8080:80'\n"
        "volumes:\n"
        "  data:\n",
        path="api/compose.yaml",
    )
    stacks = [first.located(), second.located()]
    assert all(s is not None for s in stacks)
    problems = check([s for s in stacks if s is not None], [], [])
    where = {(p.path, p.position.line, p.pointer) for p in problems}
    assert ("api/compose.yaml", 7, "/services/api/ports/1") in where  # 8080 published twice
    assert ("api/compose.yaml", 4, "/services/api/volumes/1") in where  # one mountpoint twice


def test_values_from_the_committed_env_file_are_not_secret_but_operator_values_are() -> None:
    conv = convert(
        "services:\n"
        "  web:\n"
        "    image: 'busybox:${TAG}'\n"
        "    environment: [TAG, 'DSN=${DSN}', 'PW=${DB_PW}', 'MIX=${TAG}-${DB_PW}']\n",
        env={"DB_PW": SECRET},
        files={"shop/.env": b"TAG=1.36\nDSN=postgres://app:${DB_PW}@db/app\n"},
    )
    web = services(conv)["web"]
    assert web["image"] == "busybox:1.36"
    assert web["environment"]["DSN"] == f"postgres://app:{SECRET}@db/app"
    assert ("services", "web", "image") not in conv.secrets
    assert ("services", "web", "environment", "TAG") not in conv.secrets
    for name in ("DSN", "PW", "MIX"):
        assert ("services", "web", "environment", name) in conv.secrets
    assert "1.36" not in conv.secret_values
    assert SECRET in conv.secret_values


@pytest.mark.parametrize(
    ("volume", "message"),
    [
        ("'./conf:relative'", "absolute"),
        ("'/srv:/a/../b'", "'..'"),
        ("{type: tmpfs, target: /}", "'/'"),
    ],
)
def test_every_mountpoint_is_checked_whatever_the_mount(volume: str, message: str) -> None:
    conv = convert(f"services:\n  web:\n    image: busybox:1.36\n    volumes: [{volume}]\n")
    assert any(m.startswith("/services/web/volumes/0:") and message in m for m in messages(conv))


@pytest.mark.parametrize("port", ["80:80:80:80", "example.com:80:80", "[::1:80:80"])
def test_a_host_address_must_be_an_ip(port: str) -> None:
    conv = convert(f"services:\n  web:\n    image: busybox:1.36\n    ports: ['{port}']\n")
    assert any(m.startswith("/services/web/ports/0:") for m in messages(conv))
