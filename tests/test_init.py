"""`syncd init DIR`: the repository it writes validates, plans between revisions and against
Docker, is a git repository with one commit on main (unless `--no-git`), carries the CI
pipelines of ci/ unchanged, and a DIR that is not empty is refused with nothing written."""

from __future__ import annotations

import subprocess
import uuid
from pathlib import Path

import docker
import pyrage
import pytest

from syncd.cli import init
from syncd.cli.main import main
from syncd.engine.base import LABEL_INSTANCE
from syncd.errors import ExitCode

ROOT = Path(__file__).resolve().parent.parent
FILES = [
    ".github/workflows/syncd.yml",
    ".gitlab-ci.yml",
    ".sops.yaml",
    "README.md",
    "stacks/app/compose.yaml",
    "stacks/app/registry.yaml",
    "stacks/app/www/index.html",
]


def _git(repo: Path, *args: str) -> str:
    done = subprocess.run(["git", *args], cwd=repo, capture_output=True, text=True, check=True)
    return done.stdout.strip()


def _tree(folder: Path) -> list[str]:
    return sorted(
        str(p.relative_to(folder))
        for p in folder.rglob("*")
        if p.is_file() and ".git" not in p.relative_to(folder).parts[:1]
    )


@pytest.fixture
def scaffolded(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> Path:
    repo = tmp_path / "deploy"
    assert main(["init", str(repo)]) == ExitCode.OK
    out = capsys.readouterr().out
    assert [line.strip() for line in out.splitlines() if line.startswith("  ")][:7] == FILES
    return repo


@pytest.fixture
def env_file(tmp_path: Path) -> Path:
    """The operator's env file with the registry password the scaffold's Registry reads."""
    path = tmp_path / "stacks.env"
    path.write_text("APP_REGISTRY_PASSWORD=pw-of-the-init-test\n", encoding="utf-8")
    return path


def test_init_writes_a_repository_that_validates(
    scaffolded: Path, env_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert _tree(scaffolded) == FILES
    assert main(["validate", "--repo", str(scaffolded), "--env-file", str(env_file)]) == 0
    assert "valid, 0 error(s), 0 warning(s)" in capsys.readouterr().out
    # As the CI pipelines run it: the committed revision, the password not set there.
    assert main(["validate", "--repo", str(scaffolded), "--rev", "HEAD", "--unset-ok"]) == 0


def test_the_registry_password_comes_from_the_environment(
    scaffolded: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    registry = (scaffolded / "stacks/app/registry.yaml").read_text()
    assert "password: {env: APP_REGISTRY_PASSWORD}" in registry
    assert main(["validate", "--repo", str(scaffolded)]) == ExitCode.ERROR
    assert "APP_REGISTRY_PASSWORD is not set" in capsys.readouterr().out


def test_init_makes_one_commit_on_main(scaffolded: Path) -> None:
    assert _git(scaffolded, "branch", "--show-current") == "main"
    assert _git(scaffolded, "rev-list", "--count", "HEAD") == "1"
    assert _git(scaffolded, "status", "--porcelain") == ""
    assert sorted(_git(scaffolded, "ls-files").splitlines()) == FILES


def test_a_change_to_the_served_files_plans_a_recreate(
    scaffolded: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (scaffolded / "stacks/app/www/index.html").write_text("<h1>changed</h1>\n")
    _git(scaffolded, "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qam", "greeting")
    code = main(["plan", "--repo", str(scaffolded), "--base", "HEAD~1", "--head", "HEAD"])
    assert code == ExitCode.CHANGES
    assert "~ app/default/web: recreate" in capsys.readouterr().out


@pytest.mark.docker
def test_the_scaffold_plans_against_docker(
    scaffolded: Path,
    env_file: Path,
    tmp_path: Path,
    docker_client: docker.DockerClient,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """A new instance runs nothing yet: the plan creates the web service (and touches nothing)."""
    instance = f"init-{uuid.uuid4().hex[:8]}"
    args = ["plan", "--repo", str(scaffolded), "--env-file", str(env_file)]
    args += ["--instance", instance, "--data-dir", str(tmp_path / "data")]
    assert main(args) == ExitCode.CHANGES
    out = capsys.readouterr().out
    assert "+ app/default/web: create" in out and "Plan: 1 to create" in out
    owned = {"label": f"{LABEL_INSTANCE}={instance}"}
    assert docker_client.containers.list(all=True, filters=owned) == []
    assert docker_client.networks.list(filters=owned) == []


def test_the_ci_pipelines_are_those_of_the_ci_folder(scaffolded: Path) -> None:
    """Copies of ci/, tested there by tests/test_ci_pipelines.py: they must not drift apart."""
    assert (scaffolded / ".github/workflows/syncd.yml").read_bytes() == (
        ROOT / "ci/github-actions.yml"
    ).read_bytes()
    assert (scaffolded / ".gitlab-ci.yml").read_bytes() == (ROOT / "ci/gitlab-ci.yml").read_bytes()


def test_a_non_empty_folder_is_refused_and_left_alone(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "notes.txt").write_text("mine\n")
    assert main(["init", str(tmp_path)]) == 2
    assert "is not empty" in capsys.readouterr().err
    assert [p.name for p in tmp_path.iterdir()] == ["notes.txt"]
    assert main(["init", str(tmp_path / "notes.txt")]) == 2
    assert "is not a folder" in capsys.readouterr().err
    assert (tmp_path / "notes.txt").read_text() == "mine\n"


def test_an_empty_folder_is_used(tmp_path: Path) -> None:
    assert main(["init", str(tmp_path), "--no-git", "--project", "shop"]) == ExitCode.OK
    assert "stacks/shop/compose.yaml" in _tree(tmp_path)
    assert not (tmp_path / ".git").exists()
    registry = (tmp_path / "stacks/shop/registry.yaml").read_text()
    assert "project: shop" in registry and "{env: SHOP_REGISTRY_PASSWORD}" in registry


@pytest.mark.parametrize(
    "flags",
    [["--project", "Shop"], ["--registry", "https://r.example.com"], ["--age-recipient", "age1x"]],
)
def test_bad_values_write_nothing(
    tmp_path: Path, flags: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    target = tmp_path / "deploy"
    assert main(["init", str(target), *flags]) == ExitCode.ERROR
    assert capsys.readouterr().err.startswith("syncd: ")
    assert not target.exists()


def test_the_age_recipient_is_the_one_secrets_are_encrypted_for(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    identity = pyrage.x25519.Identity.generate()
    repo = tmp_path / "deploy"
    assert main(["init", str(repo), "--age-recipient", str(identity.to_public())]) == 0
    (repo / "secrets").mkdir()
    (repo / "secrets/db.env").write_text("DB_PASSWORD=pw-of-the-init-test\n")
    capsys.readouterr()
    assert main(["secrets", "encrypt", str(repo / "secrets/db.env")]) == 0
    encrypted = tmp_path / "db.enc.env"
    encrypted.write_text(capsys.readouterr().out)
    assert "pw-of-the-init-test" not in encrypted.read_text()
    keys = tmp_path / "age.txt"
    keys.write_text(f"{identity}\n")
    args = ["secrets", "decrypt", str(encrypted), "--age-key-file", str(keys)]
    assert main(args) == 0
    assert capsys.readouterr().out == "DB_PASSWORD=pw-of-the-init-test\n"


@pytest.mark.parametrize("planted", ["README.md", "stacks", ".github"])
def test_what_appears_in_the_folder_meanwhile_is_never_followed(
    tmp_path: Path,
    planted: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """DIR in a shared folder: another user plants a symlink between the emptiness check and the
    writes (here: while the templates are read), to a file or folder of the operator's."""
    target, victim = tmp_path / "deploy", tmp_path / "victim"
    victim.mkdir()
    (victim / "bashrc").write_text("mine\n")
    render = init.Scaffold.render

    def racing(self: init.Scaffold, template: str) -> str:
        link = target / planted
        if not link.is_symlink():
            link.symlink_to(victim / "bashrc" if planted == "README.md" else victim)
        return render(self, template)

    monkeypatch.setattr(init.Scaffold, "render", racing)
    assert main(["init", str(target), "--no-git"]) == ExitCode.ERROR
    assert "nothing there was followed or overwritten" in capsys.readouterr().err
    assert [p.name for p in victim.iterdir()] == ["bashrc"]
    assert (victim / "bashrc").read_text() == "mine\n"


@pytest.mark.parametrize("registry", ["r.example.com:5000", "127.0.0.1:5555", "[::1]:5000", "r"])
def test_a_registry_is_a_host_and_a_port(tmp_path: Path, registry: str) -> None:
    assert main(["init", str(tmp_path), "--no-git", "--registry", registry]) == ExitCode.OK
    assert f"uri: {registry}\n" in (tmp_path / "stacks/app/registry.yaml").read_text()


@pytest.mark.parametrize("registry", ["r#x", "{a: b}", 'r"x', "r,x", "r-", "r:x", "a@b"])
def test_a_registry_that_is_more_than_a_host_writes_nothing(tmp_path: Path, registry: str) -> None:
    target = tmp_path / "deploy"
    assert main(["init", str(target), "--registry", registry]) == ExitCode.ERROR
    assert not target.exists()
