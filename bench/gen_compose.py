"""A generated, valid repository of Compose files of any size, for benchmarks.

`generate_compose_repo(root, stacks=100, services=10, projects=10)` writes one Compose file per
stack, `<project>/<stack>/compose.yaml` (x-syncd names the project and stack: stack n belongs to
project n % projects), written the way real Compose files are: an `x-` anchor merged with `<<`,
`${VAR:-default}` interpolation, string commands, list and map environments, published ports,
named volumes, healthchecks, `depends_on` with conditions, resource limits, a service that
`extends` one of a shared file, and service and volume names with `_` and `.`. Deterministic;
names are unique
per project and host ports across the repo, so the repo validates with zero errors.
"""

from __future__ import annotations

from pathlib import Path

PUBLIC_PORT_BASE = 30000
HEAD = """\
x-syncd: {{project: project-{project}, stack: stack-{stack}}}
x-common: &common
  restart: unless-stopped
  deploy:
    resources:
      limits: {{cpus: "0.5", memory: 256M}}
services:
  s{stack}-db:
    <<: *common
    image: postgres:16-alpine
    environment:
      POSTGRES_DB: ${{DB_NAME:-app}}
      POSTGRES_PASSWORD: ${{DB_PASSWORD:-change-me}}
    volumes: ["db_data.{stack}:/var/lib/postgresql/data"]
    healthcheck:
      test: ["CMD-SHELL", "pg_isready -U postgres"]
      interval: 10s
      timeout: 5s
      retries: 5
"""
SERVICE = """\
  s{stack}_app.{index}:
    <<: *common
    image: registry.example.com/team/app-{index}:1.{stack}.{index}
    command: sh -c "exec /app/server --port 8080 --workers {index}"
    environment:
      - TZ=Europe/Berlin
      - LOG_LEVEL=${{LOG_LEVEL:-info}}
      - DATABASE_URL=postgres://app@s{stack}-db:5432/app
      - WORKER={index}
    ports: ["{port}:8080"]
    volumes: ["app_cache.{stack}:/var/cache/app"]
    depends_on:
      s{stack}-db: {{condition: service_healthy}}
    healthcheck:
      test: ["CMD", "wget", "-qO-", "http://localhost:8080/health"]
      interval: 30s
      start_period: 20s
"""
WORKER = """\
  s{stack}-worker:
    extends: {{file: ../../common.yml, service: worker-base}}
    image: registry.example.com/team/worker:1.{stack}
    depends_on: [s{stack}-db]
"""
COMMON = """\
# Shared service definitions, used through `extends` (a data file beside the Compose files).
services:
  worker-base:
    image: registry.example.com/team/worker:latest
    command: ["/app/worker", "--queue", "default"]
    restart: on-failure
    environment: {TZ: Europe/Berlin, QUEUE: default}
    deploy:
      resources:
        limits: {cpus: "0.25", memory: 128M}
"""
TAIL = """\
volumes:
  db_data.{stack}: {{}}
  app_cache.{stack}: {{}}
"""


def compose_yaml(project: int, stack: int, services: int, first_port: int) -> str:
    """One Compose file of `services` services (a database, apps, and a worker extending one)."""
    body = [HEAD.format(project=project, stack=stack)]
    apps = max(1, services - 2)
    body += [SERVICE.format(stack=stack, index=i, port=first_port + i) for i in range(1, apps + 1)]
    if services > 2:
        body.append(WORKER.format(stack=stack))
    body.append(TAIL.format(stack=stack))
    return "".join(body)


def generate_compose_repo(
    root: Path, stacks: int = 100, services: int = 10, projects: int = 10
) -> None:
    root.mkdir(parents=True, exist_ok=True)
    (root / "common.yml").write_text(COMMON)
    for stack in range(stacks):
        project = stack % projects
        folder = root / f"project-{project}" / f"stack-{stack}"
        folder.mkdir(parents=True, exist_ok=True)
        port = PUBLIC_PORT_BASE + stack * services
        (folder / "compose.yaml").write_text(compose_yaml(project, stack, services, port))
