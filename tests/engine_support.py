"""A throwaway syncd instance on the real Docker engine, for engine tests.

Each `Deployment` has its own instance name, data dir and manifest folder, counts the HTTP
requests syncd makes to Docker (writes = anything but GET/HEAD), and removes every object of its
instance afterwards.
"""

from __future__ import annotations

import contextlib
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
from syncd.engine.base import LABEL_INSTANCE, LABEL_SERVICE
from syncd.engine.docker import API_VERSION, DockerEngine
from syncd.manifests import read_manifests
from syncd.policy import BUILTIN, Policy
from syncd.settings import Settings
from syncd.source.reader import read_directory


class Deployment:
    def __init__(self, root: Path, client: docker.DockerClient, env: dict[str, str] | None = None):
        self.instance = "t" + secrets.token_hex(4)
        self.repo = root / "repo"
        self.repo.mkdir(parents=True, exist_ok=True)
        self.settings = Settings(
            data_dir=root / "data",
            instance=self.instance,
            health_timeout=30,
            stop_timeout=2,
            rollback_grace=0.5,  # a replacing container proves itself quickly in tests
        )
        self.client = client
        self.env = dict(env or {})
        self.policy: Policy = BUILTIN  # the operator's policy (`--policy`); a test may widen it
        self.requests: Counter[str] = Counter()
        self._api = docker.APIClient(version=API_VERSION)
        self._api.hooks["response"].append(self._count)
        self.engine = DockerEngine(self.instance, "127.0.0.1", self._api)
        self.store = Store(self.settings.state_file)
        self.reconciler = Reconciler(self.settings, self.engine, self.store, self.env)

    def cli_args(self, repo: Path, *extra: str) -> list[str]:
        """`--repo`, `--data-dir` and `--instance` of this deployment for a `syncd` command."""
        return [
            "--repo", str(repo), "--data-dir", str(self.settings.data_dir),
            "--instance", self.instance, *extra,
        ]  # fmt: skip

    def _count(self, response: requests.Response, *args: Any, **kwargs: Any) -> None:
        self.requests[str(response.request.method)] += 1

    @property
    def writes(self) -> int:
        return sum(n for method, n in self.requests.items() if method not in ("GET", "HEAD"))

    def write(self, name: str, text: str) -> None:
        (self.repo / name).write_text(textwrap.dedent(text))

    def remove(self, name: str) -> None:
        (self.repo / name).unlink()

    def sync(self, *, allow_empty: bool = False) -> SyncResult:
        self.requests.clear()
        snap = read_directory(str(self.repo), [])
        manifests = read_manifests(snap.files, self.env, problems=snap.problems, policy=self.policy)
        assert not manifests.errors, [str(p) for p in manifests.errors]
        result = self.reconciler.sync(manifests, "r1", allow_empty=allow_empty)
        return result

    def containers(self, **labels: str) -> list[Any]:
        filters = [f"{LABEL_INSTANCE}={self.instance}"] + [
            f"syncd.{k}={v}" for k, v in labels.items()
        ]
        found = self.client.containers.list(
            all=True, filters={"label": filters}, ignore_removed=True
        )
        return list(found)  # (a container removed between listing and inspecting is skipped)

    def container(self, service: str) -> Any:
        found = self.containers(service=service)
        assert len(found) == 1, f"{len(found)} containers for {service}"
        return found[0]

    def ids(self) -> dict[str, str]:
        return {c.labels[LABEL_SERVICE]: c.id for c in self.containers()}

    def exec(self, service: str, *cmd: str) -> tuple[int, str]:
        code, out = self.container(service).exec_run(list(cmd))
        return code, out.decode(errors="replace")

    def cleanup(self) -> None:
        self.store.close()
        label = {"label": [f"{LABEL_INSTANCE}={self.instance}"]}
        # A process killed mid-request (tests/killpoints.py) may leave a create that dockerd
        # finishes after the listing: a network then still has an endpoint. List again, a few
        # times, until nothing of the instance is left.
        for attempt in range(20):
            try:
                for container in self.client.containers.list(all=True, filters=label):
                    with contextlib.suppress(docker.errors.NotFound):
                        container.remove(force=True)
                for volume in self.client.volumes.list(filters=label):
                    with contextlib.suppress(docker.errors.NotFound):
                        volume.remove(force=True)
                for network in self.client.networks.list(filters=label):
                    with contextlib.suppress(docker.errors.NotFound):
                        network.remove()
            except docker.errors.APIError:  # in use by a late container ("active endpoints")
                if attempt == 19:
                    raise
                time.sleep(0.25)
                continue
            break
        self._api.close()
