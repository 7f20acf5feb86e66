"""Networks without Docker: the canonical spec of a service's networks (aliases, addresses, the
stack network's definition), network_mode and links; plans (a changed alias or network
definition recreates, an implicit `default` does not); located errors of native and Compose
stacks; and the engine's names and connecting order."""

from __future__ import annotations

from typing import Any

import pytest

from syncd.core import canonical
from syncd.core.desired import resolve
from syncd.core.plan import Action, as_live, plan
from syncd.engine.base import Names
from syncd.errors import ManifestError
from syncd.ids import ServiceKey, StackKey
from syncd.manifests import read_manifests
from syncd.manifests.model import Stack
from syncd.policy import Policy
from syncd.problems import Severity
from syncd.render import PlanFormat, render
from tests.planning import File, desired, plan_texts

NATIVE = """\
kind: Stack
project: nets
services:
  web:
    image: busybox:1.36
    networks:
      back: {{aliases: [{alias}, api], ipv4Address: 10.42.7.10}}
      front: {{priority: 5}}
  client:
    image: busybox:1.36
    networks: [back, default]
    links: ["web:weblink"]
  plain:
    image: busybox:1.36
  loner:
    image: busybox:1.36
    networkMode: none
  sidecar:
    image: busybox:1.36
    networkMode: service:client
networks:
  front: {{}}
  back:
    internal: {internal}
    ipam: {{config: [{{subnet: 10.42.7.0/24, gateway: 10.42.7.1}}]}}
    labels: {{com.example.tier: back}}
"""

# `network_mode: service:x` shares a namespace (the policy's hostNamespaces); joining a network
# made outside syncd needs externalNetworks (issue 13).
NAMESPACES = Policy.model_validate(
    {"default": {"hostNamespaces": True, "externalNetworks": ["proxy", "shared"]}}
)


def _text(alias: str = "api-v1", internal: str = "true") -> str:
    return NATIVE.format(alias=alias, internal=internal)


def _specs(text: str) -> dict[str, dict[str, Any]]:
    state = desired(text, {}, "r", None, NAMESPACES)
    [stack] = state.stacks.values()
    return {name: s.spec for name, s in stack.services.items()}


def test_the_canonical_spec_holds_endpoints_and_the_network_definition() -> None:
    specs = _specs(_text())
    back = specs["web"]["networks"]["back"]
    assert back["aliases"] == ["api", "api-v1"]  # sorted, deduplicated
    assert back["ipv4Address"] == "10.42.7.10"
    assert back["network"]["internal"] is True
    assert back["network"]["ipam"]["config"] == [
        {"subnet": "10.42.7.0/24", "ipRange": None, "gateway": "10.42.7.1", "auxAddresses": {}}
    ]
    assert back["network"]["labels"] == {"com.example.tier": "back"}
    assert specs["web"]["networks"]["front"]["priority"] == 5
    assert specs["client"]["networks"]["default"]["network"] is None  # the project network
    assert specs["client"]["links"] == ["web:weblink"]
    assert specs["loner"]["networkMode"] == "none" and specs["loner"]["networks"] == {}
    assert specs["plain"]["networks"] == canonical.DEFAULTS["networks"]


def test_a_service_without_network_options_keeps_the_config_hash_of_before() -> None:
    """Stacks that declare nothing run as before: the options at their default are left out of
    the hash, and `networks: [default]` is the same as saying nothing."""
    specs = _specs(_text())
    hashed = canonical.hashed(specs["plain"])
    assert not {"networks", "networkMode", "links"} & set(hashed)
    said = _specs(_text().replace("  plain:\n", "  plain:\n    networks: [default]\n"))
    assert canonical.config_hash(said["plain"]) == canonical.config_hash(specs["plain"])


def _actions(old: str, new: str) -> dict[str, Action]:
    result, _before, _after = plan_texts(old, new, policy=NAMESPACES)
    return {c.key.name: c.action for s in result.stacks for c in s.services}


def test_a_changed_alias_recreates_only_that_service() -> None:
    actions = _actions(_text(), _text(alias="api-v2"))
    assert actions["web"] is Action.RECREATE
    assert {n for n, a in actions.items() if a is not Action.NONE} == {"web"}


def test_a_changed_network_definition_recreates_the_services_on_it() -> None:
    actions = _actions(_text(), _text(internal="false"))
    assert actions["web"] is Action.RECREATE and actions["client"] is Action.RECREATE
    assert actions["plain"] is Action.NONE and actions["loner"] is Action.NONE


def test_a_service_in_another_ones_namespace_is_recreated_with_it() -> None:
    """Docker ties `service:client` to client's container: a new client needs a new sidecar."""
    old = _text()
    new = old.replace(
        "    networks: [back, default]\n", "    networks: {back: {aliases: [c2]}, default: }\n"
    )
    actions = _actions(old, new)
    assert actions["client"] is Action.RECREATE and actions["sidecar"] is Action.RECREATE
    assert actions["loner"] is Action.NONE
    assert _specs(old)["sidecar"]["networkPeer"] != _specs(new)["sidecar"]["networkPeer"]


def test_the_plan_names_the_networks_field() -> None:
    result, _b, _a = plan_texts(_text(), _text(alias="api-v2"), policy=NAMESPACES)
    [web] = [c for s in result.stacks for c in s.services if c.key.name == "web"]
    assert web.fields == ("networks",)
    assert "networks" in render(result, PlanFormat.TEXT)


@pytest.mark.parametrize(
    ("change", "where", "words"),
    [
        ("networks: [back, default]", "/services/client/networks/back", "not declared"),
        ("networkMode: service:client", "/services/sidecar/networkMode", "itself"),
        ('links: ["web:weblink"]', "/services/client/links", "no service"),
    ],
)
def test_native_network_references_are_located_errors(change: str, where: str, words: str) -> None:
    text = _text()
    if "back" in change:
        text = text.replace("  back:\n    internal", "  bick:\n    internal")
        text = text.replace("      back: {aliases", "      bick: {aliases")
    elif "service:client" in change:
        text = text.replace("  sidecar:\n", "  client2:\n    image: busybox:1.36\n  sidecar:\n")
        text = text.replace("  client:\n", "  client:\n    networkMode: service:client\n", 1)
        text = text.replace("    networks: [back, default]\n    links", "    links")
        where = "/services/client/networkMode"
    else:
        text = text.replace("  web:\n", "  webx:\n")
    manifests = read_manifests([File("nets.yaml", text.encode())], {}, policy=NAMESPACES)
    found = [(p.pointer, p.message) for p in manifests.errors]
    assert any(p == where and words in m for p, m in found), found
    assert all(p.position.line > 0 for p in manifests.errors)


def test_a_static_address_outside_the_subnet_is_a_located_error() -> None:
    text = _text().replace("ipv4Address: 10.42.7.10", "ipv4Address: 10.9.9.9")
    manifests = read_manifests([File("nets.yaml", text.encode())], {}, policy=NAMESPACES)
    [problem] = manifests.errors
    assert problem.pointer == "/services/web/networks/back/ipv4Address"
    assert "subnet" in problem.message and problem.position.line == 7


def test_two_services_on_one_static_address_is_a_located_error() -> None:
    text = _text().replace(
        "    networks: [back, default]\n", "    networks: {back: {ipv4Address: 10.42.7.10}}\n"
    )
    manifests = read_manifests([File("nets.yaml", text.encode())], {}, policy=NAMESPACES)
    [problem] = manifests.errors
    assert problem.pointer == "/services/client/networks/back/ipv4Address"
    assert "already the address of 'web'" in problem.message


def test_the_name_of_a_network_syncd_creates_is_a_warning() -> None:
    """Mapping D30: syncd names what it creates per instance; a `name` is not used, and says so."""
    text = _text().replace("  front: {}\n", "  front: {name: shared-front}\n")
    manifests = read_manifests([File("nets.yaml", text.encode())], {}, policy=NAMESPACES)
    assert not manifests.errors
    [warning] = [w for w in manifests.warnings if w.pointer == "/networks/front/name"]
    assert "external" in warning.message and warning.position.line > 0


def test_links_and_a_shared_namespace_that_go_round_are_a_cycle() -> None:
    text = _text().replace(
        "  web:\n    image: busybox:1.36\n",
        "  web:\n    image: busybox:1.36\n    links: [client]\n",
    )
    manifests = read_manifests([File("nets.yaml", text.encode())], {}, policy=NAMESPACES)
    assert any("cycle" in p.message for p in manifests.errors), manifests.errors


@pytest.mark.parametrize(
    ("fragment", "message"),
    [
        ("networkMode: container:abc", "container"),
        ("networkMode: other", "none, host, bridge"),
        ("networks: {back: {macAddress: 02:42:ac:11:00:02}}", "macAddress"),
        ("networks: {back: {ipv4Address: 10.42.7.300}}", "IPv4"),
        ("links: ['web:bad alias']", "link"),
        ("networkMode: service:web\n    ports: ['8080:80/tcp']", "publish them on 'web'"),
    ],
)
def test_native_values_that_cannot_be_honoured_are_refused(fragment: str, message: str) -> None:
    text = _text().replace(
        "  plain:\n    image: busybox:1.36\n",
        f"  plain:\n    image: busybox:1.36\n    {fragment}\n",
    )
    with pytest.raises(ManifestError) as err:
        desired(text, {}, "r", None, NAMESPACES)
    assert any(message in p.message or message in p.pointer for p in err.value.problems)


def test_external_networks_take_only_a_name_and_reserved_labels_are_refused() -> None:
    with pytest.raises(ValueError, match="only 'name'"):
        Stack.model_validate(
            {
                "kind": "Stack",
                "project": "p",
                "networks": {"x": {"external": True, "internal": True}},
            }
        )
    with pytest.raises(ValueError, match="syncd's own"):
        Stack.model_validate(
            {
                "kind": "Stack",
                "project": "p",
                "networks": {"x": {"labels": {"syncd.instance": "a"}}},
            }
        )


# --- Compose ----------------------------------------------------------------------------------

COMPOSE = """\
name: cnets
services:
  web:
    image: busybox:1.36
    networks:
      back:
        aliases: [api]
        ipv4_address: 10.42.8.10
        {endpoint_extra}
  client:
    image: busybox:1.36
    links: [web, "web:weblink"]
    networks: [back, default]
  side:
    image: busybox:1.36
    network_mode: {mode}
networks:
  back:
    internal: true
    name: {name}
    ipam:
      config: [{{subnet: 10.42.8.0/24, ip_range: 10.42.8.0/25, aux_addresses: {{r: 10.42.8.200}}}}]
    driver_opts: {{com.docker.network.driver.mtu: 1400}}
    {network_extra}
"""


def _compose(**values: str) -> Any:
    fields = {
        "endpoint_extra": "",
        "mode": '"service:client"',
        "name": "cnets_back",
        "network_extra": "",
    }
    text = COMPOSE.format(**{**fields, **values})
    return read_manifests([File("cnets/compose.yaml", text.encode())], {}, policy=NAMESPACES)


def test_compose_networks_links_and_network_mode_are_carried() -> None:
    manifests = _compose()
    assert not manifests.errors, manifests.errors
    state = resolve_one(manifests)
    web, client, side = (state[n] for n in ("web", "client", "side"))
    assert web["networks"]["back"]["aliases"] == ["api"]
    assert web["networks"]["back"]["network"]["driverOpts"] == {
        "com.docker.network.driver.mtu": "1400"
    }
    assert web["networks"]["back"]["network"]["ipam"]["config"][0]["ipRange"] == "10.42.8.0/25"
    assert client["links"] == ["web", "web:weblink"]
    assert client["dependsOn"] == {"web": "service_started"}  # links are dependencies
    assert side["networkMode"] == "service:client" and side["dependsOn"] == {
        "client": "service_started"
    }
    [warning] = [w for w in manifests.warnings if "/networks/back/name" in w.pointer]
    assert "instance-scoped" in warning.message  # D30: syncd names what it creates


def resolve_one(manifests: Any) -> dict[str, dict[str, Any]]:
    [stack] = resolve(manifests, "r").stacks.values()
    return {n: s.spec for n, s in stack.services.items()}


@pytest.mark.parametrize(
    ("values", "where", "words"),
    [
        ({"endpoint_extra": "mac_address: 02:42:ac:11:00:02"}, "/mac_address", "1.44"),
        ({"endpoint_extra": "gw_priority: 1"}, "/gw_priority", "1.48"),
        ({"endpoint_extra": "interface_name: eth5"}, "/interface_name", "API"),
        ({"network_extra": "enable_ipv4: false"}, "/networks/back/enable_ipv4", "1.47"),
        ({"mode": "service:nobody"}, "/services/side/network_mode", "nobody"),
        ({"mode": "container:abc"}, "/services/side/network_mode", "did not create"),
    ],
)
def test_compose_values_this_host_cannot_honour_are_located_errors(
    values: dict[str, str], where: str, words: str
) -> None:
    manifests = _compose(**values)
    found = [(p.pointer, p.message) for p in manifests.errors]
    assert any(p.endswith(where) and words in m for p, m in found), found
    assert all(p.position.line > 0 for p in manifests.errors)


def test_compose_network_mode_bridge_is_a_warning() -> None:
    manifests = _compose(mode="bridge")
    assert not manifests.errors
    assert any(
        w.pointer == "/services/side/network_mode" and w.severity is Severity.WARNING
        for w in manifests.warnings
    )


def test_an_interpolated_network_value_is_redacted_in_the_plan() -> None:
    text = COMPOSE.format(endpoint_extra="", mode="none", name="x", network_extra="").replace(
        "aliases: [api]", "aliases: ['${ALIAS}']"
    )
    env = {"ALIAS": "s3cr3t-alias"}
    manifests = read_manifests([File("cnets/compose.yaml", text.encode())], env, policy=NAMESPACES)
    assert not manifests.errors, manifests.errors
    before = desired("kind: Stack\nproject: other\n", {}, "old", None)
    after = resolve(manifests, "new")
    [stack] = after.stacks.values()
    assert "/networks" in stack.services["web"].secrets
    result = plan(after, as_live(before), allow_empty=True)
    for fmt in PlanFormat:
        assert "s3cr3t-alias" not in render(result, fmt)


# --- the engine's view --------------------------------------------------------------------------


def test_connecting_order_names_and_endpoints() -> None:
    from syncd.engine.dockeropts.network import attachments, endpoint_kwargs, network_mode

    specs = _specs(_text())
    names = Names("blue")
    web = ServiceKey("nets", "default", "web")
    order = attachments(names, web, specs["web"])
    assert [a.key for a in order] == ["front", "back"]  # priority 5 first, then by key
    assert order[1].name.startswith("blue_nets_default_back_")
    changed = _specs(_text(internal="false"))
    assert attachments(names, web, changed["web"])[1].name != order[1].name  # a new network
    client = ServiceKey("nets", "default", "client")
    [back, default] = attachments(names, client, specs["client"])
    assert default.name == names.network("nets")
    kwargs = endpoint_kwargs(names, client, back, specs["client"]["links"])
    assert kwargs["links"] == [("blue_nets_default_web", "weblink")]
    assert kwargs["aliases"] == ["client"]
    side = ServiceKey("nets", "default", "sidecar")
    assert network_mode(names, side, specs["sidecar"]) == "container:blue_nets_default_client"
    assert attachments(names, side, specs["sidecar"]) == []
    assert (
        Names("default").stack_network(StackKey("p", "s"), "x", {"external": True, "name": "proxy"})
        == "proxy"
    )


@pytest.mark.parametrize("declared", ["{external: true, name: proxy}", "{external: {name: proxy}}"])
def test_a_declared_default_network_replaces_the_project_network(declared: str) -> None:
    """`networks: {default: {external: ...}}`: services that name no network join it."""
    text = (
        f"name: px\nservices:\n  app: {{image: busybox:1.36}}\nnetworks:\n  default: {declared}\n"
    )
    manifests = read_manifests([File("px/compose.yaml", text.encode())], {}, policy=NAMESPACES)
    assert not manifests.errors, manifests.errors
    spec = resolve_one(manifests)["app"]
    assert spec["networks"]["default"]["network"] == {"external": True, "name": "proxy"}
    names = Names("default")
    from syncd.engine.dockeropts.network import attachments

    [joined] = attachments(names, ServiceKey("px", "default", "app"), spec)
    assert joined.name == "proxy"
