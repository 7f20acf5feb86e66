"""Where a short mount's source ends as written: the first `:` outside `${...}`."""

from __future__ import annotations

import pytest

from syncd.manifests.mountsource import source_from_env, written_source


@pytest.mark.parametrize(
    ("written", "source"),
    [
        ("${VOL}:/data", "${VOL}"),
        ("${VOL:-data}:/data:ro", "${VOL:-data}"),
        ("${A:-${B:-x}}:/data", "${A:-${B:-x}}"),
        ("data:/${SUB}", "data"),
        ("$${X}:/y", "$${X}"),
        ("/data", "/data"),
    ],
)
def test_the_source_as_written(written: str, source: str) -> None:
    assert written_source(written) == source


def test_a_source_from_a_variable_counts_the_target_from_one_does_not() -> None:
    item = ("services", "web", "volumes", 0)
    assert source_from_env(item, {item}, {item: "${VOL}:/data"})
    assert not source_from_env(item, {item}, {item: "data:/${SUB}"})
    assert not source_from_env(item, {item}, {item: "$${VOL}:/data"})  # escaped: no variable
    assert source_from_env(item, {item}, {})  # not known how it was written: counts
    assert not source_from_env(item, set(), {item: "${VOL}:/data"})  # not the operator's
    assert source_from_env(item, {(*item, "source")}, {}, long=True)
