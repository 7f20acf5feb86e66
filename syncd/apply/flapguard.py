"""The flap guard: a spec that rolled back is not tried again before its backoff ends.

Per service, the config hash of the spec that rolled back last, when, and how many times in a
row. While the backoff runs (the `rollback_backoff` setting, doubled per further rollback of the
same spec, at most `MAX_FACTOR` times), the plan holds that service's recreate: the old
container keeps running and the plan says `held: rolled back at <time>, retry after <time>`.
A new spec (another hash) is tried at once; a replace that succeeds forgets the service.
"""

from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass
from datetime import UTC, datetime

from syncd.apply.store import Store
from syncd.core.plan import Action, Plan, Reason, ServiceChange
from syncd.ids import ServiceKey

MAX_FACTOR = 32  # the backoff grows to at most 32 times the setting
TABLE = (
    "CREATE TABLE IF NOT EXISTS rollbacks (key TEXT PRIMARY KEY, hash TEXT NOT NULL, "
    "at REAL NOT NULL, attempts INTEGER NOT NULL)"
)


def clock() -> float:
    """Now, in unix time (a seam for tests of the backoff's end)."""
    return time.time()


@dataclass(frozen=True)
class Failure:
    hash: str
    at: float  # unix time of the last rollback
    attempts: int  # rollbacks of this spec in a row

    def retry_after(self, backoff: float) -> float:
        factor: int = min(2 ** max(min(self.attempts, 16) - 1, 0), MAX_FACTOR)
        return self.at + backoff * float(factor)


def remember(store: Store, key: ServiceKey, hash_: str, now: float | None = None) -> Failure:
    """The service's spec `hash_` rolled back (once more, if it was the last one to)."""
    at = clock() if now is None else now
    with store.transaction() as db:
        db.execute(TABLE)
        row = db.execute("SELECT hash, attempts FROM rollbacks WHERE key=?", (str(key),)).fetchone()
        attempts = int(row[1]) + 1 if row is not None and row[0] == hash_ else 1
        db.execute(
            "INSERT OR REPLACE INTO rollbacks (key, hash, at, attempts) VALUES (?, ?, ?, ?)",
            (str(key), hash_, at, attempts),
        )
    return Failure(hash_, at, attempts)


def forget(store: Store, key: ServiceKey) -> None:
    with store.transaction() as db:
        db.execute(TABLE)
        db.execute("DELETE FROM rollbacks WHERE key=?", (str(key),))


def failures(store: Store) -> dict[str, Failure]:
    with store.transaction() as db:
        db.execute(TABLE)
        rows = db.execute("SELECT key, hash, at, attempts FROM rollbacks").fetchall()
    return {str(r[0]): Failure(str(r[1]), float(r[2]), int(r[3])) for r in rows}


def hold(plan: Plan, store: Store, backoff: float, now: float | None = None) -> Plan:
    """`plan` with every recreate of a spec still inside its backoff held."""
    if not any(c.action is Action.RECREATE for s in plan.stacks for c in s.services):
        return plan  # (no read of the store)
    known = failures(store)
    if not known:
        return plan
    now = clock() if now is None else now
    stacks = []
    for stack in plan.stacks:
        services = [_held(c, known.get(str(c.key)), backoff, now) for c in stack.services]
        stacks.append(dataclasses.replace(stack, services=_no_restarts(services)))
    return dataclasses.replace(plan, stacks=tuple(stacks))


def _held(
    change: ServiceChange, failure: Failure | None, backoff: float, now: float
) -> ServiceChange:
    if change.action is not Action.RECREATE or failure is None or change.desired is None:
        return change
    retry = failure.retry_after(backoff)
    if change.desired.hash != failure.hash or now >= retry:
        return change
    note = f"held: rolled back at {_when(failure.at)}, retry after {_when(retry)}"
    return dataclasses.replace(
        change, action=Action.NONE, reason=Reason.HELD, note=note, impact=None
    )


def _no_restarts(changes: list[ServiceChange]) -> tuple[ServiceChange, ...]:
    """A dependent restarted only because a dependency was to be renewed (`restart: true`)
    stays as it is when none of those renewals is left (all held)."""
    renewed = {c.key.name for c in changes if c.action in (Action.CREATE, Action.RECREATE)}
    out = []
    for change in changes:
        names = change.desired.spec.get("dependsOnRestart") or [] if change.desired else []
        if change.reason is Reason.DEPENDENCY_RECREATED and not renewed & set(names):
            unchanged = Action.NONE, Reason.UNCHANGED
            out.append(
                dataclasses.replace(change, action=unchanged[0], reason=unchanged[1], impact=None)
            )
        else:
            out.append(change)
    return tuple(out)


def _when(at: float) -> str:
    return datetime.fromtimestamp(at, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
