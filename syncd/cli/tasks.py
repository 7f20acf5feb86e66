"""`syncd service` and `syncd volume`: operational tasks, through the running daemon's API
(`--api`) or, for `stop` and `start` without one, on the engine directly."""

from __future__ import annotations

import argparse
import os

from syncd import settings
from syncd.apply.reconcile import Reconciler
from syncd.cli import client
from syncd.errors import ExitCode, SyncdError
from syncd.ids import ServiceKey


def service_key(text: str) -> ServiceKey:
    parts = text.split("/")
    if len(parts) == 2:
        parts.insert(1, "default")
    if len(parts) != 3 or not all(parts):
        raise SyncdError(
            f"{text!r} is not a service: give project/stack/service (or project/service)"
        )
    return ServiceKey(*parts)


def _through_daemon(args: argparse.Namespace, method: str, path: str) -> ExitCode | None:
    """Ask the running daemon (`--api`/SYNCD_API) for an operational task; None: no daemon."""
    api = args.api or os.environ.get("SYNCD_API")
    if not api:
        return None
    token = client.token(args.token_file, "SYNCD_ADMIN_TOKEN")
    answer = client.call(api, method, path, token, timeout=60)
    if answer.status >= 400:
        raise SyncdError(
            f"the daemon answered {answer.status}: {answer.message()}"
        ) from answer.error
    return ExitCode.OK


def cmd_service(args: argparse.Namespace) -> ExitCode:
    key = service_key(args.service)
    path = f"/v2/stacks/{key.stack_key.id}/services/{key.name}/actions/{args.action}"
    if _through_daemon(args, "POST", path) is not None:
        print(f"{key}: {args.action} done by the daemon")
        return ExitCode.OK
    if args.action not in ("stop", "start"):
        raise SyncdError(f"'{args.action}' needs the running daemon: give --api URL")
    with Reconciler.open(settings.from_args(args), {}) as rec:  # reads no manifest variable
        if args.action == "stop":
            rec.operator_stop(key)
            print(f"{key}: stopped; self-heal leaves it stopped until `syncd service start {key}`")
        else:
            rec.operator_start(key)
            print(f"{key}: started; self-heal looks after it again")
    return ExitCode.OK


def cmd_volume(args: argparse.Namespace) -> ExitCode:
    key = service_key(args.volume)  # project/[stack/]name, as for services
    path = f"/v2/stacks/{key.stack_key.id}/volumes/{key.name}"
    if _through_daemon(args, "DELETE", path) is None:
        raise SyncdError("deleting a volume goes through the running daemon: give --api URL")
    print(f"volume {key}: deleted, with its data")
    return ExitCode.OK
