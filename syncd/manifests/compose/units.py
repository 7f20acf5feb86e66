"""Compose's byte values (`256M`, `1gb`, `1.5g`, `134217728`) and CPU counts (`0.5`, `1.5`), as
compose-go reads them (docker/go-units `RAMInBytes`: binary multiples, units b/k/m/g/t/p with an
optional `b` or `ib`, any case, a blank before the unit allowed; a bare number is bytes).
Each returns the value or a message saying what was expected. Bounded: the text is length-checked
before it is converted. Pure: no I/O.
"""

from __future__ import annotations

import re
from decimal import Decimal
from fractions import Fraction

from syncd.manifests.compose.context import clip
from syncd.manifests.fields import MAX_NUMBER_TEXT
from syncd.manifests.quantities import parse_cpus

_BYTES = re.compile(r"([0-9]+(?:\.[0-9]+)?) ?([bkmgtp]?)(?:i?b)?", re.I | re.ASCII)
_POWER = {"": 0, "b": 0, "k": 1, "m": 2, "g": 3, "t": 4, "p": 5}
MAX_BYTES = 2**63 - 1  # Docker's fields are signed 64-bit integers


def parse_bytes(value: object) -> int | str:
    """Bytes of a Compose byte value, or why it is not one."""
    if isinstance(value, bool) or not isinstance(value, int | str):
        return "a byte value is a number or text like '256m' or '1gb'"
    text = str(value).strip(" \t")
    match = _BYTES.fullmatch(text) if len(text) <= MAX_NUMBER_TEXT else None
    if match is None:
        return (
            f"{clip(str(value))!r} is not a byte value: use <amount><unit> with unit b, k, m, g, "
            "t or p (optionally followed by 'b'), e.g. '256m' or '1gb'"
        )
    number, scale = match[1], 1024 ** _POWER[match[2].lower()]
    amount = int(number) * scale if "." not in number else int(Fraction(number) * scale)
    if amount > MAX_BYTES:
        return f"{clip(text)!r} is too large: Docker takes at most {MAX_BYTES} bytes"
    return amount


def parse_cpu_count(value: object) -> str | None:
    """The CPU count as canonical text (`0.50` -> `0.5`), or None when it is not one (the
    caller reports `cpu_problem`)."""
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        return None
    try:
        parsed = parse_cpus(str(value))
    except ValueError:
        return None
    return format(parsed.normalize(), "f")


def cpu_problem(value: object) -> str:
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        return "a CPU count is a number like 0.5 or '2'"
    try:
        parse_cpus(str(value))
    except ValueError as err:
        return str(err)
    return "not a CPU count"


def same_cpus(first: str, second: str) -> bool:
    return Decimal(first) == Decimal(second)
