"""`syncd apply` honours pauses (issue 15): while the instance or a stack it would change is
paused, the apply is refused whole (exit 1, naming who paused and why) and nothing changes; a
dry run still shows the plan; after `syncd resume` the same apply goes through."""

from __future__ import annotations

import pytest

from syncd.cli.main import main
from tests.engine_support import Deployment
from tests.gitrepo import GitRepo
from tests.test_isolation_daemon import env_of, stack

pytestmark = pytest.mark.docker


@pytest.mark.parametrize("scope", [["--stack", "iso/two"], []], ids=["stack", "instance"])
def test_apply_is_refused_while_paused_and_goes_through_after_resume(
    deployment: Deployment, capsys: pytest.CaptureFixture[str], scope: list[str]
) -> None:
    repo = GitRepo(deployment.repo)
    repo.write("one.yaml", stack("one", "a", 1))
    repo.write("two.yaml", stack("two", "b", 1))
    first = repo.commit("first")
    state = ["--data-dir", str(deployment.settings.data_dir), "--instance", deployment.instance]
    apply = ["apply", *deployment.cli_args(repo.path)]
    assert main([*apply, "--rev", first]) == 0
    assert main(["pause", *scope, "--reason", "freeze", *state]) == 0
    capsys.readouterr()

    repo.write("two.yaml", stack("two", "b", 2))
    second = repo.commit("second")
    ids = deployment.ids()
    assert main([*apply, "--rev", second]) == 1
    err = capsys.readouterr().err
    what = "stack iso/two is" if scope else "the instance is"
    assert f"{what} paused (by " in err and ": freeze): nothing applied" in err, err
    assert deployment.ids() == ids and env_of(deployment, "b") == "1"

    assert main([*apply, "--rev", second, "--dry-run"]) == 0
    assert "iso/two/b: recreate" in capsys.readouterr().out
    assert deployment.ids() == ids

    assert main(["resume", *scope, *state]) == 0
    assert main([*apply, "--rev", second]) == 0
    assert env_of(deployment, "b") == "2"
