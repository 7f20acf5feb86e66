"""`syncd status` on the host (no `--api`): the overview read from Docker (the instance's
containers, with their healthcheck's verdict) and the instance's state store (what syncd applied,
the stacks' last errors, the last sync). It needs no running daemon and reads the manifests not
at all: drift is a container that runs another spec than the one recorded."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime

from syncd.apply.store import Store
from syncd.cli.overview import NO_HEALTH, Overview, Row, StackRow
from syncd.core.canonical import Spec
from syncd.core.observe import observe, status_of
from syncd.core.records import ServiceRecord, StackRecord
from syncd.engine import connect
from syncd.engine.base import ContainerState, Engine
from syncd.ids import ServiceKey
from syncd.settings import Settings
from syncd.taint import printable


@contextmanager
def opened(settings: Settings) -> Iterator[tuple[Engine, Store | None]]:
    """The engine and, when the instance has one, its state store (never made by a read)."""
    engine = connect(settings)
    store = Store(settings.state_file) if settings.state_file.exists() else None
    try:
        yield engine, store
    finally:
        if store is not None:
            store.close()
        engine.close()


def _at(seconds: float | None) -> datetime | None:
    return datetime.fromtimestamp(seconds, UTC) if seconds else None


def overview(settings: Settings) -> Overview:
    with opened(settings) as (engine, store):
        observed = engine.observe()
        records = store.services() if store else {}
        stack_records = store.stacks() if store else {}
        stopped = store.stopped() if store else frozenset()
        last = store.syncs(1) if store else []
        good = store.good_revision() if store else None
    seen = observe(observed, records, stopped=stopped, restore=_as_recorded)
    stacks = {key: _stack(record) for key, record in stack_records.items()}
    rows = []
    for key, container in sorted(seen.containers.items()):
        record = records.get(str(key))
        live = seen.live.stacks[key.stack_key].services[key.name]
        state = status_of(container).value
        health = container.health.value if container.health else NO_HEALTH
        since = container.created
        problem = note = None
        if record is not None and record.container_hash == container.hash:
            since = record.applied_at
        running = container.state is ContainerState.RUNNING
        if live.operator_stopped and not running:
            note = "stopped by an operator; self-heal leaves it stopped"
        elif not running:
            problem = f"not running ({container.state.value})"
        elif health == "unhealthy":
            problem = "unhealthy: its healthcheck fails"
        elif health == "starting":
            problem = "its healthcheck has not passed yet"
        problem = problem or _record_problem(record, container.hash)
        stack = stacks.get(str(key.stack_key))
        if problem is None and stack is not None and stack.problem is not None:
            problem = f"stack {stack.problem}"
        revision = container.revision or (record.revision if record else None)
        rows.append(Row(key.project, key.stack, key.name, state, health, revision, _at(since),
                        problem, note))  # fmt: skip
    for text, record in sorted(records.items()):
        gone = _key(text)
        if gone is None or gone in seen.containers or record.spec.get("replicas") == 0:
            continue
        rows.append(Row(gone.project, gone.stack, gone.name, "missing", NO_HEALTH, record.revision,
                        _at(record.applied_at), "applied, but it has no container"))  # fmt: skip
    problems = []
    if last and last[0].result in ("failed", "crashed"):
        sync = last[0]
        problems.append(f"last sync failed at {sync.stage}: {printable(sync.error or '')}")
    # the last revision applied whole; a store without one: some service's (each keeps the
    # revision that last changed it, so an unchanged one still names an older revision)
    applied = good or next((r.revision for r in records.values() if r.revision), None)
    return Overview("host", settings.instance, tuple(rows), tuple(stacks.values()), applied,
                    tuple(problems))  # fmt: skip


def _record_problem(record: ServiceRecord | None, container_hash: str) -> str | None:
    if record is None:
        return "not in the state store: not applied by this instance, or the store was lost"
    if record.result == "error":
        return f"the last change failed: {printable(record.error or '')}"
    if record.container_hash != container_hash:
        return "drift: the container runs another spec than the one applied"
    return None


def _stack(record: StackRecord) -> StackRow:
    problem = None
    if record.error:
        problem = f"last sync failed: {printable(record.error)}"
    elif record.seen_revision and record.applied_revision != record.seen_revision:
        applied = (record.applied_revision or "-")[:12]
        problem = f"not applied yet: seen {record.seen_revision[:12]}, applied {applied}"
    return StackRow(record.key, record.applied_revision, record.seen_revision, problem)


def _key(text: str) -> ServiceKey | None:
    parts = text.split("/")
    return ServiceKey(*parts) if len(parts) == 3 and all(parts) else None


def _as_recorded(record: ServiceRecord, _desired: Spec | None, _declaration: str) -> Spec:
    """The status reads what was recorded: nothing desired to compare secrets with."""
    return record.spec
