"""`syncd apply` of a revision with a broken stack (issue 15, per-stack isolation): the valid
stacks apply, the broken one keeps the last good revision's spec, and the command exits 1 naming
it with its located problems; an error no stack owns applies nothing; `validate` still fails."""

from __future__ import annotations

import pytest

from syncd.cli.main import main
from tests.engine_support import Deployment
from tests.gitrepo import GitRepo
from tests.test_isolation_daemon import env_of, stack

pytestmark = pytest.mark.docker


def test_apply_applies_the_valid_stacks_and_exits_1_naming_the_broken_one(
    deployment: Deployment, capsys: pytest.CaptureFixture[str]
) -> None:
    repo = GitRepo(deployment.repo)
    repo.write("one.yaml", stack("one", "a", 1))
    repo.write("two.yaml", stack("two", "b", 1))
    good = repo.commit("good")
    args = ["apply", "--repo", str(repo.path), *deployment.cli_args(repo.path)[2:]]
    assert main([*args, "--rev", good]) == 0
    kept = deployment.container("a").id
    capsys.readouterr()

    repo.write("one.yaml", stack("one", "a", 2).replace("image:", "imagee:"))
    repo.write("two.yaml", stack("two", "b", 2))
    partial = repo.commit("break one, change two")
    assert main(["validate", "--repo", str(repo.path), "--rev", partial]) == 1
    capsys.readouterr()
    assert main([*args, "--rev", partial]) == 1
    err = capsys.readouterr().err
    assert f"stack iso/one not applied (invalid manifests; kept at {good[:12]})" in err
    assert "one.yaml:6:5: /services/a/imagee: unknown field 'imagee'" in err
    assert env_of(deployment, "b") == "2"
    assert deployment.container("a").id == kept and env_of(deployment, "a") == "1"

    repo.write("one.yaml", "kind: Stack\nproject: iso\nname: one\nservices: [\n")
    repo.write("two.yaml", stack("two", "b", 3))
    held = repo.commit("unreadable")
    ids = deployment.ids()
    assert main([*args, "--rev", held]) == 1
    err = capsys.readouterr().err
    assert "syncd: held: one.yaml:5:1:" in err and "cannot be attributed to one stack" in err
    assert deployment.ids() == ids and env_of(deployment, "b") == "2"
