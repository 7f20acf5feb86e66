"""`syncd apply`'s removal guards: the source it applies (`--adopt`), the mass-removal share
(`--allow-mass-removal`), and, on a terminal, the question before anything is removed (`--yes`)."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable

from syncd.apply.ownership import Guard, parse_share, removals
from syncd.apply.results import Planned
from syncd.apply.store import Store
from syncd.core.plan import Plan
from syncd.errors import PlanRefused
from syncd.layers import Layers
from syncd.render import PlanFormat, render
from syncd.source.identity import identify

MAX_ANSWER = 64  # characters of the answer read (a pasted novel is not an answer)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--adopt",
        action="store_true",
        help="take the instance over from the source it belongs to (records this source; "
        "the mass-removal guard still holds)",
    )
    parser.add_argument(
        "--max-removal-share",
        metavar="PERCENT",
        help="share of the instance's services one sync may remove without "
        "--allow-mass-removal (env: SYNCD_MAX_REMOVAL_SHARE; 50)",
    )


def max_share(args: argparse.Namespace) -> float:
    return parse_share(Layers(args, os.environ).get("max_removal_share", "50"))


def guard_of(args: argparse.Namespace) -> Guard:
    """The guard of one CLI apply: its source, `--adopt`, `--allow-mass-removal`, the share."""
    return _guard(args, args.rev, adopt=bool(args.adopt))


def refusal_of(args: argparse.Namespace, store: Store, plan: Plan) -> str | None:
    """Why an apply of `plan` (`syncd plan` against what runs) would be refused (None: not)."""
    return _guard(args, args.head, adopt=False).refusal(store, plan)


def _guard(args: argparse.Namespace, rev: str | None, *, adopt: bool) -> Guard:
    return Guard(
        source=identify(args.repo, args.path, rev=rev),
        adopt=adopt,
        allow_mass_removal=bool(args.allow_empty),
        max_share=max_share(args),
    )


def interactive() -> bool:
    return sys.stdin.isatty() and sys.stdout.isatty()


class Question:
    """A `check` of `Reconciler.sync`: on a terminal, the plan and "Remove N services? [y/N]"
    before a plan that removes services runs; anything but yes refuses it."""

    def __init__(self, then: Callable[[Planned], None] | None, *, ask: bool) -> None:
        self.then = then
        self.ask = ask
        self.shown = False  # the plan was printed with the question

    def __call__(self, planned: Planned) -> None:
        if self.then is not None:
            self.then(planned)
        removed, _total = removals(planned.plan)
        if not self.ask or not removed:
            return
        print(render(planned.plan, PlanFormat.TEXT, color=True))
        self.shown = True
        noun = "service" if removed == 1 else "services"
        print(f"\nRemove {removed} {noun}? [y/N] ", end="", flush=True)
        answer = sys.stdin.readline(MAX_ANSWER).strip().lower()
        if answer not in ("y", "yes"):
            raise PlanRefused(f"not confirmed: nothing applied ({removed} {noun} would go)")
