"""Issue 13's acceptance for the operator policy, through the CLI (`syncd validate --policy`):
every policy key of `syncd.policy.PolicyKey`, asked for by a Compose file, a native `Stack` and
a `StackPatch`, is refused by default with file:line:col and the policy key to change, and
accepted when the operator's policy allows it.

Keys the model does not carry yet on this branch are `xfail(strict=True)` with the branch that
carries them: the merge removes the marks (strict: a mark left on a passing test fails).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import pytest

from syncd.cli.main import main
from syncd.errors import ExitCode
from syncd.policy import PolicyKey

REFUSED = "is not allowed by the operator's policy"
BASE = "kind: Stack\nproject: acc\nservices:\n  app:\n    image: busybox:1.36\n"
KEYS = Path(__file__).parent / "fixtures" / "compose" / "keys"


@dataclass(frozen=True)
class Case:
    key: PolicyKey
    compose: str  # the service's guarded lines (Compose spelling), the first one guarded
    native: str  # the same in syncd's camelCase
    pointer: str  # where the Compose reader reports it, under /services/app
    allow: str  # the policy file that allows it
    carried_by: str  # the option group's branch that carries the key into the model
    patch_path: str  # a StackPatch op's path adding it
    patch_value: str


CASES = [
    Case(
        PolicyKey.HOST_PATHS,
        "volumes: ['/srv/acc-data:/data']",
        "volumes: [{type: bind, source: /srv/acc-data, target: /data}]",
        "/volumes/0",
        "default: {hostPaths: [/srv]}",
        "files",
        "/services/app/volumes",
        "[{type: bind, source: /srv/acc-data, target: /data}]",
    ),
    Case(
        PolicyKey.CAPABILITIES,
        "cap_add: [NET_ADMIN]",
        "capAdd: [NET_ADMIN]",
        "/cap_add/0",
        "projects: {acc: {capabilities: [NET_ADMIN]}}",
        "security",
        "/services/app/capAdd",
        "[NET_ADMIN]",
    ),
    Case(
        PolicyKey.PRIVILEGED,
        "privileged: true",
        "privileged: true",
        "/privileged",
        "default: {privileged: true}",
        "security",
        "/services/app/privileged",
        "true",
    ),
    Case(
        PolicyKey.HOST_NAMESPACES,
        "pid: host",
        "pid: host",
        "/pid",
        "default: {hostNamespaces: true}",
        "security",
        "/services/app/pid",
        "host",
    ),
    Case(
        PolicyKey.DEVICES,
        "devices: [/dev/fuse]",
        "devices: [/dev/fuse]",
        "/devices",
        "default: {devices: true}",
        "security",
        "/services/app/devices",
        "[/dev/fuse]",
    ),
    Case(
        PolicyKey.SECURITY_OPT,
        "security_opt: ['seccomp=unconfined']",
        "securityOpt: ['seccomp=unconfined']",
        "/security_opt/0",
        "default: {securityOpt: ['seccomp=unconfined']}",
        "security",
        "/services/app/securityOpt",
        "['seccomp=unconfined']",
    ),
    Case(
        PolicyKey.LOGGING_DRIVERS,
        "logging: {driver: syslog}",
        "logging: {driver: syslog}",
        "/logging/driver",
        "default: {loggingDrivers: [json-file, syslog]}",
        "security",
        "/services/app/logging",
        "{driver: syslog}",
    ),
    Case(
        PolicyKey.PUBLISH_ADDRESSES,
        "ports: ['0.0.0.0:18080:80']",
        "ports: ['0.0.0.0:18080:80/tcp']",
        "/ports/0",
        "projects: {acc: {publishAddresses: [0.0.0.0]}}",
        "ports",
        "/services/app/ports",
        "['0.0.0.0:18080:80/tcp']",
    ),
]
IDS = [c.key.value for c in CASES]


def test_every_policy_key_has_a_case() -> None:
    """`externalNetworks` guards a top-level network: its own tests, below; the volume keys
    guard a top-level volume (security.yaml, and tests/test_volume_options.py)."""
    top_level = {
        PolicyKey.EXTERNAL_NETWORKS,
        PolicyKey.EXTERNAL_VOLUMES,
        PolicyKey.VOLUME_DRIVERS,
        PolicyKey.VOLUME_TYPES,
    }
    assert {c.key for c in CASES} | top_level == set(PolicyKey)


def _not_carried(case: Case) -> pytest.MarkDecorator:
    return pytest.mark.xfail(strict=True, reason=f"carried by the {case.carried_by} branch")


# Option groups merged into this tree: their keys are carried.
MERGED = frozenset({"security", "files", "ports"})


def _params(marked: bool) -> list[object]:
    return [
        pytest.param(
            c,
            id=c.key.value,
            marks=[_not_carried(c)] if marked and c.carried_by not in MERGED else [],
        )
        for c in CASES
    ]


def _compose(case: Case) -> str:
    return f"services:\n  app:\n    image: busybox:1.36\n    {case.compose}\n"


def _native(case: Case) -> str:
    return f"{BASE}    {case.native}\n"


def _patch(case: Case) -> str:
    op = f"{{op: add, path: {case.patch_path}, value: {case.patch_value}}}"
    return f"kind: StackPatch\nproject: acc\nstack: default\npatch:\n  - {op}\n"


def _repo(tmp_path: Path, files: dict[str, str]) -> Path:
    repo = tmp_path / "repo"
    for name, text in files.items():
        (repo / name).parent.mkdir(parents=True, exist_ok=True)
        (repo / name).write_text(text)
    return repo


def _policy(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "etc" / "policy.yaml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text + "\n")
    return path


def _validate(
    capsys: pytest.CaptureFixture[str], repo: Path, policy: Path | None = None
) -> tuple[int, str]:
    args = ["validate", "--repo", str(repo)]
    if policy is not None:
        args += ["--policy", str(policy)]
    code = main(args)
    captured = capsys.readouterr()
    return code, captured.out + captured.err


def _refusals(output: str) -> list[str]:
    return [line for line in output.splitlines() if REFUSED in line]


def _assert_refused(output: str, where: str, line: int, key: PolicyKey) -> None:
    """One refusal, at `where:line:col`, naming the policy key of the project and the default."""
    refusals = _refusals(output)
    assert refusals, output
    located = [r for r in refusals if re.match(rf"{re.escape(where)}:{line}:\d+: ", r)]
    assert located, (where, line, refusals)
    assert f"projects.acc.{key.value}" in located[0], located[0]
    assert f"default.{key.value}" in located[0], located[0]


# -- Compose files ----------------------------------------------------------------------------


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_a_compose_file_asking_for_a_policy_key_is_refused_by_default(
    case: Case, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    repo = _repo(tmp_path, {"acc/compose.yaml": _compose(case)})
    code, output = _validate(capsys, repo)
    assert code == ExitCode.ERROR
    _assert_refused(output, "acc/compose.yaml", 4, case.key)
    assert any(f"/services/app{case.pointer}:" in r for r in _refusals(output)), output


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_the_operators_policy_lifts_the_refusal_of_a_compose_file(
    case: Case, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    repo = _repo(tmp_path, {"acc/compose.yaml": _compose(case)})
    _, output = _validate(capsys, repo, _policy(tmp_path, case.allow))
    assert _refusals(output) == [], output
    # another project gets nothing from a project entry (the `default` cases allow all)
    if "projects:" in case.allow:
        other = _repo(tmp_path / "o", {"other/compose.yaml": _compose(case)})
        _, output = _validate(capsys, other, _policy(tmp_path, case.allow))
        assert _refusals(output), output


@pytest.mark.parametrize("case", _params(marked=True))
def test_a_compose_file_allowed_by_the_policy_validates(
    case: Case, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    repo = _repo(tmp_path, {"acc/compose.yaml": _compose(case)})
    code, output = _validate(capsys, repo, _policy(tmp_path, case.allow))
    assert code == ExitCode.OK, output


def test_the_security_fixture_is_refused_key_by_key_and_accepted_by_its_policy(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    text = (KEYS / "security.yaml").read_text()
    repo = _repo(tmp_path, {"acc/compose.yaml": text})
    _, output = _validate(capsys, repo)
    refused = _refusals(output)
    for key in PolicyKey:
        assert any(f"projects.acc.{key.value}" in r for r in refused), (key, refused)
    for line in refused:  # each at file:line:col, on a line that asks for it
        match = re.match(r"acc/compose\.yaml:(\d+):\d+: ", line)
        assert match, line
        assert text.splitlines()[int(match[1]) - 1].strip(), line
    policy = tmp_path / "etc" / "security.policy.yaml"
    policy.parent.mkdir(parents=True, exist_ok=True)
    policy.write_text((KEYS / "security.policy.yaml").read_text())
    _, output = _validate(capsys, repo, policy)
    assert _refusals(output) == [], output


# -- native Stack documents -------------------------------------------------------------------


@pytest.mark.parametrize("case", _params(marked=True))
def test_a_native_stack_asking_for_a_policy_key_is_refused_by_default(
    case: Case, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    repo = _repo(tmp_path, {"stacks/acc.yaml": _native(case)})
    code, output = _validate(capsys, repo)
    assert code == ExitCode.ERROR
    _assert_refused(output, "stacks/acc.yaml", 6, case.key)


@pytest.mark.parametrize("case", _params(marked=True))
def test_a_native_stack_allowed_by_the_policy_validates(
    case: Case, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    repo = _repo(tmp_path, {"stacks/acc.yaml": _native(case)})
    code, output = _validate(capsys, repo, _policy(tmp_path, case.allow))
    assert code == ExitCode.OK, output


# -- StackPatch overlays ----------------------------------------------------------------------


@pytest.mark.parametrize("case", _params(marked=True))
def test_a_stackpatch_adding_a_policy_key_is_refused_at_its_op(
    case: Case, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    repo = _repo(tmp_path, {"stacks/acc.yaml": BASE, "stacks/overlay.yaml": _patch(case)})
    code, output = _validate(capsys, repo)
    assert code == ExitCode.ERROR
    _assert_refused(output, "stacks/overlay.yaml", 5, case.key)
    code, output = _validate(capsys, repo, _policy(tmp_path, case.allow))
    assert code == ExitCode.OK, output


# -- a network made outside syncd (top level: not a service's key) ------------------------------

EDGE = "    networks: [edge]\nnetworks:\n  edge: {external: true, name: proxy}\n"
EDGE_ALLOWED = "projects: {acc: {externalNetworks: [proxy]}}"


@pytest.mark.parametrize(
    ("path", "text", "line"),
    [
        ("acc/compose.yaml", "services:\n  app:\n    image: busybox:1.36\n" + EDGE, 6),
        ("stacks/acc.yaml", BASE + EDGE, 8),
    ],
    ids=["compose", "native"],
)
def test_joining_a_network_made_outside_syncd_is_refused_until_the_policy_names_it(
    path: str, text: str, line: int, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    repo = _repo(tmp_path, {path: text})
    code, output = _validate(capsys, repo)
    assert code == ExitCode.ERROR
    _assert_refused(output, path, line, PolicyKey.EXTERNAL_NETWORKS)
    code, output = _validate(capsys, repo, _policy(tmp_path, EDGE_ALLOWED))
    assert code == ExitCode.OK, output
