"""The sync history in the state store: one row per sync (trigger, revision, result, stage,
error, plan counts, per-service results); the newest `HISTORY_LIMIT` are kept.

The same failure again (same revision, result, stage and error text as the row before it) is not
a new row: the row before counts it (`count`) and says when it was last seen (`last_seen`), so a
failure repeated by every drift pass or retry stays one row."""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from contextlib import AbstractContextManager
from typing import Any

from syncd.core.records import SyncRecord

HISTORY_LIMIT = 1000  # syncs kept; older ones are dropped
FAILED = ("failed", "crashed")  # results whose repeats are counted in one row
# columns added after the first release: added to an existing database as it is opened
ADDED_COLUMNS = {"count": "INTEGER NOT NULL DEFAULT 1", "last_seen": "REAL"}


class SyncHistory:
    """Mixed into `Store`: its connection, lock and transactions."""

    _db: sqlite3.Connection
    _lock: threading.Lock

    def _tx(self) -> AbstractContextManager[sqlite3.Connection]:
        raise NotImplementedError

    # -- sync history --------------------------------------------------------------------------

    def _migrate_history(self) -> None:
        """Add the columns a database made by an older syncd lacks (idempotent)."""
        with self._tx() as db:
            have = {row[1] for row in db.execute("PRAGMA table_info(syncs)").fetchall()}
            for name, kind in ADDED_COLUMNS.items():
                if name not in have:
                    db.execute(f"ALTER TABLE syncs ADD COLUMN {name} {kind}")

    def begin_sync(self, trigger: str, revision: str | None) -> int:
        with self._tx() as db:
            cursor = db.execute(
                "INSERT INTO syncs (trigger, revision, started_at, result) VALUES (?, ?, ?, ?)",
                (trigger, revision, time.time(), "running"),
            )
            db.execute(
                "DELETE FROM syncs WHERE id <= (SELECT MAX(id) FROM syncs) - ?", (HISTORY_LIMIT,)
            )
            return int(cursor.lastrowid or 0)

    def finish_sync(
        self,
        sync_id: int,
        *,
        revision: str | None,
        result: str,
        stage: str | None = None,
        error: str | None = None,
        summary: dict[str, int] | None = None,
        services: list[dict[str, Any]] | None = None,
    ) -> None:
        with self._tx() as db:
            done = db.execute(
                "UPDATE syncs SET revision=?, duration=? - started_at, result=?, stage=?, "
                "error=?, summary=?, services=? WHERE id=?",
                (
                    revision,
                    time.time(),
                    result,
                    stage,
                    error,
                    json.dumps(summary or {}),
                    json.dumps(services or []),
                    sync_id,
                ),
            ).rowcount
            if done and result in FAILED and error:
                self._count_repeat(db, sync_id, (revision, result, stage, error))

    @staticmethod
    def _count_repeat(
        db: sqlite3.Connection, sync_id: int, failure: tuple[str | None, str, str | None, str]
    ) -> None:
        """Fold `sync_id` into the row before it when that row is the same failure."""
        before = db.execute(
            "SELECT id, revision, result, stage, error FROM syncs WHERE id < ? "
            "ORDER BY id DESC LIMIT 1",
            (sync_id,),
        ).fetchone()
        if before is None or tuple(before)[1:] != failure:
            return
        db.execute(
            "UPDATE syncs SET count = count + 1, last_seen = ?, "
            "summary = (SELECT summary FROM syncs WHERE id = ?), "
            "services = (SELECT services FROM syncs WHERE id = ?) WHERE id = ?",
            (time.time(), sync_id, sync_id, before["id"]),
        )
        db.execute("DELETE FROM syncs WHERE id = ?", (sync_id,))

    def drop_sync(self, sync_id: int) -> None:
        with self._tx() as db:
            db.execute("DELETE FROM syncs WHERE id=?", (sync_id,))

    def mark_interrupted(self) -> int:
        """Syncs still `running` from a process that died: say so (at daemon start)."""
        with self._tx() as db:
            return db.execute(
                "UPDATE syncs SET result='interrupted' WHERE result='running'"
            ).rowcount

    def syncs(self, limit: int = 50) -> list[SyncRecord]:
        """The latest `limit` syncs, newest first."""
        with self._lock:
            rows = self._db.execute(
                "SELECT * FROM syncs ORDER BY id DESC LIMIT ?", (limit,)
            ).fetchall()
        return [
            SyncRecord(
                id=row["id"],
                trigger=row["trigger"],
                revision=row["revision"],
                started_at=row["started_at"],
                duration=row["duration"],
                result=row["result"],
                stage=row["stage"],
                error=row["error"],
                summary=json.loads(row["summary"]),
                services=tuple(json.loads(row["services"])),
                count=row["count"],
                last_seen=row["last_seen"],
            )
            for row in rows
        ]
