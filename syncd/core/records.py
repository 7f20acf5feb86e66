"""What syncd records per service when it applies one (kept by `store`). Pure: no I/O."""

from __future__ import annotations

from dataclasses import dataclass

from syncd.core.canonical import Spec

DIGEST_PREFIX = "<digest:"  # a secret value as the store keeps it: `<digest:hmac-sha256>`


@dataclass(frozen=True)
class ServiceRecord:
    key: str
    revision: str | None
    spec: Spec  # secret values are digests until `restore` puts the real ones back
    secrets: frozenset[str]
    container_hash: str
    applied_at: float
    result: str
    error: str | None
