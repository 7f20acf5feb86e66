"""The three paths the SIGKILL test (tests/killpoints.py) kills applies of: their manifests per
round and the containers each round's revision runs."""

from __future__ import annotations

from dataclasses import dataclass
from string import Template

IDLE = "touch /tmp/ready; trap 'exit 0' TERM; sleep 3600 & wait"  # stops at once on SIGTERM
SEED = "test -f /data/seed || cat /proc/sys/kernel/random/uuid > /data/seed"
HEALTH = "{test: [CMD, test, -f, /tmp/ready], interval: 1s, timeout: 1s, retries: 20}"

APPLY = """\
kind: Stack
project: crash
services:
  db:
    image: busybox:1.36
    command: [sh, -c, "$seed; $idle"]
    volumes: ["data:/data"]
    healthcheck: $health
    environment: {ROUND: "$round"}
  app:
    image: busybox:1.36
    command: [sh, -c, "$idle"]
    environment: {ROUND: "$round"}
    dependsOn: {db: service_healthy}
  side:
    image: busybox:1.36
    command: [sh, -c, "$idle"]
    environment: {ROUND: "$round"}
${extra}volumes:
  data: {}
"""
EXTRA = """\
  extra:
    image: busybox:1.36
    command: [sh, -c, "$idle"]
    environment: {ROUND: "$round"}
"""

ROLLBACK = """\
kind: Stack
project: back
services:
  web:
    image: busybox:1.36
    command: [sh, -c, "$seed; $idle"]
    volumes: ["data:/data"]
    ports: ["127.0.0.1:$port:8080"]
    healthcheck: $health
    environment: {ROUND: "$round", FIXED: "$fixed"}
volumes:
  data: {}
"""

START_FIRST = """\
name: first
services:
  web:
    image: busybox:1.36
    command: [sh, -c, "$seed; $idle"]
    volumes: ["data:/data"]
    healthcheck:
      test: [CMD, test, -f, /tmp/ready]
      interval: 1s
      timeout: 1s
      retries: 20
    environment: {ROUND: "$round"}
    deploy:
      replicas: 2
      update_config: {order: start-first}
volumes:
  data: {}
"""


@dataclass(frozen=True)
class Path:
    name: str
    file: str
    project: str
    holds_port: bool = False  # each round's new host port is held while the apply runs

    def text(self, round_: int, port: int = 0, *, fixed: bool = False) -> str:
        match self.name:
            case "apply":
                text, extra = APPLY, EXTRA if round_ % 2 else ""
            case "rollback":
                text, extra = ROLLBACK, ""
            case _:
                text, extra = START_FIRST, ""
        return Template(text).substitute(
            round=round_, port=port, fixed=int(fixed), seed=SEED, idle=IDLE, health=HEALTH,
            extra=Template(extra).substitute(idle=IDLE, round=round_),
        )  # fmt: skip

    def expected(self, round_: int) -> list[tuple[str, str]]:
        """(service, replica) of every container the revision of `round_` runs."""
        match self.name:
            case "apply":
                names = ["app", "db", "side"] + (["extra"] if round_ % 2 else [])
                return sorted((name, "1") for name in names)
            case "rollback":
                return [("web", "1")]
            case _:
                return [("web", "1"), ("web", "2")]

    def volume(self, instance: str) -> str:
        return f"{instance}_{self.project}_default_data"


PATHS = (
    Path("apply", "crash.yaml", "crash"),
    Path("rollback", "back.yaml", "back", holds_port=True),
    Path("start-first", "compose.yaml", "first"),
)
