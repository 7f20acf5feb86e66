"""Issue 13 ports: host addresses and ephemeral host ports in the native model, the same from
Compose, and the operator's `publishAddresses` policy key (D3, D23). Pure."""

from __future__ import annotations

import pytest

from syncd.core import canonical
from syncd.core.canonical import port_text
from syncd.manifests.compose.context import Context
from syncd.manifests.compose.ports import native_ports, read_ports
from syncd.manifests.fields import PortSpec, Protocol, parse_port
from syncd.manifests.model import Service
from syncd.manifests.policyguard import compose_findings
from syncd.manifests.yamlsafe import Positions
from syncd.policy import Policy, PolicyKey

TCP, UDP = Protocol.TCP, Protocol.UDP


@pytest.mark.parametrize(
    ("raw", "canonical", "spec"),
    [
        ("8080:80/tcp", "8080:80/tcp", PortSpec(80, TCP, 8080)),  # old text unchanged
        ("80/tcp", "80/tcp", PortSpec(80, TCP)),  # project-internal (mittwald's meaning)
        (":5432", ":5432/tcp", PortSpec(5432, TCP, None, None, True)),
        ("127.0.0.1:18080:80", "127.0.0.1:18080:80/tcp", PortSpec(80, TCP, 18080, "127.0.0.1")),
        ("127.0.0.1::80/udp", "127.0.0.1::80/udp", PortSpec(80, UDP, None, "127.0.0.1", True)),
        ("[0:0::1]:9000:9000", "[::1]:9000:9000/tcp", PortSpec(9000, TCP, 9000, "::1")),
    ],
)  # fmt: skip
def test_native_forms_to_canonical(raw: str, canonical: str, spec: PortSpec) -> None:
    assert parse_port(raw) == spec
    assert port_text(raw) == canonical
    assert parse_port(canonical) == spec  # the canonical text reads back the same


def test_ephemeral_and_internal_stay_apart() -> None:
    assert port_text(":80") != port_text("80")
    assert parse_port(":80").published and not parse_port("80").published


@pytest.mark.parametrize(
    ("compose", "native"),
    [
        ("5432", [":5432/tcp"]),
        ("127.0.0.1:18080:80", ["127.0.0.1:18080:80/tcp"]),
        ("127.0.0.1::5000", ["127.0.0.1::5000/tcp"]),
        ("[::1]:6001:6001", ["[::1]:6001:6001/tcp"]),
        ("::1:6000:6000", ["[::1]:6000:6000/tcp"]),
        ("8000-8002:9000-9002", ["8000:9000/tcp", "8001:9001/tcp", "8002:9002/tcp"]),
        ("3000-3001", [":3000/tcp", ":3001/tcp"]),
        ("8080:80", ["8080:80/tcp"]),
    ],
)
def test_compose_forms_become_the_native_ones(compose: str, native: list[str]) -> None:
    ctx = make_context()
    found = native_ports(read_ports([compose], ("ports",), ctx), [], ctx)
    assert [text for _, text in found] == native
    assert [port_text(text) for text in native] == native  # native == Compose, canonical


def make_context() -> Context:
    return Context("compose.yaml", Positions())


def test_a_host_range_to_one_port_and_sctp_are_carried() -> None:
    """Issue 13's rare keys: no longer noted as not carried."""
    ctx = make_context()
    found = native_ports(
        read_ports(["12400-12500:1240", "5000:5000/sctp"], ("ports",), ctx), [], ctx
    )
    assert [text for _, text in found] == ["12400-12500:1240/tcp", "5000:5000/sctp"]
    assert ctx.not_carried == []


def _refusals(policy: Policy, service: dict[str, object]) -> list[tuple[tuple[object, ...], str]]:
    found = compose_findings(policy.allowed("shop"), {"services": {"web": service}})
    return [(f.path, str(f.refusal)) for f in found if f.refusal.key is PolicyKey.PUBLISH_ADDRESSES]


@pytest.mark.parametrize(
    ("ports", "address"),
    [
        (["0.0.0.0:80:80"], "0.0.0.0"), (["[::]:80:80"], "::"), (["::0:8080:80"], "::"),
        (["203.0.113.7::80"], "203.0.113.7"),
        ([{"target": 80, "published": 80, "host_ip": "0.0.0.0"}], "0.0.0.0"),
    ],
)  # fmt: skip
def test_other_host_addresses_need_the_policy_key(ports: list[object], address: str) -> None:
    refused = _refusals(Policy(), {"ports": ports})
    assert len(refused) == 1, refused
    path, text = refused[0]
    assert path[:4] == ("services", "web", "ports", 0)
    assert "publishAddresses" in text
    listed = Policy.model_validate({"default": {"publishAddresses": [address]}})
    assert _refusals(listed, {"ports": ports}) == []
    anything = Policy.model_validate({"projects": {"shop": {"publishAddresses": ["*"]}}})
    assert _refusals(anything, {"ports": ports}) == []


def test_native_camel_case_host_ip_is_checked_too() -> None:
    refused = _refusals(Policy(), {"ports": [{"target": 80, "hostIp": "0.0.0.0"}], "capAdd": []})
    assert [path for path, _ in refused] == [("services", "web", "ports", 0, "hostIp")]


@pytest.mark.parametrize("ports", [["127.0.0.1:80:80"], ["[::1]::80"], ["8080:80"], ["5432"]])
def test_loopback_and_no_address_need_no_policy(ports: list[object]) -> None:
    assert _refusals(Policy(), {"ports": ports}) == []


def test_policy_refuses_a_non_address() -> None:
    with pytest.raises(ValueError, match="is not an IP address"):
        Policy.model_validate({"default": {"publishAddresses": ["example.com"]}})


def _hash(ports: list[str]) -> str:
    spec = canonical.full(Service.model_validate({"image": "busybox:1.36", "ports": ports}))
    return canonical.config_hash(spec)


def test_a_port_change_recreates_and_old_text_keeps_its_hash() -> None:
    old = _hash(["8080:80/tcp"])
    assert _hash(["8080:80"]) == old  # same canonical text as before this change
    for changed in (["127.0.0.1:8080:80/tcp"], [":80/tcp"], ["80/tcp"], ["0.0.0.0:8080:80"]):
        assert _hash(changed) != old, changed
    before = canonical.full(Service.model_validate({"image": "busybox:1.36", "ports": [":80"]}))
    after = canonical.full(
        Service.model_validate({"image": "busybox:1.36", "ports": ["127.0.0.1::80"]})
    )
    assert "ports" in canonical.recreate_fields(before, after)
