"""The operator's policy run over what a revision asks for: each native `Stack` as written
(interpolated), and each stack again after its StackPatch overlays, every refusal placed at the
line that asked for it (the Compose reader checks Compose files itself, on their interpolated
values, since it knows their lines and which services the active profiles deploy).

A refusal after the overlays that the stack did not have before them is the overlays' doing: it
is reported at the op that wrote there (the last op whose path is a prefix of, or lies under,
the refused value), so a StackPatch adding `capAdd` or `privileged` fails at its own line.
Pure: no I/O.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from syncd.manifests.model import Stack, StackPatch
from syncd.manifests.parse import Located
from syncd.manifests.policyguard import compose_findings
from syncd.manifests.policytop import Finding
from syncd.manifests.yamlsafe import Path
from syncd.policy import Policy
from syncd.problems import Problem


def native_body(stack: Stack) -> dict[str, Any]:
    """A stack as its document says it (syncd's camelCase names), for the policy walk."""
    return stack.model_dump(by_alias=True, exclude_unset=True, mode="json")


def stack_findings(policy: Policy, stack: Stack) -> list[Finding]:
    allowed = policy.allowed(stack.project)
    return compose_findings(allowed, native_body(stack), project_files=True)


def stack_problems(policy: Policy, located: Located[Stack]) -> list[Problem]:
    """Every refusal of a native `Stack` document, at its line."""
    return [
        located.problem(f.path, str(f.refusal)) for f in stack_findings(policy, located.manifest)
    ]


def converted_problems(
    policy: Policy, located: Located[Stack], reported: Sequence[Problem]
) -> list[Problem]:
    """A Compose file's stack as converted, checked once more as a native stack: what the
    conversion itself brought into a service (a value merged in from elsewhere, as `extends`
    does) is refused too. A refusal the reader already reported for the file is not repeated."""
    said = {p.message for p in reported if p.path == located.path}
    found = stack_problems(policy, located)
    return [p for p in found if p.message not in said]


def _tokens(text: str) -> Path:
    return tuple(t.replace("~1", "/").replace("~0", "~") for t in text.split("/")[1:])


def _touches(op_path: Path, value: Path) -> bool:
    """Whether an op writing at `op_path` may have written the value at `value`."""
    for mine, theirs in zip(op_path, value, strict=False):
        if mine == "-" and isinstance(theirs, int):
            continue
        if str(mine) != str(theirs):
            return False
    return True


def _writer(patches: Sequence[Located[StackPatch]], value: Path) -> tuple[Located[StackPatch], int]:
    """The last op (of the last overlay) whose path reaches `value`; else the last overlay."""
    for overlay in reversed(patches):
        ops = overlay.manifest.patch
        for index in range(len(ops) - 1, -1, -1):
            if ops[index].op != "test" and _touches(_tokens(ops[index].path), value):
                return overlay, index
    last = patches[-1]
    return last, len(last.manifest.patch) - 1


def patched_problems(
    policy: Policy,
    before: Stack,
    after: Stack,
    patches: Sequence[Located[StackPatch]],
) -> list[Problem]:
    """The refusals `after` (the stack with its overlays) has and `before` had not, each at the
    patch op that wrote the refused value."""
    if not patches:
        return []
    seen = {(f.path, str(f.refusal)) for f in stack_findings(policy, before)}
    problems: list[Problem] = []
    for finding in stack_findings(policy, after):
        if (finding.path, str(finding.refusal)) in seen:
            continue
        overlay, index = _writer(patches, finding.path)
        where = "/" + "/".join(str(p) for p in finding.path)
        message = f"the patched stack at {where}: {finding.refusal}"
        problems.append(overlay.problem(("patch", index), message))
    return problems
