"""`syncd convert FILE`: a Compose file as the native `Stack` it is read as, with what could not
be carried over on stderr, and never a value from the operator's environment on stdout."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from syncd.cli.main import main
from syncd.errors import ExitCode

APPS = Path(__file__).parent / "fixtures" / "compose" / "apps"
KEYS = Path(__file__).parent / "fixtures" / "compose" / "keys"
SECRET = "convert-secret-8812"
CARRIED = """\
name: shop
services:
  db:
    image: postgres:16
    environment:
      POSTGRES_PASSWORD: ${DB_PASSWORD}
      GREETING: "costs $$5"
    volumes: [db-data:/var/lib/postgresql/data]
    healthcheck:
      test: pg_isready
      interval: 10s
  web:
    image: "busybox:${TAG:-1.36}"
    command: sleep ${DB_PASSWORD}
    ports: ["8080:80"]
    depends_on:
      db: {condition: service_healthy}
    restart: unless-stopped
  debug:
    image: busybox:1.36
    profiles: [debug]
volumes:
  db-data: {}
"""


def _convert(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(["convert", *args])
    out = capsys.readouterr()
    return code, out.out, out.err


def test_a_carried_compose_file_becomes_a_valid_native_stack(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = tmp_path / "shop"
    folder.mkdir()
    (folder / "compose.yaml").write_text(CARRIED)
    env = tmp_path / "operator.env"
    env.write_text(f"DB_PASSWORD={SECRET}\n")
    code, out, err = _convert(
        capsys, str(folder / "compose.yaml"), "--env-file", str(env), "--profile", "debug"
    )
    assert code == ExitCode.OK, err
    assert SECRET not in out + err
    stack = yaml.safe_load(out)
    assert stack["kind"] == "Stack" and stack["project"] == "shop"
    assert sorted(stack["services"]) == ["db", "debug", "web"]
    db = stack["services"]["db"]
    assert db["environment"]["POSTGRES_PASSWORD"] == "<redacted>"
    assert db["environment"]["GREETING"] == "costs $$5"  # a literal `$`, escaped for the Stack
    assert stack["services"]["web"]["image"] == "busybox:1.36"  # a default in the file: shown
    assert stack["services"]["web"]["dependsOn"] == {"db": "service_healthy"}
    assert stack["services"]["web"]["command"] == "<redacted>"  # all of what took a variable
    # the printed Stack is a valid native manifest, read back with the same values
    repo = tmp_path / "repo"
    repo.mkdir()
    # (the Stack reads the variable again where the Compose file took it)
    command = 'command: [sleep, "${DB_PASSWORD}"]'
    native = out.replace("command: <redacted>", command).replace("<redacted>", "${DB_PASSWORD}")
    (repo / "shop.yaml").write_text(native)
    assert main(["validate", "--repo", str(repo), "--env-file", str(env)]) == ExitCode.OK
    assert "1 manifest file(s): valid" in capsys.readouterr().out


def test_what_is_not_carried_over_is_listed_at_its_line_and_exits_1(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = tmp_path / "shop"
    folder.mkdir()
    (folder / "compose.yaml").write_text(CARRIED)
    code, out, err = _convert(capsys, str(folder / "compose.yaml"))
    assert code == ExitCode.ERROR
    assert "debug" not in yaml.safe_load(out)["services"]
    assert "shop/compose.yaml:19:3: /services/debug: service 'debug' is left out" in err, err
    folder = tmp_path / "anchors"
    folder.mkdir()
    (folder / "compose.yaml").write_text((KEYS / "anchors.yaml").read_text())
    code, out, err = _convert(capsys, str(folder / "compose.yaml"))
    if code == ExitCode.ERROR:  # labels are carried by the process branch
        assert "anchors/compose.yaml:21:9: /services/one/labels: labels" in err, err
        assert "not carried over" in err


@pytest.mark.parametrize("app", ["01-wiki-postgres", "21-voting-app"])
def test_the_apps_fixtures_convert_or_say_why_not(
    app: str, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = APPS / app
    compose = next(p for p in sorted(folder.iterdir()) if "compose" in p.name)
    code, out, err = _convert(capsys, str(compose))
    if code == ExitCode.OK:
        assert yaml.safe_load(out)["kind"] == "Stack"
        for line in err.splitlines():  # only located warnings
            assert line.startswith(f"{app}/{compose.name}:") and ": warning: " in line, line
    else:
        assert err.strip().endswith("thing(s) not carried over (above)"), err
        for line in err.strip().splitlines()[:-1]:
            assert line.startswith(f"{app}/{compose.name}:"), line  # file:line:col


def test_a_broken_compose_file_prints_no_stack(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = tmp_path / "bad"
    folder.mkdir()
    (folder / "compose.yaml").write_text("services:\n  web:\n    image: [not, text]\n")
    code, out, err = _convert(capsys, str(folder / "compose.yaml"))
    assert code == ExitCode.ERROR and out == ""
    assert "bad/compose.yaml:3:" in err
    code, out, err = _convert(capsys, str(tmp_path / "missing" / "compose.yaml"))
    assert code == ExitCode.ERROR and "cannot read" in err
