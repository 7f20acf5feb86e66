"""`syncd secrets encrypt|decrypt|edit`, run as a user runs it (`python -m syncd`), with keys made
by `age-keygen`; the `age` tool itself opens the data key that syncd wrapped."""

from __future__ import annotations

import json
import os
import re
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from syncd.sops import AgeIdentities, SopsFormat, parse
from syncd.sops.values import open_sealed, unpack
from tests.requirements import missing

ENV_PLAIN = "# the database\nDB_USER=app\nDB_PASSWORD=hunter22\nTOKEN=abc\n"


def _syncd(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        [sys.executable, "-m", "syncd", "secrets", *args],
        capture_output=True,
        check=False,
        timeout=60,
        env={**os.environ, **(env or {})},
    )


@pytest.fixture
def age_key(tmp_path: Path) -> tuple[Path, str]:
    """A key file made by `age-keygen`, and its recipient."""
    if shutil.which("age-keygen") is None:
        missing("age-keygen is not installed (Debian package age; scripts/ensure-tools.sh)")
    path = tmp_path / "keys.txt"
    subprocess.run(["age-keygen", "-o", str(path)], check=True, capture_output=True)
    recipient = subprocess.run(
        ["age-keygen", "-y", str(path)], check=True, capture_output=True, text=True
    ).stdout.strip()
    return path, recipient


def _encrypted(tmp_path: Path, age_key: tuple[Path, str], name: str, plain: str) -> Path:
    source = tmp_path / f"plain-{name}"
    source.write_text(plain)
    done = _syncd(
        "encrypt", str(source), "--age-recipient", age_key[1], "--format", str(_fmt(name))
    )
    assert done.returncode == 0, done.stderr
    path = tmp_path / name
    path.write_bytes(done.stdout)
    return path


def _fmt(name: str) -> SopsFormat:
    from syncd.sops import format_for

    return format_for(name)


def test_encrypt_then_decrypt_round_trips_through_the_command(
    tmp_path: Path, age_key: tuple[Path, str]
) -> None:
    path = _encrypted(tmp_path, age_key, "db.env", ENV_PLAIN)
    assert b"hunter22" not in path.read_bytes() and b"sops_mac=ENC[" in path.read_bytes()
    done = _syncd("decrypt", str(path), "--age-key-file", str(age_key[0]))
    assert done.returncode == 0, done.stderr
    assert done.stdout.decode() == ENV_PLAIN
    by_env = _syncd("decrypt", str(path), env={"SOPS_AGE_KEY_FILE": str(age_key[0])})
    assert by_env.stdout == done.stdout


def test_yaml_json_and_binary_round_trip(tmp_path: Path, age_key: tuple[Path, str]) -> None:
    documents = {
        "app.yaml": "db:\n    password: s3cret\n    port: 5432\nlist:\n- a\n- true\n",
        "app.json": '{"token": "t0ken", "n": 1.5}',
        "cert.pem": "-----BEGIN CERTIFICATE-----\nMIIB\x01\n-----END CERTIFICATE-----\n",
    }
    for name, plain in documents.items():
        path = _encrypted(tmp_path, age_key, name, plain)
        done = _syncd("decrypt", str(path), "--age-key-file", str(age_key[0]))
        assert done.returncode == 0, done.stderr
        out = done.stdout.decode()
        if name.endswith(".yaml"):
            assert yaml.safe_load(out) == yaml.safe_load(plain)
        elif name.endswith(".json"):
            assert json.loads(out) == json.loads(plain)
        else:
            assert out == plain


def test_the_age_tool_opens_the_data_key_syncd_wrapped(
    tmp_path: Path, age_key: tuple[Path, str]
) -> None:
    path = _encrypted(tmp_path, age_key, "db.env", ENV_PLAIN)
    document = parse(path.read_text(), SopsFormat.DOTENV, "db.env")
    armored = document.meta.age[0].enc
    opened = subprocess.run(
        ["age", "-d", "-i", str(age_key[0])],
        input=armored.encode(),
        capture_output=True,
        check=True,
    )
    data_key = opened.stdout
    assert len(data_key) == 32
    value = dict(item for item in document.data if isinstance(item[0], str))["DB_PASSWORD"]
    assert open_sealed(unpack(value), data_key, "DB_PASSWORD:") == "hunter22"


def test_a_wrong_key_is_one_line_naming_the_file(tmp_path: Path, age_key: tuple[Path, str]) -> None:
    path = _encrypted(tmp_path, age_key, "db.env", ENV_PLAIN)
    other = tmp_path / "other.txt"
    subprocess.run(["age-keygen", "-o", str(other)], check=True, capture_output=True)
    done = _syncd("decrypt", str(path), "--age-key-file", str(other))
    assert done.returncode == 1 and done.stdout == b""
    lines = done.stderr.decode().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"syncd: {path}: no age key in {other}")
    nokey = _syncd("decrypt", str(path), env={"SOPS_AGE_KEY_FILE": ""})
    assert nokey.returncode == 1
    assert nokey.stderr.decode().strip() == (
        "syncd: no age key: give --age-key-file or set SOPS_AGE_KEY_FILE"
    )


def _editor(tmp_path: Path, body: str) -> str:
    """A small editor script: records the mode of the file it is given, then runs `body`."""
    script = tmp_path / "editor.py"
    script.write_text(
        "import os, sys, pathlib\n"
        "path = pathlib.Path(sys.argv[1])\n"
        f"pathlib.Path({str(tmp_path / 'seen')!r}).write_text("
        "oct(path.stat().st_mode & 0o777) + ' ' + oct(path.parent.stat().st_mode & 0o777))\n" + body
    )
    return f"{sys.executable} {script}"


def test_edit_reencrypts_only_what_changed(tmp_path: Path, age_key: tuple[Path, str]) -> None:
    path = _encrypted(tmp_path, age_key, "db.env", ENV_PLAIN)
    before = path.read_text()
    editor = _editor(
        tmp_path,
        "path.write_text(path.read_text().replace('hunter22', 'correct horse'))\n",
    )
    done = _syncd("edit", str(path), "--age-key-file", str(age_key[0]), env={"EDITOR": editor})
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "seen").read_text() == "0o600 0o700"
    after = path.read_text()
    assert "correct horse" not in after
    keys = AgeIdentities.from_file(age_key[0])
    plain = parse(after, SopsFormat.DOTENV, "db.env").decrypt(keys)
    assert plain.env() == {"DB_USER": "app", "DB_PASSWORD": "correct horse", "TOKEN": "abc"}

    def line(text: str, name: str) -> str:
        return next(ln for ln in text.splitlines() if ln.startswith(name))

    assert line(after, "DB_USER=") == line(before, "DB_USER=")  # same data key, same nonce
    assert line(after, "DB_PASSWORD=") != line(before, "DB_PASSWORD=")
    assert line(after, "sops_age__list_0__map_enc=") == line(before, "sops_age__list_0__map_enc=")


def test_edit_without_a_change_leaves_the_file_untouched(
    tmp_path: Path, age_key: tuple[Path, str]
) -> None:
    path = _encrypted(tmp_path, age_key, "db.env", ENV_PLAIN)
    path.chmod(0o640)
    before, mtime = path.read_bytes(), path.stat().st_mtime_ns
    done = _syncd(
        "edit", str(path), "--age-key-file", str(age_key[0]), env={"EDITOR": _editor(tmp_path, "")}
    )
    assert done.returncode == 0, done.stderr
    assert path.read_bytes() == before and path.stat().st_mtime_ns == mtime
    assert "unchanged" in done.stderr.decode()
    failing = _editor(tmp_path, "path.write_text('X=1\\n')\nsys.exit(3)\n")
    done = _syncd("edit", str(path), "--age-key-file", str(age_key[0]), env={"EDITOR": failing})
    assert done.returncode == 1 and path.read_bytes() == before
    assert "the editor exited with 3" in done.stderr.decode()
    assert stat.S_IMODE(path.stat().st_mode) == 0o640
    assert not list(tmp_path.glob(".db.env.*"))  # no temporary file left beside it


def test_recipients_from_sops_yaml(tmp_path: Path, age_key: tuple[Path, str]) -> None:
    (tmp_path / ".git").mkdir()
    (tmp_path / ".sops.yaml").write_text(
        "creation_rules:\n"
        "  - path_regex: ^secrets/.*\\.yaml$\n"
        f"    age: '{age_key[1]}'\n"
        "    encrypted_regex: ^(password|token)$\n"
    )
    folder = tmp_path / "secrets" / "prod"
    folder.mkdir(parents=True)
    (folder / "db.yaml").write_text("host: db.local\npassword: pw\n")
    done = _syncd("encrypt", str(folder / "db.yaml"))
    assert done.returncode == 0, done.stderr
    text = done.stdout.decode()
    assert "host: db.local" in text and re.search(r"^password: ENC\[", text, re.MULTILINE)
    assert f"recipient: {age_key[1]}" in text
    (folder / "other.txt").write_text("x")
    nomatch = _syncd("encrypt", str(folder / "other.txt"))
    assert nomatch.returncode == 1
    assert "no creation rule matches secrets/prod/other.txt" in nomatch.stderr.decode()


def test_a_file_that_is_not_sops_is_one_line(tmp_path: Path) -> None:
    plain = tmp_path / "plain.yaml"
    plain.write_text("a: b\n")
    done = _syncd("decrypt", str(plain), "--age-key-file", str(tmp_path / "none.txt"))
    assert done.returncode == 1
    assert done.stderr.decode() == f"syncd: {plain}: not a SOPS file (no sops metadata)\n"
    gone = _syncd("encrypt", str(tmp_path / "gone.env"), "--age-recipient", "age1x")
    assert gone.returncode == 1 and "cannot read" in gone.stderr.decode()
