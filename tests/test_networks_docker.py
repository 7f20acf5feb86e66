"""Networks on the real engine: one apply of a Compose stack with services on two networks of
its own (one `internal`, with an ipam subnet and a static address), aliases and a link resolved
from another container, `network_mode: none` and `service:`, and the project network for the
implicit `default`; the plan's canonical spec beside `docker inspect`; a changed alias
recreates only its service; the stack's networks go with the stack, an external one stays."""

from __future__ import annotations

import random
from typing import Any

import docker
import pytest

from syncd.core.plan import Action
from syncd.policy import Policy
from tests.engine_support import Deployment

pytestmark = pytest.mark.docker
LABEL_NETWORK = "syncd.network"  # a stack network's key (`engine.base`)

COMPOSE = """\
name: nets
services:
  web:
    image: busybox:1.36
    command: [sleep, "3600"]
    networks:
      back:
        aliases: [{alias}]
        ipv4_address: {prefix}.10
      front:
        priority: 10
        ipv6_address: "{v6}::10"
  client:
    image: busybox:1.36
    command: [sleep, "3600"]
    links: ["web:weblink"]
    networks: [back, default]
  loner:
    image: busybox:1.36
    command: [sleep, "3600"]
    network_mode: none
  sidecar:
    image: busybox:1.36
    command: [sleep, "3600"]
    network_mode: "service:client"
  outside:
    image: busybox:1.36
    command: [sleep, "3600"]
    networks: [shared]
networks:
  front:
    enable_ipv6: true
    ipam:
      config: [{{subnet: "{v6}::/64"}}]
  back:
    internal: true
    ipam:
      config:
        - subnet: {prefix}.0/24
          gateway: {prefix}.1
    labels: {{com.example.tier: {tier}}}
  shared:
    external: true
    name: {external}
"""

# The operator allows what these stacks ask for: `service:` namespaces, networks made outside.
WIDE = Policy.model_validate({"default": {"hostNamespaces": True, "externalNetworks": ["*"]}})


def _write(deployment: Deployment, **values: str) -> None:
    (deployment.repo / "nets").mkdir(exist_ok=True)
    (deployment.repo / "nets" / "compose.yaml").write_text(COMPOSE.format(**values))


def _networks(container: Any) -> dict[str, Any]:
    container.reload()
    found: dict[str, Any] = container.attrs["NetworkSettings"]["Networks"]
    return found


def _specs(result: Any) -> dict[str, dict[str, Any]]:
    return {c.key.name: c.desired.spec for s in result.plan.stacks for c in s.services if c.desired}


@pytest.fixture
def external(docker_client: docker.DockerClient, deployment: Deployment) -> Any:
    network = docker_client.networks.create(f"{deployment.instance}-ext", driver="bridge")
    try:
        yield network
    finally:
        network.reload()
        for container in network.containers:
            network.disconnect(container, force=True)
        network.remove()


def test_a_stack_on_its_own_networks(
    deployment: Deployment, docker_client: docker.DockerClient, external: Any
) -> None:
    deployment.policy = WIDE
    prefix = f"10.{random.randint(150, 250)}.{random.randint(0, 255)}"
    v6 = f"fd00:{random.randint(0x1000, 0xFFFF):x}:{random.randint(0x1000, 0xFFFF):x}:1"
    values = {
        "prefix": prefix,
        "alias": "api",
        "external": external.name,
        "tier": "back",
        "v6": v6,
    }
    _write(deployment, **values)
    result = deployment.sync()
    assert result.ok, (result.errors, [r.detail for r in result.failed])
    specs = _specs(result)
    back_spec = specs["web"]["networks"]["back"]
    assert back_spec["aliases"] == ["api"] and back_spec["ipv4Address"] == f"{prefix}.10"
    assert back_spec["network"]["internal"] is True
    assert specs["loner"]["networkMode"] == "none"
    back = _inspect_networks(deployment, docker_client, prefix)
    front = next(n for n in _networks(deployment.container("web")) if n != back)
    assert docker_client.networks.get(front).attrs["EnableIPv6"] is True
    assert _networks(deployment.container("web"))[front]["GlobalIPv6Address"] == f"{v6}::10"
    _resolve_names(deployment, prefix)
    _namespaces(deployment, prefix)
    external.reload()
    assert [c.name for c in external.containers] == [deployment.container("outside").name]

    # nothing changed: nothing recreated; a changed alias recreates only its service
    again = deployment.sync()
    assert {c.action for s in again.plan.stacks for c in s.services} == {Action.NONE}
    _write(deployment, **{**values, "alias": "api2"})
    changed = deployment.sync()
    assert changed.ok, changed.errors
    actions = {c.key.name: c.action for s in changed.plan.stacks for c in s.services}
    assert actions.pop("web") is Action.RECREATE
    assert actions.pop("client") is Action.START  # links: restart with web (compose-go)
    assert set(actions.values()) == {Action.NONE}
    assert "api2" in _networks(deployment.container("web"))[back]["Aliases"]

    # a changed definition of a network with a fixed subnet: a new network replaces it (Docker
    # refuses two networks on one subnet), the services on it are recreated onto it
    _write(deployment, **{**values, "alias": "api2", "tier": "back2"})
    moved = deployment.sync()
    assert moved.ok, (moved.errors, [r.detail for r in moved.failed])
    actions = {c.key.name: c.action for s in moved.plan.stacks for c in s.services}
    assert {n for n, a in actions.items() if a is Action.RECREATE} == {"web", "client", "sidecar"}
    web = _networks(deployment.container("web"))
    assert back not in web
    [new_back] = [
        n for n in web if docker_client.networks.get(n).attrs["Labels"].get(LABEL_NETWORK) == "back"
    ]
    assert docker_client.networks.get(new_back).attrs["Labels"]["com.example.tier"] == "back2"
    assert web[new_back]["IPAddress"] == f"{prefix}.10"
    assert back not in [n.name for n in docker_client.networks.list()]  # the old one is gone
    _namespaces(deployment, prefix, "api2")  # the sidecar followed the new client

    # the stack goes: its networks go, the external one stays
    (deployment.repo / "nets" / "compose.yaml").unlink()
    gone = deployment.sync(allow_empty=True)
    assert gone.ok, gone.errors
    mine = docker_client.networks.list(filters={"label": f"syncd.instance={deployment.instance}"})
    assert [n.name for n in mine if LABEL_NETWORK in (n.attrs["Labels"] or {})] == []
    external.reload()
    assert external.containers == []
    assert external.name in [n.name for n in docker_client.networks.list()]


def _inspect_networks(
    deployment: Deployment, docker_client: docker.DockerClient, prefix: str
) -> str:
    """`docker network inspect` of the networks syncd made, and the web container on them;
    the engine name of `back`."""
    web = _networks(deployment.container("web"))
    by_key = {docker_client.networks.get(n).attrs["Labels"].get(LABEL_NETWORK): n for n in web}
    assert set(by_key) == {"back", "front"}
    back = docker_client.networks.get(by_key["back"]).attrs
    assert back["Internal"] is True
    assert back["IPAM"]["Config"][0]["Subnet"] == f"{prefix}.0/24"
    assert back["Labels"]["com.example.tier"] == "back"
    assert back["Labels"]["syncd.instance"] == deployment.instance
    assert docker_client.networks.get(by_key["front"]).attrs["Internal"] is False
    assert web[by_key["back"]]["IPAddress"] == f"{prefix}.10"
    assert {"api", "web"} <= set(web[by_key["back"]]["Aliases"])
    client = _networks(deployment.container("client"))
    assert set(client) == {by_key["back"], deployment.engine.names.network("nets")}
    return by_key["back"]


def _resolve_names(deployment: Deployment, prefix: str) -> None:
    code, out = deployment.exec("client", "nslookup", "api")
    assert code == 0 and f"{prefix}.10" in out, out
    for name in ("api", "weblink"):  # an alias, and a link seen from this container only
        code, out = deployment.exec("client", "ping", "-c", "1", "-W", "3", name)
        assert code == 0, (name, out)
    code, out = deployment.exec("web", "nslookup", "weblink")
    assert code != 0, out  # the link is the client's alone


def _namespaces(deployment: Deployment, prefix: str, alias: str = "api") -> None:
    loner = deployment.container("loner")
    assert loner.attrs["HostConfig"]["NetworkMode"] == "none"
    assert set(_networks(loner)) == {"none"}
    sidecar = deployment.container("sidecar")
    client = deployment.container("client")
    mode = sidecar.attrs["HostConfig"]["NetworkMode"]
    assert mode in (f"container:{client.name}", f"container:{client.id}")
    code, out = deployment.exec("sidecar", "nslookup", alias)  # in the client's namespace
    assert code == 0 and f"{prefix}.10" in out, out


def test_an_external_network_must_exist_and_be_made_outside_syncd(
    deployment: Deployment, docker_client: docker.DockerClient
) -> None:
    """Missing: the service fails with what to do. Made by syncd (another project's network,
    here one of another instance): refused, so a pusher cannot join a stack it does not own."""
    deployment.policy = WIDE
    name = f"{deployment.instance}-ext"
    _write(deployment, prefix="10.149.3", alias="api", external=name, tier="b", v6="fd00:9:9:9")
    result = deployment.sync()
    failed = {r.key.name: r.detail for r in result.failed}
    assert "external" in failed["outside"] and "docker network create" in failed["outside"]
    assert "web" not in failed and "client" not in failed
    labels = {"syncd.instance": "other", "syncd.project": "shop"}
    foreign = docker_client.networks.create(name, driver="bridge", labels=labels)
    try:
        again = deployment.sync()
        failed = {r.key.name: r.detail for r in again.failed}
        assert "made outside syncd" in failed["outside"], failed
        foreign.reload()
        assert foreign.containers == []
    finally:
        foreign.remove()


PINNED = """\
name: pinned
services:
  pinned:
    image: busybox:1.36
    command: [sleep, "3600"]
    networks:
      default: {{priority: 5}}
      shared: {{ipv4_address: "{address}"}}
networks:
  shared: {{external: true, name: {external}}}
"""


def test_a_container_that_cannot_join_all_its_networks_is_not_left_behind(
    deployment: Deployment, docker_client: docker.DockerClient
) -> None:
    """The second network is connected after create (API 1.41): when Docker refuses it (a
    static address on an external network without a configured subnet), the container goes."""
    deployment.policy = WIDE
    shared = docker_client.networks.create(f"{deployment.instance}-pin")
    try:
        (deployment.repo / "pinned").mkdir()
        text = PINNED.format(address="10.251.0.10", external=shared.name)
        (deployment.repo / "pinned" / "compose.yaml").write_text(text)
        result = deployment.sync()
        [failed] = result.failed
        assert failed.key.name == "pinned" and "subnet" in failed.detail, failed.detail
        assert deployment.containers(service="pinned") == []
    finally:
        shared.remove()
