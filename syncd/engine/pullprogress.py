"""Docker's pull stream read to its end: the bytes of its layers reported as `Phase.PULL`
events (`syncd.progress`), an error message raised as `EngineError`."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from syncd.errors import EngineError
from syncd.progress import Event, Phase, Progress


def pulled(message: Mapping[str, Any]) -> tuple[int, int] | None:
    """A layer's (bytes so far, size) from one message of the stream; None when it tells no
    bytes."""
    detail = message.get("progressDetail") or {}
    current, total = detail.get("current"), detail.get("total")
    if message.get("status") == "Downloading" and isinstance(current, int):
        return (current, total) if isinstance(total, int) else None
    return None


def follow_pull(stream: Iterable[Mapping[str, Any]], reference: str, reporter: Progress) -> None:
    layers: dict[str, tuple[int, int]] = {}  # layer id -> (bytes so far, its size)
    reporter.report(Event(Phase.PULL, reference))
    for message in stream:
        if "error" in message:
            detail = message.get("errorDetail") or {}
            reporter.report(Event(Phase.PULL, reference, done=True, failed=True))
            raise EngineError(str(detail.get("message") or message["error"]))
        layer, seen = str(message.get("id")), pulled(message)
        complete = message.get("status") in ("Download complete", "Pull complete")
        if seen is None and complete and layer in layers:  # a layer done counts whole
            seen = (layers[layer][1], layers[layer][1])
        if seen is not None:
            layers[layer] = seen
            current = sum(got for got, _ in layers.values())
            total = sum(size for _, size in layers.values())
            reporter.report(Event(Phase.PULL, reference, current=current, total=total))
    done = sum(size for _, size in layers.values())
    reporter.report(Event(Phase.PULL, reference, done=True, current=done, total=done))
