"""Issue 13's rare keys on the real engine: `pid` / `ipc` `service:x` share x's namespaces (and
a new x container brings a new one); a seccomp profile from git reaches HostConfig.SecurityOpt
and a changed profile recreates; a host port range and an SCTP port are bound."""

from __future__ import annotations

import random
from typing import Any

import pytest

from syncd.core.desired import resolve
from syncd.core.plan import Action
from syncd.core.runspec import container_request
from syncd.manifests import read_manifests
from syncd.policy import Policy
from syncd.source.reader import read_directory
from tests.engine_support import Deployment

pytestmark = pytest.mark.docker

SHARING = """\
name: rare
services:
  db:
    image: busybox:1.36
    command: [sleep, "{sleep}"]
    ipc: shareable
  app:
    image: busybox:1.36
    command: [sleep, "3600"]
    pid: service:db
    ipc: service:db
"""
NAMESPACES = Policy.model_validate({"default": {"hostNamespaces": True}})


def _write(deployment: Deployment, name: str, text: str) -> None:
    (deployment.repo / "rare").mkdir(exist_ok=True)
    (deployment.repo / "rare" / name).write_text(text)


def _actions(result: Any) -> dict[str, Action]:
    return {c.key.name: c.action for s in result.plan.stacks for c in s.services}


def _request(deployment: Deployment, service: str) -> Any:
    snap = read_directory(str(deployment.repo), [])
    manifests = read_manifests(snap.files, {}, policy=deployment.policy)
    assert not manifests.errors, [str(p) for p in manifests.errors]
    [stack] = resolve(manifests, "r1", None).stacks.values()
    return container_request(
        stack.services[service],
        instance=deployment.instance,
        revision="r1",
        files=lambda project, path: path,
    )


def _namespace(deployment: Deployment, service: str, kind: str) -> str:
    code, out = deployment.exec(service, "readlink", f"/proc/self/ns/{kind}")
    assert code == 0, out
    return out.strip()


def test_pid_and_ipc_of_another_service(deployment: Deployment) -> None:
    deployment.policy = NAMESPACES
    _write(deployment, "compose.yaml", SHARING.format(sleep=3600))
    result = deployment.sync()
    assert result.ok, (result.errors, [r.detail for r in result.failed])
    db, app = deployment.container("db"), deployment.container("app")
    assert app.attrs["HostConfig"]["PidMode"] == f"container:{db.id}"  # resolved by Docker
    assert app.attrs["HostConfig"]["IpcMode"] == f"container:{db.id}"
    for kind in ("pid", "ipc"):
        assert _namespace(deployment, "app", kind) == _namespace(deployment, "db", kind)
    assert _namespace(deployment, "app", "pid") != _namespace(deployment, "app", "net")
    code, out = deployment.exec("app", "ps")
    assert code == 0 and "sleep 3600" in out and out.count("sleep") >= 2, out  # db's process too

    # a new db container: app follows it into the new namespaces
    _write(deployment, "compose.yaml", SHARING.format(sleep=3601))
    again = deployment.sync()
    assert again.ok, (again.errors, [r.detail for r in again.failed])
    assert _actions(again) == {"db": Action.RECREATE, "app": Action.RECREATE}
    for kind in ("pid", "ipc"):
        assert _namespace(deployment, "app", kind) == _namespace(deployment, "db", kind)


SECCOMP = """\
name: rare
services:
  web:
    image: busybox:1.36
    command: [sleep, "3600"]
    security_opt: ["seccomp=./profiles/web.json"]
"""
PROFILE = (
    '{"defaultAction": "SCMP_ACT_ALLOW", '
    '"syscalls": [{"names": ["mkdir", "mkdirat"], "action": "%s"}]}'
)
PROFILE_POLICY = Policy.model_validate(
    {"default": {"securityOpt": ["seccomp=./profiles/web.json"]}}
)


def _profile(deployment: Deployment, action: str) -> str:
    text = PROFILE % action
    (deployment.repo / "rare" / "profiles").mkdir(parents=True, exist_ok=True)
    (deployment.repo / "rare" / "profiles" / "web.json").write_text(text)
    return text


def test_a_seccomp_profile_from_the_repository(deployment: Deployment) -> None:
    deployment.policy = PROFILE_POLICY
    _write(deployment, "compose.yaml", SECCOMP)
    denying = _profile(deployment, "SCMP_ACT_ERRNO")
    result = deployment.sync()
    assert result.ok, (result.errors, [r.detail for r in result.failed])
    web = deployment.container("web")
    assert web.attrs["HostConfig"]["SecurityOpt"] == [f"seccomp={denying}"]
    code, out = deployment.exec("web", "mkdir", "/tmp/blocked")
    assert code != 0 and "not permitted" in out, out  # the profile is in force

    # the same file, new content: a new container under the new profile
    allowing = _profile(deployment, "SCMP_ACT_ALLOW")
    again = deployment.sync()
    assert again.ok, (again.errors, [r.detail for r in again.failed])
    [change] = [c for s in again.plan.stacks for c in s.services]
    assert change.action is Action.RECREATE
    assert change.fields == ("seccompProfile (rare/profiles/web.json changed)",)
    web = deployment.container("web")
    assert web.attrs["HostConfig"]["SecurityOpt"] == [f"seccomp={allowing}"]
    code, out = deployment.exec("web", "mkdir", "/tmp/allowed")
    assert code == 0, out


GPUS = """\
name: rare
services:
  train:
    image: busybox:1.36
    command: [sleep, "3600"]
    gpus:
      - driver: nvidia
        count: 2
        capabilities: [utility]
    deploy:
      resources:
        reservations:
          devices:
            - {capabilities: [gpu, compute], device_ids: ["0"]}
"""


def test_gpu_requests_reach_the_engine(deployment: Deployment) -> None:
    """This host has no GPU runtime: the container is created (Docker checks device drivers at
    start) and `docker inspect` shows the requests; starting it fails with the engine's error."""
    deployment.policy = Policy.model_validate({"default": {"devices": True}})
    _write(deployment, "compose.yaml", GPUS)
    request = _request(deployment, "train")
    container_id = deployment.engine.create(request)
    try:
        found = deployment.client.api.inspect_container(container_id)["HostConfig"]
        assert found["DeviceRequests"] == [
            {"Driver": "", "Count": 0, "DeviceIDs": ["0"], "Capabilities": [["compute", "gpu"]],
             "Options": {}},
            {"Driver": "nvidia", "Count": 2, "DeviceIDs": [], "Capabilities": [["gpu", "utility"]],
             "Options": {}},
        ]  # fmt: skip
    finally:
        deployment.engine.remove(container_id)
    result = deployment.sync()  # the engine refuses to start it: a failed service, no traceback
    assert not result.ok
    [failed] = result.failed
    assert failed.key.name == "train" and "device driver" in failed.detail, failed.detail


PORTS = """\
name: rare
services:
  web:
    image: busybox:1.36
    command: [sleep, "3600"]
    ports: ["{first}-{last}:80"]
    deploy: {{replicas: 2}}
  signal:
    image: busybox:1.36
    command: [sleep, "3600"]
    ports: ["{sctp}:5000/sctp"]
    expose: ["6000/sctp"]
"""


def test_a_host_port_range_and_an_sctp_port(deployment: Deployment) -> None:
    """Two replicas publish one range (Docker picks a free port of it for each). This host's
    kernel has no SCTP for Docker's proxy: the SCTP binding is checked on the created
    container, and starting it is a failed service with the engine's reason."""
    first = random.randrange(20000, 40000, 20)
    values = {"first": first, "last": first + 9, "sctp": first + 15}
    _write(deployment, "compose.yaml", PORTS.format(**values))
    request = _request(deployment, "signal")
    container_id = deployment.engine.create(request)
    try:
        found = deployment.client.api.inspect_container(container_id)
        assert found["HostConfig"]["PortBindings"] == {
            "5000/sctp": [{"HostIp": "127.0.0.1", "HostPort": str(first + 15)}],
        }
        assert set(found["Config"]["ExposedPorts"]) == {"5000/sctp", "6000/sctp"}
    finally:
        deployment.engine.remove(container_id)

    result = deployment.sync()
    assert [r.key.name for r in result.failed] in ([], ["signal"])  # SCTP: the kernel's say
    replicas = deployment.containers(service="web")
    assert len(replicas) == 2
    picked = set()
    for web in replicas:
        assert web.attrs["HostConfig"]["PortBindings"] == {
            "80/tcp": [{"HostIp": "127.0.0.1", "HostPort": f"{first}-{first + 9}"}],
        }
        [tcp] = web.attrs["NetworkSettings"]["Ports"]["80/tcp"]
        assert first <= int(tcp["HostPort"]) <= first + 9  # one port of the range
        picked.add(tcp["HostPort"])
    assert len(picked) == 2  # each replica its own
    again = deployment.sync()
    assert _actions(again)["web"] is Action.NONE  # the picked port is no change
