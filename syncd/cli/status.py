"""`syncd status`: one line per service across every project (state, health, revision, age),
problems first; exit 0 when everything is converged and healthy, 2 when not, 1 when it cannot
be told. Through the daemon's API (`--api` or SYNCD_API, `statusapi`) or, without one, from
Docker and the state store on this host (`statushost`)."""

from __future__ import annotations

import argparse
import json
import os
import sys
from typing import Any

from syncd import settings
from syncd.cli import client
from syncd.cli.overview import Overview, age, columns, short
from syncd.errors import ExitCode
from syncd.taint import printable

HEADER = ("SERVICE", "STATE", "HEALTH", "REVISION", "AGE", "")
RED, GREEN, YELLOW = "31", "32", "33"


def add_read_args(parser: argparse.ArgumentParser) -> None:
    """`--api`, `--token-file` (the read token) and the host's settings (`--instance`, ...)."""
    settings.add_arguments(parser)
    parser.add_argument(
        "--api", metavar="URL", help="ask the running daemon at URL (env: SYNCD_API)"
    )
    parser.add_argument(
        "--token-file", help="with --api: file holding the read token (or SYNCD_READ_TOKEN)"
    )


def api_of(args: argparse.Namespace) -> str | None:
    return args.api or os.environ.get("SYNCD_API") or None


def add_parser(sub: Any) -> None:
    parser = sub.add_parser(
        "status",
        help=f"one line per service, problems first; exit {ExitCode.OK} converged and healthy, "
        f"{ExitCode.CHANGES} not",
        description="One line per service of every project: state, health, revision and age, "
        "problems first. With --api (SYNCD_API) the running daemon answers; without, Docker and "
        "the instance's state store on this host. Exit codes: "
        f"{ExitCode.OK} everything converged and healthy, {ExitCode.CHANGES} not, "
        f"{ExitCode.ERROR} it cannot be told (daemon or Docker unreachable, bad token).",
    )
    add_read_args(parser)
    parser.add_argument("--format", default="text", choices=["text", "json"])
    parser.add_argument("--no-color", action="store_true", help="no colour (also: NO_COLOR)")
    parser.set_defaults(func=cmd_status)


def colored(args: argparse.Namespace) -> bool:
    return not args.no_color and "NO_COLOR" not in os.environ and sys.stdout.isatty()


def cmd_status(args: argparse.Namespace) -> ExitCode:
    if (api := api_of(args)) is not None:
        from syncd.cli import statusapi

        seen = statusapi.overview(api, client.token(args.token_file, "SYNCD_READ_TOKEN"))
    else:
        from syncd.cli import statushost

        seen = statushost.overview(settings.from_args(args))
    if args.format == "json":
        print(json.dumps(seen.as_json(), indent=2))
    else:
        print(render(seen, color=colored(args)))
    return ExitCode.OK if seen.ok else ExitCode.CHANGES


def paint(text: str, code: str, color: bool) -> str:
    return f"\x1b[{code}m{text}\x1b[0m" if color else text


def render(seen: Overview, *, color: bool = False) -> str:
    """The table for a terminal. Every text passes `printable` here, whoever built the rows: names
    and states come from the daemon's answer or from container labels, and none may move the
    cursor, retitle the window or reorder the line."""
    where = f"instance {printable(seen.instance or '?')}" + (
        " (from the daemon)" if seen.source == "api" else ""
    )
    lines = [f"{where}, applied {printable(short(seen.applied_revision))}"]
    for problem in seen.problems:
        lines.append(paint(f"problem: {printable(problem)}", RED, color))
    ordered = seen.ordered()
    rows = [HEADER] + [
        tuple(
            printable(cell)
            for cell in (
                r.key,
                r.state,
                r.health,
                short(r.revision),
                age(r.since, seen.at),
                r.message,
            )
        )
        for r in ordered
    ]
    header, *body = columns(rows)
    lines.append(header)
    for r, text in zip(ordered, body, strict=True):
        lines.append(paint(text, RED if r.problem else YELLOW if r.note else GREEN, color))
    for stack in sorted(seen.stacks, key=lambda s: s.key):
        if stack.problem is not None:
            lines.append(paint(printable(f"stack {stack.key}: {stack.problem}"), RED, color))
    bad = sum(1 for r in seen.services if r.problem)
    if seen.ok:
        lines.append(f"all {len(seen.services)} services converged and healthy")
    elif bad:
        lines.append(f"{bad} of {len(seen.services)} services need attention")
    else:
        lines.append("not converged: see the problems above")
    return "\n".join(lines)
