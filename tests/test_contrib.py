"""contrib/: the systemd unit passes `systemd-analyze verify` and is hardened as the README says;
the example config file names exactly the `SYNCD_*` variables `syncd run` reads, and the
defaults it documents are the defaults the daemon resolves."""

from __future__ import annotations

import configparser
import re
import shutil
import subprocess
import sys
from pathlib import Path

from syncd.cli.main import build_parser
from syncd.daemon.config import RUN_NAMES, resolve
from syncd.settings import SETTING_NAMES
from tests.requirements import missing

ROOT = Path(__file__).resolve().parent.parent
UNIT = ROOT / "contrib" / "syncd.service"
EXAMPLE = ROOT / "contrib" / "syncd.conf.example"
#: Read by the process, not through the settings' layers: the log level and the config file.
PROCESS_NAMES = {"SYNCD_LOG_LEVEL", "SYNCD_CONFIG"}
#: Read by client commands (`syncd service --api`, `plan --api`), never by the daemon.
CLIENT_NAMES = {"SYNCD_API"}
NO_ANALYZE = "systemd-analyze is not installed (Debian package systemd; scripts/ensure-tools.sh)"
_LINE = re.compile(r"^(#?)(SYNCD_[A-Z][A-Z0-9_]*)=(.*)$")


def _example() -> dict[str, tuple[bool, str]]:
    """Each variable of the example: (set, i.e. not commented out; its value)."""
    found: dict[str, tuple[bool, str]] = {}
    for line in EXAMPLE.read_text(encoding="utf-8").splitlines():
        if match := _LINE.match(line):
            assert match[2] not in found, f"{match[2]} is in the example twice"
            found[match[2]] = (not match[1], match[3])
    return found


def _unit() -> configparser.ConfigParser:
    parser = configparser.ConfigParser(strict=False, interpolation=None, delimiters=("=",))
    parser.optionxform = str  # type: ignore[assignment,method-assign]
    parser.read_string(UNIT.read_text(encoding="utf-8"))
    return parser


def test_the_unit_passes_systemd_analyze_verify(tmp_path: Path) -> None:
    """Verified with ExecStart at this venv's `syncd` (verify wants an executable there)."""
    if shutil.which("systemd-analyze") is None:
        missing(
            "systemd-analyze is not installed (Debian package systemd; scripts/ensure-tools.sh)"
        )
    syncd = Path(sys.executable).parent / "syncd"
    text = UNIT.read_text(encoding="utf-8")
    assert "ExecStart=/usr/local/bin/syncd run\n" in text
    unit = tmp_path / "syncd.service"
    unit.write_text(text.replace("/usr/local/bin/syncd", str(syncd)), encoding="utf-8")
    done = subprocess.run(
        ["systemd-analyze", "verify", str(unit)], capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr
    assert "syncd.service" not in done.stdout + done.stderr  # no warning about any line of it


def test_a_unit_with_a_misspelt_setting_is_not_silent(tmp_path: Path) -> None:
    """The verify test above would see a typo in a hardening line: systemd names it."""
    if shutil.which("systemd-analyze") is None:
        missing(
            "systemd-analyze is not installed (Debian package systemd; scripts/ensure-tools.sh)"
        )
    text = UNIT.read_text(encoding="utf-8").replace("ProtectSystem=", "ProtectSytem=")
    unit = tmp_path / "syncd.service"
    unit.write_text(text.replace("/usr/local/bin/syncd", sys.executable), encoding="utf-8")
    done = subprocess.run(
        ["systemd-analyze", "verify", str(unit)], capture_output=True, text=True, check=False
    )
    assert "Unknown key 'ProtectSytem'" in done.stderr


def test_the_unit_runs_syncd_sandboxed_as_its_own_user() -> None:
    service = _unit()["Service"]
    assert service["ExecStart"] == "/usr/local/bin/syncd run"
    assert service["User"] == "syncd" and service["SupplementaryGroups"] == "docker"
    assert service["StateDirectory"] == "syncd" and service["StateDirectoryMode"] == "0700"
    assert service["Environment"] == "SYNCD_DATA_DIR=%S/syncd"
    assert service["EnvironmentFile"] == "/etc/syncd/syncd.conf"
    assert service["Restart"] == "on-failure"
    assert service["RestartPreventExitStatus"] == "78"  # ExitCode.CONFIG: a restart cannot help
    hardening = {
        "ProtectSystem": "strict",
        "ProtectHome": "yes",
        "PrivateTmp": "yes",
        "NoNewPrivileges": "yes",
        "CapabilityBoundingSet": "",
    }
    assert {k: service.get(k) for k in hardening} == hardening


def test_the_example_names_every_variable_syncd_run_reads_and_no_other() -> None:
    """Both ways: the settings' names (flag > SYNCD_* > config file), and every `SYNCD_*` name
    the package's source spells out."""
    layered = {f"SYNCD_{name.upper()}" for name in SETTING_NAMES | RUN_NAMES}
    spelt: set[str] = set()
    for path in (ROOT / "syncd").rglob("*.py"):
        spelt |= set(re.findall(r"(?<![A-Z_])SYNCD_[A-Z][A-Z0-9_]*[A-Z0-9]", path.read_text()))
    read = layered | PROCESS_NAMES | (spelt - CLIENT_NAMES)
    assert set(_example()) == read


def test_the_example_sets_only_the_repository() -> None:
    assert {k: v for k, (on, v) in _example().items() if on} == {
        "SYNCD_REPO": "/srv/git/deploy.git"
    }


def test_the_defaults_the_example_documents_are_the_daemons(tmp_path: Path) -> None:
    """Every commented line taken in (as if the operator uncommented the whole file) resolves to
    the same daemon settings as an environment without them."""
    args = build_parser().parse_args(["run"])
    plain = {"SYNCD_REPO": str(tmp_path / "deploy.git"), "SYNCD_DATA_DIR": "/var/lib/syncd"}
    everything = {k: v for k, (_, v) in _example().items()} | plain
    for name in PROCESS_NAMES:  # read by main() and Layers: a config file would be opened
        everything.pop(name)
    config, settings, _ = resolve(args, plain)
    config_all, settings_all, layers = resolve(args, everything)
    assert (config_all, settings_all) == (config, settings)
    assert layers.origins["poll_interval"].value == "env"  # the values were read, not skipped


def test_the_readmes_install_steps_edit_lines_the_example_has() -> None:
    """README, "Install on a server": each `sed -e 's|^#SYNCD_X=$|SYNCD_X=…|'` uncomments one
    line of the example, which then sets that variable."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Install on a server", 1)[1].split("\n## ", 1)[0]
    edits = re.findall(r"-e 's\|\^#(SYNCD_[A-Z_]+)=\$\|(SYNCD_[A-Z_]+)=([^|]+)\|'", section)
    assert len(edits) >= 3
    example = _example()
    for commented, name, value in edits:
        assert commented == name and example[name] == (False, ""), name
        assert value.startswith("/etc/syncd/")
