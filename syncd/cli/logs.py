"""`syncd logs PROJECT/[STACK/]SERVICE [--tail N] [-f]`: a service's recent log lines, and with
`-f` the new ones as they come until Ctrl-C (exit 0). Through the daemon's API
(`/v2/stacks/{stackId}/services/{name}/logs`, polled every second with `-f`; lines the daemon
knows to be secret are withheld there) or, on the host, from Docker (a followed stream).
An unknown service is an error that names the services there are."""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Iterator
from typing import Any

from syncd import settings
from syncd.cli import client, status
from syncd.cli.liveplan import shown
from syncd.cli.tasks import service_key
from syncd.errors import ExitCode, SyncdError
from syncd.ids import ServiceKey
from syncd.taint import redact_url

POLL = 1.0  # seconds between the API's answers with -f


def add_parser(sub: Any) -> None:
    parser = sub.add_parser(
        "logs",
        help="a service's recent log lines; -f follows them",
        description="A service's recent log lines (PROJECT/SERVICE for the default stack). With "
        "--api (SYNCD_API) the running daemon answers; without, Docker on this host. With -f, "
        "new lines follow until Ctrl-C (exit 0).",
    )
    status.add_read_args(parser)
    parser.add_argument("service", help="project/stack/service, or project/service")
    parser.add_argument("--tail", type=int, default=100, help="how many lines (default: 100)")
    parser.add_argument("-f", "--follow", action="store_true", help="follow new lines")
    parser.set_defaults(func=cmd_logs)


def cmd_logs(args: argparse.Namespace) -> ExitCode:
    key = service_key(args.service)
    tail = max(0, min(args.tail, 10_000))
    try:
        if (api := status.api_of(args)) is not None:
            _through_api(api, client.token(args.token_file, "SYNCD_READ_TOKEN"), key, tail, args)
        else:
            _on_host(key, tail, args)
    except KeyboardInterrupt:  # Ctrl-C ends -f: that is how it is meant to end
        return ExitCode.OK
    return ExitCode.OK


def _unknown(key: ServiceKey, known: list[str]) -> SyncdError:
    there = ", ".join(sorted(known)) if known else "none"
    return SyncdError(f"no service {key}; the services there are: {there}")


def _through_api(
    api: str, token: str | None, key: ServiceKey, tail: int, args: argparse.Namespace
) -> None:
    path = f"/v2/stacks/{key.stack_key.id}/services/{key.name}/logs?tail={tail}"
    lines = _api_lines(api, token, path, key)
    _write(lines)
    while args.follow:
        time.sleep(POLL)
        current = _api_lines(api, token, path, key)
        _write(new_lines(lines, current))
        lines = current


def _api_lines(api: str, token: str | None, path: str, key: ServiceKey) -> list[str]:
    answer = client.call(api, "GET", path, token, timeout=30)
    if answer.status == 404:
        from syncd.cli import statusapi

        raise _unknown(key, [r.key for r in statusapi.overview(api, token).services])
    if answer.status != 200:
        raise SyncdError(
            f"the daemon at {redact_url(api)} answered {answer.status}: {shown(answer.message())}"
        )
    text = answer.body.decode(errors="replace").rstrip("\n")
    return text.split("\n") if text else []


def new_lines(before: list[str], now: list[str]) -> list[str]:
    """The lines of `now` after its longest start that ends `before` (a window moved on)."""
    for overlap in range(min(len(before), len(now)), 0, -1):
        if now[:overlap] == before[-overlap:]:
            return now[overlap:]
    return now


def _write(lines: list[str]) -> None:
    for line in lines:
        print(shown(line), flush=True)


def _on_host(key: ServiceKey, tail: int, args: argparse.Namespace) -> None:
    from syncd.cli.statushost import opened
    from syncd.core.observe import observe
    from syncd.engine.docker import DockerEngine

    with opened(settings.from_args(args)) as (engine, _):
        seen = observe(engine.observe(), {})
        container = seen.containers.get(key)
        if container is None:
            raise _unknown(key, [str(k) for k in seen.containers])
        if not args.follow:
            text = engine.logs(container.id, tail)
            _write(text.rstrip("\n").split("\n") if text else [])
            return
        if not isinstance(engine, DockerEngine):
            raise SyncdError("-f on the host follows a Docker container's log: give --api URL")
        _stream(engine.follow_logs(container.id, tail))


def _stream(chunks: Iterator[bytes]) -> None:
    for chunk in chunks:
        sys.stdout.write(shown(chunk.decode(errors="replace")))
        sys.stdout.flush()
