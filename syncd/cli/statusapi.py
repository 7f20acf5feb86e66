"""`syncd status --api URL`: the overview read from the running daemon's routes
(`/v2/syncd/daemon/status` for the stacks and the last sync, `/v2/projects/{id}/stacks` for the
services, `/v2/syncd/services` for each healthcheck's verdict; a daemon older than that route
shows `-`, or `starting` while a healthcheck has not passed yet)."""

from __future__ import annotations

from typing import Any

from syncd.cli import client
from syncd.cli.liveplan import shown
from syncd.cli.overview import NO_HEALTH, Overview, Row, StackRow, when
from syncd.errors import SyncdError
from syncd.ids import StackKey
from syncd.taint import redact_url

OPERATOR_STOPPED = "Stopped by an operator"


def get(api: str, path: str, token: str | None, *, missing: Any = ...) -> Any:
    """The JSON of a 200 answer, or `missing` for a 404 when given; `SyncdError` for any other
    (a bad token: 401/403)."""
    answer = client.call(api, "GET", path, token, timeout=30)
    if answer.status == 404 and missing is not ...:
        return missing
    if answer.status != 200:
        hint = " (give the read token: SYNCD_READ_TOKEN or --token-file)"
        raise SyncdError(
            f"the daemon at {redact_url(api)} answered {answer.status} to GET {path}: "
            f"{shown(answer.message())}{hint if answer.status in (401, 403) else ''}"
        )
    data = answer.json()
    if data is None:
        raise SyncdError(f"the daemon's answer to GET {path} is not JSON")
    return data


def _dict(value: object) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _list(value: object) -> list[Any]:
    return value if isinstance(value, list) else []


def _text(value: object) -> str | None:
    return shown(value) if isinstance(value, str) and value else None


def verdicts(api: str, token: str | None) -> dict[str, str]:
    """Service key -> its healthcheck's verdict (services without a healthcheck left out)."""
    rows = get(api, "/v2/syncd/services", token, missing=[])  # 404: a daemon before the route
    found = {}
    for row in map(_dict, _list(rows)):
        if isinstance(row.get("health"), str) and isinstance(row.get("service"), str):
            found[shown(row["service"])] = shown(row["health"])
    return found


def overview(api: str, token: str | None) -> Overview:
    status = _dict(get(api, "/v2/syncd/daemon/status", token))
    health = verdicts(api, token)
    stack_rows = _dict(status.get("stacks"))
    broken = {
        str(b.get("stack")): "; ".join(shown(p) for p in _list(b.get("problems")))
        for b in map(_dict, _list(status.get("brokenStacks")))
    }
    names = {}  # stack id -> project/stack
    for text in stack_rows:
        project, _, stack_name = str(text).partition("/")
        if project and stack_name:
            names[StackKey(project, stack_name).id] = f"{project}/{stack_name}"
    stacks = [_stack(str(k), _dict(v), broken.get(str(k))) for k, v in stack_rows.items()]
    stacks += [StackRow(k, None, None, f"broken: {p}") for k, p in broken.items()
               if k not in stack_rows]  # fmt: skip
    by_stack = {s.key: s for s in stacks}
    rows: list[Row] = []
    for item in map(_dict, _list(get(api, "/v2/projects", token))):
        name = str(item.get("description") or item.get("id"))
        for one in map(_dict, _list(get(api, f"/v2/projects/{item.get('id')}/stacks", token))):
            key = names.get(str(one.get("id"))) or f"{name}/{_stack_name(name, one)}"
            row = by_stack.get(key)
            rows += [_service(key, _dict(s), row, health) for s in _list(one.get("services"))]
    problems = []
    if status.get("engineAvailable") is False:
        problems.append("the Docker engine is not available")
    if (error := _dict(status.get("lastError"))) and error.get("stage"):
        problems.append(
            f"last sync failed at {shown(error['stage'])}: {_text(error.get('message'))}"
        )
    return Overview(
        "api",
        _text(status.get("instance")),
        tuple(rows),
        tuple(stacks),
        _text(status.get("appliedRevision")),
        tuple(problems),
    )


def _stack_name(project: str, stack: dict[str, Any]) -> str:
    """From the containers' prefix `<instance-prefix><project>_<stack>_`."""
    prefix = str(stack.get("prefix") or "")
    at = prefix.rfind(f"{project}_")
    return prefix[at + len(project) + 1 :].rstrip("_") if at >= 0 else "default"


def _stack(key: str, row: dict[str, Any], broken: str | None) -> StackRow:
    applied, seen = _text(row.get("appliedRevision")), _text(row.get("seenRevision"))
    problem = None
    if broken is not None:
        problem = f"broken: {broken}"
    elif row.get("error"):
        problem = f"last sync failed: {shown(row['error'])}"
    elif seen and applied != seen:
        problem = f"not applied yet: seen {seen[:12]}, applied {(applied or '-')[:12]}"
    return StackRow(key, applied, seen, problem)


def _service(
    stack_key: str, service: dict[str, Any], stack: StackRow | None, health: dict[str, str]
) -> Row:
    project, _, stack_name = stack_key.partition("/")
    name = str(service.get("serviceName") or "?")
    state = str(service.get("status") or "unknown")
    verdict = health.get(f"{stack_key}/{name}") or (
        "starting" if state == "starting" else NO_HEALTH
    )
    message = _text(service.get("message")) or ""
    note = None
    problem: str | None = None
    if message.startswith(OPERATOR_STOPPED):
        note = message
    elif state != "running":
        problem = f"{state}: {message}" if message else state
    elif service.get("requiresRecreate"):
        problem = f"drift: {message}" if message else "drift: a changed spec is waiting"
    elif message.startswith(("Rolled back", "Running the previous spec")):
        problem = message
    elif verdict == "unhealthy":
        problem = "unhealthy: its healthcheck fails"
    elif verdict == "starting":
        problem = "starting: its healthcheck has not passed yet"
    if problem is None and stack is not None and stack.problem is not None:
        problem = f"stack {stack.problem}"
    return Row(
        project,
        stack_name,
        name,
        state,
        verdict,
        stack.applied_revision if stack else None,
        when(service.get("statusSetAt")),
        problem,
        note,
    )
