"""The security option group (isolation and resources) without Docker: Compose and the native
`Stack` give one canonical spec, bad values are located errors naming the key, a change
recreates, an omitted option keeps old hashes, the engine arguments, and the policy guard reads
the native kind's camelCase fields exactly as it reads Compose's keys."""

from __future__ import annotations

import copy
from typing import Any

import jsonpatch
import pytest
from pydantic import ValidationError
from pydantic.alias_generators import to_snake

from syncd.core import canonical, options
from syncd.core.diffs import redacted_patch
from syncd.core.plan import Action
from syncd.engine import dockeropts
from syncd.manifests.model import Stack
from syncd.manifests.policyguard import compose_findings
from syncd.policy import BUILTIN, Policy, PolicyKey
from syncd.taint import scrub
from tests.planning import plan_texts
from tests.test_compose_reader_rules import convert, messages, services

COMPOSE = """\
services:
  web:
    image: busybox:1.36
    cap_add: [CAP_chown, KILL, chown]
    cap_drop: [all]
    security_opt: ["no-new-privileges:true", "label:type:svirt_apache_t"]
    read_only: true
    tmpfs: /run:size=16m,mode=1777
    shm_size: 128m
    ulimits:
      nproc: 512
      nofile: {soft: 1024, hard: 2048}
    sysctls: [net.core.somaxconn=1024, "kernel.shmmax=68719476736"]
    logging: {driver: json-file, options: {max-size: 10m, max-file: 3}}
    mem_limit: 256m
    memswap_limit: 512m
    mem_swappiness: 10
    cpu_shares: 512
    cpuset: "0"
    cpu_rt_runtime: 10ms
    oom_score_adj: 100
    ipc: shareable
    storage_opt: {size: 1G}
    deploy:
      resources:
        limits: {pids: 64}
        reservations: {memory: 64m}
"""

NATIVE: dict[str, Any] = {
    "image": "busybox:1.36",
    "capAdd": ["KILL", "CHOWN"],
    "capDrop": ["ALL"],
    "securityOpt": ["label=type:svirt_apache_t", "no-new-privileges"],
    "readOnly": True,
    "tmpfs": ["/run:size=16m,mode=1777"],
    "shmSize": 134217728,
    "ulimits": {"nofile": {"soft": 1024, "hard": 2048}, "nproc": {"soft": 512, "hard": 512}},
    "sysctls": {"kernel.shmmax": "68719476736", "net.core.somaxconn": 1024},
    "logging": {"driver": "json-file", "options": {"max-file": "3", "max-size": "10m"}},
    "deploy": {"resources": {"limits": {"memory": "256mb"}}},
    "memswapLimit": "512m",
    "memSwappiness": 10,
    "cpuShares": 512,
    "cpuset": "0",
    "cpuRtRuntime": 10000,
    "oomScoreAdj": 100,
    "ipc": "shareable",
    "storageOpt": {"size": "1G"},
    "pidsLimit": 64,
    "memReservation": "64mb",
}


def _native(service: dict[str, Any]) -> Stack:
    return Stack.model_validate({"kind": "Stack", "project": "shop", "services": {"web": service}})


def test_compose_and_the_native_kind_give_one_canonical_spec() -> None:
    conv = convert(COMPOSE, policy=None)  # the policy is not what this test is about
    assert conv.errors == [] and conv.not_carried == (), (conv.problems, conv.not_carried)
    from_compose = canonical.full(Stack.model_validate(conv.data).services["web"])
    from_native = canonical.full(_native(NATIVE).services["web"])
    assert from_compose == from_native
    assert from_native["capAdd"] == ["CHOWN", "KILL"]
    assert from_native["capDrop"] == ["ALL"]
    assert from_native["securityOpt"] == ["label=type:svirt_apache_t", "no-new-privileges=true"]
    assert from_native["tmpfs"] == [{"target": "/run", "options": "size=16m,mode=1777"}]
    assert from_native["ulimits"]["nproc"] == {"soft": 512, "hard": 512}
    assert from_native["sysctls"] == {
        "kernel.shmmax": "68719476736",
        "net.core.somaxconn": "1024",
    }
    assert from_native["pidsLimit"] == 64
    assert from_native["memReservation"] == 64 * 1024**2
    assert from_native["memswapLimit"] == 512 * 1024**2
    assert from_native["cpuRtRuntime"] == 10_000


BAD = [
    ("cap_add: [NET_FOO]", "/services/web/cap_add/0", "capability"),
    ("sysctls: [vm.swappiness=10]", "/services/web/sysctls/0", "namespaced"),
    ("sysctls: {vm.swappiness: 10}", "/services/web/sysctls/vm.swappiness", "namespaced"),
    ("tmpfs: ['/run:size=1m,foo=bar']", "/services/web/tmpfs/0", "tmpfs option"),
    ("ulimits: {nofile: {soft: 20, hard: 10}}", "/services/web/ulimits/nofile", "soft"),
    ("ulimits: {nofile: {soft: 20}}", "/services/web/ulimits/nofile", "hard"),
    ("ulimits: {files: 10}", "/services/web/ulimits/files", "ulimit"),
    ("devices: [nvidia.com/gpu=all]", "/services/web/devices/0", "CDI"),
    ("devices: ['/dev/../etc/shadow']", "/services/web/devices/0", "absolute"),
    ("device_cgroup_rules: ['x 1:3 r']", "/services/web/device_cgroup_rules/0", "rule"),
    ("security_opt: [seccomp=./profile.json]", "/services/web/security_opt/0", "seccomp"),
    ("security_opt: [systempaths=unconfined]", "/services/web/security_opt/0", "systempaths"),
    ("security_opt: [nonsense]", "/services/web/security_opt/0", "security option"),
    ("read_only: 'yes'", "/services/web/read_only", "bool"),
    ("pid: private", "/services/web/pid", "host"),
    ("shm_size: 12 parsecs", "/services/web/shm_size", "byte value"),
    ("cpu_rt_runtime: soon", "/services/web/cpu_rt_runtime", "microseconds"),
    ("oom_score_adj: 5000", "/services/web/oom_score_adj", "1000"),
    ("cpus: 1\n    cpu_quota: 50000", "/services/web/cpu_quota", "cpus"),
    ("memswap_limit: 1g", "/services/web/memswap_limit", "memory limit"),
    ("mem_limit: 1g\n    mem_reservation: 2g", "/services/web/mem_reservation", "above"),
    (
        "pids_limit: 10\n    deploy: {resources: {limits: {pids: 20}}}",
        "/services/web/deploy/resources/limits/pids",
        "differ",
    ),
    (
        "mem_reservation: 64m\n    deploy: {resources: {reservations: {memory: 32m}}}",
        "/services/web/deploy/resources/reservations/memory",
        "differ",
    ),
    # Another driver's options without naming it would reach the daemon's default driver: a
    # `syslog-address` could send every log line elsewhere, past the policy's loggingDrivers.
    (
        "logging: {options: {syslog-address: 'tcp://1.2.3.4:514'}}",
        "/services/web/logging",
        "driver",
    ),
]


@pytest.mark.parametrize(("snippet", "at", "contains"), BAD, ids=[b[0][:30] for b in BAD])
def test_bad_values_are_errors_at_their_place_naming_the_key(
    snippet: str, at: str, contains: str
) -> None:
    conv = convert(f"services:\n  web:\n    image: busybox:1.36\n    {snippet}\n")
    assert conv.data is None
    found = [p for p in conv.errors if p.pointer == at]
    assert found, messages(conv)
    assert any(contains.lower() in p.message.lower() for p in found), messages(conv)
    key = at.split("/")[3]
    assert all(p.position.line >= 4 for p in found)
    assert any(key in p.message or key in p.pointer for p in found)


@pytest.mark.parametrize(
    ("field", "value", "contains"),
    [
        ("capAdd", ["NET_FOO"], "capability"),
        ("sysctls", {"vm.swappiness": "1"}, "namespaced"),
        ("devices", ["nvidia.com/gpu=all"], "CDI"),
        ("logging", {"options": {"fluentd-address": "x:1"}}, "driver"),
        ("memswapLimit", "1g", "memory limit"),
    ],
)
def test_the_native_kind_checks_the_same_rules(field: str, value: Any, contains: str) -> None:
    with pytest.raises(ValidationError) as raised:
        _native({"image": "busybox:1.36", field: value})
    assert contains in str(raised.value)
    assert "Extra inputs" not in str(raised.value)


def test_operator_values_are_tainted() -> None:
    conv = convert(
        "services:\n  web:\n    image: busybox:1.36\n    cap_drop: ['${DROP}']\n"
        "    logging: {options: {tag: '${TAG}'}}\n",
        env={"DROP": "NET_RAW", "TAG": "s3cr3t-tag"},
    )
    assert services(conv)["web"]["capDrop"] == ["NET_RAW"]
    assert {("services", "web", "capDrop"), ("services", "web", "logging")} <= conv.secrets


def test_explicit_defaults_and_omitted_options_keep_the_config_hash() -> None:
    plain = canonical.full(_native({"image": "busybox:1.36"}).services["web"])
    explicit = canonical.full(
        _native(
            {
                "image": "busybox:1.36",
                "privileged": False,
                "capAdd": [],
                "readOnly": False,
                "pidsLimit": -1,
                "oomScoreAdj": 0,
                "sysctls": {},
            }
        ).services["web"]
    )
    assert canonical.config_hash(plain) == canonical.config_hash(explicit)
    before_options = {k: v for k, v in plain.items() if k not in options.DEFAULTS}
    assert canonical.config_hash(before_options) == canonical.config_hash(plain)
    changed = canonical.full(_native({"image": "busybox:1.36", "readOnly": True}).services["web"])
    assert canonical.config_hash(changed) != canonical.config_hash(plain)


STACK = """\
kind: Stack
project: shop
services:
  web:
    image: busybox:1.36
    capDrop: {drop}
    readOnly: true
"""


def test_a_capability_change_recreates_and_a_respelling_does_not() -> None:
    changed, _, _ = plan_texts(
        STACK.format(drop="[NET_RAW]"), STACK.format(drop="[NET_RAW, MKNOD]")
    )
    [stack] = changed.stacks
    [change] = stack.changes
    assert change.action is Action.RECREATE and change.fields == ("capDrop",)
    same, _, _ = plan_texts(STACK.format(drop="[NET_RAW]"), STACK.format(drop="[cap_net_raw]"))
    assert not same.changed


def test_the_engine_gets_every_option_and_nothing_at_its_default() -> None:
    assert dockeropts.host_kwargs(options.DEFAULTS) == {}
    no_swapping = {**options.DEFAULTS, "memSwappiness": 0, "cpuShares": 2}
    assert dockeropts.host_kwargs(no_swapping) == {"mem_swappiness": 0, "cpu_shares": 2}
    spec = canonical.full(_native(NATIVE).services["web"])
    given = {k: spec[k] for k in options.DEFAULTS}
    assert dockeropts.host_kwargs(given) == {
        "cap_add": ["CHOWN", "KILL"],
        "cap_drop": ["ALL"],
        "security_opt": ["label=type:svirt_apache_t", "no-new-privileges=true"],
        "read_only": True,
        "tmpfs": {"/run": "size=16m,mode=1777"},
        "shm_size": 134217728,
        "ulimits": [
            {"name": "nofile", "soft": 1024, "hard": 2048},
            {"name": "nproc", "soft": 512, "hard": 512},
        ],
        "pids_limit": 64,
        "sysctls": {"kernel.shmmax": "68719476736", "net.core.somaxconn": "1024"},
        "log_config": {"type": "json-file", "config": {"max-file": "3", "max-size": "10m"}},
        "mem_reservation": 64 * 1024**2,
        "memswap_limit": 512 * 1024**2,
        "mem_swappiness": 10,
        "cpu_shares": 512,
        "cpuset_cpus": "0",
        "cpu_rt_runtime": 10_000,
        "oom_score_adj": 100,
        "ipc_mode": "shareable",
        "storage_opt": {"size": "1G"},
    }


# Every policy-guarded field of this group, in the native kind's spelling, and the policy key
# that allows it. Each value is one the model accepts (checked below), so a native `Stack`
# cannot carry a host-reaching option past the guard by its spelling.
GUARDED: list[tuple[str, Any, PolicyKey]] = [
    ("privileged", True, PolicyKey.PRIVILEGED),
    ("capAdd", ["sys_admin"], PolicyKey.CAPABILITIES),
    ("securityOpt", ["apparmor:unconfined"], PolicyKey.SECURITY_OPT),
    ("devices", [{"source": "/dev/fuse"}], PolicyKey.DEVICES),
    ("deviceCgroupRules", ["b 8:* rwm"], PolicyKey.DEVICES),
    ("blkioConfig", {"deviceReadBps": [{"path": "/dev/sda", "rate": "1mb"}]}, PolicyKey.DEVICES),
    ("pid", "host", PolicyKey.HOST_NAMESPACES),
    ("ipc", "host", PolicyKey.HOST_NAMESPACES),
    ("uts", "host", PolicyKey.HOST_NAMESPACES),
    ("usernsMode", "host", PolicyKey.HOST_NAMESPACES),
    ("cgroup", "host", PolicyKey.HOST_NAMESPACES),
    ("cgroupParent", "/system.slice", PolicyKey.HOST_NAMESPACES),
    ("runtime", "runsc", PolicyKey.PRIVILEGED),
    ("oomScoreAdj", -500, PolicyKey.PRIVILEGED),
    ("logging", {"driver": "syslog"}, PolicyKey.LOGGING_DRIVERS),
]


@pytest.mark.parametrize(("field", "value", "key"), GUARDED, ids=[g[0] for g in GUARDED])
def test_the_native_kind_is_guarded_like_compose(field: str, value: Any, key: PolicyKey) -> None:
    service = {"image": "busybox:1.36", field: value}
    _native(service)  # the model takes it ...
    native = compose_findings(
        BUILTIN.allowed("shop"), {"services": {"web": service}}, project_files=True
    )
    assert [f.refusal.key for f in native] == [key], native  # ... and the guard refuses it
    assert native[0].path[:3] == ("services", "web", field)
    snake = to_snake(field)
    compose_value = {"device_read_bps": value["deviceReadBps"]} if field == "blkioConfig" else value
    found = compose_findings(
        BUILTIN.allowed("shop"), {"services": {"web": {"image": "x", snake: compose_value}}}
    )
    assert [f.refusal.key for f in found] == [key]


def test_options_that_need_no_policy_pass_the_guard() -> None:
    service = {**NATIVE, "securityOpt": ["no-new-privileges:true"]}  # label= needs the policy
    _native(service)
    assert compose_findings(BUILTIN.allowed("shop"), {"services": {"web": service}}) == []


LONG_SECRET = "Zq" + "x7" * 60  # longer than any quote a message makes of it


def test_a_long_secret_quoted_cut_short_by_a_refusal_is_still_scrubbed() -> None:
    service = {
        "cap_add": [LONG_SECRET],
        "sysctls": [f"{LONG_SECRET}=1"],
        "security_opt": [f"apparmor={LONG_SECRET}"],
        "pid": LONG_SECRET,
        "logging": {"driver": LONG_SECRET},
        "runtime": LONG_SECRET,
    }
    found = compose_findings(BUILTIN.allowed("shop"), {"services": {"web": service}})
    assert len(found) == len(service)
    for finding in found:
        text = scrub(str(finding.refusal), {LONG_SECRET})
        assert LONG_SECRET[:12].lower() not in text.lower(), text


@pytest.mark.parametrize(
    "snippet", ["sysctls: ['${S}=1']", "cap_add: ['${S}']", "tmpfs: '/r:${S}'"]
)
def test_a_long_secret_in_a_bad_value_never_reaches_a_message(snippet: str) -> None:
    conv = convert(
        f"services:\n  web:\n    image: busybox:1.36\n    {snippet}\n", env={"S": LONG_SECRET}
    )
    assert conv.errors
    assert all(LONG_SECRET[:12] not in str(p) for p in conv.problems), conv.problems


def test_the_stack_patch_leaves_unchanged_entries_out_and_still_turns_old_into_new() -> None:
    """Every option field is in every spec: the plan's patch skips the entries both sides
    hold alike (speed), and is still the patch jsonpatch makes of the whole stacks."""
    old_web = canonical.full(_native(NATIVE).services["web"])
    new_web = {**old_web, "capAdd": ["KILL"], "tmpfs": [], "ulimits": {"core": {"soft": 0}}}
    db = copy.deepcopy(old_web)
    old = {"description": "", "services": {"web": old_web, "db": db}, "volumes": {}}
    new = {"description": "x", "services": {"web": new_web, "db": copy.deepcopy(db)}, "volumes": {}}
    ops = list(redacted_patch(old, new, frozenset()))
    assert jsonpatch.apply_patch(old, ops) == new
    whole = jsonpatch.make_patch(old, new).patch
    assert sorted(map(canonical.canonical_json, ops)) == sorted(
        map(canonical.canonical_json, whole)
    )
    assert all(not op["path"].startswith("/services/db") for op in ops)


def test_a_namespace_shared_with_another_service_is_carried() -> None:
    """Issue 13 (rare keys): `pid` / `ipc` `service:x` are carried, no longer noted."""
    conv = convert(
        "services:\n  db:\n    image: busybox:1.36\n    ipc: shareable\n  web:\n"
        "    image: busybox:1.36\n    pid: 'service:db'\n    ipc: 'service:db'\n",
        policy=Policy.model_validate({"default": {"hostNamespaces": True}}),
    )
    assert not conv.not_carried and messages(conv) == []
    web = services(conv)["web"]
    assert (web["pid"], web["ipc"]) == ("service:db", "service:db")


def test_the_native_kind_takes_compose_deploy_resources_too() -> None:
    deploy = {"resources": {"limits": {"pids": 64}, "reservations": {"memory": "64mb"}}}
    spec = canonical.full(_native({"image": "busybox:1.36", "deploy": deploy}).services["web"])
    assert (spec["pidsLimit"], spec["memReservation"]) == (64, 64 * 1024**2)
    same = {"image": "busybox:1.36", "deploy": deploy, "pidsLimit": 64}
    assert canonical.full(_native(same).services["web"]) == spec
    with pytest.raises(ValidationError, match="differ"):
        _native({**same, "pidsLimit": 32})
    with pytest.raises(ValidationError, match="differ"):
        _native({"image": "busybox:1.36", "deploy": deploy, "memReservation": "32m"})
