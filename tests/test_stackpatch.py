"""StackPatch application: bounded in size and ops, linear, located, and silent about secrets."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from syncd.cli.main import main
from syncd.core.desired import resolve
from syncd.errors import ManifestError
from syncd.manifests import read_manifests
from syncd.manifests.model import MAX_PATCH_OPS
from syncd.problems import Problem
from syncd.settings import DEFAULT_LIMITS
from tests.gitrepo import GitRepo
from tests.planning import File, plan_texts

SECRET = "hunter2-patch-secret"
STACK = (
    "kind: Stack\n"
    "project: shop\n"
    "services:\n"
    "  web:\n"
    "    image: busybox:1.36\n"
    "    command: [run]\n"
    "    environment: {PASS: '${SECRET}', PLAIN: visible-neighbour}\n"
)
HEADER = "---\nkind: StackPatch\nproject: shop\npatch:\n"  # the first op is on line 12


def _problems(text: str, env: dict[str, str] | None = None) -> list[Problem]:
    manifests = read_manifests([File("s.yaml", text.encode())], env or {"SECRET": SECRET})
    if manifests.errors:
        return manifests.errors
    with pytest.raises(ManifestError) as raised:
        resolve(manifests, "rev")
    return raised.value.problems


def _ops(*ops: str) -> str:
    return STACK + HEADER + "".join(f"  - {op}\n" for op in ops)


def test_a_copy_bomb_is_refused_at_the_op_that_passes_the_value_budget() -> None:
    bomb = "{op: copy, from: /services/web/command, path: /services/web/command/-}"
    [problem] = _problems(_ops(*[bomb] * 22))
    # Each copy doubles the list (2 values to start): 12 + 2**17 - 2 > 100,000 at copy 16.
    assert (problem.path, problem.position.line, problem.pointer) == ("s.yaml", 27, "/patch/15")
    assert problem.message.startswith("patch op 15 (copy /services/web/command/- from ")
    assert f"more than {DEFAULT_LIMITS.max_nodes} values" in problem.message


def test_values_added_and_then_removed_still_count() -> None:
    """A copy-remove cycle never grows the stack but does the work: the budget counts writes."""
    big = "{op: add, path: /services/web/environment/BIG, value: [" + "x," * 30_000 + "]}"
    cycle = [
        "{op: copy, from: /services/web/environment/BIG, path: /services/web/environment/C}",
        "{op: remove, path: /services/web/environment/C}",
    ]
    [problem] = _problems(_ops(big, *cycle * 3))
    assert problem.pointer == "/patch/5" and "values" in problem.message


def test_a_test_op_compares_without_spending_the_budget() -> None:
    items = "[" + "x, " * 60_000 + "]"
    stack = "kind: Stack\nproject: p\nservices:\n  web: {image: 'busybox:1.36', command: "
    stack += items + "}\n"
    patch = (
        "kind: StackPatch\nproject: p\npatch:\n"  # its own file: the reader's budget is per file
    )
    patch += "  - {op: test, path: /services/web/command, value: " + items + "}\n"
    files = [File("s.yaml", stack.encode()), File("t.yaml", patch.encode())]
    manifests = read_manifests(files, {})
    [desired] = resolve(manifests, "rev").stacks.values()
    assert len(desired.services["web"].spec["command"]) == 60_000


def test_more_ops_in_one_file_than_the_cap_are_refused_where_the_cap_is_passed() -> None:
    op = "  - {op: test, path: /kind, value: Stack}\n"
    first = HEADER + op * (MAX_PATCH_OPS - 10)
    second = HEADER + op * 11  # the cap counts the file, not one document
    problems = _problems(STACK.replace("${SECRET}", "x") + first + second, {})
    [problem] = [p for p in problems if "operations" in p.message]
    assert problem.pointer == "/patch/10"
    assert problem.position.line == 12 + (MAX_PATCH_OPS - 10) + 4 + 10
    assert f"more than {MAX_PATCH_OPS} StackPatch operations" in problem.message


def test_two_thousand_test_ops_on_twenty_thousand_keys_apply() -> None:
    env = "".join(f"      K{i}: v{i}\n" for i in range(20_000))
    stack = "kind: Stack\nproject: p\nservices:\n  web:\n    image: busybox:1.36\n"
    stack += "    environment:\n" + env
    patch = "---\nkind: StackPatch\nproject: p\npatch:\n"
    patch += "".join(
        f"  - {{op: test, path: /services/web/environment/K{i * 10}, value: v{i * 10}}}\n"
        for i in range(2_000)
    )
    patch += "  - {op: replace, path: /services/web/environment/K7, value: seven}\n"
    manifests = read_manifests([File("big.yaml", (stack + patch).encode())], {})
    assert not manifests.errors
    [desired] = resolve(manifests, "rev").stacks.values()
    environment = desired.services["web"].spec["environment"]
    assert len(environment) == 20_000
    assert (environment["K7"], environment["K8"]) == ("seven", "v8")

    failing = patch.replace("value: v19990}", "value: nope}")
    manifests = read_manifests([File("big.yaml", (stack + failing).encode())], {})
    with pytest.raises(ManifestError) as raised:
        resolve(manifests, "rev")
    [problem] = raised.value.problems
    assert problem.pointer == "/patch/1999" and problem.position.line == 20_011 + 1999
    assert "patch op 1999 (test /services/web/environment/K19990)" in problem.message


@pytest.mark.parametrize(
    ("op", "reason"),
    [
        ("{op: test, path: /services/web/environment/PLAIN, value: guess}", "not the tested value"),
        ("{op: test, path: /services/web/environment, value: {}}", "not the tested value"),
        ("{op: test, path: /services, value: 1}", "not the tested value"),
        ("{op: test, path: /services/web/command, value: [x]}", "not the tested value"),
        ("{op: remove, path: /services/nope/image}", "path: /services/nope does not exist"),
        ("{op: replace, path: /services/web/command/3, value: x}", "'3' is not an index"),
        ("{op: add, path: /services/web/image/x, value: x}", "is not a mapping or a list"),
        ("{op: test, path: /services/web/environment/PASS/0, value: h}", "not a mapping or a"),
        ("{op: copy, from: /services/web/nope, path: /services/api}", "from: /services/web/nope"),
        ("{op: move, from: /services/web, path: /services/web/x}", "into itself"),
    ],
)
def test_a_failing_op_names_file_line_op_and_path_and_never_the_document(
    op: str, reason: str
) -> None:
    [problem] = _problems(_ops("{op: test, path: /kind, value: Stack}", op))
    assert (problem.path, problem.position.line, problem.pointer) == ("s.yaml", 13, "/patch/1")
    assert problem.message.startswith("patch op 1 (") and reason in problem.message
    for leaked in (SECRET, "visible-neighbour", "busybox", "{", "run"):
        assert leaked not in problem.message


@pytest.mark.parametrize(
    ("op", "field"),
    [  # a pointer names keys (a service, a variable name): shown everywhere, never redacted
        ("{op: add, path: '/services/s${SECRET}', value: {image: busybox:1.36}}", "path"),
        ("{op: add, path: '/services/web/environment/K${SECRET}', value: x}", "path"),
        ("{op: copy, from: /services/web, path: '/services/${SECRET}'}", "path"),
        ("{op: move, from: '/services/web/environment/${SECRET}', path: /services/x}", "from"),
        ("{op: '${OP}', path: /services/web/environment/X, value: x}", "op"),
    ],
)
def test_a_patch_op_cannot_take_its_pointers_from_the_environment(op: str, field: str) -> None:
    env = {"SECRET": SECRET, "OP": "add"}
    [problem] = _problems(_ops(op), env)
    assert (problem.path, problem.pointer) == ("s.yaml", f"/patch/0/{field}")
    assert problem.message == f"a patch op's {field!r} cannot take a value from the environment"


@pytest.mark.parametrize(
    "op",
    [  # the patch's target is the stack's identity; ids and names are never from the env
        "{op: replace, path: /project, value: 'p${SECRET}'}",
        "{op: add, path: /name, value: 'n${SECRET}'}",
        "{op: copy, from: /services/web/environment/PASS, path: /name}",
        "{op: replace, path: /project, value: other}",
        "{op: replace, path: /project, value: '${SHOP}'}",  # the same name, from the env
    ],
)
def test_a_patch_cannot_change_the_stacks_identity(op: str) -> None:
    env = {"SECRET": SECRET, "SHOP": "shop"}
    [problem] = _problems(_ops(op), env)
    assert (problem.path, problem.pointer) == ("s.yaml", "/patch")
    assert problem.message == "a StackPatch cannot change the stack's kind, project or name"


def test_the_patched_stack_being_invalid_does_not_quote_a_secret() -> None:
    copy = "{op: copy, from: /services/web/environment/PASS, path: /services/web/ports/-}"
    [problem] = _problems(_ops("{op: add, path: /services/web/ports, value: []}", copy))
    assert "the patched stack is invalid: /services/web/ports" in problem.message
    assert SECRET not in problem.message and "<redacted>" in problem.message


@pytest.mark.parametrize(
    "op",
    [  # list positions: the marks follow the value, whatever index it ends at
        "{op: copy, from: /services/web/command/0, path: /services/web/environment/COPY}",
        "{op: move, from: /services/web/command/0, path: /services/web/environment/MOVED}",
        "{op: copy, from: /services/web/environment, path: /services/api/environment}",
    ],
)
def test_a_secret_keeps_its_mark_wherever_an_op_takes_it(op: str) -> None:
    old = STACK.replace("[run]", "['${SECRET}']").replace("'${SECRET}', ", "'x', ")
    old += "  api: {image: busybox:1.36}\n"
    _, _, after = plan_texts(old, old + HEADER + f"  - {op}\n", {"SECRET": SECRET})
    for stack in after.stacks.values():
        for service in stack.services.values():
            for name, value in service.spec["environment"].items():
                if value == SECRET:
                    assert f"/environment/{name}" in service.secrets, (service.key, name)
    assert any(s.secrets for st in after.stacks.values() for s in st.services.values())


def _repo(tmp_path: Path, overlay: str) -> tuple[GitRepo, str, str]:
    repo = GitRepo(tmp_path / "repo")
    repo.write("stack.yaml", STACK)
    base = repo.commit("stack")
    repo.write("overlay.yaml", "kind: StackPatch\nproject: shop\npatch:\n" + overlay)
    return repo, base, repo.commit("overlay")


@pytest.mark.parametrize(
    ("overlay", "where"),
    [
        ("  - {op: test, path: /services/web/image, value: busybox:1.99}\n", "not the tested"),
        ("  - {op: remove, path: /services/nope}\n", "/services/nope does not exist"),
    ],
)
def test_validate_applies_the_patches(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    overlay: str,
    where: str,
) -> None:
    monkeypatch.setenv("SECRET", SECRET)
    monkeypatch.setenv("SYNCD_ALLOW_ENV", "SECRET")
    repo, _, _ = _repo(tmp_path, overlay)
    assert main(["validate", "--repo", str(repo.path)]) == 1
    out = capsys.readouterr().out
    assert "overlay.yaml:4:5: /patch/0: patch op 0 (" in out and where in out
    assert "1 error(s)" in out


def test_neither_plan_nor_validate_nor_their_logs_show_a_secret_of_a_failing_patch(
    tmp_path: Path,
) -> None:
    overlay = "  - {op: test, path: /services/web/environment, value: {PASS: guess}}\n"
    repo, base, head = _repo(tmp_path, overlay)
    commands = [
        ["validate", "--repo", str(repo.path)],
        ["validate", "--repo", str(repo.path), "--format", "json"],
        ["plan", "--repo", str(repo.path), "--base", base, "--head", head],
    ]
    for command in commands:
        done = subprocess.run(
            [sys.executable, "-m", "syncd", "--log-level", "debug", *command],
            capture_output=True,
            text=True,
            env={**os.environ, "SECRET": SECRET, "SYNCD_ALLOW_ENV": "SECRET"},
            check=False,
        )
        output = done.stdout + done.stderr
        assert done.returncode == 1, output
        assert "overlay.yaml" in output and "/patch/0" in output
        assert "patch op 0 (test /services/web/environment): the value there is not" in output
        assert SECRET not in output and "visible-neighbour" not in output, command


ON_IT = "{op: test, path: /services/web/environment/PASS, value: %s}"
ABOVE_IT = (
    "{op: test, path: /services/web/environment, value: {PASS: %s, PLAIN: visible-neighbour}}"
)
FROM_IT = "{op: test, path: /services/web/environment/PLAIN, value: '${SECRET}'}"


@pytest.mark.parametrize(
    ("right", "wrong"),
    [  # (the stack and its patch) with a right guess, with a wrong one
        ((STACK, ON_IT % SECRET), (STACK, ON_IT % "guess")),
        ((STACK, ABOVE_IT % SECRET), (STACK, ABOVE_IT % "guess")),
        ((STACK.replace("visible-neighbour", SECRET), FROM_IT), (STACK, FROM_IT)),
    ],
    ids=["on-it", "above-it", "value-from-it"],
)
def test_a_test_op_tells_nothing_about_a_value_from_the_environment(
    right: tuple[str, str], wrong: tuple[str, str]
) -> None:
    """A pull request could write a guess in a `test` op, ask the daemon for its plan
    (`POST /v2/syncd/plans`) and read from the answer whether the guess is the secret: a test
    that touches a value from the environment is refused alike, right guess or wrong."""
    answers = []
    for stack, op in (right, wrong):
        text = stack + HEADER + f"  - {op}\n"
        manifests = read_manifests([File("s.yaml", text.encode())], {"SECRET": SECRET})
        assert not manifests.errors
        try:
            resolve(manifests, "rev")
            answers.append("applied")
        except ManifestError as err:
            [problem] = err.problems
            assert SECRET not in problem.message
            answers.append(problem.message)
    assert answers[0] == answers[1]
    assert "a test op cannot compare a value from the environment" in answers[0]
