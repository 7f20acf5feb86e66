"""Shared settings: flags win over SYNCD_* variables, which win over defaults."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest

from syncd.errors import SyncdError
from syncd.settings import add_arguments, from_args


def _parse(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    add_arguments(parser)
    return parser.parse_args(argv)


def test_flags_win_over_the_environment_which_wins_over_defaults(tmp_path: Path) -> None:
    env = {"SYNCD_DATA_DIR": str(tmp_path / "env"), "SYNCD_INSTANCE": "blue"}
    settings = from_args(_parse("--instance", "green"), env)
    assert settings.instance == "green"
    assert settings.data_dir == tmp_path / "env"
    assert settings.state_file == tmp_path / "env" / "state-green.sqlite"
    default = from_args(_parse(), {"XDG_STATE_HOME": str(tmp_path)})
    assert (default.instance, default.publish_address, default.stop_timeout) == (
        "default",
        "127.0.0.1",
        10,
    )
    assert default.data_dir == tmp_path / "syncd"


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (("--instance", "Bad_Name"), "instance name"),
        (("--publish-address", "localhost"), "not an IP address"),
        (("--parallelism", "0"), "parallelism"),
    ],
)
def test_bad_settings_are_refused_with_a_clear_message(argv: tuple[str, ...], message: str) -> None:
    with pytest.raises(SyncdError, match=message):
        from_args(_parse(*argv), {"XDG_STATE_HOME": "/tmp"})
