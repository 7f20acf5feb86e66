"""What a test run may skip, and how loudly.

`CI=true` (CI) and `SYNCD_REQUIRE_ALL=1` (set by `make test`) make every requirement of the
suite -- the Docker engine and test registry, mittwald's reference spec, a local dockerd the
outage test may restart -- a failure when it is missing. `SYNCD_REQUIRE_DOCKER=1` requires the
Docker environment only. Without them a missing requirement skips the test, and every skip of
the run is listed in a red banner of the terminal summary (tests/conftest.py), never silently.
"""

from __future__ import annotations

import os
from typing import NoReturn

import pytest


def everything_required() -> bool:
    return (
        os.environ.get("CI", "").strip().lower() == "true"
        or os.environ.get("SYNCD_REQUIRE_ALL", "").strip() == "1"
    )


def docker_required() -> bool:
    return everything_required() or os.environ.get("SYNCD_REQUIRE_DOCKER", "").strip() == "1"


def missing(reason: str, *, required: bool | None = None) -> NoReturn:
    """Fail when the run requires it (`CI=true`, `SYNCD_REQUIRE_ALL=1`), else skip (loudly)."""
    if everything_required() if required is None else required:
        pytest.fail(f"{reason}; required because CI=true or SYNCD_REQUIRE_ALL=1 (make test)")
    pytest.skip(reason)
