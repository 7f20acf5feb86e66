"""Each fixture under fixtures/invalid/ is one kind of bad input; its `# expect:` lines say exactly
which `file:line:col: message` syncd must report. Run through the real CLI: exit code 1."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from syncd.cli.main import main

FIXTURES = Path(__file__).parent / "fixtures" / "invalid"
EXPECT = re.compile(rb"^# expect: (\d+):(\d+): (.*)$", re.M)


def _cases() -> list[Path]:
    return sorted(FIXTURES.glob("*.yaml"))


@pytest.mark.parametrize("fixture", _cases(), ids=lambda p: p.stem)
def test_fixture_reports_expected_problems(
    fixture: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    expectations = EXPECT.findall(fixture.read_bytes())
    assert expectations, f"{fixture.name} has no '# expect:' line"
    shutil.copy(fixture, tmp_path / fixture.name)

    code = main(["validate", "--repo", str(tmp_path)])

    out = capsys.readouterr().out.splitlines()
    for line, column, text in expectations:
        prefix = f"{fixture.name}:{int(line)}:{int(column)}: "
        wanted = text.decode()
        assert any(o.startswith(prefix) and wanted in o for o in out), (
            f"expected {prefix}...{wanted}\ngot:\n" + "\n".join(out)
        )
    errors = [o for o in out if o.startswith(fixture.name) and ": warning:" not in o]
    assert code == (1 if errors else 0)
    assert len(errors) + sum(": warning:" in o for o in out) == len(expectations), (
        "unexpected extra problems:\n" + "\n".join(out)
    )


@pytest.mark.parametrize("fixture", _cases(), ids=lambda p: p.stem)
def test_every_fixture_fails_validation(
    fixture: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Each fixture is bad input: validating it alone reports at least one error, exit code 1."""
    shutil.copy(fixture, tmp_path / fixture.name)

    code = main(["validate", "--repo", str(tmp_path)])

    out = capsys.readouterr().out.splitlines()
    errors = [o for o in out if o.startswith(f"{fixture.name}:") and ": warning:" not in o]
    assert code == 1 and errors, f"{fixture.name} validated without an error:\n" + "\n".join(out)


def test_there_are_fixtures_for_every_kind_of_bad_input() -> None:
    assert len(_cases()) >= 20
