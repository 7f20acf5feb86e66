"""`syncd pause` and `syncd resume`: hold (or release) what the daemon applies, for the whole
instance or named stacks. Through the running daemon's API (`--api`, admin token), or on the
host straight into the instance's state store, where a running daemon sees it within a second
(`daemon.pausing`). Both print the pause state afterwards."""

from __future__ import annotations

import argparse
import getpass
import os
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from syncd import settings, taint, timestamps
from syncd.apply.pauses import Pauses, hold, stack_key
from syncd.apply.results import Planned
from syncd.apply.store import Store
from syncd.cli import client
from syncd.errors import ExitCode, SyncdError


def add_parsers(sub: Any) -> None:
    for name, text in (
        ("pause", "hold every change (or those of --stack): drift and the plan are still shown"),
        ("resume", "lift a pause: the pending plan is applied at once"),
    ):
        parser = sub.add_parser(
            name,
            help=text,
            description=f"{text[0].upper()}{text[1:]}. With --api (SYNCD_API) the running daemon "
            "does it (admin token from SYNCD_ADMIN_TOKEN or --token-file); without, the "
            "instance's state store is written and a running daemon sees it within a second.",
        )
        settings.add_arguments(parser)
        parser.add_argument("--api", help="the running daemon, e.g. http://127.0.0.1:8080")
        parser.add_argument("--token-file", help="file holding the admin token")
        parser.add_argument(
            "--stack",
            action="append",
            default=[],
            metavar="PROJECT/STACK",
            help="only this stack; repeatable (default: the whole instance)",
        )
        if name == "pause":
            parser.add_argument("--reason", default="", help="why (shown in the status)")
            parser.set_defaults(func=cmd_pause)
        else:
            parser.add_argument(
                "--all", action="store_true", help="lift every pause: the instance's and stacks'"
            )
            parser.set_defaults(func=cmd_resume)


def _user() -> str:
    try:
        return getpass.getuser()[:60]
    except (KeyError, OSError):  # no name for this uid
        return f"uid {os.getuid()}"


def _through_daemon(args: argparse.Namespace, path: str, body: dict[str, Any]) -> Any:
    api = args.api or os.environ.get("SYNCD_API")
    if not api:
        return None
    token = client.token(args.token_file, "SYNCD_ADMIN_TOKEN")
    answer = client.call(api, "POST", path, token, body=body, timeout=60)
    if answer.status >= 400:
        raise SyncdError(
            f"the daemon answered {answer.status}: {answer.message()}"
        ) from answer.error
    data = answer.json()
    if not isinstance(data, dict):
        raise SyncdError("the daemon's answer is not a pause state")
    return data


def cmd_pause(args: argparse.Namespace) -> ExitCode:
    keys = [stack_key(s) for s in args.stack]  # checked before anything is asked
    body = {"stacks": [str(k) for k in keys], "reason": args.reason, "by": _user()}
    state = _through_daemon(args, "/v2/syncd/pause", body)
    if state is None:
        with _store(args) as pauses:
            state = pauses.pause(keys, f"cli:{_user()}", args.reason).as_json()
    print(describe(state))
    return ExitCode.OK


def cmd_resume(args: argparse.Namespace) -> ExitCode:
    keys = [stack_key(s) for s in args.stack]
    body = {"stacks": [str(k) for k in keys], "all": args.all}
    state = _through_daemon(args, "/v2/syncd/resume", body)
    if state is None:
        with _store(args) as pauses:
            state = pauses.resume(keys, everything=args.all).as_json()
    print(describe(state))
    return ExitCode.OK


@contextmanager
def _store(args: argparse.Namespace) -> Iterator[Pauses]:
    """The instance's pauses in its state store, on this host."""
    store = Store(settings.from_args(args).state_file)
    try:
        yield Pauses(store)
    finally:
        store.close()


def _when(at: Any) -> str:
    """An answer's moment (ISO 8601, or unix seconds from a daemon older than issue 18) as
    `2026-11-29 01:47:57 UTC`; `?` for anything else (`timestamps.parse`)."""
    moment = timestamps.parse(at)
    return "?" if moment is None else timestamps.utc_text(moment)


def _one(pause: Any) -> str:
    if not isinstance(pause, dict):
        return "?"
    when = _when(pause.get("at"))
    text = f"by {pause.get('by')} at {when}"
    if pause.get("reason"):
        text += f": {pause['reason']}"
    return taint.printable(text)


def describe(state: dict[str, Any]) -> str:
    """The pause state, for a terminal."""
    lines = []
    if state.get("paused"):
        lines.append(f"instance: paused {_one(state.get('pause'))}")
    else:
        lines.append("instance: applying (not paused)")
    stacks = state.get("pausedStacks") or {}
    if isinstance(stacks, dict):
        for key, pause in sorted(stacks.items()):
            lines.append(f"stack {taint.printable(str(key))}: paused {_one(pause)}")
    return "\n".join(lines)


def refusing(store: Store, then: Callable[[Planned], None]) -> Callable[[Planned], None]:
    """`syncd apply` while the instance or a stack it would change is paused: refused whole,
    nothing applied, naming the pause (the daemon holds the same changes); then `then`."""

    def check(planned: Planned) -> None:
        state = Pauses(store).state()
        _, held = hold(planned, state)
        if held:
            if state.instance is not None:
                what, pause = "the instance is", state.instance
            else:
                what = f"stack {held[0]} is"
                pause = state.stacks[str(held[0])]
            why = f": {pause.reason}" if pause.reason else ""
            when = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(pause.at))
            raise SyncdError(
                f"{what} paused (by {pause.by} at {when}{why}): nothing applied; "
                f"`syncd resume` lifts the pause"
            )
        then(planned)

    return check
