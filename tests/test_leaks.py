"""The leak check the API tests use: a short value counts as a token of its own only."""

from __future__ import annotations

import pytest

from tests.leaks import shows


@pytest.mark.parametrize(
    ("text", "value"),
    [("{'cpus': '0.25'}", "0.25"), ("['18471:80/tcp']", "18471"), ("limit 0.25.", "0.25")],
)
def test_a_value_standing_alone_is_shown(text: str, value: str) -> None:
    assert shows(text, value)


@pytest.mark.parametrize(
    ("text", "value"),
    [("'at': '2026-11-29T07:20:20.251665Z'", "0.25"), ("'revision': '865b18471ab'", "18471")],
)
def test_digits_inside_a_generated_token_are_not_a_leak(text: str, value: str) -> None:
    assert not shows(text, value)


def test_a_long_value_counts_anywhere() -> None:
    assert shows("front-planted-api-secret-4711x", "planted-api-secret-4711")
