"""The Compose reader (`syncd.manifests.compose.reader`) over our own Compose fixtures.

Key fixtures: each `<group>.yaml` is read as `<group>/compose.yaml` of a revision holding the
shared side files (`.env`, `env/`, `conf/`, `secrets/`, `base/`). For every key the current
`Stack` model carries, the converted value must be the `.expect.yaml` value in the model's own
form; every expected value the model cannot carry must be noted as "not carried yet" at its
place; every expected error must be a located error (or, for what only a later stage can judge,
a "not carried yet" note at that place).
App fixtures: the exact set of the 25 stacks that convert without error, and the work list.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import yaml
from pydantic.alias_generators import to_camel

from syncd.core import canonical
from syncd.core.options import files
from syncd.core.options import volumes as volume_options
from syncd.manifests.compose.reader import Conversion, compose_to_stack
from syncd.manifests.compose.units import parse_bytes
from syncd.manifests.model import Service, Stack
from syncd.manifests.policyfile import load_policy
from syncd.manifests.quantities import parse_duration, parse_memory
from syncd.manifests.yamlsafe import Schema, load
from syncd.policy import BUILTIN, Policy
from syncd.problems import Severity

FIXTURES = Path(__file__).parent / "fixtures" / "compose"
KEYS = FIXTURES / "keys"
APPS = FIXTURES / "apps"
COMPOSE_NAMES = ("compose.yaml", "compose.yml", "docker-compose.yaml", "docker-compose.yml")
GROUPS = sorted(
    p.name.removesuffix(".yaml")
    for p in KEYS.glob("*.yaml")
    if not p.name.endswith((".expect.yaml", ".policy.yaml"))
)
DNS = re.compile(r"[a-zA-Z0-9][a-zA-Z0-9_.-]*")  # a service or volume name (Compose alphabet)

# Expected errors that need what the reader cannot know (the engine's API version, an ipam
# subnet, a policy) or a key the model does not carry yet: the reader notes
# them at their place; the later stage that carries them makes them errors.
LATER_ERRORS = {
    "unsupported": {
        "services.subpath.volumes[0].volume.subpath",
        "services.imagemount.volumes[0].type",
    },
}


def _revision(group: str) -> dict[str, bytes]:
    files = {
        f"{group}/{p.relative_to(KEYS)}": p.read_bytes()
        for p in KEYS.rglob("*")
        if p.is_file() and (p.parent != KEYS or p.name == ".env")
    }
    files[f"{group}/compose.yaml"] = (KEYS / f"{group}.yaml").read_bytes()
    return files


def _convert(
    path: str,
    files: dict[str, bytes],
    env: dict[str, str] | None = None,
    policy: Policy = BUILTIN,
) -> Conversion:
    documents, problems = load(path, files[path], schema=Schema.COMPOSE)
    assert not problems, problems
    return compose_to_stack(documents[0], env or {}, files, policy=policy)


def fixture_policy(expect: dict[str, Any]) -> Policy:
    """The operator's policy a fixture is read with (`policy: {file: x}`; else the built-in)."""
    given = expect.get("policy") or {}
    named = given.get("file")
    if named is None:  # the rules themselves, for every project, or none (the built-in policy)
        return Policy.model_validate({"default": given}) if given else BUILTIN
    policy, problems = load_policy(named, (KEYS / named).read_bytes())
    assert policy is not None, problems
    return policy


def convert_key(group: str) -> tuple[Conversion, dict[str, Any]]:
    expect = yaml.safe_load((KEYS / f"{group}.expect.yaml").read_text())
    policy = fixture_policy(expect)
    env = expect.get("operator_env") or {}
    return _convert(f"{group}/compose.yaml", _revision(group), env, policy=policy), expect


def pointer(dotted: str) -> str:
    """`services.x.ports[0]` -> `/services/x/ports/0`."""
    return "/" + re.sub(r"\[(\d+)\]", r".\1", dotted).replace(".", "/")


def _near(found: str, wanted: str) -> bool:
    """The same place, or one inside the other below the service key (`/services/x/key`).
    `wanted` is written with dots (`sysctls.vm.max_map_count`): compare dots as slashes."""
    found = found.replace(".", "/")
    if found == wanted or found.startswith(wanted + "/"):
        return True
    return wanted.startswith(found + "/") and found.count("/") >= 3


def _noted(conv: Conversion, at: str) -> bool:
    return any(_near(n.pointer, at) for n in conv.not_carried)


def _reported(conv: Conversion, at: str, severity: Severity, contains: str) -> bool:
    return any(
        _near(p.pointer, at) and contains.lower() in p.message.lower()
        for p in conv.problems
        if p.severity is severity
    )


def _expected_errors(expect: dict[str, Any]) -> list[dict[str, str]]:
    return list(expect.get("errors") or [])


BAD = [
    g for g in GROUPS if _expected_errors(yaml.safe_load((KEYS / f"{g}.expect.yaml").read_text()))
]
GOOD = [g for g in GROUPS if g not in BAD]


@pytest.mark.parametrize("group", BAD)
def test_refused_forms_are_located_errors(group: str) -> None:
    conv, expect = convert_key(group)
    later = LATER_ERRORS.get(group, set())
    if any(e["path"] not in later for e in _expected_errors(expect)):
        assert conv.data is None
    for error in _expected_errors(expect):
        at = pointer(error["path"])
        if error["path"] in later:
            assert _noted(conv, at), f"{group}: {at} not noted: {conv.not_carried}"
        else:
            found = _reported(conv, at, Severity.ERROR, error["contains"])
            assert found, f"{group}: no error at {at} with {error['contains']!r}: {conv.problems}"
    for problem in conv.problems:
        assert problem.position.line > 0, problem  # every problem is at file:line:col
        assert problem.path == f"{group}/compose.yaml" or not problem.path.endswith("compose.yaml")


@pytest.mark.parametrize("group", GOOD)
def test_valid_fixtures_convert_to_a_valid_stack(group: str) -> None:
    conv, expect = convert_key(group)
    assert conv.errors == [], conv.errors
    stack = conv.stack()
    assert isinstance(stack, Stack)
    assert stack.project == expect["project"]
    assert stack.name == expect.get("stack", "default")
    for warning in expect.get("warnings") or []:
        at = pointer(warning["path"])
        assert _reported(conv, at, Severity.WARNING, warning["contains"]) or _noted(conv, at), at
    deployed = expect.get("deployed_services")
    if deployed is not None:
        assert set(stack.services) == {s for s in deployed if DNS.fullmatch(s)}


def _carried_cases() -> list[tuple[str, str, str]]:
    cases: list[tuple[str, str, str]] = []
    for group in GOOD:
        expect = yaml.safe_load((KEYS / f"{group}.expect.yaml").read_text())
        for service, keys in (expect.get("services") or {}).items():
            cases.extend((group, service, key) for key in keys if key in CHECKS)
    return cases


def _service(conv: Conversion, name: str) -> dict[str, Any] | None:
    assert conv.data is not None
    found: dict[str, Any] | None = conv.data["services"].get(name)
    if found is None:
        assert not DNS.fullmatch(name) or _noted(conv, f"/services/{name}"), name
    return found


def check_words(conv: Conversion, name: str, key: str, expected: Any) -> None:
    service = _service(conv, name)
    if service is not None:
        assert service.get(key) == expected


def check_environment(conv: Conversion, name: str, _key: str, expected: Any) -> None:
    service = _service(conv, name)
    if service is not None:
        assert service["environment"] == expected


def _native_port(port: dict[str, Any]) -> str | None:
    published, ip = port["published"], port["host_ip"]  # a host range stays one (issue 13)
    address = "" if ip is None else (f"[{ip}]:" if ":" in ip else f"{ip}:")
    return f"{address}{published or ''}:{port['target']}/{port['protocol']}"


def check_ports(conv: Conversion, name: str, _key: str, expected: Any) -> None:
    service = _service(conv, name)
    if service is None:
        return
    carried = [_native_port(p) for p in expected]
    published = sorted(p for p in service.get("ports", []) if ":" in p)
    assert published == sorted(p for p in carried if p is not None)
    if None in carried:
        assert _noted(conv, f"/services/{name}/ports")


def check_expose(conv: Conversion, name: str, _key: str, expected: Any) -> None:
    service = _service(conv, name)
    if service is not None:
        internal = [p for p in service.get("ports", []) if ":" not in p]
        assert internal == [p if isinstance(p, str) else f"{p}/tcp" for p in expected]


def _native_mount(mount: dict[str, Any], declared: dict[str, Any]) -> Any:
    """The expected mount as the resolved canonical spec holds it (`core.options.files`), or
    None when the model does not carry it yet."""
    source, target, read_only = mount["source"], mount["target"], mount["read_only"]
    mode = "ro" if read_only else "rw"
    if mount["type"] == "tmpfs":
        mode_ = mount.get("mode")  # yaml.safe_load reads `0o1777` as a string
        octal = int(mode_.removeprefix("0o"), 8) if isinstance(mode_, str) else mode_
        return {"type": "tmpfs", "target": target, "readOnly": read_only,
                "size": mount.get("size"), "mode": octal}  # fmt: skip
    if mount["type"] == "bind":
        origin = mount["origin"]
        if origin == "git":
            return {"type": "git", "source": source, "target": target, "readOnly": True}
        if origin == "data":
            return f"/{source}:{target}:{mode}"
        out = {"type": "bind", "source": source, "target": target, "readOnly": read_only}
        return {**out, "propagation": mount["propagation"]} if "propagation" in mount else out
    if {"subpath"} & set(mount):
        return None
    nocopy = {"nocopy": True} if mount.get("nocopy") else {}
    if source is None:  # anonymous: a volume syncd keeps per service, target and replica
        return {"type": "anonymous", "target": target, "readOnly": read_only, **nocopy}
    volume = declared.get(source) or {}
    if volume.get("external"):
        return {"type": "external", "source": volume.get("name", source), "volume": source,
                "target": target, "readOnly": read_only, **nocopy}  # fmt: skip
    if mount.get("nocopy"):
        return {"type": "volume", "source": source, "target": target, "readOnly": read_only,
                "nocopy": True}  # fmt: skip
    return f"{source}:{target}:{mode}"


def _resolved_volumes(conv: Conversion, name: str, group: str) -> list[Any]:
    """The service's `volumes` as the desired state holds them: relative binds resolved against
    the revision; digests checked for form and left out."""
    stack = conv.stack()
    assert stack is not None
    spec = canonical.full(stack.services[name])
    revision = files.Revision(group, _revision(group))
    resolved = files.resolve(spec, revision, stack.configs, stack.secrets)
    resolved = volume_options.resolve(resolved, stack.volumes)["volumes"]
    out = []
    for entry in resolved:
        if isinstance(entry, dict) and "digest" in entry:
            assert entry["digest"] in revision.trees
            shown = {k: v for k, v in entry.items() if k != "digest"}
            shown["source"] = shown["source"].removeprefix(f"{group}/")
            out.append(shown)
        else:
            out.append(entry)
    return out


def _json(value: Any) -> str:
    return json.dumps(value, sort_keys=True)


def check_volumes(conv: Conversion, name: str, _key: str, expected: Any) -> None:
    service = _service(conv, name)
    if service is None:
        return
    group = conv.path.split("/")[0]
    declared = yaml.safe_load((KEYS / f"{group}.yaml").read_text()).get("volumes") or {}
    carried = [_native_mount(m, declared) for m in expected]
    got = _resolved_volumes(conv, name, group)
    assert sorted(map(_json, got)) == sorted(_json(m) for m in carried if m is not None)
    if None in carried:
        assert _noted(conv, f"/services/{name}/volumes")


VOLUME_GROUPS = [
    g for g in GROUPS if yaml.safe_load((KEYS / f"{g}.expect.yaml").read_text()).get("volumes")
]


@pytest.mark.parametrize("group", VOLUME_GROUPS)
def test_declared_volumes_match_the_expected_values(group: str) -> None:
    """The top-level volumes: external ones by their Docker name, the others with the driver,
    driver options and labels syncd creates them with (`name` is Compose's: not used, D30)."""
    conv, expect = convert_key(group)
    stack = conv.stack()
    assert stack is not None
    assert set(stack.volumes) == set(expect["volumes"])
    for name, expected in expect["volumes"].items():
        volume = stack.volumes[name]
        assert volume.external == expected["external"], name
        if volume.external:
            assert volume.engine_name(name) == expected["name"]
            continue
        assert volume_options.declaration(volume) == {
            "driver": expected.get("driver", "local"),
            "driverOpts": expected.get("driver_opts") or {},
            "labels": expected.get("labels") or {},
        }, name


def check_file_refs(conv: Conversion, name: str, key: str, expected: Any) -> None:
    """configs / secrets: canonical targets and modes (uid/gid "0" is syncd's own, root)."""
    stack = conv.stack()
    assert stack is not None
    spec = canonical.full(stack.services[name])
    group = conv.path.split("/")[0]
    revision = files.Revision(group, _revision(group))
    resolved = files.resolve(spec, revision, stack.configs, stack.secrets)[key]
    got = sorted((r["source"], r["target"], r["mode"]) for r in resolved)
    wanted = [
        (e["source"], e["target"], int(str(e["mode"]).removeprefix("0o"), 8)) for e in expected
    ]
    assert got == sorted(wanted)
    assert all(r["digest"] in revision.trees for r in resolved)


DEFAULTS = {"interval": 30, "timeout": 30, "start_period": 0, "retries": 3}
CAMEL = {"interval": "interval", "timeout": "timeout", "start_period": "startPeriod"}


def check_healthcheck(conv: Conversion, name: str, _key: str, expected: Any) -> None:
    service = _service(conv, name)
    if service is None:
        return
    got = service.get("healthcheck")
    if expected is None:
        assert got is None
        return
    assert got is not None
    assert got.get("test") == expected["test"]
    image_test = expected["test"] is None  # timings for the image's own test: none assumed
    for key in ("interval", "timeout", "start_period"):
        if key in expected:
            text = got.get(CAMEL[key])
            if image_test and expected[key] is None:
                assert text is None, key
                continue
            seconds = parse_duration(text) if text is not None else DEFAULTS[key]
            assert seconds == pytest.approx(expected[key]), key
    if "retries" in expected:
        assert got.get("retries", DEFAULTS["retries"]) == expected["retries"]
    if expected.get("start_interval") not in (None, 5):  # API 1.44: this host speaks 1.41
        at = f"/services/{name}/healthcheck/start_interval"
        assert _reported(conv, at, Severity.WARNING, "1.44")


# Compose keys that add a dependency (compose-go `normalize.go`): noted as not carried yet.
IMPLICIT_DEPENDENCIES = ("links", "network_mode", "ipc", "pid", "volumes_from")


def check_depends_on(conv: Conversion, name: str, _key: str, expected: Any) -> None:
    service = _service(conv, name)
    if service is None:
        return
    got = service.get("dependsOn", {})
    implicit = [f"/services/{name}/{key}" for key in IMPLICIT_DEPENDENCIES]
    for dep, spec in expected.items():
        if dep not in got:  # an implicit dependency (links, ...) of a key not carried yet
            assert any(_noted(conv, at) for at in implicit), dep
            continue
        written = got[dep]
        if isinstance(written, str):
            assert spec == {"condition": written, "required": True, "restart": False}
        else:
            assert written == spec


def check_restart(conv: Conversion, name: str, _key: str, expected: Any) -> None:
    service = _service(conv, name)
    if service is not None:
        assert str(service.get("restartPolicy")).split(":")[0] == expected  # on-failure[:N]


def check_restart_retries(conv: Conversion, name: str, _key: str, expected: Any) -> None:
    service = _service(conv, name)
    if service is not None:
        assert service["restartPolicy"] == f"on-failure:{expected}"


def check_deploy(conv: Conversion, name: str, _key: str, expected: Any) -> None:
    service = _service(conv, name)
    if service is None:
        return
    limits = (expected.get("resources") or {}).get("limits") or {}
    got = ((service.get("deploy") or {}).get("resources") or {}).get("limits") or {}
    if "cpus" in limits:
        assert Decimal(got["cpus"]) == Decimal(limits["cpus"])
    else:
        assert "cpus" not in got
    if "memory" in limits:
        assert parse_memory(got["memory"]) == limits["memory"]
    else:
        assert "memory" not in got
    assert service.get("pidsLimit") == limits.get("pids")
    reserved = ((expected.get("resources") or {}).get("reservations") or {}).get("memory")
    got_reserved = service.get("memReservation")
    assert (parse_bytes(got_reserved) if got_reserved is not None else None) == reserved
    deploy = service.get("deploy") or {}
    assert deploy.get("replicas", 1) == expected.get("replicas", 1)
    order = (deploy.get("updateConfig") or {}).get("order", "stop-first")
    assert order == expected.get("update_order", "stop-first")


# Compose key -> canonical field of the process option group (issue 13).
PROCESS = {
    "user": "user", "working_dir": "workingDir", "hostname": "hostname",
    "domainname": "domainname", "labels": "labels", "init": "init", "tty": "tty",
    "stdin_open": "stdinOpen", "stop_signal": "stopSignal",
    "stop_grace_period": "stopGracePeriod", "extra_hosts": "extraHosts", "dns": "dns",
    "dns_search": "dnsSearch", "dns_opt": "dnsOpt", "group_add": "groupAdd",
}  # fmt: skip


def check_process(conv: Conversion, name: str, key: str, expected: Any) -> None:
    """The expect file's value is the canonical one (`core.options.process`)."""
    service = _service(conv, name)
    if service is not None:
        spec = canonical.fields(Service.model_validate(service))
        assert spec[PROCESS[key]] == expected


ENDPOINT_KEYS = {"aliases": "aliases", "ipv4_address": "ipv4Address"}


def check_networks(conv: Conversion, name: str, _key: str, expected: Any) -> None:
    """The service's networks with their aliases and addresses (the model's camelCase); a
    service in a network_mode of its own joins none."""
    service = _service(conv, name)
    if service is None:
        return
    got = service.get("networks")
    if got is None:
        assert expected in ({}, {"default": {"aliases": []}})
        return
    assert set(got) == set(expected)
    for network, endpoint in expected.items():
        carried = got[network] or {}
        for key, field in ENDPOINT_KEYS.items():
            assert (carried.get(field) or ([] if key == "aliases" else None)) == endpoint.get(
                key, [] if key == "aliases" else None
            ), (network, key)


def check_network_mode(conv: Conversion, name: str, _key: str, expected: Any) -> None:
    service = _service(conv, name)
    if service is not None:
        assert service.get("networkMode") == expected


def _security_value(key: str, value: Any) -> Any:
    """The canonical form (`core.options.security`) of a fixture's expected value."""
    if key in ("cap_add", "cap_drop"):
        return sorted(value)
    if key == "devices":
        return sorted(f"{d['source']}:{d['target']}:{d['permissions']}" for d in value)
    return value


SECURITY_KEYS = (
    "cap_add", "cap_drop", "privileged", "devices", "logging", "ulimits", "sysctls", "tmpfs",
    "shm_size", "pids_limit", "read_only", "memswap_limit", "cpu_shares", "pid", "ipc",
)  # fmt: skip


def check_security(conv: Conversion, name: str, key: str, expected: Any) -> None:
    """The security group's keys, in the canonical spec of the converted service."""
    service = _service(conv, name)
    if service is None:
        return
    spec = canonical.fields(Service.model_validate(service))
    assert spec[to_camel(key)] == _security_value(key, expected)


def check_device_requests(conv: Conversion, name: str, _key: str, expected: Any) -> None:
    """`gpus` and reserved devices: the canonical `deviceRequests` (snake_case in the file)."""
    service = _service(conv, name)
    if service is not None:
        spec = canonical.fields(Service.model_validate(service))
        assert spec["deviceRequests"] == [{to_camel(k): v for k, v in r.items()} for r in expected]


CHECKS = {
    "device_requests": check_device_requests,
    **dict.fromkeys(PROCESS, check_process),
    **dict.fromkeys(SECURITY_KEYS, check_security),
    "networks": check_networks,
    "network_mode": check_network_mode,
    "command": check_words,
    "entrypoint": check_words,
    "environment": check_environment,
    "ports": check_ports,
    "expose": check_expose,
    "volumes": check_volumes,
    "healthcheck": check_healthcheck,
    "depends_on": check_depends_on,
    "restart": check_restart,
    "restart_max_retries": check_restart_retries,
    "deploy": check_deploy,
    "configs": check_file_refs,
    "secrets": check_file_refs,
    **dict.fromkeys(SECURITY_KEYS, check_security),
}


@pytest.mark.parametrize(("group", "service", "key"), _carried_cases())
def test_carried_keys_match_the_expected_values(group: str, service: str, key: str) -> None:
    conv, expect = convert_key(group)
    CHECKS[key](conv, service, key, expect["services"][service][key])


def test_every_carried_key_group_is_checked() -> None:
    checked = {key for _group, _service, key in _carried_cases()}
    assert set(CHECKS) <= checked


# --- the 25 app stacks ---------------------------------------------------------------------

CONVERT = {
    "01-wiki-postgres", "02-blog-mysql", "03-nginx-proxy", "04-traefik", "05-monitoring",
    "06-mailserver", "07-git-forge", "08-chat-matrix", "09-nextcloud", "10-vaultwarden",
    "11-portainer", "12-home-automation", "13-dns-adblock", "14-media-server",
    "15-object-storage", "16-search-elastic", "17-identity-keycloak", "18-documents-paperless",
    "19-workflow-n8n", "20-analytics-plausible", "23-photos-immich", "24-sso-authentik",
    "25-vpn-wireguard",
}  # fmt: skip


def convert_app(folder: Path) -> Conversion:
    files = {str(p.relative_to(APPS)): p.read_bytes() for p in folder.rglob("*") if p.is_file()}
    path = next(f"{folder.name}/{n}" for n in COMPOSE_NAMES if f"{folder.name}/{n}" in files)
    policy, problems = load_policy("policy.yaml", (APPS / "policy.yaml").read_bytes())
    assert policy is not None, problems
    return _convert(path, files, policy=policy)


def test_apps_convert_and_the_work_list_is_known(capsys: pytest.CaptureFixture[str]) -> None:
    converted, missing = set(), Counter[str]()
    for folder in sorted(p for p in APPS.iterdir() if p.is_dir()):
        conv = convert_app(folder)
        if not conv.errors:
            converted.add(folder.name)
            assert isinstance(conv.stack(), Stack)
        else:
            assert all("build" in e.pointer for e in conv.errors), conv.errors
        missing.update({n.key for n in conv.not_carried})
    assert converted == CONVERT
    with capsys.disabled():
        print(
            f"\n{len(converted)}/25 apps convert; not carried yet (apps): {missing.most_common()}"
        )
    assert not {"ports.host_ip", "ports.ephemeral"} & set(missing)
    assert not {"volumes.bind.git", "volumes.bind.data", "volumes.bind.host"} & set(missing)
