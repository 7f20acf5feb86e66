"""The operator's policy (issue 13): its file, per-project resolution, and every decision a
pusher could try to get around, table by table; then whole Compose files, placed at line:col."""

from __future__ import annotations

import posixpath
import random
import re
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import syncd
from syncd.manifests.policyfile import load_policy
from syncd.manifests.policyguard import compose_findings, problems
from syncd.manifests.yamlsafe import load
from syncd.policy import (
    BUILTIN,
    Allowed,
    Policy,
    PolicyKey,
    Refusal,
    Rules,
    check_bind,
    check_capabilities,
    check_logging,
    check_namespace,
    check_security_opt,
    check_sysctl,
)
from syncd.problems import Problem

FIXTURES = Path(__file__).parent / "fixtures" / "policy"
EXPECT = re.compile(r"^# expect: (\d+):(\d+): (\S+): (.*)$", re.M)
ALWAYS = re.compile(r"^# always: (\d+):(\d+): (\S+): (.*)$", re.M)


def _policy(name: str) -> Policy:
    policy, found = load_policy(name, (FIXTURES / name).read_bytes())
    assert found == [] and policy is not None
    return policy


def _rules(**keys: object) -> Allowed:
    return Policy.model_validate({"default": keys}).allowed("shop")


# --- the policy file ---------------------------------------------------------------------------


def test_the_issue_example_reads_and_resolves_per_key() -> None:
    policy = _policy("issue-example.yaml")
    shop = policy.allowed("shop")
    assert shop.host_paths == ("/srv/shared",)
    assert shop.capabilities == {"NET_ADMIN"}
    assert shop.logging_drivers == {"json-file", "local"}
    assert not (shop.privileged or shop.host_namespaces or shop.devices)
    monitoring = policy.allowed("monitoring")
    # A project's key replaces default's; its other keys fall back to default.
    assert monitoring.host_paths == ("/var/run/docker.sock", "/proc", "/sys")
    assert monitoring.capabilities == {"NET_ADMIN"}
    assert policy.check_bind("monitoring", "/var/run/docker.sock") is None
    assert policy.check_bind("monitoring", "/srv/shared/x") is not None
    assert policy.check_bind("shop", "/srv/shared/x") is None
    assert policy.check_bind("shop", "/var/run/docker.sock") is not None


def test_no_file_and_an_empty_file_allow_nothing() -> None:
    empty, found = load_policy("policy.yaml", b"# nothing\n")
    assert found == [] and empty == BUILTIN
    shop = BUILTIN.allowed("shop")
    assert shop == Allowed("shop")
    assert shop.host_paths == () and shop.capabilities == frozenset()
    assert not (shop.privileged or shop.host_namespaces or shop.devices)
    assert shop.security_opt == frozenset()
    assert shop.logging_drivers == {"json-file", "local", "none"}


def test_a_project_may_narrow_what_default_allows() -> None:
    policy = Policy.model_validate(
        {
            "default": {"privileged": True, "loggingDrivers": ["syslog"]},
            "projects": {"web": {"privileged": False, "loggingDrivers": []}},
        }
    )
    assert policy.check_privileged("other", True) is None
    refusal = policy.check_privileged("web", True)
    assert refusal is not None and refusal.key is PolicyKey.PRIVILEGED
    assert policy.check_logging("web", "json-file") is not None
    assert policy.check_logging("other", "syslog") is None


def test_entries_are_stored_in_canonical_form() -> None:
    rules = Rules.model_validate(
        {
            "hostPaths": ["//srv//data/./", "/"],
            "capabilities": ["cap_net_admin", "Sys_Time"],
            "securityOpt": ["Seccomp:unconfined", "label = disable"],
        }
    )
    assert rules.host_paths == ("/srv/data", "/")
    assert rules.capabilities == ("NET_ADMIN", "SYS_TIME")
    assert rules.security_opt == ("seccomp=unconfined", "label=disable")


def _invalid_fixtures() -> list[Path]:
    return sorted((FIXTURES / "invalid").glob("*.yaml"))


@pytest.mark.parametrize("fixture", _invalid_fixtures(), ids=lambda p: p.stem)
def test_a_bad_policy_file_is_refused_at_its_line_and_column(fixture: Path) -> None:
    text = fixture.read_text(encoding="utf-8")
    expected = re.findall(r"^# expect: (\d+):(\d+): (.*)$", text, re.M)
    assert expected, f"{fixture.name} has no '# expect:' line"
    policy, found = load_policy(fixture.name, fixture.read_bytes())
    assert policy is None
    shown = [str(p) for p in found]
    for line, column, message in expected:
        prefix = f"{fixture.name}:{line}:{column}: "
        assert any(s.startswith(prefix) and message in s for s in shown), (
            f"expected {prefix}{message}\ngot:\n" + "\n".join(shown)
        )
    assert len(found) == len(expected), "\n".join(shown)


@pytest.mark.parametrize(
    "data",
    [
        b"a: &a [x, x, x, x, x, x, x, x, x, x]\n"
        + b"".join(
            f"{chr(98 + i)}: &{chr(98 + i)} [{', '.join(['*' + chr(97 + i)] * 10)}]\n".encode()
            for i in range(6)
        ),
        b"default: " + b"[" * 200 + b"]" * 200 + b"\n",
        b"default:\n  hostPaths: [" + b", ".join([b"/a"] * 1001) + b"]\n",
        b"x" * (256 * 1024 + 1),
        b"\xff\xfe",
    ],
    ids=["alias-bomb", "deep", "too-many-entries", "too-big", "not-utf8"],
)
def test_hostile_policy_files_are_bounded_errors(data: bytes) -> None:
    policy, found = load_policy("policy.yaml", data)
    assert policy is None and found
    assert all(p.path == "policy.yaml" and p.position.line >= 1 for p in found)


# --- host paths ----------------------------------------------------------------------------------

SHARED = _rules(hostPaths=["/srv/shared", "/var/run/docker.sock"])


@pytest.mark.parametrize(
    ("path", "allowed"),
    [
        ("/srv/shared", True),
        ("/srv/shared/", True),
        ("/srv/shared/app/data", True),
        ("//srv//shared//app", True),
        ("/srv/./shared/app", True),
        ("/var/run/docker.sock", True),
        ("/srv/shared-evil", False),  # a sibling with the prefix as its start
        ("/srv/sharedx/y", False),
        ("/srv/shared/../../etc", False),  # `..` climbs out
        ("/srv/shared/..", False),
        ("/srv/shared/app/../../../etc/shadow", False),
        ("/srv/shared/app/..", False),  # even one that would stay inside: a symlink may redirect
        ("/SRV/shared", False),  # Linux paths are case-sensitive: another folder
        ("/srv/Shared/app", False),
        ("srv/shared", False),  # not absolute
        ("./srv/shared", False),
        ("~/srv/shared", False),
        ("", False),
        ("/srv", False),  # a parent of an allowed prefix
        ("/", False),
        ("/var/run/docker.sock.evil", False),
        ("/var/run", False),
        ("/srv/shared\n/etc", False),
        ("/srv/shared\x00/../../etc", False),
    ],
)
def test_bind_sources_are_matched_by_whole_segments(path: str, allowed: bool) -> None:
    refusal = check_bind(SHARED, path)
    assert (refusal is None) == allowed, refusal


def test_a_symlink_is_checked_where_it_leads() -> None:
    # /srv/shared/link -> / : the written path is allowed, the resolved one is not.
    refusal = check_bind(SHARED, "/srv/shared/link", resolved="/")
    assert refusal is not None and refusal.key is PolicyKey.HOST_PATHS
    assert "'/'" in str(refusal)
    assert check_bind(SHARED, "/srv/shared/link", resolved="/srv/shared/real") is None


def test_slash_allows_any_absolute_path_but_never_a_dotdot_or_relative_one() -> None:
    anything = _rules(hostPaths=["/"])
    assert check_bind(anything, "/etc/shadow") is None
    assert check_bind(anything, "/") is None
    for bad in ("/srv/../etc", "etc", "~/x"):
        refusal = check_bind(anything, bad)
        assert refusal is not None and refusal.key is None


def test_a_refused_bind_names_the_key_and_the_value_to_add() -> None:
    refusal = check_bind(BUILTIN.allowed("shop"), "//etc//ssh/")
    assert refusal == Refusal("shop", "host path '/etc/ssh'", PolicyKey.HOST_PATHS, "'/etc/ssh'")
    assert str(refusal) == (
        "host path '/etc/ssh' is not allowed by the operator's policy: add '/etc/ssh' to "
        "hostPaths (projects.shop.hostPaths, or default.hostPaths for every project, in the "
        "policy file)"
    )


def test_a_refusal_names_only_the_project_entry_when_that_entry_sets_the_key() -> None:
    policy = _policy("issue-example.yaml")
    own = policy.check_bind("monitoring", "/etc")
    assert own is not None and own.own
    assert str(own).endswith("(projects.monitoring.hostPaths in the policy file)")
    # monitoring sets no capabilities: default's apply, and default can change them.
    shared = policy.check_capabilities("monitoring", ["SYS_ADMIN"])
    assert shared is not None and not shared.own
    assert "or default.capabilities for every project" in str(shared)
    web = Policy.model_validate(
        {"projects": {"web": {"securityOpt": ["label=disable"], "loggingDrivers": ["local"]}}}
    )
    for refused in (
        web.check_security_opt("web", ["seccomp=unconfined"]),
        web.check_logging("web", "json-file"),
    ):
        assert refused is not None and refused.own, refused
    # An explicit null falls back to default, so default is where to change it.
    nulled = Policy.model_validate({"projects": {"web": {"hostPaths": None}}})
    refusal = nulled.check_bind("web", "/etc")
    assert refusal is not None and not refusal.own


# --- capabilities --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("caps", "allowed_caps", "refused"),
    [
        (["NET_ADMIN"], ["NET_ADMIN"], None),
        (["CAP_NET_ADMIN"], ["NET_ADMIN"], None),
        (["cap_net_admin"], ["NET_ADMIN"], None),
        (["net_admin"], ["cap_net_admin"], None),
        ([" Net_Admin "], ["NET_ADMIN"], None),
        (["SYS_ADMIN"], ["NET_ADMIN"], "SYS_ADMIN"),
        (["CAP_SYS_ADMIN"], [], "SYS_ADMIN"),
        (["NET_ADMIN", "sys_ptrace"], ["NET_ADMIN"], "SYS_PTRACE"),
        (["ALL"], ["NET_ADMIN"], "ALL"),
        (["all"], ["NET_ADMIN", "SYS_ADMIN"], "ALL"),
        (["cap_all"], [], "ALL"),
        (["ALL"], ["ALL"], None),
        (["SYS_MODULE", "BPF"], ["ALL"], None),
        (["CHOWN", "cap_setuid", "NET_BIND_SERVICE"], [], None),  # Docker's default set
        (["NET_RAW"], [], None),
    ],
)
def test_cap_add(caps: list[str], allowed_caps: list[str], refused: str | None) -> None:
    refusal = check_capabilities(_rules(capabilities=allowed_caps), caps)
    if refused is None:
        assert refusal is None, refusal
    else:
        assert refusal is not None and refusal.key is PolicyKey.CAPABILITIES
        assert refusal.needs == refused


def test_an_unknown_capability_is_not_allowable() -> None:
    refusal = check_capabilities(_rules(capabilities=["ALL"]), ["SYS_ADMIN2"])
    assert refusal is not None and refusal.key is None
    assert "is not a Linux capability" in str(refusal)


# --- flags and namespaces ------------------------------------------------------------------------


def test_privileged_needs_the_key() -> None:
    assert BUILTIN.check_privileged("shop", False) is None
    refusal = BUILTIN.check_privileged("shop", True)
    assert refusal is not None and "set privileged: true" in str(refusal)
    assert (
        Policy.model_validate({"projects": {"shop": {"privileged": True}}}).check_privileged(
            "shop", True
        )
        is None
    )


@pytest.mark.parametrize(
    ("key", "value", "shares"),
    [
        ("network_mode", "host", True),
        ("network_mode", "HOST", True),  # would name a network called HOST
        ("network_mode", "service:db", True),
        ("network_mode", "container:portainer", True),
        ("network_mode", "otherproject_default", True),  # joins another project's network
        ("network_mode", " none", True),
        ("network_mode", "NONE", True),  # a network named NONE, maybe another project's
        ("ipc", "Private", True),
        ("network_mode", "none", False),
        ("network_mode", "bridge", False),
        ("network_mode", "default", False),
        ("pid", "host", True),
        ("pid", "container:x", True),
        ("pid", "service:x", True),
        ("pid", "", False),
        ("ipc", "host", True),
        ("ipc", "container:x", True),
        ("ipc", "service:x", True),
        ("ipc", "shareable", False),
        ("ipc", "private", False),
        ("ipc", "none", False),
        ("uts", "host", True),
        ("uts", "", False),
        ("userns_mode", "host", True),
        ("cgroup", "host", True),
        ("cgroup", "private", False),
    ],
)
def test_namespaces(key: str, value: str, shares: bool) -> None:
    refusal = check_namespace(BUILTIN.allowed("shop"), key, value)
    assert (refusal is not None) == shares, refusal
    if refusal is not None:
        assert refusal.key is PolicyKey.HOST_NAMESPACES
        assert check_namespace(_rules(hostNamespaces=True), key, value) is None


# --- security options ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("option", "allowed_opts", "refused"),
    [
        ("no-new-privileges", [], False),
        ("no-new-privileges:true", [], False),
        ("no-new-privileges=true", [], False),
        ("no-new-privileges=True", [], False),
        ("no-new-privileges=1", [], False),
        ("no-new-privileges=false", [], True),  # would undo the daemon's own default
        ("no-new-privileges=0", [], True),
        ("no-new-privileges=yes", [], True),
        ("no-new-privileges-x", [], True),
        ("no-new-privileges:false", [], True),
        ("seccomp=unconfined", [], True),
        ("seccomp:unconfined", [], True),
        ("apparmor=unconfined", [], True),
        ("label:disable", [], True),
        ("label=type:spc_t", [], True),
        ("systempaths=unconfined", [], True),
        ("seccomp=/etc/profile.json", [], True),
        ("seccomp:unconfined", ["seccomp=unconfined"], False),
        ("label=disable", ["label:disable"], False),
        ("apparmor=unconfined", ["seccomp=unconfined"], True),
        ("seccomp=unconfined2", ["seccomp=unconfined"], True),
        ("apparmor=unconfined", ["*"], False),
    ],
)
def test_security_opt(option: str, allowed_opts: list[str], refused: bool) -> None:
    refusal = check_security_opt(_rules(securityOpt=allowed_opts), [option])
    assert (refusal is not None) == refused, refusal
    if refusal is not None:
        assert refusal.key is PolicyKey.SECURITY_OPT


# --- logging and sysctls -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("driver", "refused"),
    [
        ("json-file", False),
        ("local", False),
        ("none", False),
        ("syslog", True),
        ("gelf", True),
        ("fluentd", True),
        ("awslogs", True),
        ("journald", True),
        ("JSON-FILE", True),
        ("json-file ", True),
    ],
)
def test_logging_drivers_by_default(driver: str, refused: bool) -> None:
    refusal = check_logging(BUILTIN.allowed("shop"), driver)
    assert (refusal is not None) == refused, refusal
    if refusal is not None:
        assert refusal.key is PolicyKey.LOGGING_DRIVERS


@pytest.mark.parametrize(
    ("name", "host_network", "refused"),
    [
        ("net.core.somaxconn", False, False),
        ("net.ipv4.ip_forward", False, False),
        ("kernel.shmmax", False, False),
        ("kernel.msgmnb", False, False),
        ("fs.mqueue.msg_max", False, False),
        ("net.core.somaxconn", True, True),
        ("kernel.core_pattern", False, True),
        ("kernel.modprobe", False, True),
        ("vm.overcommit_memory", False, True),
        ("kernel.shmmaxx", False, True),
        ("fs.protected_symlinks", False, True),
    ],
)
def test_sysctls_only_namespaced_ones(name: str, host_network: bool, refused: bool) -> None:
    refusal = check_sysctl(_rules(), name, host_network=host_network)
    assert (refusal is not None) == refused, refusal
    if refusal is not None:
        assert refusal.key is None


# --- whole Compose files -------------------------------------------------------------------------


def _findings(fixture: str, policy: Policy) -> list[Problem]:
    documents, found = load(fixture, (FIXTURES / fixture).read_bytes())
    assert found == []
    data = documents[0].data
    project = str(data["name"])
    return problems(documents[0], compose_findings(policy.allowed(project), data))


def _assert_exactly(found: list[Problem], expected: list[tuple[str, str, str, str]]) -> None:
    shown = sorted(
        f"{p.position.line}:{p.position.column}: {p.pointer}: {p.message}" for p in found
    )
    for line, column, at, message in expected:
        prefix = f"{line}:{column}: {at}: "
        assert any(s.startswith(prefix) and message in s for s in shown), (
            f"expected {prefix}...{message}\ngot:\n" + "\n".join(shown)
        )
    assert len(found) == len(expected), "\n".join(shown)


def test_every_host_reaching_key_is_refused_by_default_at_its_place() -> None:
    text = (FIXTURES / "compose-hostile.yaml").read_text(encoding="utf-8")
    expected = EXPECT.findall(text) + ALWAYS.findall(text)
    assert len(expected) > 40
    _assert_exactly(_findings("compose-hostile.yaml", BUILTIN), expected)


def test_the_policy_can_allow_all_but_what_no_policy_allows() -> None:
    text = (FIXTURES / "compose-hostile.yaml").read_text(encoding="utf-8")
    _assert_exactly(
        _findings("compose-hostile.yaml", _policy("allow-all.yaml")), ALWAYS.findall(text)
    )


def test_a_project_entry_allows_only_that_project() -> None:
    policy = Policy.model_validate({"projects": {"hostile": {"privileged": True}}})
    refused = {p.pointer for p in _findings("compose-hostile.yaml", policy)}
    assert "/services/root/privileged" not in refused
    assert "/services/root/post_start/0/privileged" not in refused
    assert "/services/root/cap_add/1" in refused
    other = Policy.model_validate({"projects": {"other": {"privileged": True}}})
    assert "/services/root/privileged" in {
        p.pointer for p in _findings("compose-hostile.yaml", other)
    }


def test_an_ordinary_compose_file_needs_no_policy() -> None:
    assert _findings("compose-benign.yaml", BUILTIN) == []


def test_camel_case_keys_of_the_native_kind_are_checked_too() -> None:
    service = {
        "capAdd": ["SYS_ADMIN"],
        "networkMode": "host",
        "securityOpt": ["label:disable"],
        "volumes": ["/etc:/x"],
        "deviceCgroupRules": ["a *:* rwm"],
    }
    found = compose_findings(BUILTIN.allowed("shop"), {"services": {"web": service}})
    assert {f.path for f in found} == {
        ("services", "web", "capAdd", 0),
        ("services", "web", "networkMode"),
        ("services", "web", "securityOpt", 0),
        ("services", "web", "volumes", 0),
        ("services", "web", "deviceCgroupRules"),
    }


@pytest.mark.parametrize(
    ("volume", "refused"),
    [
        ("/etc:/x", True),
        ("/etc:/x:ro", True),
        ("//etc/:/x", True),
        ("/srv/shared/app:/x:rw", False),
        ("/srv/shared-evil:/x", True),
        ("/srv/shared/../../etc:/x", True),
        ("~/x:/x", True),
        ("./x:/x", False),
        ("x:/x", False),  # a named volume
        ("/x", False),  # an anonymous volume at /x
        ({"type": "bind", "source": "/etc", "target": "/x"}, True),
        ({"type": "bind", "source": "/srv/shared", "target": "/x"}, False),
        ({"type": "BIND", "source": "/etc", "target": "/x"}, True),
        ({"source": "/etc", "target": "/x"}, True),
        ({"type": "volume", "source": "/etc", "target": "/x"}, True),
        ({"type": "volume", "source": "data", "target": "/x"}, False),
        ({"type": "tmpfs", "target": "/x"}, False),
    ],
)
def test_service_volumes_short_and_long(volume: object, refused: bool) -> None:
    data = {"services": {"web": {"volumes": [volume]}}}
    found = compose_findings(SHARED, data)
    assert bool(found) == refused, found


def test_the_policy_modules_stay_in_their_rank_and_do_no_io() -> None:
    import ast

    allowed = {
        "syncd/policy.py": {
            "syncd.errors",
            "syncd.ids",
            "syncd.settings",
            "syncd.taint",
            "syncd.policyvalues",
        },
        "syncd/manifests/policyfile.py": {
            "syncd.errors",
            "syncd.problems",
            "syncd.settings",
            "syncd.policy",
        },
        "syncd/manifests/policyguard.py": {"syncd.errors", "syncd.problems", "syncd.policy"},
    }
    root = Path(syncd.__file__).resolve().parent.parent
    for name, own in allowed.items():
        tree = ast.parse((root / name).read_text(encoding="utf-8"))
        modules = {
            m
            for node in ast.walk(tree)
            for m in (
                [a.name for a in node.names]
                if isinstance(node, ast.Import)
                else [node.module or ""]
                if isinstance(node, ast.ImportFrom)
                else []
            )
        }
        ours = {m for m in modules if m.startswith("syncd")}
        bad = {m for m in ours if m not in own and not m.startswith("syncd.manifests.")}
        assert not bad, f"{name} imports {bad}"
        if name == "syncd/policy.py":
            assert not {m for m in ours if m.startswith("syncd.manifests")}
        io = {"os", "socket", "subprocess", "docker", "git", "pathlib", "sqlite3", "http"}
        assert not {m.split(".")[0] for m in modules} & io, f"{name} does I/O"


def test_the_native_kind_keeps_absolute_sources_as_project_files() -> None:
    stack = {"services": {"web": {"volumes": ["/uploads:/data", "~/x:/y"], "capAdd": ["BPF"]}}}
    native = compose_findings(BUILTIN.allowed("shop"), stack, project_files=True)
    assert {f.path for f in native} == {
        ("services", "web", "volumes", 1),
        ("services", "web", "capAdd", 0),
    }
    compose = compose_findings(BUILTIN.allowed("shop"), stack)
    assert ("services", "web", "volumes", 0) in {f.path for f in compose}


def test_a_frozen_spec_with_tuples_is_walked_like_lists() -> None:
    spec = {"services": {"web": {"capAdd": ("SYS_ADMIN",), "devices": (), "gpus": None}}}
    found = compose_findings(BUILTIN.allowed("shop"), spec)
    assert [f.path for f in found] == [("services", "web", "capAdd", 0)]


# --- properties ----------------------------------------------------------------------------------

_SEGMENTS = st.sampled_from(["srv", "shared", "shared-evil", "SHARED", "..", ".", "", "etc", "x"])


_STARTS = st.sampled_from(["/srv/shared", "/srv/shared/", "//srv//shared", "/var/run", "/srv", ""])


@given(_STARTS, st.lists(_SEGMENTS, max_size=6), st.booleans())
@settings(max_examples=400, deadline=None)
def test_an_allowed_bind_always_lies_under_an_allowed_prefix(
    start: str, parts: list[str], lead: bool
) -> None:
    path = start + ("/" if lead else "") + "/".join(parts)
    if check_bind(SHARED, path) is not None:
        return
    # What the kernel would mount, resolving `..` lexically (the best case for an attacker).
    real = "/" + posixpath.normpath(path).lstrip("/")
    assert path.startswith("/") and ".." not in path.split("/")
    assert real in ("/srv/shared", "/var/run/docker.sock") or real.startswith("/srv/shared/")


_KEY_TEXT = """privileged cap_add capAdd security_opt devices network_mode pid volumes volumes_from
    logging sysctls env_file extends deploy oom_kill_disable oom_score_adj isolation post_start
    annotations runtime driver driver_opts external name file gpus use_api_socket resources
    reservations o device type source path"""
_KEYS = _KEY_TEXT.split()
_LEAVES = [None, True, False, 0, -5, "", "host", "/", "/etc", "~/x", "a:b", "bind", "..", "ALL"]


def _shape(rng: random.Random, depth: int = 0) -> object:
    """Any JSON-like value, built from one seed (hypothesis draws the seed: fast)."""
    roll = rng.random()
    if depth > 3 or roll < 0.4:
        return rng.choice(_LEAVES)
    if roll < 0.7:
        return [_shape(rng, depth + 1) for _ in range(rng.randint(0, 3))]
    return {rng.choice(_KEYS): _shape(rng, depth + 1) for _ in range(rng.randint(0, 4))}


@given(st.integers(min_value=0, max_value=2**32))
@settings(max_examples=300, deadline=None)
def test_the_walk_never_raises_on_any_shape(seed: int) -> None:
    rng = random.Random(seed)
    sections = ("services", "volumes", "networks", "configs", "secrets", "include")
    data = {
        s: {"a": _shape(rng), "b": {k: _shape(rng) for k in rng.sample(_KEYS, 5)}}
        for s in rng.sample(sections, 3)
    }
    for found in (
        compose_findings(BUILTIN.allowed("shop"), data),
        compose_findings(_rules(hostPaths=["/"]), data, project_files=True),
    ):
        assert all(isinstance(f.refusal, Refusal) and str(f.refusal) for f in found)


def test_both_spellings_of_one_key_are_checked() -> None:
    # Whichever spelling a model lets win, neither can smuggle a value past the walk.
    service = {
        "cap_add": ["CHOWN"],
        "capAdd": ["SYS_ADMIN"],
        "network_mode": "none",
        "networkMode": "host",
        "sysctls": {"net.ipv4.ip_forward": "1"},
    }
    found = compose_findings(BUILTIN.allowed("shop"), {"services": {"web": service}})
    assert {f.path for f in found} == {
        ("services", "web", "capAdd", 0),
        ("services", "web", "networkMode"),
        ("services", "web", "sysctls", "net.ipv4.ip_forward"),
    }


@pytest.mark.parametrize(
    ("volume", "refused"),
    [
        ({}, False),
        ({"driver": "local"}, False),
        ({"driver_opts": {"type": "tmpfs", "device": "tmpfs", "o": "size=1m"}}, False),
        ({"driver_opts": {"type": "none", "o": "bind", "device": "/srv/shared/db"}}, False),
        ({"driver_opts": {"type": "none", "o": "bind", "device": "/"}}, True),
        ({"driver_opts": {"type": "none", "o": "ro, rbind", "device": "/etc"}}, True),
        ({"driver_opts": {"type": "none", "o": "bind", "device": "etc"}}, True),  # dockerd's cwd
        ({"driver_opts": {"type": "tmpfs", "o": "bind", "device": "/etc"}}, True),
        ({"driver_opts": {"type": "none", "o": ["bind"], "device": "etc"}}, True),
        ({"driver_opts": {"type": "ext4", "device": "/dev/sda1"}}, True),
        ({"driver_opts": {"type": "nfs", "o": "addr=10.0.0.1", "device": ":/export"}}, True),
        ({"driverOpts": {"type": "none", "o": "bind", "device": "/"}}, True),
        ({"driver": "local-persist", "driver_opts": {"mountpoint": "/"}}, True),
    ],
)
def test_top_level_volumes(volume: dict[str, object], refused: bool) -> None:
    found = compose_findings(SHARED, {"volumes": {"v": volume}})
    assert bool(found) == refused, found
