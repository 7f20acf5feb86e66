"""Hostile values of the network option group, as someone with push access would write them."""

from __future__ import annotations

from typing import Any

import pytest

from syncd.manifests import read_manifests
from syncd.manifests.policyfile import load_policy
from syncd.manifests.policyguard import compose_findings
from syncd.policy import Allowed, Policy, PolicyKey
from tests.planning import File


def _compose(pool: dict[str, Any]) -> dict[str, Any]:
    return {
        "services": {"web": {"image": "busybox:1.36", "networks": ["back"]}},
        "networks": {"back": {"ipam": {"config": [pool]}}},
    }


@pytest.mark.parametrize(
    ("pool", "where"),
    [
        ({"subnet": "0.0.0.0/1"}, ("subnet",)),  # half the internet: the host's egress
        ({"subnet": "128.0.0.0/1"}, ("subnet",)),
        ({"subnet": "169.254.169.0/24"}, ("subnet",)),  # the cloud metadata service
        ({"subnet": "127.0.0.0/8"}, ("subnet",)),
        ({"subnet": "8.8.8.0/24"}, ("subnet",)),  # a public resolver
        ({"subnet": "2001:4860::/32"}, ("subnet",)),
        ({"subnet": "10.0.0.0/8", "ipRange": "1.1.1.0/24"}, ("ipRange",)),
        ({"subnet": "10.0.0.0/8", "ip_range": "1.1.1.0/24"}, ("ip_range",)),
        ({"subnet": "10.9.0.0/16", "gateway": "9.9.9.9"}, ("gateway",)),
        ({"subnet": "10.9.0.0/16", "aux_addresses": {"r": "8.8.4.4"}}, ("aux_addresses", "r")),
        ({"subnet": "10.9.0.0/16", "auxAddresses": {"r": "8.8.4.4"}}, ("auxAddresses", "r")),
        ({"subnet": " 0.0.0.0/0 "}, ("subnet",)),
    ],
)
def test_a_network_subnet_outside_the_private_ranges_needs_the_policy(
    pool: dict[str, Any], where: tuple[str, ...]
) -> None:
    found = compose_findings(Allowed(project="p"), _compose(pool))
    assert [f.path for f in found] == [("networks", "back", "ipam", "config", 0, *where)]
    assert found[0].refusal.key is PolicyKey.HOST_NAMESPACES
    assert "private ranges" in str(found[0].refusal)
    # the native Stack spells its networks the same way: the same walk finds it
    native = compose_findings(Allowed(project="p"), _compose(pool), project_files=True)
    assert [f.path for f in native] == [f.path for f in found]
    # the operator may allow it
    assert not compose_findings(Allowed(project="p", host_namespaces=True), _compose(pool))


@pytest.mark.parametrize(
    "pool",
    [
        {"subnet": "10.42.7.0/24", "gateway": "10.42.7.1"},
        {"subnet": "172.30.0.0/16", "ipRange": "172.30.5.0/24"},
        {"subnet": "192.168.200.0/24", "aux_addresses": {"r": "192.168.200.5"}},
        {"subnet": "fd00:1::/64"},
        {"subnet": "not an address"},  # the model reports it, not the policy
    ],
)
def test_a_private_network_subnet_needs_no_policy(pool: dict[str, Any]) -> None:
    assert not compose_findings(Allowed(project="p"), _compose(pool))


COMPOSE_LIST = "name: fz\nservices:\n  web:\n    image: busybox:1.36\n    networks: [{entry}]\n"
NATIVE_LIST = (
    "kind: Stack\nproject: fz\nservices:\n  web:\n    image: busybox:1.36\n"
    "    networks: [{entry}]\n"
)


@pytest.mark.parametrize("entry", ["{}", "[]", "[[1]]", "{a: b}", "default, {}"])
@pytest.mark.parametrize(
    ("path", "template"), [("fz/compose.yaml", COMPOSE_LIST), ("fz/stack.yaml", NATIVE_LIST)]
)
def test_a_network_list_entry_that_is_no_name_is_a_located_error(
    path: str, template: str, entry: str
) -> None:
    text = template.format(entry=entry)
    manifests = read_manifests([File(path, text.encode())], {})
    [error] = manifests.errors
    assert error.pointer.startswith("/services/web/networks"), error
    last = len(text.splitlines())  # the networks line
    assert error.position.line == last and "internal error" not in error.message, error
    assert "network name" in error.message, error


@pytest.mark.parametrize(
    "network",
    [
        {"external": True, "name": "otherteam_db"},  # another tenant's network, made by hand
        {"external": True},  # its key is its Docker name
        {"external": {"name": "otherteam_db"}},  # Compose's legacy form
    ],
)
def test_joining_a_network_made_outside_syncd_needs_the_policy(network: dict[str, Any]) -> None:
    name = "otherteam_db" if network != {"external": True} else "back"
    data = {"services": {"web": {"networks": ["back"]}}, "networks": {"back": network}}
    [finding] = compose_findings(Allowed(project="p"), data)
    assert finding.path == ("networks", "back")
    assert finding.refusal.key is PolicyKey.EXTERNAL_NETWORKS
    assert f"add {name!r} to externalNetworks" in str(finding.refusal)
    for allowed in ([name], ["*"]):
        rules = Policy.model_validate({"projects": {"p": {"externalNetworks": allowed}}})
        assert not compose_findings(rules.allowed("p"), data)
    other = Policy.model_validate({"projects": {"q": {"externalNetworks": [name]}}})
    assert compose_findings(other.allowed("p"), data)


def test_the_policy_file_takes_external_network_names_only() -> None:
    policy, found = load_policy("policy.yaml", b"default:\n  externalNetworks: [proxy, '*']\n")
    assert found == [] and policy is not None
    assert policy.allowed("x").external_networks == {"proxy", "*"}
    _, found = load_policy("policy.yaml", b"default:\n  externalNetworks: ['a b']\n")
    assert found and "network name" in found[0].message


@pytest.mark.parametrize("name", ["'a b'", "'-x'", "'x/y'", "'" + "n" * 300 + "'", "'ünï'"])
@pytest.mark.parametrize("kind", ["compose", "native"])
def test_an_external_network_name_docker_cannot_hold_is_a_located_error(
    kind: str, name: str
) -> None:
    head = "name: fz\n" if kind == "compose" else "kind: Stack\nproject: fz\n"
    text = (
        f"{head}networks:\n  back: {{external: true, name: {name}}}\nservices:\n"
        "  web:\n    image: busybox:1.36\n    networks: [back]\n"
    )
    path = "fz/compose.yaml" if kind == "compose" else "fz/stack.yaml"
    anywhere = Policy.model_validate({"default": {"externalNetworks": ["*"]}})
    manifests = read_manifests([File(path, text.encode())], {}, policy=anywhere)
    [error] = manifests.errors
    assert error.pointer.endswith("/networks/back/name"), error
    assert "Docker network name" in error.message and error.position.line > 1, error
