"""Pauses in the state store and what they hold of a plan; the history's counted repeats and its
migration of an existing database. A real store in a temporary folder; the fake engine at
syncd's own seam (real Docker: tests/test_pause_docker.py)."""

from __future__ import annotations

import sqlite3
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

from syncd.apply.pauses import MAX_REASON, MAX_STACKS, Pauses, stack_key
from syncd.apply.reconcile import Reconciler
from syncd.apply.store import Store
from syncd.daemon.pausing import Mode, Pausing
from syncd.daemon.status import Status
from syncd.errors import OperationRefused, SyncdError
from syncd.ids import StackKey
from syncd.manifests import read_manifests
from syncd.settings import Settings
from syncd.timestamps import iso
from tests.fake_engine import FakeEngine
from tests.planning import File

A, B = StackKey("shop", "a"), StackKey("shop", "b")
TWO = """\
kind: Stack
project: shop
name: {name}
services:
  {name}web: {{image: 'busybox:1.36', environment: {{N: "{n}"}}}}
"""


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    made = Store(tmp_path / "state.db")
    yield made
    made.close()


def _sync(reconciler: Reconciler, n: int) -> None:
    files = [
        File(f"{name}.yaml", textwrap.dedent(TWO.format(name=name, n=n)).encode())
        for name in ("a", "b")
    ]
    manifests = read_manifests(files, {})
    assert not manifests.errors
    reconciler.sync(manifests, f"r{n}")


def _pausing(tmp_path: Path, mode: Mode = Mode.APPLY) -> tuple[Reconciler, FakeEngine, Pausing]:
    engine = FakeEngine().have("busybox:1.36")
    settings = Settings(data_dir=tmp_path, instance="fake", health_timeout=1, stop_timeout=0)
    store = Store(settings.state_file)
    reconciler = Reconciler(settings, engine, store, {})
    _sync(reconciler, 1)  # applied before any pause
    status = Status(repo="r", branch="main", instance="fake", started_at=0.0)
    requested: list[object] = []
    pausing = Pausing(store, status, mode, requested.append)
    reconciler.hold = pausing.hold
    return reconciler, engine, pausing


def _env(engine: FakeEngine, service: str) -> str:
    [container] = [c for c in engine.containers.values() if c.request.key.name == service]
    return str(container.request.environment["N"])


def test_a_paused_stack_is_held_while_the_others_apply(tmp_path: Path) -> None:
    reconciler, engine, pausing = _pausing(tmp_path)
    pausing.pause([A], "cli:tester", "migration")
    _sync(reconciler, 2)
    assert (_env(engine, "aweb"), _env(engine, "bweb")) == ("1", "2")
    assert pausing.status.held == ("shop/a",)
    assert pausing.status.pause["pausedStacks"]["shop/a"]["reason"] == "migration"
    record = reconciler.store.stacks()["shop/a"]
    assert (record.applied_revision, record.seen_revision) == (None, "r2")  # seen, not applied
    pausing.resume([A])
    _sync(reconciler, 2)
    assert _env(engine, "aweb") == "2"
    assert not pausing.status.held


def test_a_paused_instance_and_detect_mode_write_nothing_to_the_engine(tmp_path: Path) -> None:
    for mode, name in ((Mode.APPLY, "paused"), (Mode.DETECT, "detect")):
        reconciler, engine, pausing = _pausing(tmp_path / name, mode)
        if mode is Mode.APPLY:
            pausing.pause([], "cli:tester")
        engine.calls.clear()
        _sync(reconciler, 2)
        writes = list(engine.calls)
        assert writes == [], (mode, writes)
        assert pausing.status.held == ("shop/a", "shop/b")
        reconciler.store.close()


def test_detect_mode_refuses_operational_tasks(tmp_path: Path) -> None:
    _, _, pausing = _pausing(tmp_path, Mode.DETECT)
    with pytest.raises(OperationRefused, match="detect mode"):
        pausing.refuse_writes("operational tasks are off")


def test_pauses_are_kept_bounded_and_checked(store: Store) -> None:
    pauses = Pauses(store)
    state = pauses.pause([A, B], "cli:x", "why")
    assert sorted(state.stacks) == ["shop/a", "shop/b"] and state.instance is None
    state = pauses.pause([], "cli:x")
    assert state.instance is not None
    assert pauses.resume([]).instance is None and len(pauses.state().stacks) == 2
    assert pauses.resume([], everything=True) == Pauses(store).state()
    assert not pauses.state().stacks
    with pytest.raises(SyncdError, match="longer than"):
        pauses.pause([A], "cli:x", "x" * (MAX_REASON + 1))
    with pytest.raises(SyncdError, match="more than"):
        pauses.pause([StackKey("p", f"s{i}") for i in range(MAX_STACKS + 1)], "cli:x")
    for bad in ("../etc", "a/b/c", "Shop/a", "", "a/" + "x" * 64, "a\x1b[31m"):
        with pytest.raises(SyncdError, match="is not a stack"):
            stack_key(bad)
    assert stack_key("shop") == StackKey("shop", "default")
    shown = pauses.pause([A], "cli:x", "line\x1b[2Jbreak").stacks["shop/a"].reason
    assert "\x1b" not in shown  # shown on terminals: control characters escaped


# -- the history ------------------------------------------------------------------------------


def _fail(store: Store, revision: str, error: str, result: str = "failed") -> None:
    sync_id = store.begin_sync("webhook", revision)
    store.finish_sync(sync_id, revision=revision, result=result, stage="parse", error=error)


def test_the_same_failure_of_the_same_revision_is_one_row_with_a_count(store: Store) -> None:
    for _ in range(3):
        _fail(store, "r1", "bad manifest")
    [row] = store.syncs()
    assert (row.count, row.result) == (3, "failed")
    assert row.last_seen is not None and row.last_seen >= row.started_at
    assert row.as_json()["count"] == 3 and row.as_json()["lastSeen"] == iso(row.last_seen)
    _fail(store, "r1", "another problem")  # another error: a row of its own
    _fail(store, "r2", "another problem")  # another revision: too
    _fail(store, "r2", "another problem")
    assert [(r.revision, r.error, r.count) for r in store.syncs()] == [
        ("r2", "another problem", 2),
        ("r1", "another problem", 1),
        ("r1", "bad manifest", 3),
    ]
    for _ in range(2):  # successes are never folded
        ok = store.begin_sync("watch", "r3")
        store.finish_sync(ok, revision="r3", result="ok")
    assert [r.count for r in store.syncs()][:2] == [1, 1]


def test_an_existing_database_gets_the_new_history_columns(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    old = sqlite3.connect(path)
    old.execute(
        "CREATE TABLE syncs (id INTEGER PRIMARY KEY AUTOINCREMENT, trigger TEXT NOT NULL, "
        "revision TEXT, started_at REAL NOT NULL, duration REAL, result TEXT NOT NULL, "
        "stage TEXT, error TEXT, summary TEXT NOT NULL DEFAULT '{}', "
        "services TEXT NOT NULL DEFAULT '[]')"
    )
    old.execute(
        "INSERT INTO syncs (trigger, revision, started_at, result, stage, error) "
        "VALUES ('watch', 'r1', 5.0, 'failed', 'parse', 'bad')"
    )
    old.commit()
    old.close()
    for _ in range(2):  # opened twice: the migration runs once
        store = Store(path)
        [row] = store.syncs()
        assert (row.count, row.as_json()["lastSeen"]) == (1, "1970-01-01T00:00:05Z")
        store.close()
    store = Store(path)
    _fail(store, "r1", "bad")  # folded into the row the old syncd wrote
    [row] = store.syncs()
    assert row.count == 2
    store.close()


def test_the_mode_setting_is_apply_by_default_and_detect_from_the_environment(
    tmp_path: Path,
) -> None:
    from syncd.cli.main import build_parser
    from syncd.daemon import config as runconfig

    args = build_parser().parse_args(["run", "--repo", str(tmp_path), "--data-dir", str(tmp_path)])
    assert runconfig.resolve(args, {})[0].mode is Mode.APPLY
    assert runconfig.resolve(args, {"SYNCD_MODE": "detect"})[0].mode is Mode.DETECT
    with pytest.raises(SyncdError, match="not one of apply, detect"):
        runconfig.resolve(args, {"SYNCD_MODE": "yolo"})


def test_the_cli_shows_when_a_pause_began_from_its_iso_8601_moment(store: Store) -> None:
    from syncd.cli.pause import describe

    shown = describe(Pauses(store).pause([], "cli:ops", "freeze").as_json())
    assert shown.startswith("instance: paused by cli:ops at 20") and " UTC: freeze" in shown
    answer = {"paused": True, "pause": {"by": "api", "at": "2026-11-29T01:47:57.123456Z"}}
    assert describe(answer) == "instance: paused by api at 2026-11-29 01:47:57 UTC"
    older = {"paused": True, "pause": {"by": "api", "at": 1795917071.0}}  # before issue 18
    assert describe(older) == "instance: paused by api at 2026-11-29 01:51:11 UTC"
    assert describe({"paused": True, "pause": {"by": "api", "at": "soon"}}).endswith("at ?")
    naive = {"paused": True, "pause": {"by": "api", "at": "2026-11-29T01:47:57"}}  # read as UTC
    assert describe(naive) == "instance: paused by api at 2026-11-29 01:47:57 UTC"
