"""A throwaway syncd instance on the shared Swarm cluster, for the Swarm apply tests and bench.

`swarm_manager()` is the one place that finds the cluster (`/tmp/syncd-swarm/env`, written by
the swarm recipe; swap it for the `swarm` fixture of `tests.swarmnodes` once that exists).
Each `SwarmDeployment` has its own instance name, data dir and repo folder, counts the HTTP
requests syncd makes to the manager (writes = anything but GET/HEAD), and removes every
service, config, secret, network and (on every node) volume of its instance afterwards.
"""

from __future__ import annotations

import contextlib
import re
import secrets
import textwrap
import time
from collections import Counter
from pathlib import Path
from typing import Any

import docker
import docker.errors
import requests

from syncd.apply.reconcile import Reconciler, SyncResult
from syncd.apply.store import Store
from syncd.engine.base import LABEL_INSTANCE
from syncd.engine.client import API_VERSION
from syncd.engine.swarm import SwarmEngine
from syncd.manifests import read_manifests
from syncd.settings import EngineKind, Settings
from syncd.source.reader import read_directory

ENV_FILE = Path("/tmp/syncd-swarm/env")
NODES = ("unix:///run/swn1/docker.sock", "unix:///run/swn2/docker.sock",
         "unix:///run/swn3/docker.sock")  # fmt: skip


def swarm_manager() -> str | None:
    """The manager's DOCKER_HOST if the shared cluster is up, else None."""
    try:
        text = ENV_FILE.read_text()
    except OSError:
        return None
    found = re.search(r"DOCKER_HOST=(\S+)", text)
    if not found:
        return None
    try:
        client = docker.APIClient(base_url=found[1], version=API_VERSION, timeout=5)
        active = client.info().get("Swarm", {}).get("ControlAvailable")
        client.close()
    except (docker.errors.DockerException, requests.RequestException):
        return None
    return found[1] if active else None


class SwarmDeployment:
    def __init__(self, root: Path, host: str, *, deploy_timeout: float = 90.0) -> None:
        self.instance = "sw" + secrets.token_hex(4)
        self.host = host
        self.repo = root / "repo"
        self.repo.mkdir(parents=True, exist_ok=True)
        self.settings = Settings(
            data_dir=root / "data",
            instance=self.instance,
            engine=EngineKind.SWARM,
            docker_host=host,
            deploy_timeout=deploy_timeout,
            stop_timeout=2,
        )
        self.requests: Counter[str] = Counter()
        self.api = docker.APIClient(base_url=host, version=API_VERSION)
        self.api.hooks["response"].append(self._count)
        self.engine = SwarmEngine(self.instance, self.api)
        self.store = Store(self.settings.state_file)
        self.reconciler = Reconciler(self.settings, self.engine, self.store, {})
        self.admin = docker.APIClient(base_url=host, version=API_VERSION)  # uncounted

    def _count(self, response: requests.Response, *args: Any, **kwargs: Any) -> None:
        self.requests[str(response.request.method)] += 1

    @property
    def writes(self) -> int:
        return sum(n for method, n in self.requests.items() if method not in ("GET", "HEAD"))

    def write(self, name: str, text: str) -> None:
        path = self.repo / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text))

    def sync(self, revision: str = "r1", *, allow_empty: bool = False) -> SyncResult:
        self.requests.clear()
        snap = read_directory(str(self.repo), [])
        manifests = read_manifests(snap.files, {}, problems=snap.problems)
        assert not manifests.errors, [str(p) for p in manifests.errors]
        return self.reconciler.sync(manifests, revision, allow_empty=allow_empty)

    @property
    def _label(self) -> dict[str, list[str]]:
        return {"label": [f"{LABEL_INSTANCE}={self.instance}"]}

    def services(self) -> dict[str, dict[str, Any]]:
        """Service name -> inspect answer."""
        return {s["Spec"]["Name"]: s for s in self.admin.services(filters=self._label)}

    def service(self, suffix: str) -> dict[str, Any]:
        found = [s for name, s in self.services().items() if name.endswith(f"_{suffix}")]
        assert len(found) == 1, f"{len(found)} services named *_{suffix}"
        return found[0]

    def tasks(self, service_id: str, running: bool = True) -> list[dict[str, Any]]:
        filters: dict[str, Any] = {"service": service_id}
        if running:
            filters["desired-state"] = "running"
        return list(self.admin.tasks(filters=filters))

    def configs(self) -> list[str]:
        return sorted(c["Spec"]["Name"] for c in self.admin.configs(filters=self._label))

    def secrets(self) -> list[str]:
        return sorted(s["Spec"]["Name"] for s in self.admin.secrets(filters=self._label))

    def cleanup(self) -> None:
        self.store.close()
        for service in self.admin.services(filters=self._label):
            _quietly(self.admin.remove_service, service["ID"])
        for node in NODES:  # the tasks' containers, then their volumes
            self._clean_node(node)
        for config in self.admin.configs(filters=self._label):
            _quietly(self.admin.remove_config, config["ID"])
        for secret in self.admin.secrets(filters=self._label):
            _quietly(self.admin.remove_secret, secret["ID"])
        deadline = time.monotonic() + 20
        while self.admin.networks(filters=self._label) and time.monotonic() < deadline:
            for network in self.admin.networks(filters=self._label):
                _quietly(self.admin.remove_network, network["Id"])
            time.sleep(0.2)  # a network is busy until the nodes let their tasks go
        self.api.close()
        self.admin.close()

    def _clean_node(self, node: str) -> None:
        client = docker.APIClient(base_url=node, version=API_VERSION, timeout=5)
        try:
            for container in client.containers(all=True, filters=self._label):
                _quietly(client.remove_container, container["Id"], force=True)
            for volume in client.volumes(filters=self._label).get("Volumes") or []:
                _quietly(client.remove_volume, volume["Name"], force=True)
        except (docker.errors.DockerException, requests.RequestException):
            pass  # a node that is down (a failover test) keeps its leftovers
        finally:
            client.close()


def _quietly(fn: Any, *args: Any, **kwargs: Any) -> None:
    with contextlib.suppress(docker.errors.APIError):
        fn(*args, **kwargs)
