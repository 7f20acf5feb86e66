"""The `syncd` command line, run as a user runs it (a real process for one case)."""

from __future__ import annotations

import http.server
import json
import os
import subprocess
import sys
import threading
import traceback
import urllib.error
from collections.abc import Iterator
from pathlib import Path
from typing import Any, ClassVar

import jsonpatch
import pytest

from syncd.cli.main import build_parser, main
from syncd.errors import ExitCode, SyncdError
from syncd.ids import ServiceKey
from tests.gitrepo import GitRepo

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "sample-repo"
BAD = "kind: Stack\nproject: shop\nservices:\n  web: {image: busybox:1.36, ports: ['x']}\n"


def test_sample_repo_is_valid(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SHOP_REGISTRY_PASSWORD", "x")  # its registry's password: allowed by name
    assert main(["validate", "--repo", str(SAMPLE), "--allow-env", "SHOP_REGISTRY_PASSWORD"]) == 0
    assert "valid, 0 error(s), 0 warning(s)" in capsys.readouterr().out


def test_python_dash_m_and_console_script_work() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "syncd", "validate", "--repo", str(SAMPLE), "--format", "json"],
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, "SHOP_REGISTRY_PASSWORD": "x", "SYNCD_ALLOW_ENV": "SHOP_*"},
    )
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["valid"] is True and report["files"] == 5


def test_json_and_github_formats(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "bad.yaml").write_text(BAD)
    assert main(["validate", "--repo", str(tmp_path), "--format", "json"]) == 1
    report = json.loads(capsys.readouterr().out)
    assert report["valid"] is False
    [problem] = report["problems"]
    assert (problem["path"], problem["line"], problem["column"]) == ("bad.yaml", 4, 38)
    assert problem["pointer"] == "/services/web/ports/0"

    assert main(["validate", "--repo", str(tmp_path), "--format", "github"]) == 1
    first = capsys.readouterr().out.splitlines()[0]
    assert first.startswith(
        "::error file=bad.yaml,line=4,col=38::/services/web/ports/0: 'x' is not"
    )


def test_validate_a_git_revision(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    repo = GitRepo(tmp_path / "repo")
    repo.write("shop.yaml", BAD)
    bad = repo.commit("bad")
    repo.write("shop.yaml", BAD.replace("'x'", "'8080:80/tcp'"))
    good = repo.commit("good")

    assert main(["validate", "--repo", str(repo.path), "--rev", good]) == 0
    assert good[:12] in capsys.readouterr().out
    assert main(["validate", "--repo", str(repo.path), "--rev", bad]) == 1
    assert main(["validate", "--repo", str(repo.path), "--rev", "no-such-rev"]) == 1
    assert "revision 'no-such-rev' does not exist" in capsys.readouterr().err


def test_env_file_feeds_interpolation(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    repo = tmp_path / "repo"
    repo.mkdir()
    (repo / "s.yaml").write_text(
        "kind: Stack\nproject: shop\nservices:\n  web: {image: 'busybox:${T_TAG}'}\n"
    )
    env = tmp_path / "env"
    env.write_text("T_TAG=1.36\n")
    assert main(["validate", "--repo", str(repo)]) == 1
    assert "T_TAG is not set" in capsys.readouterr().out
    assert main(["validate", "--repo", str(repo), "--env-file", str(env)]) == 0


def test_warnings_do_not_fail(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "s.yaml").write_text(
        "kind: Stack\nproject: shop\nservices:\n"
        "  web: {image: ghcr.example.com/a/b:1, envs: {A: b}}\n"
    )
    assert main(["validate", "--repo", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "'envs' is deprecated" in out and "no Registry for ghcr.example.com" in out


PLAN_A = """kind: Stack
project: shop
services:
  web: {image: busybox:1.36, environment: {GREETING: hello}, ports: ["18080:8080/tcp"]}
  db: {image: busybox:1.36, volumes: ["data:/data"]}
volumes:
  data: {}
"""
PLAN_B = PLAN_A.replace("hello", "bonjour") + "  cache: {}\n"


def _two_commits(tmp_path: Path) -> tuple[GitRepo, str, str]:
    repo = GitRepo(tmp_path / "repo")
    repo.write("stacks/shop.yaml", PLAN_A)
    base = repo.commit("base")
    repo.write("stacks/shop.yaml", PLAN_B)
    repo.write("stacks/blog.yaml", "kind: Stack\nproject: blog\nservices:\n  app: {image: x:1}\n")
    head = repo.commit("head")
    return repo, base, head


def test_plan_markdown_between_two_commits(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    repo, base, head = _two_commits(tmp_path)
    code = main(
        ["plan", "--repo", str(repo.path), "--base", base, "--head", head, "--format", "markdown"]
    )
    out = capsys.readouterr().out
    assert code == 2
    assert out.startswith(f"### syncd plan: {base[:12]} → {head[:12]}")
    assert "| shop/default | 0 | 1 | 0 | 0 | 0 | 1 |" in out
    assert "| blog/default | 1 | 0 | 0 | 0 | 0 | 0 |" in out
    assert "<details><summary><code>~ shop/default/web</code> recreate" in out
    assert '~ /environment/GREETING: "hello" → "bonjour"' in out


def test_plan_json_patch_round_trips(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    repo, base, head = _two_commits(tmp_path)
    assert main(["plan", "--repo", str(repo.path), "--base", base, "--format", "json-patch"]) == 2
    patches = json.loads(capsys.readouterr().out)
    assert set(patches) == {"shop/default", "blog/default"}

    # The specs each revision resolves to, through syncd's own JSON output of the same plans.
    def specs(rev_a: str, rev_b: str) -> dict[str, Any]:
        main(
            [
                "plan",
                "--repo",
                str(repo.path),
                "--base",
                rev_a,
                "--head",
                rev_b,
                "--format",
                "json-patch",
            ]
        )
        ops: dict[str, Any] = json.loads(capsys.readouterr().out)
        return ops

    empty = {"description": "", "services": {}, "volumes": {}}
    empty_tree = repo.git("hash-object", "-t", "tree", "/dev/null")
    nothing = repo.git("commit-tree", empty_tree, "-m", "nothing")
    from_nothing_to_base = specs(nothing, base)
    from_nothing_to_head = specs(nothing, head)
    old_shop = jsonpatch.apply_patch(empty, from_nothing_to_base["shop/default"])
    new_shop = jsonpatch.apply_patch(empty, from_nothing_to_head["shop/default"])
    assert jsonpatch.apply_patch(old_shop, patches["shop/default"]) == new_shop
    assert new_shop["volumes"] == {"data": {"name": "data"}, "cache": {"name": "cache"}}


def test_plan_exit_codes(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    repo, _, head = _two_commits(tmp_path)
    assert main(["plan", "--repo", str(repo.path), "--base", head, "--head", head]) == 0
    assert "No changes." in capsys.readouterr().out
    repo.write("stacks/shop.yaml", "kind: Stack\nproject: shop\nservices: {web: {imag: x}}\n")
    broken = repo.commit("broken")
    assert main(["plan", "--repo", str(repo.path), "--base", head, "--head", broken]) == 1
    err = capsys.readouterr().err
    assert "has invalid manifests" in err
    assert "stacks/shop.yaml:3:18: /services/web/imag: unknown field 'imag'" in err
    assert main(["plan", "--repo", str(repo.path)]) == 1  # the broken files on disk vs live
    assert "unknown field 'imag'" in capsys.readouterr().err


def test_hostile_trees_fail_validation_with_positions(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "secret.yaml").write_text("kind: Stack\n")
    repo = GitRepo(tmp_path / "repo")
    repo.write("ok.yaml", "kind: Stack\nproject: shop\nservices:\n  web: {image: busybox:1.36}\n")
    repo.write("big.yaml", "# " + "x" * (1024 * 1024 + 10) + "\n")
    (repo.path / "escape.yaml").symlink_to("../secret.yaml")
    rev = repo.commit()
    for extra in ([], ["--rev", rev]):
        assert main(["validate", "--repo", str(repo.path), *extra]) == 1
        out = capsys.readouterr().out
        assert "big.yaml:1:1: file is 1048589 bytes, over the 1048576-byte limit" in out
        assert "escape.yaml:1:1: symlink to '../secret.yaml' points outside the repository" in out
        assert "1 manifest file(s)" in out


def test_plan_detailed_exitcode_as_terraform_spells_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    repo, base, head = _two_commits(tmp_path)
    args = ["plan", "--repo", str(repo.path), "--detailed-exitcode"]
    assert main([*args, "--base", base, "--head", head]) == 2
    assert "to create" in capsys.readouterr().out
    assert main([*args, "--base", head, "--head", head]) == 0
    assert "No changes." in capsys.readouterr().out
    repo.write("stacks/shop.yaml", "kind: Stack\nproject: shop\nservices: {web: {imag: x}}\n")
    broken = repo.commit("broken")
    assert main([*args, "--base", head, "--head", broken]) == 1
    err = capsys.readouterr().err
    assert f"syncd: revision {broken} ({broken[:12]}) has invalid manifests:" in err
    done = subprocess.run(  # the real process exits with the code, not only main()
        [sys.executable, "-m", "syncd", *args, "--base", base, "--head", head],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 2, done.stderr


def test_apply_detailed_exitcode_needs_dry_run(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    repo = GitRepo(tmp_path / "repo")
    repo.write("shop.yaml", "kind: Stack\nproject: shop\nservices:\n  web: {image: busybox:1.36}\n")
    repo.commit()
    args = ["--repo", str(repo.path), "--data-dir", str(tmp_path / "d")]
    code = main(["apply", *args, "--detailed-exitcode"])
    assert code == 1
    assert "--detailed-exitcode goes with --dry-run" in capsys.readouterr().err
    assert not (tmp_path / "d").exists()  # refused before anything was read or opened


class _Daemon(http.server.BaseHTTPRequestHandler):
    """A stand-in for the daemon's API on a real socket: answers `status`, records requests."""

    status: ClassVar[int] = 200
    seen: ClassVar[list[tuple[str, str, str]]] = []

    def do_POST(self) -> None:
        self.seen.append((self.command, self.path, self.headers.get("Authorization", "")))
        body = json.dumps({"type": "forbidden", "message": "wrong token"}).encode()
        self.send_response(self.status)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def fake_daemon() -> Iterator[tuple[str, type[_Daemon]]]:
    handler = type("Handler", (_Daemon,), {"seen": [], "status": 200})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", handler
    finally:
        server.shutdown()
        server.server_close()


def test_service_tasks_go_to_the_daemon_and_refusals_keep_their_cause(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    fake_daemon: tuple[str, type[_Daemon]],
) -> None:
    url, handler = fake_daemon
    token = "admin-" + "t0ken-s3cret"
    (tmp_path / "token").write_text(token + "\n")
    args = ["service", "restart", "shop/web", "--api", url, "--token-file", str(tmp_path / "token")]
    assert main(args) == 0
    assert "shop/default/web: restart done by the daemon" in capsys.readouterr().out
    stack_id = ServiceKey("shop", "default", "web").stack_key.id
    path = f"/v2/stacks/{stack_id}/services/web/actions/restart"
    assert handler.seen == [("POST", path, f"Bearer {token}")]

    handler.status = 403
    assert main(args) == 1
    err = capsys.readouterr().err
    assert "the daemon answered 403" in err and "wrong token" in err and token not in err
    parsed = build_parser().parse_args(args)
    with pytest.raises(SyncdError) as refused:
        parsed.func(parsed)
    assert isinstance(refused.value.__cause__, urllib.error.HTTPError)
    assert refused.value.__cause__.code == 403
    assert token not in "".join(traceback.format_exception(refused.value))

    server_gone = url.rsplit(":", 1)[0] + ":9"  # the discard port: nothing listens
    parsed = build_parser().parse_args([*args[:3], "--api", server_gone])
    with pytest.raises(SyncdError, match="cannot reach the daemon") as unreachable:
        parsed.func(parsed)
    assert isinstance(unreachable.value.__cause__, urllib.error.URLError)


def test_every_exit_code_is_documented_in_the_readme() -> None:
    readme = (ROOT / "README.md").read_text()
    cli = readme[readme.index("\n## CLI") : readme.index("\n## The `/v2` API")]
    for code in ExitCode:
        assert f"**{code.value}**" in cli or f"| {code.value} |" in cli, code
    assert [int(c) for c in ExitCode] == [0, 1, 2, 3, 69, 73, 78]  # scripts rely on them
