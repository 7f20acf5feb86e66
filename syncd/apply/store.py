"""syncd's state store: sqlite under the data dir, the authoritative record of what was applied.

Per service: revision, canonical spec, the config hash of the container that runs it, time, result
and error. Per volume: whether it is detached (orphaned). Per service: operator overrides (a stop
that self-heal respects). The last good revision (enforced while the branch head is unusable,
also after a restart), the sync history and the per-stack revisions. Docker labels are only an
index; losing this file costs history, never containers or volumes (the next sync rebuilds from
labels, comparing config hashes).

Secret values never reach the file: each is stored as an HMAC digest under a key kept in the store,
and restored from the desired spec when the digests match.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import sqlite3
import threading
import time
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import jsonpointer

from syncd import datadir, taint
from syncd.apply.storehistory import SyncHistory
from syncd.core.canonical import Spec, canonical_json
from syncd.core.records import BOUND_PREFIX, DIGEST_PREFIX, ServiceRecord, StackRecord
from syncd.ids import ServiceKey, VolumeKey

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS services (
    key TEXT PRIMARY KEY,
    revision TEXT,
    spec TEXT NOT NULL,          -- canonical JSON, secret values replaced by digests
    secrets TEXT NOT NULL,       -- JSON list of pointers into spec
    container_hash TEXT NOT NULL,-- config hash label of the container running this spec
    applied_at REAL NOT NULL,
    result TEXT NOT NULL,        -- created | recreated | started | updated | error
    error TEXT
);
CREATE TABLE IF NOT EXISTS volumes (key TEXT PRIMARY KEY, orphaned INTEGER NOT NULL, at REAL);
CREATE TABLE IF NOT EXISTS data_folders (
    project TEXT NOT NULL, path TEXT NOT NULL, orphaned INTEGER NOT NULL, at REAL,
    PRIMARY KEY (project, path)
);
CREATE TABLE IF NOT EXISTS overrides (key TEXT PRIMARY KEY, stopped INTEGER NOT NULL, at REAL);
CREATE TABLE IF NOT EXISTS syncs (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    trigger TEXT NOT NULL,
    revision TEXT,
    started_at REAL NOT NULL,
    duration REAL,
    result TEXT NOT NULL,        -- running | ok | failed | crashed | interrupted
    stage TEXT,                  -- on failure: fetch | verify | parse | resolve | plan | apply |
                                 -- health | engine | record
    error TEXT,
    summary TEXT NOT NULL DEFAULT '{}',  -- plan counts
    services TEXT NOT NULL DEFAULT '[]'  -- [{service, action, ok, detail}]
);
CREATE TABLE IF NOT EXISTS projects (   -- a project's createdAt: when it was first applied
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


class Store(SyncHistory):
    def __init__(self, path: Path) -> None:
        datadir.private_dir(path.parent)
        # sqlite creates -wal and -shm with the database's mode: 0600 from the start
        datadir.private_file(path)
        datadir.tighten(*(path.with_name(path.name + s) for s in ("-wal", "-shm")))
        self.path = path
        self._lock = threading.Lock()
        self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self._db.row_factory = sqlite3.Row  # rows are read by column name, never by position
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.executescript(SCHEMA)
        self._migrate_history()
        key = self._meta("digest_key")
        if key is None:
            self._db.execute(
                "INSERT OR IGNORE INTO meta (name, value) VALUES ('digest_key', ?)",
                (secrets.token_hex(32),),
            )
            key = self._meta("digest_key")
        assert key is not None  # inserted just now, or by another process meanwhile
        self._key = bytes.fromhex(key)

    def _meta(self, name: str) -> str | None:
        row = self._db.execute("SELECT value FROM meta WHERE name=?", (name,)).fetchone()
        return str(row["value"]) if row else None

    def meta(self, name: str) -> str | None:
        """A named value of the instance (`set_meta`); None when never set."""
        with self._lock:
            return self._meta(name)

    def set_meta(self, name: str, value: str | None) -> None:
        """Keep (or, with None, forget) a named value of the instance. Modules with state of
        their own keep it here, or in a table of their own made with `transaction`."""
        with self._tx() as db:
            if value is None:
                db.execute("DELETE FROM meta WHERE name=?", (name,))
            else:
                db.execute("INSERT OR REPLACE INTO meta (name, value) VALUES (?, ?)", (name, value))

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """The database inside one write transaction (for modules with tables of their own)."""
        with self._tx() as db:
            yield db

    def close(self) -> None:
        self._db.close()

    # -- the last good revision ----------------------------------------------------------------

    def good_revision(self) -> str | None:
        """The last revision that was read and applied: enforced while newer ones are broken."""
        with self._lock:
            return self._meta("good_revision")

    def set_good_revision(self, revision: str) -> None:
        with self._tx() as db:
            db.execute(
                "INSERT OR REPLACE INTO meta (name, value) VALUES ('good_revision', ?)",
                (revision,),
            )

    @contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield self._db
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    # -- secrets -------------------------------------------------------------------------------

    def _digest(self, value: Any, declaration: str | None = None) -> str:
        """A secret as the store keeps it: keyed, and bound to its `declaration`
        (`core.declarations`; None: a digest of the value alone, as before the binding)."""
        if declaration is None:
            mac = hmac.new(self._key, canonical_json(value).encode(), hashlib.sha256).hexdigest()
            return f"{DIGEST_PREFIX}{mac}>"
        bound = canonical_json([declaration, value]).encode()
        return f"{BOUND_PREFIX}{hmac.new(self._key, bound, hashlib.sha256).hexdigest()}>"

    def _hide(self, spec: Spec, pointers: Iterable[str], declaration: str) -> Spec:
        hidden: Spec = json.loads(canonical_json(spec))
        for pointer in pointers:
            value = jsonpointer.resolve_pointer(hidden, pointer, None)
            if value is not None:
                jsonpointer.set_pointer(hidden, pointer, self._digest(value, declaration))
        return hidden

    def restore(self, record: ServiceRecord, desired: Spec | None, declaration: str) -> Spec:
        """The recorded spec with secret digests replaced by `desired`'s values where they match
        (value and `declaration`): at the same place, else anywhere in `desired` (a secret moved
        in a list is the same). A record from before the binding matches on the value alone."""
        if not record.secrets:
            return record.spec
        spec: Spec = json.loads(canonical_json(record.spec))
        elsewhere: dict[str, Any] = {}  # digest -> a scalar of `desired`, when needed
        for pointer in record.secrets:
            stored = jsonpointer.resolve_pointer(spec, pointer, None)
            if desired is None or stored is None:
                continue
            bound = str(stored).startswith(BOUND_PREFIX)
            how = declaration if bound else None
            value = jsonpointer.resolve_pointer(desired, pointer, None)
            if value is not None and hmac.compare_digest(str(stored), self._digest(value, how)):
                jsonpointer.set_pointer(spec, pointer, value)
                continue
            if not elsewhere:
                for v in taint.scalars(desired):
                    elsewhere[self._digest(v, declaration)] = elsewhere[self._digest(v)] = v
            if str(stored) in elsewhere:
                jsonpointer.set_pointer(spec, pointer, elsewhere[str(stored)])
        return spec

    # -- services ------------------------------------------------------------------------------

    def record(
        self,
        key: ServiceKey,
        *,
        revision: str | None,
        spec: Spec,
        secrets: frozenset[str],
        container_hash: str,
        result: str,
        declaration: str = "",
    ) -> None:
        with self._tx() as db:
            db.execute(
                "INSERT OR REPLACE INTO services (key, revision, spec, secrets, container_hash, "
                "applied_at, result, error) VALUES (?, ?, ?, ?, ?, ?, ?, NULL)",
                (
                    str(key),
                    revision,
                    canonical_json(self._hide(spec, secrets, declaration)),
                    json.dumps(sorted(secrets)),
                    container_hash,
                    time.time(),
                    result,
                ),
            )

    def record_error(self, key: ServiceKey, error: str) -> None:
        """Keep what was applied before; note that the last attempt failed, and why."""
        with self._tx() as db:
            updated = db.execute(
                "UPDATE services SET result='error', error=?, applied_at=? WHERE key=?",
                (error, time.time(), str(key)),
            ).rowcount
            if not updated:
                db.execute(
                    "INSERT INTO services (key, revision, spec, secrets, container_hash, "
                    "applied_at, result, error) VALUES (?, NULL, '{}', '[]', '', ?, 'error', ?)",
                    (str(key), time.time(), error),
                )

    def forget(self, key: ServiceKey) -> None:
        with self._tx() as db:
            db.execute("DELETE FROM services WHERE key=?", (str(key),))
            db.execute("DELETE FROM overrides WHERE key=?", (str(key),))

    def unbound(self) -> bool:
        """Whether a record may hold a secret digest of its value alone (as a syncd before the
        binding wrote them: `apply.rebind`); a scan in SQLite, no record read into Python."""
        legacy = f"*{DIGEST_PREFIX}[0-9a-f]*"  # a bound one has `v2:` where the hex starts
        with self._lock:
            found = self._db.execute(
                "SELECT 1 FROM services WHERE spec GLOB ? LIMIT 1", (legacy,)
            ).fetchone()
        return found is not None

    def services(self) -> dict[str, ServiceRecord]:
        with self._lock:
            rows = self._db.execute("SELECT * FROM services").fetchall()
        return {
            row["key"]: ServiceRecord(
                key=row["key"],
                revision=row["revision"],
                spec=json.loads(row["spec"]),
                secrets=frozenset(json.loads(row["secrets"])),
                container_hash=row["container_hash"],
                applied_at=row["applied_at"],
                result=row["result"],
                error=row["error"],
            )
            for row in rows
        }

    def set_stack(
        self,
        key: str,
        *,
        seen: str | None,
        applied: str | None = None,
        error: str | None = None,
    ) -> None:
        """Per stack: the revision last seen, the one last applied (kept when None), last error."""
        with self._tx() as db:
            db.execute(
                "INSERT INTO stacks (key, applied_revision, seen_revision, error, at) "
                "VALUES (?, ?, ?, ?, ?) ON CONFLICT(key) DO UPDATE SET "
                "applied_revision=COALESCE(excluded.applied_revision, applied_revision), "
                "seen_revision=excluded.seen_revision, error=excluded.error, at=excluded.at",
                (key, applied, seen, error, time.time()),
            )

    def stacks(self) -> dict[str, StackRecord]:
        with self._lock:
            rows = self._db.execute("SELECT * FROM stacks").fetchall()
        return {
            row["key"]: StackRecord(
                key=row["key"],
                applied_revision=row["applied_revision"],
                seen_revision=row["seen_revision"],
                error=row["error"],
                at=row["at"],
            )
            for row in rows
        }

    # -- volumes -------------------------------------------------------------------------------

    def set_orphaned(self, key: VolumeKey, orphaned: bool) -> None:
        with self._tx() as db:
            db.execute(
                "INSERT OR REPLACE INTO volumes (key, orphaned, at) VALUES (?, ?, ?)",
                (str(key), int(orphaned), time.time()),
            )

    def orphaned_volumes(self) -> frozenset[str]:
        with self._lock:
            rows = self._db.execute("SELECT key FROM volumes WHERE orphaned=1").fetchall()
        return frozenset(row["key"] for row in rows)

    def data_folders(self) -> dict[tuple[str, str], bool]:
        """Every data folder a service mounted: (project, path) -> whether none does now."""
        with self._lock:
            rows = self._db.execute("SELECT project, path, orphaned FROM data_folders").fetchall()
        return {(row["project"], row["path"]): bool(row["orphaned"]) for row in rows}

    def set_data_folders(self, folders: Mapping[tuple[str, str], bool]) -> None:
        with self._tx() as db:
            db.executemany(
                "INSERT OR REPLACE INTO data_folders (project, path, orphaned, at) "
                "VALUES (?, ?, ?, ?)",
                [(p, f, int(o), time.time()) for (p, f), o in folders.items()],
            )

    # -- operator overrides --------------------------------------------------------------------

    def set_stopped(self, key: ServiceKey, stopped: bool) -> None:
        with self._tx() as db:
            if stopped:
                db.execute(
                    "INSERT OR REPLACE INTO overrides (key, stopped, at) VALUES (?, 1, ?)",
                    (str(key), time.time()),
                )
            else:
                db.execute("DELETE FROM overrides WHERE key=?", (str(key),))

    def stopped(self) -> frozenset[str]:
        with self._lock:
            rows = self._db.execute("SELECT key FROM overrides WHERE stopped=1").fetchall()
        return frozenset(row["key"] for row in rows)

    # -- projects ------------------------------------------------------------------------------

    def projects_created(self, candidates: Mapping[str, float]) -> dict[str, float]:
        """When each project was first applied: a project not recorded yet is recorded with its
        candidate time; a recorded one keeps its first time forever (stable across restarts)."""
        with self._lock:
            rows = self._db.execute("SELECT name, created_at FROM projects").fetchall()
        known = {row["name"]: float(row["created_at"]) for row in rows}
        new = {name: at for name, at in candidates.items() if name not in known}
        if new:
            with self._tx() as db:
                db.executemany(
                    "INSERT OR IGNORE INTO projects (name, created_at) VALUES (?, ?)",
                    sorted(new.items()),
                )
                rows = db.execute("SELECT name, created_at FROM projects").fetchall()
            known = {row["name"]: float(row["created_at"]) for row in rows}
        return {name: known[name] for name in candidates if name in known}
