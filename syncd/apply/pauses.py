"""Pauses, as the state store keeps them: the whole instance or single stacks, each with who
paused it, when and why. A paused stack (or instance) is still read, planned and reported, but
nothing of it is executed (`hold`): its changes stay in the pending plan until it is resumed.

Written by `syncd pause`/`resume` on the host (straight into the store) or by the daemon's admin
API; the daemon reads them again before each execution, so it never acts on a stale answer.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from syncd import taint
from syncd.apply.results import Planned
from syncd.apply.store import Store
from syncd.errors import SyncdError
from syncd.ids import StackKey
from syncd.manifests.fields import DNS_LABEL
from syncd.timestamps import iso

INSTANCE = ""  # the scope of a pause of the whole instance
MAX_STACKS = 100  # stacks one request may name
MAX_PAUSES = 1000  # paused stacks kept at most
MAX_REASON = 500  # characters of a reason
MAX_BY = 100  # characters of who paused

TABLE = """CREATE TABLE IF NOT EXISTS pauses (
    scope TEXT PRIMARY KEY,   -- '' the whole instance, else a stack `project/stack`
    by TEXT NOT NULL,
    at REAL NOT NULL,
    reason TEXT NOT NULL DEFAULT ''
)"""


@dataclass(frozen=True)
class Pause:
    by: str
    at: float
    reason: str = ""

    def as_json(self) -> dict[str, Any]:
        return {"by": self.by, "at": iso(self.at), "reason": self.reason}


@dataclass(frozen=True)
class PauseState:
    instance: Pause | None = None
    stacks: Mapping[str, Pause] = field(default_factory=dict)

    def holds(self, key: StackKey) -> bool:
        """Whether nothing of the stack may be executed."""
        return self.instance is not None or str(key) in self.stacks

    def as_json(self) -> dict[str, Any]:
        return {
            "paused": self.instance is not None,
            "pause": self.instance.as_json() if self.instance else None,
            "pausedStacks": {key: p.as_json() for key, p in sorted(self.stacks.items())},
        }


def stack_key(text: str) -> StackKey:
    """`project/stack` (or `project`: its default stack), checked: a clear error otherwise."""
    parts = text.split("/")
    if len(parts) == 1:
        parts.append("default")
    if len(parts) != 2 or not all(len(p) < 64 and DNS_LABEL.fullmatch(p) for p in parts):
        shown = taint.printable(text[:100])
        raise SyncdError(f"{shown!r} is not a stack: give project/stack (or project)")
    return StackKey(parts[0], parts[1])


def _text(value: str, limit: int, what: str) -> str:
    if len(value) > limit:
        raise SyncdError(f"the {what} is longer than {limit} characters")
    return taint.printable(value)


class Pauses:
    """The pauses of one instance, in its state store (a table of their own)."""

    def __init__(self, store: Store) -> None:
        self.store = store
        with store.transaction() as db:
            db.execute(TABLE)

    def state(self) -> PauseState:
        with self.store.transaction() as db:
            rows = db.execute("SELECT scope, by, at, reason FROM pauses").fetchall()
        instance, stacks = None, {}
        for scope, by, at, reason in rows:
            pause = Pause(by, at, reason)
            if scope == INSTANCE:
                instance = pause
            else:
                stacks[scope] = pause
        return PauseState(instance, stacks)

    def pause(self, stacks: Iterable[StackKey], by: str, reason: str = "") -> PauseState:
        """Pause the stacks (none: the whole instance); pausing again replaces the reason."""
        scopes = _scopes(stacks)
        by, reason = _text(by, MAX_BY, "name of who paused"), _text(reason, MAX_REASON, "reason")
        row = (by, time.time(), reason)
        with self.store.transaction() as db:
            count = db.execute("SELECT COUNT(*) FROM pauses").fetchone()[0]
            if count + len(scopes) > MAX_PAUSES:
                raise SyncdError(f"more than {MAX_PAUSES} pauses: resume some stacks first")
            for scope in scopes:
                db.execute(
                    "INSERT OR REPLACE INTO pauses (scope, by, at, reason) VALUES (?, ?, ?, ?)",
                    (scope, *row),
                )
        return self.state()

    def resume(self, stacks: Iterable[StackKey], *, everything: bool = False) -> PauseState:
        """Resume the stacks (none: the instance as a whole; `everything`: every pause)."""
        with self.store.transaction() as db:
            if everything:
                db.execute("DELETE FROM pauses")
            else:
                for scope in _scopes(stacks):
                    db.execute("DELETE FROM pauses WHERE scope=?", (scope,))
        return self.state()


def _scopes(stacks: Iterable[StackKey]) -> list[str]:
    keys = sorted({str(k) for k in stacks})
    if len(keys) > MAX_STACKS:
        raise SyncdError(f"more than {MAX_STACKS} stacks in one request")
    return keys or [INSTANCE]


def hold(planned: Planned, state: PauseState) -> tuple[Planned | None, tuple[StackKey, ...]]:
    """What of `planned` may run while `state` holds, and the stacks whose changes are held.
    None: nothing runs at all (the instance is paused)."""
    changed = [s.key for s in planned.plan.stacks if s.changed]
    changed += [c.key.stack_key for c in planned.observation.strays]
    held = tuple(sorted({key for key in changed if state.holds(key)}))
    if state.instance is not None:
        return None, held
    if not state.stacks:
        return planned, ()
    plan = replace(
        planned.plan, stacks=tuple(s for s in planned.plan.stacks if not state.holds(s.key))
    )
    strays = tuple(c for c in planned.observation.strays if not state.holds(c.key.stack_key))
    observation = replace(planned.observation, strays=strays)
    return replace(planned, plan=plan, observation=observation), held
