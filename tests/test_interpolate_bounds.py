"""Interpolation in syncd's own manifests cannot build text without bound: a short template
that repeats a long operator value is refused at its place, not expanded into memory."""

from __future__ import annotations

from syncd.manifests.interpolate import interpolate

BIG = {"BIG": "b" * 1000}


def test_a_native_template_cannot_multiply_a_value_without_bound() -> None:
    out = interpolate({"services": {"web": {"command": ["${BIG}" * 12_000]}}}, BIG)
    assert len(out.problems) == 1
    path, message = out.problems[0]
    assert path == ("services", "web", "command", 0)
    assert "interpolation builds more than" in message and "b" * 10 not in message


def test_the_budget_counts_every_string_of_a_document() -> None:
    data = {f"k{i}": "${BIG}" * 1000 for i in range(12)}  # 1 MB each, 12 MB in all
    out = interpolate(data, BIG)
    assert out.problems and all("interpolation builds more than" in m for _, m in out.problems)
    assert interpolate({f"k{i}": "${BIG}" * 1000 for i in range(4)}, BIG).problems == []
