"""Plan goldens: each folder under fixtures/plans/ holds a `base/` and a `head/` tree of
manifests and `case.yaml` (the exit code, the operator's variables). The test commits both trees
to a real git repository, runs `syncd plan --base HEAD~1 --head HEAD` in every format, and
compares the output with `plan.txt`, `plan.md`, `plan.json` and `plan.patch.json` (commit ids
written as BASE and HEAD).

To rewrite the goldens after an intended change of the output, run the test with
`UPDATE_PLAN_GOLDENS=1` and review the diff of the fixtures before committing it.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml

from syncd.cli.main import main
from tests.gitrepo import GitRepo

FIXTURES = Path(__file__).parent / "fixtures" / "plans"
FORMATS = {
    "text": "plan.txt",
    "markdown": "plan.md",
    "json": "plan.json",
    "json-patch": "plan.patch.json",
}
UPDATE = os.environ.get("UPDATE_PLAN_GOLDENS") == "1"


def _cases() -> list[Path]:
    return sorted(p for p in FIXTURES.iterdir() if p.is_dir())


def _commit_tree(repo: GitRepo, tree: Path) -> str:
    for old in repo.path.iterdir():
        if old.name != ".git":
            shutil.rmtree(old) if old.is_dir() else old.unlink()
    for source in sorted(tree.rglob("*")):
        if source.is_file():
            repo.write(str(source.relative_to(tree)), source.read_bytes())
    return repo.commit(tree.name)


def _normalised(text: str, base: str, head: str) -> str:
    for sha, name in ((base, "BASE"), (head, "HEAD")):
        text = text.replace(sha, name).replace(sha[:12], name)
    return text


def _plan(
    case: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> tuple[dict[str, Any], dict[str, tuple[int, str]]]:
    spec: dict[str, Any] = yaml.safe_load((case / "case.yaml").read_text()) or {}
    repo = GitRepo(tmp_path / "repo")
    base = _commit_tree(repo, case / "base")
    head = _commit_tree(repo, case / "head")
    env_file = tmp_path / "operator.env"
    env_file.write_text("".join(f"{k}={v}\n" for k, v in (spec.get("env") or {}).items()))
    out = {}
    for fmt in FORMATS:
        args = ["plan", "--repo", str(repo.path), "--base", "HEAD~1", "--head", "HEAD"]
        code = main([*args, "--format", fmt, "--env-file", str(env_file)])
        captured = capsys.readouterr()
        out[fmt] = (code, _normalised(captured.out, base, head))
    return spec, out


@pytest.mark.parametrize("case", _cases(), ids=lambda p: p.name)
def test_plan_golden(case: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    spec, out = _plan(case, tmp_path, capsys)
    for fmt, name in FORMATS.items():
        code, text = out[fmt]
        assert code == spec["exit"], (fmt, text)
        golden = case / name
        if UPDATE:
            golden.write_text(text)
        assert text == golden.read_text(), f"{case.name}: {name} differs"
        for value in (spec.get("env") or {}).values():  # no secret in any format
            assert value not in text
