"""`syncd run` as a real process, on a free port, with its own instance and data dir."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx

from syncd.errors import ExitCode
from syncd.ids import project_id


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for(check: Callable[[], Any], timeout: float = 20.0, what: str = "condition") -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(0.05)


class RunningDaemon:
    def __init__(
        self,
        repo: str,
        data_dir: Path,
        instance: str,
        *extra: str,
        env: dict[str, str] | None = None,
    ) -> None:
        data_dir.mkdir(parents=True, exist_ok=True)
        self._args = (repo, data_dir, instance, extra, {**os.environ, **(env or {})})
        self._launch()

    def _launch(self) -> None:
        """On a port free a moment ago (another test's process may take it first: `started`
        launches again on another one when syncd says the port is taken)."""
        repo, data_dir, instance, extra, env = self._args
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = data_dir.parent / f"daemon-{instance}-{self.port}.log"
        command = [
            sys.executable, "-m", "syncd", "run", "--repo", repo,
            "--data-dir", str(data_dir), "--instance", instance,
            "--listen", f"127.0.0.1:{self.port}", "--stop-timeout", "2", "--rollback-grace", "0.5",
            *extra,
        ]  # fmt: skip
        self._log = self.log_path.open("w")
        self.process = subprocess.Popen(
            command, stdout=self._log, stderr=subprocess.STDOUT, env=env
        )
        self.http = httpx.Client(base_url=self.url, timeout=5)

    def started(self) -> RunningDaemon:
        def up() -> bool:
            if self.process.poll() is not None:
                raise AssertionError(f"syncd run exited {self.process.returncode}: {self.log()}")
            try:
                return self.http.get("/healthz").status_code in (200, 503)
            except httpx.HTTPError:
                return False

        for attempt in range(3):
            try:
                wait_for(up, 20, "the daemon's API")
            except AssertionError:
                if self.process.poll() != ExitCode.CANTCREAT or attempt == 2:
                    raise
                self.close()  # the port was taken meanwhile: another one
                self._launch()
                continue
            return self
        raise AssertionError("unreachable")

    def status(self) -> dict[str, Any]:
        answer: dict[str, Any] = self.http.get("/v2/syncd/daemon/status").json()
        return answer

    def only_service(self, project: str) -> dict[str, Any]:
        """The project's one service as `/v2` lists it, once the daemon has applied it."""
        services = f"/v2/projects/{project_id(project)}/services"
        [service] = wait_for(lambda: self.http.get(services).json(), 60, "the service")
        answer: dict[str, Any] = service
        return answer

    def logs(self, service: dict[str, Any], seen: str) -> str:
        """The service's `/v2` logs, once they hold `seen`."""
        url = f"/v2/stacks/{service['stackId']}/services/{service['id']}/logs"

        def ready() -> str | None:
            answer = self.http.get(url)
            return answer.text if answer.status_code == 200 and seen in answer.text else None

        text: str = wait_for(ready, 60, f"logs holding {seen!r}")
        return text

    def syncs(self) -> list[dict[str, Any]]:
        answer: list[dict[str, Any]] = self.http.get(
            "/v2/syncd/syncs", params={"limit": 1000}
        ).json()
        return answer

    def log(self) -> str:
        self._log.flush()
        return self.log_path.read_text(errors="replace")

    def terminate(self, timeout: float = 10.0) -> int:
        self.process.send_signal(signal.SIGTERM)
        return self.process.wait(timeout)

    def kill(self) -> None:
        self.process.kill()
        self.process.wait(10)

    def close(self) -> None:
        if self.process.poll() is None:
            self.kill()
        self.http.close()
        self._log.close()
