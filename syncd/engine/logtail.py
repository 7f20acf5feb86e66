"""The tail of a log stream, bounded: what a logs answer keeps of a container's or a Swarm
service's lines. Pure."""

from __future__ import annotations

import collections
from collections.abc import Iterable

from syncd.engine.base import MAX_LOG_BYTES


def bounded(chunks: Iterable[bytes], limit: int = MAX_LOG_BYTES) -> str:
    """The chunks' text, at most their last `limit` bytes, from a line's start (the engine
    answers every line whole, however long its lines are)."""
    kept: collections.deque[bytes] = collections.deque()
    size = 0
    for chunk in chunks:
        kept.append(chunk)
        size += len(chunk)
        while size - len(kept[0]) >= limit:
            size -= len(kept.popleft())
    raw = b"".join(kept)
    if len(raw) > limit:
        cut = raw.find(b"\n", len(raw) - limit, len(raw) - 1)  # from a line's start
        raw = raw[cut + 1 :] if cut >= 0 else raw[-limit:]
    return raw.decode("utf-8", errors="replace")
