"""The state store: records survive reopening, secret values never reach the file, rows are read
by column name into typed records, and a store written by older code opens."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

from syncd.apply.store import Store
from syncd.core.records import DIGEST_PREFIX, ServiceRecord, StackRecord, SyncRecord
from syncd.ids import ServiceKey, VolumeKey

KEY = ServiceKey("shop", "default", "web")
ENV = {"TOKEN": "s3cr3t-value", "MODE": "prod"}
SPEC = {"image": "busybox:1.36", "environment": ENV}
SECRETS = frozenset({"/environment/TOKEN"})


def test_a_record_survives_reopening_without_its_secret_values(tmp_path: Path) -> None:
    store = Store(tmp_path / "state.sqlite")
    store.record(
        KEY, revision="abc", spec=SPEC, secrets=SECRETS, container_hash="h1", result="created"
    )
    store.close()
    raw = b"".join(p.read_bytes() for p in tmp_path.iterdir())
    assert b"s3cr3t-value" not in raw
    assert (tmp_path / "state.sqlite").stat().st_mode & 0o077 == 0

    reopened = Store(tmp_path / "state.sqlite")
    record = reopened.services()[str(KEY)]
    assert record.revision == "abc" and record.container_hash == "h1"
    assert record.spec["environment"]["MODE"] == "prod"
    assert record.spec["environment"]["TOKEN"].startswith(DIGEST_PREFIX)
    assert reopened.restore(record, SPEC, "") == SPEC
    changed = {**SPEC, "environment": {**ENV, "TOKEN": "other"}}
    assert reopened.restore(record, changed, "")["environment"]["TOKEN"].startswith(DIGEST_PREFIX)
    assert reopened.restore(record, None, "")["environment"]["TOKEN"].startswith(DIGEST_PREFIX)


def test_an_error_keeps_what_was_applied_before(tmp_path: Path) -> None:
    store = Store(tmp_path / "s.sqlite")
    store.record(
        KEY, revision="r1", spec=SPEC, secrets=SECRETS, container_hash="h", result="created"
    )
    store.record_error(KEY, "pulling x failed: unauthorized")
    record = store.services()[str(KEY)]
    assert (record.result, record.error, record.revision) == (
        "error",
        "pulling x failed: unauthorized",
        "r1",
    )
    other = ServiceKey("shop", "default", "new")
    store.record_error(other, "boom")
    assert store.services()[str(other)].spec == {}


def test_overrides_and_orphaned_volumes_are_kept_until_cleared(tmp_path: Path) -> None:
    store = Store(tmp_path / "s.sqlite")
    volume = VolumeKey("shop", "default", "data")
    store.set_stopped(KEY, True)
    store.set_orphaned(volume, True)
    store.close()
    store = Store(tmp_path / "s.sqlite")
    assert store.stopped() == {str(KEY)} and store.orphaned_volumes() == {str(volume)}
    store.set_stopped(KEY, False)
    store.set_orphaned(volume, False)
    assert not store.stopped() and not store.orphaned_volumes()
    store.record(KEY, revision=None, spec=SPEC, secrets=frozenset(), container_hash="h", result="x")
    store.set_stopped(KEY, True)
    store.forget(KEY)
    assert not store.services() and not store.stopped()


# The schema and the writes of the store before its rows were typed (issue 12), verbatim: a file
# written by that code must open and read the same.
OLD_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS services (
    key TEXT PRIMARY KEY,
    revision TEXT,
    spec TEXT NOT NULL,
    secrets TEXT NOT NULL,
    container_hash TEXT NOT NULL,
    applied_at REAL NOT NULL,
    result TEXT NOT NULL,
    error TEXT
);
CREATE TABLE IF NOT EXISTS volumes (key TEXT PRIMARY KEY, orphaned INTEGER NOT NULL, at REAL);
CREATE TABLE IF NOT EXISTS overrides (key TEXT PRIMARY KEY, stopped INTEGER NOT NULL, at REAL);
CREATE TABLE IF NOT EXISTS syncs (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    trigger TEXT NOT NULL,
    revision TEXT,
    started_at REAL NOT NULL,
    duration REAL,
    result TEXT NOT NULL,
    stage TEXT,
    error TEXT,
    summary TEXT NOT NULL DEFAULT '{}',
    services TEXT NOT NULL DEFAULT '[]'
);
CREATE TABLE IF NOT EXISTS projects (
    name TEXT PRIMARY KEY,
    created_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS stacks (
    key TEXT PRIMARY KEY,
    applied_revision TEXT,
    seen_revision TEXT,
    error TEXT,
    at REAL
);
"""
SERVICE_ROW = json.dumps(SPEC, sort_keys=True, separators=(",", ":"))
SYNC_SERVICES = [{"service": "shop/default/web", "action": "create", "ok": True, "detail": ""}]


def _old_store(path: Path, schema: str = OLD_SCHEMA) -> None:
    db = sqlite3.connect(path, isolation_level=None)
    db.executescript(schema)
    db.execute("INSERT OR IGNORE INTO meta VALUES ('digest_key', ?)", ("ab" * 32,))
    db.execute("INSERT OR REPLACE INTO meta VALUES ('good_revision', ?)", ("r1",))
    db.execute(
        "INSERT OR REPLACE INTO services VALUES (?, ?, ?, ?, ?, ?, ?, NULL)",
        (str(KEY), "r1", SERVICE_ROW, "[]", "h1", 10.0, "created"),
    )
    db.execute(
        "INSERT INTO syncs (trigger, revision, started_at, result) VALUES (?, ?, ?, ?)",
        ("watch", "r1", 20.0, "running"),
    )
    db.execute(
        "UPDATE syncs SET revision=?, duration=? - started_at, result=?, stage=?, "
        "error=?, summary=?, services=? WHERE id=?",
        (
            "r2",
            22.5,
            "failed",
            "apply",
            "boom",
            json.dumps({"create": 1}),
            json.dumps(SYNC_SERVICES),
            1,
        ),
    )
    db.execute(
        "INSERT INTO stacks VALUES (?, ?, ?, ?, ?) ON CONFLICT(key) DO UPDATE SET "
        "applied_revision=COALESCE(excluded.applied_revision, applied_revision), "
        "seen_revision=excluded.seen_revision, error=excluded.error, at=excluded.at",
        ("shop/default", "r1", "r2", "boom", 30.0),
    )
    db.execute("INSERT OR REPLACE INTO volumes VALUES (?, ?, ?)", ("shop/default/data", 1, 1.0))
    db.execute("INSERT OR REPLACE INTO overrides VALUES (?, 1, ?)", (str(KEY), 1.0))
    db.execute("INSERT OR IGNORE INTO projects VALUES (?, ?)", ("shop", 5.0))
    db.close()


def test_a_store_written_by_the_previous_code_reads_as_typed_records(tmp_path: Path) -> None:
    path = tmp_path / "state.sqlite"
    _old_store(path)
    store = Store(path)
    assert store.good_revision() == "r1"
    assert store.services() == {
        str(KEY): ServiceRecord(str(KEY), "r1", SPEC, frozenset(), "h1", 10.0, "created", None)
    }
    [sync] = store.syncs()
    assert sync == SyncRecord(
        1, "watch", "r2", 20.0, 2.5, "failed", "apply", "boom", {"create": 1}, (SYNC_SERVICES[0],)
    )
    assert sync.as_json() == {  # the columns in camelCase; moments in ISO 8601 (issue 18)
        "id": 1,
        "trigger": "watch",
        "revision": "r2",
        "startedAt": "1970-01-01T00:00:20Z",
        "duration": 2.5,
        "result": "failed",
        "stage": "apply",
        "error": "boom",
        "summary": {"create": 1},
        "services": SYNC_SERVICES,
        "count": 1,  # issue 15: the same failure again is counted in its row
        "lastSeen": "1970-01-01T00:00:20Z",  # seen once: when it started
    }
    [(key, stack)] = store.stacks().items()
    assert (key, stack) == ("shop/default", StackRecord("shop/default", "r1", "r2", "boom", 30.0))
    assert stack.as_json() == {
        "appliedRevision": "r1",
        "seenRevision": "r2",
        "error": "boom",
        "at": "1970-01-01T00:00:30Z",
    }
    assert not stack.in_sync
    assert store.orphaned_volumes() == {"shop/default/data"} and store.stopped() == {str(KEY)}
    assert store.projects_created({"shop": 99.0}) == {"shop": 5.0}


def test_rows_are_read_and_written_by_column_name_not_position(tmp_path: Path) -> None:
    """The same columns declared in another order (as `ALTER TABLE` or a rebuild would leave
    them): every read and write still lands in the right column."""
    path = tmp_path / "state.sqlite"
    reordered = OLD_SCHEMA.replace(
        """    key TEXT PRIMARY KEY,
    revision TEXT,
    spec TEXT NOT NULL,
    secrets TEXT NOT NULL,
    container_hash TEXT NOT NULL,""",
        """    container_hash TEXT NOT NULL,
    secrets TEXT NOT NULL,
    spec TEXT NOT NULL,
    revision TEXT,
    key TEXT PRIMARY KEY,""",
    ).replace(
        """    key TEXT PRIMARY KEY,
    applied_revision TEXT,
    seen_revision TEXT,""",
        """    seen_revision TEXT,
    applied_revision TEXT,
    key TEXT PRIMARY KEY,""",
    )
    assert (
        "hash TEXT NOT NULL,\n    secrets" in reordered
        and "seen_revision TEXT,\n    appl" in reordered
    )
    db = sqlite3.connect(path, isolation_level=None)
    db.executescript(reordered)
    other = ServiceKey("shop", "default", "other")
    db.execute(  # written by name, as any other writer would
        "INSERT INTO services (key, revision, spec, secrets, container_hash, applied_at, result) "
        "VALUES (?, 'r2', ?, '[]', 'h2', 1.0, 'created')",
        (str(other), SERVICE_ROW),
    )
    store = Store(path)
    assert store.services()[str(other)] == ServiceRecord(
        str(other), "r2", SPEC, frozenset(), "h2", 1.0, "created", None
    )
    store.record(KEY, revision="r3", spec=SPEC, secrets=SECRETS, container_hash="h", result="x")
    store.set_stack("shop/default", seen="r4", applied="r3")
    written = db.execute(
        "SELECT revision, container_hash, secrets FROM services WHERE key=?", (str(KEY),)
    ).fetchone()
    assert written == ("r3", "h", json.dumps(sorted(SECRETS)))
    assert db.execute("SELECT applied_revision, seen_revision FROM stacks").fetchone() == (
        "r3",
        "r4",
    )
    db.close()
    record = store.services()[str(KEY)]
    assert record.secrets == SECRETS and store.restore(record, SPEC, "") == SPEC
    stack = store.stacks()["shop/default"]
    assert (stack.applied_revision, stack.seen_revision, stack.error) == ("r3", "r4", None)
    store.set_stack("shop/default", seen="r3")
    assert store.stacks()["shop/default"].in_sync
