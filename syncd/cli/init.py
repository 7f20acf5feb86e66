"""`syncd init DIR`: a new manifest repository to start from. A Compose stack (a busybox web
server serving files from the repository), a `kind: Registry` whose password comes from the
operator's environment, the CI pipelines of `ci/`, a `.sops.yaml` and a README; then `git init`
(branch main) and a first commit unless `--no-git`. A DIR that exists and is not empty is
refused before anything is written (exit 2, as a usage error)."""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from syncd.errors import ExitCode, SopsError, SyncdError
from syncd.manifests.fields import DNS_LABEL
from syncd.sops.identities import recipient
from syncd.source.gitargs import git_error

REFUSED = 2  # as argparse's usage errors: nothing was done
NO_AGE_KEY = "REPLACE-with-an-age-public-key"  # `.sops.yaml` without --age-recipient
DEFAULT_REGISTRY = "registry.example.com"
# a host name, an IPv4 address or a bracketed IPv6 one, and a port: written into YAML unquoted
REGISTRY = re.compile(
    r"(?:[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?|\[[0-9A-Fa-f:.]+\])(?::\d{1,5})?"
)


@dataclass(frozen=True)
class Scaffold:
    """What the templates are filled with."""

    project: str
    registry: str
    age: str

    @property
    def variable(self) -> str:
        """The registry password's variable: `APP_REGISTRY_PASSWORD` for the project `app`."""
        return f"{self.project.upper().replace('-', '_')}_REGISTRY_PASSWORD"

    def files(self) -> dict[str, str]:
        """Each file's path in the new repository -> its template (under `templates/`)."""
        stack = f"stacks/{self.project}"
        return {
            "README.md": "README.md",
            f"{stack}/compose.yaml": "compose.yaml",
            f"{stack}/www/index.html": "index.html",
            f"{stack}/registry.yaml": "registry.yaml",
            ".sops.yaml": "sops.yaml",
            ".github/workflows/syncd.yml": "github-actions.yml",
            ".gitlab-ci.yml": "gitlab-ci.yml",
        }

    def render(self, template: str) -> str:
        text = resources.files("syncd.cli").joinpath("templates", template).read_text("utf-8")
        for key, value in (
            ("@PROJECT@", self.project),
            ("@REGISTRY@", self.registry),
            ("@VARIABLE@", self.variable),
            ("@AGE@", self.age),
        ):
            text = text.replace(key, value)
        return text


def add_parser(sub: Any) -> None:
    """`syncd init` on the `syncd` parser's subcommands."""
    parser = sub.add_parser(
        "init",
        help="start a manifest repository: a Compose stack, a registry, CI, .sops.yaml",
        description="Write a new manifest repository into DIR (made if missing, refused if not "
        "empty): a Compose stack, a kind: Registry whose password comes from the environment, "
        "CI pipelines for GitHub and GitLab, .sops.yaml and a README; then git init and a first "
        f"commit. Exit codes: {ExitCode.OK} done, {ExitCode.ERROR} error, {REFUSED} DIR is not "
        "empty (nothing written).",
    )
    parser.add_argument("dir", metavar="DIR", type=Path)
    parser.add_argument(
        "--project", default="app", help="the project's name (default: app; a DNS label)"
    )
    parser.add_argument(
        "--registry",
        default=DEFAULT_REGISTRY,
        metavar="HOST[:PORT]",
        help=f"the private registry's address (default: {DEFAULT_REGISTRY})",
    )
    parser.add_argument(
        "--age-recipient",
        action="append",
        default=[],
        metavar="R",
        help="age1… public key that .sops.yaml encrypts for; repeatable "
        f"(default: a placeholder, {NO_AGE_KEY})",
    )
    parser.add_argument(
        "--no-git", action="store_true", help="write the files only: no git init, no commit"
    )
    parser.set_defaults(func=cmd_init)


def _scaffold(args: argparse.Namespace) -> Scaffold:
    if len(args.project) > 63 or not DNS_LABEL.fullmatch(args.project):
        raise SyncdError(
            f"--project {args.project[:70]!r} is not a project name: lowercase letters, digits "
            "and '-', at most 63, starting and ending with a letter or digit"
        )
    registry = str(args.registry)
    if not REGISTRY.fullmatch(registry):
        raise SyncdError(f"--registry {registry[:70]!r} is not HOST[:PORT] (no scheme, no path)")
    for given in args.age_recipient:
        try:
            recipient(given, "--age-recipient")
        except SopsError as err:
            raise SyncdError(str(err)) from None
    return Scaffold(args.project, registry, ",".join(args.age_recipient) or NO_AGE_KEY)


def _git(target: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    try:
        return subprocess.run(
            ["git", *args], cwd=target, capture_output=True, text=True, check=check, timeout=60
        )
    except FileNotFoundError:
        raise SyncdError("git is not installed: install it, or give --no-git") from None
    except subprocess.CalledProcessError as err:
        detail = git_error(err.stderr, err.returncode)
        raise SyncdError(f"git {args[0]} failed in {target}:\n{detail}") from None


def _first_commit(target: Path) -> str:
    """`git init -b main`, every file added, one commit; the commit's short id."""
    _git(target, "init", "-q", "-b", "main")
    _git(target, "add", "-A")
    identity: list[str] = []
    if _git(target, "config", "user.email", check=False).returncode != 0:
        identity = ["-c", "user.name=syncd init", "-c", "user.email=syncd@localhost"]
    _git(target, *identity, "commit", "-q", "-m", "syncd init: first manifests")
    return _git(target, "rev-parse", "--short", "HEAD").stdout.strip()


def write_new(target: Path, files: dict[str, str]) -> None:
    """Each file and folder created anew below `target`, through the folders' descriptors: one
    that appeared meanwhile (DIR may be a shared folder where another user plants a symlink
    between the emptiness check and the writes) is an error, never followed or overwritten."""
    top = os.open(target, os.O_RDONLY | os.O_DIRECTORY)
    folders: dict[tuple[str, ...], int] = {(): top}
    try:
        for path, text in files.items():
            *parts, name = Path(path).parts
            for depth in range(1, len(parts) + 1):
                if tuple(parts[:depth]) not in folders:
                    parent, part = folders[tuple(parts[: depth - 1])], parts[depth - 1]
                    os.mkdir(part, 0o755, dir_fd=parent)
                    flags = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW
                    folders[tuple(parts[:depth])] = os.open(part, flags, dir_fd=parent)
            flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW
            fd = os.open(name, flags, 0o644, dir_fd=folders[tuple(parts)])
            with open(fd, "w", encoding="utf-8") as out:
                out.write(text)
    except OSError as err:
        raise SyncdError(
            f"cannot write {err.filename} into {target}: {err.strerror} (something else wrote "
            "into it meanwhile; nothing there was followed or overwritten)"
        ) from None
    finally:
        for fd in folders.values():
            os.close(fd)


def cmd_init(args: argparse.Namespace) -> int:
    target: Path = args.dir
    if target.exists() and (not target.is_dir() or any(target.iterdir())):
        what = "is not empty" if target.is_dir() else "exists and is not a folder"
        print(
            f"syncd: {target} {what}: give a new or empty folder (nothing written)", file=sys.stderr
        )
        return REFUSED
    scaffold = _scaffold(args)
    target.mkdir(parents=True, exist_ok=True)
    written = scaffold.files()
    write_new(target, {path: scaffold.render(template) for path, template in written.items()})
    print(f"syncd: wrote {len(written)} files into {target}:")
    for path in sorted(written):
        print(f"  {path}")
    if not args.no_git:
        print(f"syncd: git repository on branch main, first commit {_first_commit(target)}")
    print(
        f"next: set {scaffold.variable} where syncd runs (its env file), check with\n"
        f"  {scaffold.variable}=… syncd validate --repo {target} --allow-env {scaffold.variable}"
    )
    if scaffold.age == NO_AGE_KEY:
        print(f"and put the server's age public key into {target / '.sops.yaml'}")
    return ExitCode.OK
