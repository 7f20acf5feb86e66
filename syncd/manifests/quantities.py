r"""Parsers for a manifest's quantities: byte values (`512mb`), CPU counts (`0.5`) and
durations (`1m30s`), each bounded as `fields` says (ASCII digits, whole-text patterns, lengths
checked before conversion, ranges checked before Docker sees them).
Pure: no I/O.
"""

from __future__ import annotations

import re
from decimal import Decimal
from fractions import Fraction
from typing import Annotated

from pydantic import AfterValidator, BeforeValidator

from syncd.manifests.fields import (
    MAX_NUMBER_TEXT,
    cached_parser,
    clip,
    fail,
    number_to_text,
    parses,
)

_MEMORY = re.compile(
    r"(?P<amount>[0-9]+(?:\.[0-9]+)?)[ \t]*(?P<unit>b|k|kb|m|mb|g|gb)?", re.I | re.ASCII
)
_UNITS = {"b": 1, "k": 1024, "kb": 1024, "m": 1024**2, "mb": 1024**2, "g": 1024**3, "gb": 1024**3}
MIN_MEMORY = 6 * 1024**2  # Docker refuses smaller limits.
MAX_MEMORY = 2**63 - 1  # Docker's field is a signed 64-bit integer.


@cached_parser
def parse_memory(raw: str) -> int:
    """Bytes of a compose-style byte value (`512mb`, `1g`, `1048576`)."""
    match = _MEMORY.fullmatch(raw.strip(" \t"))
    if match is None:
        raise fail(
            "memory",
            f"{clip(raw)!r} is not a byte value: use <amount><unit> with unit b, k, kb, m, mb, "
            "g or gb (e.g. '256mb')",
        )
    if len(match["amount"]) > MAX_NUMBER_TEXT:
        raise fail("memory", f"{clip(raw)!r} is too large")
    unit = (match["unit"] or "b").lower()
    value = int(Fraction(match["amount"]) * _UNITS[unit])
    if value < MIN_MEMORY:
        raise fail("memory", f"{clip(raw)!r} is below the 6mb minimum Docker accepts")
    if value > MAX_MEMORY:
        raise fail("memory", f"{clip(raw)!r} is too large: Docker takes at most {MAX_MEMORY} bytes")
    return value


_CPUS = re.compile(r"[0-9]+(?:\.[0-9]+)?", re.ASCII)
MIN_CPUS = Decimal("0.01")  # Docker's smallest CPU quota (1 ms per 100 ms period)
MAX_CPUS = 8192  # the kernel's largest CPU count (NR_CPUS); Docker refuses more than the host has


@cached_parser
def parse_cpus(raw: str) -> Decimal:
    text = raw.strip(" \t")
    if not _CPUS.fullmatch(text):
        raise fail("cpus", f"{clip(raw)!r} is not a number of CPU cores (e.g. '0.5' or '2')")
    if len(text) > MAX_NUMBER_TEXT:
        raise fail("cpus", f"{clip(raw)!r}: at most {MAX_NUMBER_TEXT} characters")
    value = Decimal(text)
    if value < MIN_CPUS:
        raise fail(
            "cpus", f"{clip(raw)!r}: the CPU limit must be at least {MIN_CPUS} (Docker's minimum)"
        )
    if value > MAX_CPUS:
        raise fail("cpus", f"{clip(raw)!r}: the CPU limit must be at most {MAX_CPUS}")
    if (Fraction(text) * 10**9).denominator != 1:
        raise fail("cpus", f"{clip(raw)!r}: at most 9 decimal places")
    return value


MemoryString = Annotated[str, BeforeValidator(number_to_text), AfterValidator(parses(parse_memory))]
CpusString = Annotated[str, BeforeValidator(number_to_text), AfterValidator(parses(parse_cpus))]

_DURATION = re.compile(r"([0-9]+(?:\.[0-9]+)?)(ms|s|m|h)", re.ASCII)
_DURATIONS = re.compile(r"(?:[0-9]+(?:\.[0-9]+)?(?:ms|s|m|h))+", re.ASCII)
_SCALE = {"ms": Fraction(1, 1000), "s": Fraction(1), "m": Fraction(60), "h": Fraction(3600)}
MIN_DURATION = Fraction(1, 1000)  # Docker refuses a healthcheck duration under 1ms (but 0)
MAX_DURATION = Fraction(365 * 24 * 3600)  # a year: far below Docker's 64-bit nanoseconds


@cached_parser
def parse_duration(raw: str) -> float:
    """Seconds of a compose-style duration (`10s`, `1m30s`, `500ms`)."""
    text = raw.strip(" \t")
    if not _DURATIONS.fullmatch(text):
        raise fail("duration", f"{clip(raw)!r} is not a duration like '10s', '1m30s' or '500ms'")
    parts = _DURATION.findall(text)
    if len(parts) > len(_SCALE):
        raise fail("duration", f"{clip(raw)!r} has more than {len(_SCALE)} parts")
    if any(len(number) > MAX_NUMBER_TEXT for number, _unit in parts):
        raise fail("duration", f"{clip(raw)!r} is too large: at most 8760h (a year)")
    seconds = sum((Fraction(number) * _SCALE[unit] for number, unit in parts), Fraction(0))
    if seconds > MAX_DURATION:
        raise fail("duration", f"{clip(raw)!r} is too large: at most 8760h (a year)")
    if 0 < seconds < MIN_DURATION:
        raise fail("duration", f"{clip(raw)!r} is below 1ms, the shortest duration Docker accepts")
    return float(seconds)


DurationString = Annotated[str, AfterValidator(parses(parse_duration))]
