"""The state store: records survive reopening, secret values never reach the file."""

from __future__ import annotations

from pathlib import Path

from syncd.apply.store import Store
from syncd.core.records import DIGEST_PREFIX
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
    assert reopened.restore(record, SPEC) == SPEC
    changed = {**SPEC, "environment": {**ENV, "TOKEN": "other"}}
    assert reopened.restore(record, changed)["environment"]["TOKEN"].startswith(DIGEST_PREFIX)
    assert reopened.restore(record, None)["environment"]["TOKEN"].startswith(DIGEST_PREFIX)


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
