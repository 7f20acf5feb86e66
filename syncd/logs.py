"""structlog, configured once: key-value on a terminal, JSON lines otherwise, always on stderr.

Event names are snake_case facts (`manifests_validated`); values are fields. Secrets never reach
here: callers log keys, pointers and counts, not values. In depth: a last processor hides every
secret value the process has seen (`taint.remember`) from every event, tracebacks included.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Mapping, MutableMapping
from typing import Any

import structlog

from syncd import taint
from syncd.taint import redact_url

_configured = False


class _Stderr:
    """Whatever `sys.stderr` is at the moment of writing (it may be swapped after configure)."""

    def write(self, text: str) -> int:
        return sys.stderr.write(text)

    def flush(self) -> None:
        sys.stderr.flush()


def _redact_urls(
    _logger: Any, _method: str, event: MutableMapping[str, Any]
) -> MutableMapping[str, Any]:
    """No URL credentials in any line, whoever logged the URL (a git error, a traceback)."""
    for key, value in event.items():
        if isinstance(value, str) and "@" in value:
            event[key] = redact_url(value)
        elif isinstance(value, list | tuple) and any(isinstance(v, str) for v in value):
            event[key] = [redact_url(v) if isinstance(v, str) else v for v in value]
    return event


def _scrub(_logger: Any, _method: str, event: MutableMapping[str, Any]) -> Mapping[str, Any]:
    scrubbed: Mapping[str, Any] = taint.scrub_known(event)
    return scrubbed


def configure(level: str = "info", *, json: bool | None = None) -> None:
    global _configured  # noqa: PLW0603 - configure once per process, by design
    use_json = not sys.stderr.isatty() if json is None else json
    renderer: Any = (
        structlog.processors.JSONRenderer() if use_json else structlog.dev.ConsoleRenderer()
    )
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            structlog.processors.StackInfoRenderer(),
            structlog.processors.format_exc_info,
            _redact_urls,
            _scrub,
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(
            logging.getLevelNamesMapping()[level.upper()]
        ),
        logger_factory=structlog.PrintLoggerFactory(file=_Stderr()),  # type: ignore[arg-type]
        cache_logger_on_first_use=False,
    )
    _configured = True


def get(name: str = "syncd") -> Any:
    if not _configured:
        configure()
    return structlog.get_logger(name)
