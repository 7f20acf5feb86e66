"""Issue 13's rare keys without Docker: `pid` / `ipc` `service:x` (Compose and the native `Stack`
give one spec, the other service starts first, a new container of it recreates this one, the
policy's hostNamespaces guards it, a foreign `container:` stays refused) and the engine's
arguments for them. Pure."""

from __future__ import annotations

from typing import Any

import pytest
from docker.types import HostConfig

from syncd.apply.gates import dependencies
from syncd.core.desired import DesiredState, resolve
from syncd.core.live import LiveState
from syncd.core.plan import Action, as_live, plan
from syncd.core.runspec import container_request
from syncd.engine.base import Names, Port
from syncd.engine.dockeropts import host_kwargs
from syncd.engine.dockeropts import security as security_opts
from syncd.engine.dockeropts.ports import port_bindings
from syncd.errors import ManifestError
from syncd.ids import ServiceKey
from syncd.manifests import read_manifests
from syncd.policy import BUILTIN, Policy
from syncd.problems import Severity
from tests.planning import File

NAMESPACES = Policy.model_validate({"default": {"hostNamespaces": True}})

COMPOSE = """\
name: shop
services:
  db:
    image: busybox:1.36
    command: [sleep, "{sleep}"]
    ipc: shareable
  app:
    image: busybox:1.36
    pid: "service:db"
    ipc: service:db
"""

NATIVE = """\
kind: Stack
project: shop
services:
  db:
    image: busybox:1.36
    command: [sleep, "{sleep}"]
    ipc: shareable
  app:
    image: busybox:1.36
    pid: "service:db"
    ipc: service:db
"""


def _read(files: dict[str, str], policy: Policy = NAMESPACES) -> Any:
    return read_manifests([File(p, t.encode()) for p, t in files.items()], {}, policy=policy)


def _state(files: dict[str, str], revision: str = "r1", live: Any = None) -> DesiredState:
    manifests = _read(files)
    assert not manifests.errors, [str(p) for p in manifests.errors]
    return resolve(manifests, revision, live.last_applied() if live is not None else None)


def _specs(state: DesiredState) -> dict[str, dict[str, Any]]:
    [stack] = state.stacks.values()
    return {name: s.spec for name, s in stack.services.items()}


def _errors(files: dict[str, str], policy: Policy = NAMESPACES) -> list[str]:
    return [str(p) for p in _read(files, policy).problems if p.severity is Severity.ERROR]


@pytest.mark.parametrize(
    "files",
    [{"shop/compose.yaml": COMPOSE.format(sleep=60)}, {"shop.yaml": NATIVE.format(sleep=60)}],
)
def test_pid_and_ipc_of_another_service_in_the_canonical_spec(files: dict[str, str]) -> None:
    specs = _specs(_state(files))
    app = specs["app"]
    assert app["pid"] == "service:db" and app["ipc"] == "service:db"
    assert app["pidPeer"] == app["ipcPeer"]  # a digest of db's spec
    assert len(app["pidPeer"]) == 64
    assert "pidPeer" not in specs["db"] and specs["db"]["pid"] == ""


@pytest.mark.parametrize(
    ("name", "text", "line"),
    [("shop/compose.yaml", COMPOSE, 10), ("shop.yaml", NATIVE, 11)],
)
def test_joining_an_ipc_namespace_needs_a_shareable_one(name: str, text: str, line: int) -> None:
    """Docker's default IPC mode is private: the engine refuses to join it; said at the line."""
    host = text.format(sleep=60).replace("    ipc: shareable\n", "    ipc: host\n")
    assert _errors({name: host}) == []  # Docker joins a donor in the host's IPC namespace too
    found = _errors({name: text.format(sleep=60).replace("    ipc: shareable\n", "")})
    assert any(f"{name}:{line - 1}:" in e and "/services/app/ipc" in e and "ipc: shareable" in e
               for e in found), found  # fmt: skip


def test_compose_and_native_give_one_spec() -> None:
    compose = _specs(_state({"shop/compose.yaml": COMPOSE.format(sleep=60)}))
    native = _specs(_state({"shop.yaml": NATIVE.format(sleep=60)}))
    for field in ("pid", "ipc", "pidPeer", "ipcPeer"):
        assert compose["app"][field] == native["app"][field]
    # Compose makes the other service an implicit dependency, restarted with it (compose-go)
    assert compose["app"]["dependsOn"] == {"db": "service_started"}
    assert compose["app"]["dependsOnRestart"] == ["db"]


@pytest.mark.parametrize(
    "files",
    [{"shop/compose.yaml": COMPOSE.format(sleep=60)}, {"shop.yaml": NATIVE.format(sleep=60)}],
)
def test_the_other_service_starts_first(files: dict[str, str]) -> None:
    state = _state(files)
    result = plan(state, LiveState())
    [stack] = result.stacks
    [app] = [c for c in stack.services if c.key.name == "app"]
    assert [k.name for k in dependencies(app)] == ["db"]


@pytest.mark.parametrize(
    ("name", "text"),
    [("shop/compose.yaml", COMPOSE), ("shop.yaml", NATIVE)],
)
def test_a_new_container_of_the_other_service_recreates_this_one(name: str, text: str) -> None:
    """Docker ties `container:<db>` to db's container: a new db needs a new app."""
    before = _state({name: text.format(sleep=60)}, "old")
    live = as_live(before)
    after = _state({name: text.format(sleep=61)}, "new", live)
    result = plan(after, live, base="old")
    actions = {c.key.name: c.action for s in result.stacks for c in s.services}
    assert actions["db"] is Action.RECREATE
    assert actions["app"] in (Action.RECREATE,)
    [app] = [c for s in result.stacks for c in s.services if c.key.name == "app"]
    assert {"pidPeer", "ipcPeer"} <= set(app.fields)
    same = plan(_state({name: text.format(sleep=60)}, "new", live), live, base="old")
    assert {c.action for s in same.stacks for c in s.services} == {Action.NONE}


@pytest.mark.parametrize(
    ("name", "text", "line", "key"),
    [
        ("shop/compose.yaml", COMPOSE, 9, "pid"),
        ("shop/compose.yaml", COMPOSE.replace('    pid: "service:db"\n', ""), 9, "ipc"),
        ("shop.yaml", NATIVE, 10, "pid"),
        ("shop.yaml", NATIVE.replace('    pid: "service:db"\n', ""), 10, "ipc"),
    ],
)
def test_sharing_a_namespace_needs_host_namespaces(
    name: str, text: str, line: int, key: str
) -> None:
    found = _errors({name: text.format(sleep=60)}, BUILTIN)
    assert any(
        f"{name}:{line}:" in e and key in e and "hostNamespaces" in e and "service:db" in e
        for e in found
    ), found
    assert _errors({name: text.format(sleep=60)}, NAMESPACES) == []


@pytest.mark.parametrize(
    ("value", "words"),
    [
        ("service:nope", "no deployed service 'nope'"),
        ("service:app", "itself"),
        ("container:foreign", "syncd never joins a container it did not create"),
        ("service:", "service:<service>"),
    ],
)
def test_bad_targets_are_located_compose_errors(value: str, words: str) -> None:
    text = COMPOSE.format(sleep=60).replace('pid: "service:db"', f'pid: "{value}"')
    found = _errors({"shop/compose.yaml": text})
    assert any("shop/compose.yaml:9:" in e and "/services/app/pid" in e and words in e
               for e in found), found  # fmt: skip


@pytest.mark.parametrize(
    ("value", "words"),
    [
        ("service:nope", "no service 'nope' in this stack"),
        ("service:app", "names the service itself"),
        ("container:foreign", "did not create"),
        ("bridge", "is not one of host, private, shareable, none or service:<service>"),
    ],
)
def test_bad_targets_are_located_native_errors(value: str, words: str) -> None:
    text = NATIVE.format(sleep=60).replace("ipc: service:db", f'ipc: "{value}"')
    found = _errors({"shop.yaml": text})
    assert any("shop.yaml:11:" in e and "/services/app/ipc" in e and words in e
               for e in found), found  # fmt: skip


def test_the_engine_joins_the_first_replica_of_the_other_service() -> None:
    names = Names("t1")
    key = ServiceKey("shop", "default", "app")
    options = {"pid": "service:db", "ipc": "service:db", "pidPeer": "x", "ipcPeer": "x"}
    db = names.container(ServiceKey("shop", "default", "db"))
    assert security_opts.shared_modes(names, key, options) == {
        "pid_mode": f"container:{db}",
        "ipc_mode": f"container:{db}",
    }
    assert "pid_mode" not in host_kwargs(options) and "ipc_mode" not in host_kwargs(options)
    assert host_kwargs({"pid": "host", "ipc": "shareable"}) == {
        "pid_mode": "host",
        "ipc_mode": "shareable",
    }
    assert security_opts.shared_modes(names, key, {"pid": "host", "ipc": ""}) == {}


# -- a seccomp profile from the repository ---------------------------------------------------

PROFILE = '{"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": ["mkdir"], "action": "%s"}]}'
SECCOMP_COMPOSE = """\
services:
  web:
    image: busybox:1.36
    security_opt:
      - no-new-privileges
      - "seccomp={file}"
"""
SECCOMP_NATIVE = """\
kind: Stack
project: shop
services:
  web:
    image: busybox:1.36
    securityOpt: [no-new-privileges, "seccomp={file}"]
"""
PROFILES = Policy.model_validate(
    {"default": {"securityOpt": ["seccomp=./profiles/web.json", "seccomp=profiles/web.json"]}}
)


def _seccomp_files(manifest: str, text: str, profile: bytes) -> dict[str, str | bytes]:
    return {manifest: text, "shop/profiles/web.json": profile}


def _read_files(files: dict[str, str | bytes], policy: Policy) -> Any:
    encoded = [File(p, t.encode() if isinstance(t, str) else t) for p, t in files.items()]
    return read_manifests(encoded, {}, policy=policy)


def _seccomp_state(
    files: dict[str, str | bytes], revision: str = "r1", live: Any = None
) -> tuple[DesiredState, list[str]]:
    manifests = _read_files(files, PROFILES)
    assert not manifests.errors, [str(p) for p in manifests.errors]
    state = resolve(manifests, revision, live.last_applied() if live is not None else None)
    return state, []


def _all_errors(files: dict[str, str | bytes], policy: Policy) -> list[str]:
    """The reader's errors, else those of the desired state (files from the revision)."""
    manifests = _read_files(files, policy)
    if manifests.errors:
        return [str(p) for p in manifests.errors]
    try:
        resolve(manifests, "r1", None)
    except ManifestError as err:
        return [str(p) for p in err.problems]
    return []


SECCOMP_CASES = [
    ("shop/compose.yaml", SECCOMP_COMPOSE.format(file="./profiles/web.json"), 6),
    ("shop/stack.yaml", SECCOMP_NATIVE.format(file="profiles/web.json"), 6),
]


@pytest.mark.parametrize(("manifest", "text", "_line"), SECCOMP_CASES)
def test_a_seccomp_profile_is_read_from_the_revision(manifest: str, text: str, _line: int) -> None:
    profile = (PROFILE % "SCMP_ACT_ERRNO").encode()
    state, _ = _seccomp_state(_seccomp_files(manifest, text, profile))
    web = _specs(state)["web"]
    entry = web["seccompProfile"]
    assert entry["source"] == "shop/profiles/web.json"
    assert state.files[entry["digest"]].entries == (("", profile),)
    assert "no-new-privileges=true" in web["securityOpt"]


@pytest.mark.parametrize(("manifest", "text", "_line"), SECCOMP_CASES)
def test_a_changed_profile_recreates_and_the_reason_names_the_file(
    manifest: str, text: str, _line: int
) -> None:
    old = _seccomp_files(manifest, text, (PROFILE % "SCMP_ACT_ERRNO").encode())
    before, _ = _seccomp_state(old, "old")
    live = as_live(before)
    new = _seccomp_files(manifest, text, (PROFILE % "SCMP_ACT_LOG").encode())
    after, _ = _seccomp_state(new, "new", live)
    [change] = [c for s in plan(after, live, base="old").stacks for c in s.services]
    assert change.action is Action.RECREATE
    assert change.fields == ("seccompProfile (shop/profiles/web.json changed)",)
    same, _ = _seccomp_state(old, "new", live)
    [kept] = [c for s in plan(same, live, base="old").stacks for c in s.services]
    assert kept.action is Action.NONE


@pytest.mark.parametrize(("manifest", "text", "line"), SECCOMP_CASES)
def test_a_profile_file_needs_the_security_opt_policy(manifest: str, text: str, line: int) -> None:
    files = _seccomp_files(manifest, text, (PROFILE % "SCMP_ACT_ERRNO").encode())
    found = [str(p) for p in _read_files(files, BUILTIN).errors]
    assert any(f"{manifest}:{line}:" in e and "securityOpt" in e and "web.json" in e
               for e in found), found  # fmt: skip
    assert [str(p) for p in _read_files(files, PROFILES).errors] == []


@pytest.mark.parametrize(
    ("profile", "words"),
    [
        (b"not json", "is not JSON"),
        (b"[1, 2]", "is not a JSON object"),
        (b"\xff\xfe", "is not JSON (not UTF-8)"),
        (b"[" * 100_000 + b"]" * 100_000, "is not JSON"),
        (b'{"x": "' + b"a" * 300_000 + b'"}', "is over 262144 bytes"),
    ],
)
def test_a_profile_that_is_not_a_json_object_is_a_located_error(profile: bytes, words: str) -> None:
    for manifest, text, line in SECCOMP_CASES:
        found = _all_errors(_seccomp_files(manifest, text, profile), PROFILES)
        assert any(
            f"{manifest}:{line}:" in e and "/services/web/securityOpt/1" in e and words in e
            for e in found
        ), found


@pytest.mark.parametrize(
    ("file", "words"),
    [
        ("./profiles/missing.json", "is not a file of the revision"),
        ("../../etc/profile.json", "leaves the repository"),
        ("/etc/docker/seccomp.json", "names a file on the host"),
    ],
)
def test_a_profile_outside_the_revision_is_refused(file: str, words: str) -> None:
    text = SECCOMP_COMPOSE.format(file=file)
    policy = Policy.model_validate({"default": {"securityOpt": ["*"]}})
    found = _all_errors(_seccomp_files("shop/compose.yaml", text, b"{}"), policy)
    assert any("shop/compose.yaml:6:" in e and words in e for e in found), found


def test_the_engine_gets_the_profiles_json() -> None:
    profile = PROFILE % "SCMP_ACT_ERRNO"
    manifest, text_of, _line = SECCOMP_CASES[0]
    state, _ = _seccomp_state(_seccomp_files(manifest, text_of, profile.encode()))
    [stack] = state.stacks.values()
    web = stack.services["web"]
    seen: list[Any] = []

    def text(entry: Any) -> str:
        seen.append(entry)
        return state.files[entry["digest"]].entries[0][1].decode()

    request = container_request(web, instance="t1", revision="r1", files=lambda p, d: d, text=text)
    assert seen == [web.spec["seccompProfile"]]
    assert sorted(host_kwargs(request.options)["security_opt"]) == [
        "no-new-privileges=true",
        f"seccomp={profile}",
    ]


# -- GPU requests ------------------------------------------------------------------------------

GPUS_COMPOSE = """\
services:
  train:
    image: busybox:1.36
    gpus:
      - driver: nvidia
        count: 2
        capabilities: [utility, compute]
      - device_ids: ["GPU-3", "1"]
        options: {virtualization: "false"}
    deploy:
      resources:
        reservations:
          memory: 64m
          devices:
            - capabilities: [gpu]
              driver: nvidia
  infer:
    image: busybox:1.36
    gpus: all
"""
GPUS_NATIVE = """\
kind: Stack
project: shop
services:
  train:
    image: busybox:1.36
    gpus:
      - {driver: nvidia, count: 2, capabilities: [compute, utility]}
      - {deviceIds: ["GPU-3", "1"], options: {virtualization: "false"}}
    deploy:
      resources:
        reservations: {memory: 64m, devices: [{capabilities: [gpu], driver: nvidia}]}
  infer:
    image: busybox:1.36
    gpus: all
"""


def _without_gpus(text: str) -> str:
    start = text.index("    gpus:\n")
    return text[:start] + text[text.index("    deploy:\n") :]


DEVICES = Policy.model_validate({"default": {"devices": True}})
WANTED_REQUESTS = [
    {"driver": "nvidia", "count": -1, "deviceIds": [], "capabilities": [["gpu"]], "options": {}},
    {"driver": "nvidia", "count": 2, "deviceIds": [], "capabilities": [["compute", "gpu",
     "utility"]], "options": {}},
    {"driver": "", "count": 0, "deviceIds": ["GPU-3", "1"], "capabilities": [["gpu"]],
     "options": {"virtualization": "false"}},
]  # fmt: skip


def _gpu_specs(files: dict[str, str]) -> dict[str, dict[str, Any]]:
    manifests = _read(files, DEVICES)
    assert not manifests.errors, [str(p) for p in manifests.errors]
    return _specs(resolve(manifests, "r1", None))


@pytest.mark.parametrize(
    "files", [{"shop/compose.yaml": GPUS_COMPOSE}, {"shop/stack.yaml": GPUS_NATIVE}]
)
def test_gpus_and_reserved_devices_in_the_canonical_spec(files: dict[str, str]) -> None:
    specs = _gpu_specs(files)
    assert specs["train"]["deviceRequests"] == WANTED_REQUESTS
    assert specs["train"]["memReservation"] == 64 * 1024**2
    assert specs["infer"]["deviceRequests"] == [
        {"driver": "", "count": -1, "deviceIds": [], "capabilities": [["gpu"]], "options": {}}
    ]


def test_compose_and_native_gpus_give_one_config_hash() -> None:
    compose = _gpu_specs({"shop/compose.yaml": GPUS_COMPOSE})
    native = _gpu_specs({"shop/stack.yaml": GPUS_NATIVE})
    assert compose["train"] == native["train"] and compose["infer"] == native["infer"]


def test_docker_py_gets_the_device_requests() -> None:
    spec = _gpu_specs({"shop/compose.yaml": GPUS_COMPOSE})["train"]
    kwargs = host_kwargs(spec)
    config = HostConfig(version="1.41", **kwargs)
    assert config["DeviceRequests"] == [
        {"Driver": r["driver"], "Count": r["count"], "DeviceIDs": r["deviceIds"],
         "Capabilities": r["capabilities"], "Options": r["options"]}
        for r in WANTED_REQUESTS
    ]  # fmt: skip
    assert "device_requests" not in host_kwargs({"deviceRequests": []})


@pytest.mark.parametrize(
    ("files", "line", "where"),
    [
        ({"shop/compose.yaml": GPUS_COMPOSE}, 5, "/services/train/gpus"),
        (
            {"shop/compose.yaml": _without_gpus(GPUS_COMPOSE)},
            9,
            "/services/train/deploy/resources/reservations/devices",
        ),
        ({"shop/stack.yaml": GPUS_NATIVE}, 7, "/services/train/gpus"),
    ],
)  # fmt: skip
def test_device_requests_need_the_devices_policy(
    files: dict[str, str], line: int, where: str
) -> None:
    name = next(iter(files))
    found = [str(p) for p in _read(files, BUILTIN).errors]
    assert any(f"{name}:{line}:" in e and where in e and "devices" in e for e in found), found
    assert [str(p) for p in _read(files, DEVICES).errors] == []


@pytest.mark.parametrize(
    ("entry", "where", "words"),
    [
        ("[{count: 1, device_ids: ['0']}]", "/services/infer/gpus/0", "exclude each other"),
        ("[{count: many}]", "/services/infer/gpus/0/count", "gpus:"),
        ("some", "/services/infer/gpus", "gpus:"),
    ],
)
def test_bad_gpus_are_located_errors(entry: str, where: str, words: str) -> None:
    text = GPUS_COMPOSE.replace("    gpus: all\n", f"    gpus: {entry}\n")
    found = [str(p) for p in _read({"shop/compose.yaml": text}, DEVICES).errors]
    assert any("shop/compose.yaml:19:" in e and where in e and words in e for e in found), found


def test_a_reserved_device_names_its_capabilities() -> None:
    text = GPUS_COMPOSE.replace(
        "            - capabilities: [gpu]\n              driver", "            - driver"
    )
    found = [str(p) for p in _read({"shop/compose.yaml": text}, DEVICES).errors]
    assert any("/services/train/deploy/resources/reservations/devices/0" in e
               and "capabilities" in e for e in found), found  # fmt: skip


# -- ports: a host port range to one container port, SCTP ------------------------------------

PORTS_COMPOSE = """\
services:
  web:
    image: busybox:1.36
    ports:
      - "18000-18010:80"
      - "127.0.0.1:18020-18030:81/udp"
      - target: 82
        published: "18040-18050"
    deploy: {replicas: 2}
  api:
    image: busybox:1.36
    ports: ["18000-18010:80", "15000:5000/sctp"]
    expose: ["6000/sctp"]
"""
PORTS_NATIVE = """\
kind: Stack
project: shop
services:
  web:
    image: busybox:1.36
    ports: ["18000-18010:80/tcp", "127.0.0.1:18020-18030:81/udp",
            "18040-18050:82"]
    deploy: {replicas: 2}
  api:
    image: busybox:1.36
    ports: ["18000-18010:80", "15000:5000/sctp", "6000/sctp"]
"""
WANTED_PORTS = ["127.0.0.1:18020-18030:81/udp", "18000-18010:80/tcp", "18040-18050:82/tcp"]
WANTED_API = ["15000:5000/sctp", "18000-18010:80/tcp", "6000/sctp"]


@pytest.mark.parametrize(
    "files", [{"shop/compose.yaml": PORTS_COMPOSE}, {"shop/stack.yaml": PORTS_NATIVE}]
)
def test_host_ranges_and_sctp_in_the_canonical_spec(files: dict[str, str]) -> None:
    """A range is one binding (Docker picks a free port of it for each container): two
    replicas and two services may publish one range; SCTP like tcp and udp."""
    specs = _state(files).stacks
    [stack] = specs.values()
    assert stack.services["web"].spec["ports"] == WANTED_PORTS
    assert stack.services["api"].spec["ports"] == WANTED_API


def test_a_fixed_sctp_port_is_still_one_services() -> None:
    text = PORTS_NATIVE.replace('"18040-18050:82"', '"15000:5000/sctp"').replace(
        "    deploy: {replicas: 2}\n", ""
    )
    found = _errors({"shop/stack.yaml": text})
    assert any("host port 15000/sctp is already published" in e for e in found), found


@pytest.mark.parametrize(
    ("port", "words"),
    [
        ("18010-18000:80", "must end after it starts"),
        ("18000-18000:80", "must end after it starts"),
        ("-18000:80", "a host port range is <first>-<last>"),
        ("18000-70000:80", "outside 1-65535"),
        ("5000:5000/dccp", "is not tcp, udp or sctp"),
    ],
)
def test_bad_native_ranges_are_located_errors(port: str, words: str) -> None:
    text = PORTS_NATIVE.replace('"18040-18050:82"', f'"{port}"')
    found = _errors({"shop/stack.yaml": text})
    assert any("shop/stack.yaml:7:" in e and "/services/web/ports/2" in e and words in e
               for e in found), found  # fmt: skip


def test_docker_py_gets_the_range_and_sctp_bindings() -> None:
    [stack] = _state({"shop/compose.yaml": PORTS_COMPOSE}).stacks.values()
    request = container_request(
        stack.services["web"], instance="t1", revision="r1", files=lambda p, d: d
    )
    assert Port(80, "tcp", 18000, None, False, 18010) in request.ports
    bindings = port_bindings(request.ports, "127.0.0.1")
    config = HostConfig(version="1.41", port_bindings=bindings)
    assert config["PortBindings"] == {
        "80/tcp": [{"HostIp": "127.0.0.1", "HostPort": "18000-18010"}],
        "81/udp": [{"HostIp": "127.0.0.1", "HostPort": "18020-18030"}],
        "82/tcp": [{"HostIp": "127.0.0.1", "HostPort": "18040-18050"}],
    }
    [api] = [
        s.services["api"] for s in _state({"shop/compose.yaml": PORTS_COMPOSE}).stacks.values()
    ]
    sctp = container_request(api, instance="t1", revision="r1", files=lambda p, d: d).ports
    assert Port(5000, "sctp", 15000, None, False, None) in sctp and Port(6000, "sctp") in sctp


def test_namespaces_shared_in_a_circle_are_a_cycle() -> None:
    text = NATIVE.format(sleep=60).replace(
        "    ipc: shareable\n", '    ipc: shareable\n    pid: "service:app"\n'
    )
    found = _errors({"shop.yaml": text})
    assert any("dependency cycle" in e for e in found), found
