"""`syncd history`: the latest syncs, newest first (time, revision, trigger, outcome,
duration, and where a failed one failed). Through the daemon's API (`/v2/syncd/syncs`) or, on the
host, from the instance's state store (the daemon records them; `syncd apply` does not)."""

from __future__ import annotations

import argparse
import json
from typing import Any

from syncd import settings
from syncd.cli import client, status
from syncd.cli.liveplan import shown
from syncd.cli.overview import columns, iso, short, when
from syncd.errors import ExitCode

HEADER = ("TIME", "REVISION", "TRIGGER", "OUTCOME", "DURATION", "")


def add_parser(sub: Any) -> None:
    parser = sub.add_parser(
        "history",
        help="the latest syncs: time, revision, trigger, outcome, duration",
        description="The daemon's latest syncs, newest first. With --api (SYNCD_API) the "
        "running daemon answers; without, the instance's state store on this host.",
    )
    status.add_read_args(parser)
    parser.add_argument("--limit", type=int, default=20, help="how many (default: 20)")
    parser.add_argument("--format", default="text", choices=["text", "json"])
    parser.set_defaults(func=cmd_history)


def _count(value: object) -> int:
    """How often the same failure repeated: a whole number of at least 1, whatever was sent."""
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 1 else 1


def entry(row: dict[str, Any]) -> dict[str, Any]:
    """One sync in `syncd history --format json`'s shape (times in ISO 8601), from an API row
    (unix seconds or ISO strings, `started_at` or `startedAt`)."""
    started = when(row.get("startedAt", row.get("started_at")))
    duration = row.get("duration")
    return {
        "id": row.get("id"),
        "startedAt": iso(started),
        "revision": row.get("revision"),
        "trigger": row.get("trigger"),
        "outcome": row.get("result"),
        "stage": row.get("stage"),
        "error": row.get("error"),
        "durationSeconds": duration if isinstance(duration, int | float) else None,
        "count": _count(row.get("count")),
        "lastSeen": iso(when(row.get("lastSeen")) or started),
        "summary": row.get("summary") or {},
    }


def rows(args: argparse.Namespace) -> list[dict[str, Any]]:
    limit = max(1, min(args.limit, 1000))
    if (api := status.api_of(args)) is not None:
        from syncd.cli.statusapi import get

        token = client.token(args.token_file, "SYNCD_READ_TOKEN")
        answer = get(api, f"/v2/syncd/syncs?limit={limit}", token)
        return [entry(r) for r in answer if isinstance(r, dict)] if isinstance(answer, list) else []
    from syncd.cli.statushost import opened

    with opened(settings.from_args(args)) as (_, store):
        return [entry(r.as_json()) for r in store.syncs(limit)] if store else []


def cmd_history(args: argparse.Namespace) -> ExitCode:
    found = rows(args)
    if args.format == "json":
        print(json.dumps(found, indent=2))
        return ExitCode.OK
    for line in columns([HEADER, *(_cells(e) for e in found)]):
        print(line)
    if not found:
        print("no syncs recorded yet")
    return ExitCode.OK


def _cells(e: dict[str, Any]) -> tuple[str, ...]:
    started = str(e["startedAt"] or "-").replace("T", " ")[:19]
    duration = e["durationSeconds"]
    took = f"{duration:.1f}s" if isinstance(duration, int | float) else "-"
    outcome = str(e["outcome"]) + (f" x{e['count']}" if e["count"] > 1 else "")
    why = f"{e['stage']}: {e['error']}" if e["error"] else ""
    rev = e["revision"] if isinstance(e["revision"], str) else None
    return tuple(shown(c) for c in (started, short(rev), str(e["trigger"]), outcome, took, why))
