"""The process option group (issue 13): user, working dir, host name, labels, init, tty, stdin,
stop signal and grace period, /etc/hosts, DNS, groups, platform, pull policy, MAC address.

A Compose file and a native `Stack` with the same values give the same canonical spec; every
Compose form reads to one canonical value; refused values are located errors; a change of a
process field recreates (the reason names it), a pull policy change does not.
"""

from __future__ import annotations

from typing import Any

import pytest

from syncd.core import canonical
from syncd.core.desired import DesiredService, resolve
from syncd.core.options import process as process_options
from syncd.core.runspec import container_request
from syncd.engine.base import LABEL_PREFIX
from syncd.engine.dockeropts import container_kwargs, host_kwargs
from syncd.ids import ServiceKey, StackKey
from syncd.manifests import ManifestSet, read_manifests
from tests.planning import File, plan_texts

COMPOSE = """\
name: proc
services:
  app:
    image: busybox:1.36
    user: "1000:1000"
    working_dir: /var/spool
    hostname: keys-runtime
    domainname: example.internal
    labels:
      com.example.team: platform
      com.example.empty: ""
    init: true
    tty: true
    stdin_open: true
    stop_signal: usr1
    stop_grace_period: 1m30s
    extra_hosts:
      - "somehost:162.242.195.82"
      - "otherhost=50.31.209.229"
      - "v6host:::1"
      - "gateway:host-gateway"
    dns: [9.9.9.9, 149.112.112.112]
    dns_search: example.internal
    dns_opt: [ndots:2, timeout:3]
    group_add: [nobody, 1001]
    platform: linux/amd64
    pull_policy: if_not_present
    mac_address: 02:42:ac:11:00:99
"""

NATIVE = """\
kind: Stack
project: proc
services:
  app:
    image: busybox:1.36
    user: "1000:1000"
    workingDir: /var/spool
    hostname: keys-runtime
    domainname: example.internal
    labels: {com.example.empty: "", com.example.team: platform}
    init: true
    tty: true
    stdinOpen: true
    stopSignal: SIGUSR1
    stopGracePeriod: 90s
    extraHosts: ["somehost:162.242.195.82", "otherhost:50.31.209.229", "v6host:::1",
                 "gateway:host-gateway"]
    dns: [9.9.9.9, 149.112.112.112]
    dnsSearch: [example.internal]
    dnsOpt: ["ndots:2", "timeout:3"]
    groupAdd: [nobody, "1001"]
    platform: linux/amd64
    pullPolicy: missing
    macAddress: 02:42:ac:11:00:99
"""

EXPECTED = {
    "user": "1000:1000",
    "workingDir": "/var/spool",
    "hostname": "keys-runtime",
    "domainname": "example.internal",
    "labels": {"com.example.empty": "", "com.example.team": "platform"},
    "init": True,
    "tty": True,
    "stdinOpen": True,
    "stopSignal": "SIGUSR1",
    "stopGracePeriod": 90,
    "extraHosts": [
        "somehost:162.242.195.82",
        "otherhost:50.31.209.229",
        "v6host:::1",
        "gateway:host-gateway",
    ],
    "dns": ["9.9.9.9", "149.112.112.112"],
    "dnsSearch": ["example.internal"],
    "dnsOpt": ["ndots:2", "timeout:3"],
    "groupAdd": ["nobody", "1001"],
    "platform": "linux/amd64",
    "pullPolicy": "missing",
    "macAddress": "02:42:ac:11:00:99",
}


def _read(path: str, text: str) -> ManifestSet:
    return read_manifests([File(path, text.encode())], {})


def _spec(path: str, text: str, service: str = "app") -> dict[str, Any]:
    manifests = _read(path, text)
    assert manifests.errors == [], [str(p) for p in manifests.errors]
    state = resolve(manifests, "r1", None)
    [stack] = state.stacks.values()
    return dict(stack.services[service].spec)


def _compose(body: str) -> ManifestSet:
    return _read("proc/compose.yaml", "name: proc\nservices:\n  app:\n" + body)


def test_compose_and_native_give_the_same_canonical_spec() -> None:
    from_compose = _spec("proc/compose.yaml", COMPOSE)
    native = _spec("proc.yaml", NATIVE)
    assert {k: from_compose[k] for k in EXPECTED} == EXPECTED
    assert from_compose == native
    assert canonical.config_hash(from_compose) == canonical.config_hash(native)


@pytest.mark.parametrize(
    ("body", "field", "value"),
    [
        ("    user: 1000\n", "user", "1000"),
        ("    labels: [com.example.list=yes, com.example.eq=a=b, bare]\n", "labels",
         {"bare": "", "com.example.eq": "a=b", "com.example.list": "yes"}),
        ("    labels: {n: 5, b: true}\n", "labels", {"b": "true", "n": "5"}),
        ("    extra_hosts: {maphost: 10.0.0.7, multi: [10.0.0.8, 10.0.0.9]}\n", "extraHosts",
         ["maphost:10.0.0.7", "multi:10.0.0.8", "multi:10.0.0.9"]),
        ("    extra_hosts: ['v6=[::1]']\n", "extraHosts", ["v6:::1"]),
        ("    dns: 1.1.1.1\n", "dns", ["1.1.1.1"]),
        ("    dns_opt: use-vc\n", "dnsOpt", ["use-vc"]),
        ("    stop_signal: '15'\n", "stopSignal", "15"),
        ("    stop_signal: 15\n", "stopSignal", "15"),
        ("    stop_signal: SIGTERM\n", "stopSignal", "SIGTERM"),
        ("    stop_grace_period: 500ms\n", "stopGracePeriod", 1),
        ("    stop_grace_period: 2s\n", "stopGracePeriod", 2),
        ("    pull_policy: always\n", "pullPolicy", "always"),
        ("    pull_policy: never\n", "pullPolicy", "never"),
        ("    init: false\n", "init", False),
    ],
)  # fmt: skip
def test_every_compose_form_reads_to_one_canonical_value(body: str, field: str, value: Any) -> None:
    spec = _spec("proc/compose.yaml", f"services:\n  app:\n    image: busybox:1.36\n{body}")
    assert spec[field] == value


def test_a_fraction_of_a_second_and_a_timed_pull_policy_are_warnings() -> None:
    manifests = _compose(
        "    image: busybox:1.36\n    stop_grace_period: 1500ms\n    pull_policy: daily\n"
    )
    assert manifests.errors == []
    found = {(p.pointer, p.position.line) for p in manifests.warnings}
    assert ("/services/app/stop_grace_period", 5) in found
    assert ("/services/app/pull_policy", 6) in found
    assert any("2 second" in p.message for p in manifests.warnings)
    state = resolve(manifests, "r1", None)
    spec = state.stacks[StackKey("proc", "default")].services["app"].spec
    assert (spec["stopGracePeriod"], spec["pullPolicy"]) == (2, "missing")


@pytest.mark.parametrize(
    ("body", "pointer", "line", "contains"),
    [
        ("    labels: {syncd.instance: other}\n", "/services/app/labels/syncd.instance", 5,
         "syncd"),
        ("    labels: [a=b, SYNCD.hash=x]\n", "/services/app/labels/1", 5, "syncd"),
        ("    stop_signal: SIGNOPE\n", "/services/app/stop_signal", 5, "SIGNOPE"),
        ("    stop_signal: 99\n", "/services/app/stop_signal", 5, "1-64"),
        ("    annotations: {a: b}\n", "/services/app/annotations", 5, "1.43"),
        ("    dns: [8.8.8.x]\n", "/services/app/dns/0", 5, "IP address"),
        ("    working_dir: srv\n", "/services/app/working_dir", 5, "absolute"),
        ("    extra_hosts: [nohost]\n", "/services/app/extra_hosts/0", 5, "host:ip"),
        ("    extra_hosts: ['a:not-an-ip']\n", "/services/app/extra_hosts/0", 5, "IP address"),
        ("    hostname: 'bad host'\n", "/services/app/hostname", 5, "host name"),
        ("    init: 'yes'\n", "/services/app/init", 5, "true or false"),
        ("    pull_policy: sometimes\n", "/services/app/pull_policy", 5, "sometimes"),
        ("    mac_address: 02:42\n", "/services/app/mac_address", 5, "MAC"),
        ("    platform: amd64\n", "/services/app/platform", 5, "linux/amd64"),
        ("    stop_grace_period: 10\n", "/services/app/stop_grace_period", 5, "duration"),
        ("    stop_grace_period: 2h\n", "/services/app/stop_grace_period", 5, "at most 60m"),
        ("    group_add: ['a b']\n", "/services/app/group_add/0", 5, "blanks"),
    ],
)  # fmt: skip
def test_refused_values_are_located_errors(
    body: str, pointer: str, line: int, contains: str
) -> None:
    manifests = _compose("    image: busybox:1.36\n" + body)
    found = [p for p in manifests.errors if p.pointer == pointer]
    assert found, [str(p) for p in manifests.errors]
    assert found[0].position.line == line
    assert contains.lower() in found[0].message.lower()


def test_a_native_stack_cannot_set_syncds_own_labels() -> None:
    from syncd.manifests.options.process import RESERVED_LABEL_PREFIX

    assert RESERVED_LABEL_PREFIX == LABEL_PREFIX
    native = NATIVE.replace("com.example.team: platform", "syncd.instance: other")
    errors = _read("proc.yaml", native).errors
    assert errors and "syncd" in errors[0].message
    assert errors[0].path == "proc.yaml" and errors[0].position.line == 10


STACK = """\
kind: Stack
project: proc
services:
  app:
    image: busybox:1.36
{extra}"""


def _plan(old: str, new: str) -> tuple[str, list[str]]:
    result, _before, _after = plan_texts(STACK.format(extra=old), STACK.format(extra=new))
    [stack] = result.stacks
    [change] = stack.services
    return change.action.value, list(change.fields)


def test_a_process_field_change_recreates_and_names_the_field() -> None:
    action, reasons = _plan("    user: '1000'\n", "    user: '1001'\n")
    assert action == "recreate"
    assert any("user" in r for r in reasons), reasons
    action, reasons = _plan("", "    stopGracePeriod: 30s\n")
    assert action == "recreate" and any("stopGracePeriod" in r for r in reasons), reasons


def test_a_pull_policy_change_needs_no_new_container() -> None:
    action, _reasons = _plan("    pullPolicy: missing\n", "    pullPolicy: always\n")
    assert action == "update"


def test_an_option_written_at_its_default_changes_no_hash() -> None:
    plain = _spec("proc.yaml", STACK.format(extra=""))
    explicit = _spec("proc.yaml", STACK.format(extra="    init: false\n    labels: {}\n"))
    assert canonical.config_hash(plain) == canonical.config_hash(explicit)
    old = {k: v for k, v in plain.items() if k not in process_options.DEFAULTS}
    assert canonical.recreate_fields(old, plain) == []  # a spec from before the option


def test_the_container_request_carries_the_options() -> None:
    spec = _spec("proc/compose.yaml", COMPOSE)
    service = DesiredService(ServiceKey("proc", "default", "app"), spec)
    request = container_request(
        service, instance="i", revision="r1", files=lambda p, s: s, stop_timeout=3
    )
    assert request.stop_timeout == 90  # the grace period, not the setting
    assert request.labels["com.example.team"] == "platform"
    assert request.labels[f"{LABEL_PREFIX}instance"] == "i"
    made = container_kwargs(request.options)
    assert made["user"] == "1000:1000" and made["stop_signal"] == "SIGUSR1"
    assert (made["tty"], made["stdin_open"], made["platform"]) == (True, True, "linux/amd64")
    host = host_kwargs(request.options)
    assert host["extra_hosts"][1] == "otherhost:50.31.209.229"
    assert (host["init"], host["dns_search"], host["group_add"]) == (
        True,
        ["example.internal"],
        ["nobody", "1001"],
    )
    plain = DesiredService(service.key, _spec("proc.yaml", STACK.format(extra="")))
    request = container_request(
        plain, instance="i", revision="r1", files=lambda p, s: s, stop_timeout=3
    )
    assert request.stop_timeout == 3  # no grace period: the setting
    assert "init" not in host_kwargs(request.options)
    assert "user" not in container_kwargs(request.options)


def test_label_files_are_read_from_the_revision_and_labels_win() -> None:
    compose = (
        "services:\n  app:\n    image: busybox:1.36\n"
        "    label_file: [conf/a.labels, conf/b.labels]\n"
        "    labels: {com.example.own: mine, com.example.both: labels}\n"
    )
    files = [
        File("proc/compose.yaml", compose.encode()),
        File(
            "proc/conf/a.labels", b"# team labels\ncom.example.team=platform\ncom.example.both=a\n"
        ),
        File("proc/conf/b.labels", b"com.example.both=b\ncom.example.b=2\n"),
    ]
    manifests = read_manifests(files, {})
    assert manifests.errors == [], [str(p) for p in manifests.errors]
    [stack] = resolve(manifests, "r1", None).stacks.values()
    assert stack.services["app"].spec["labels"] == {
        "com.example.b": "2",
        "com.example.both": "labels",
        "com.example.own": "mine",
        "com.example.team": "platform",
    }


@pytest.mark.parametrize(
    ("label_file", "content", "contains"),
    [
        ("conf/x.labels", b"syncd.hash=forged\n", "syncd"),
        ("conf/missing.labels", None, "not in the revision"),
        ("../../etc/passwd", None, "outside the repository"),
    ],
)
def test_a_bad_label_file_is_a_located_error(
    label_file: str, content: bytes | None, contains: str
) -> None:
    compose = f"services:\n  app:\n    image: busybox:1.36\n    label_file: {label_file}\n"
    files = [File("proc/compose.yaml", compose.encode())]
    if content is not None:
        files.append(File(f"proc/{label_file}", content))
    errors = read_manifests(files, {}).errors
    found = [p for p in errors if p.pointer == "/services/app/label_file"]
    assert found and contains in found[0].message, [str(p) for p in errors]
    assert found[0].path == "proc/compose.yaml" and found[0].position.line == 4
