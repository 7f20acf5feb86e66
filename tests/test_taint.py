"""Issue 10, finding 7: a value that came from the environment or a secret source is tainted
wherever it goes. One planted secret per field that can hold text (an env-interpolated value, and
registry passwords from an env variable and from a file), grepped across every output: every plan
format, `validate`, `apply`, error messages, and a real daemon at debug level (every `/v2` answer,
status, sync history, metrics, its log)."""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import docker
import pytest

from syncd import taint
from syncd.core.desired import DesiredState, resolve
from syncd.core.live import LiveState
from syncd.core.plan import as_live, plan
from syncd.ids import project_id
from syncd.manifests import ManifestFile, read_manifests
from syncd.render import PlanFormat, render
from tests.conftest import TestRegistry
from tests.daemon_support import RunningDaemon, free_port, wait_for
from tests.engine_support import Deployment
from tests.gitrepo import GitRepo

TAG = secrets.token_hex(5)
IDLE = "trap 'exit 0' TERM; sleep 3600 & wait"
PASSWORD = TestRegistry.from_env().password  # the real one: the registry is really asked


def planted(port: int, image: str) -> dict[str, str]:
    """One unique value per field; each is valid where it goes, so it travels everywhere."""
    return {
        "S_STACK_DESC": f"stackdesc{TAG}",
        "S_DESC": f"svcdesc{TAG}",
        "S_IMAGE": image,
        "S_PRIVATE_TAG": f"privtag{TAG}",
        "S_CMD": f"{IDLE} # cmd{TAG}",
        "S_ENTRY": f"ENTRY{TAG}=1",
        "S_ENV": f"envvalue{TAG}",
        "S_ENV_PART": f"partial{TAG}",
        "S_PORT": f"{port}:80/tcp",
        "S_VOLUME": f"/files{TAG}:/data",
        "S_CPUS": "0.481731",
        "S_MEMORY": "71234567",
        "S_RESTART": "unless-stopped",
        "S_HEALTH": f"true hc{TAG}",
        "S_PROBE": f"true probe{TAG}",  # run every second: Docker reports each run as an event
        "S_INTERVAL": "2h41m7.25s",
        "S_COND": "service_started",
        "S_PATCHED": f"patched{TAG}",
        "S_REG_DESC": f"regdesc{TAG}",
        "S_REG_USER": f"reguser{TAG}",
        "S_REG_URI": f"reg{TAG}.invalid:5000",
        "REGISTRY_PW": PASSWORD,
    }


def needles(values: dict[str, str], port: int, password_file: Path) -> list[str]:
    """What must appear nowhere: every unique planted value, the pieces Docker would quote, and
    what the canonical forms turn some of them into."""
    planted_names = [k for k in values if k.startswith("S_") or k == "REGISTRY_PW"]
    unique = [values[k] for k in planted_names if k not in ("S_RESTART", "S_COND")]
    return [
        *unique,
        f":{port}",  # a host binding, as Docker quotes it
        f"{port}/tcp",
        "0.481731",
        "71234567",
        "9667.25",  # 2h41m7.25s in seconds
        f"files{TAG}",
        password_file.read_text().strip(),
    ]


def stack(image: str, *, stack_desc: str, desc: str) -> str:
    return f"""\
kind: Stack
project: taint
description: "{stack_desc}"
services:
  web:
    image: "{image}"
    description: "{desc}"
    command: [sh, -c, "${{S_CMD}}"]
    entrypoint: [env, "${{S_ENTRY}}"]
    environment: {{TOKEN: "${{S_ENV}}", URL: "https://user:${{S_ENV_PART}}@db/x", MODE: plain}}
    ports: ["${{S_PORT}}"]
    volumes: ["${{S_VOLUME}}"]
    deploy: {{resources: {{limits: {{cpus: "${{S_CPUS}}", memory: "${{S_MEMORY}}"}}}}}}
    restartPolicy: "${{S_RESTART}}"
    healthcheck: {{test: [CMD-SHELL, "${{S_HEALTH}}"], interval: "${{S_INTERVAL}}"}}
    dependsOn: {{helper: "${{S_COND}}"}}
  helper:
    image: busybox:1.36
    command: [sh, -c, "{IDLE}"]
    healthcheck: {{test: [CMD-SHELL, "${{S_PROBE}}"], interval: 1s}}
  private:
    image: "127.0.0.1:5555/private/busybox:${{S_PRIVATE_TAG}}"
    description: pulled with the team registry's credentials; the tag does not exist
"""


def literal_stack() -> str:
    """The same services with literal values: the base of a plan that replaces every field."""
    return f"""\
kind: Stack
project: taint
description: literal
services:
  web:
    image: busybox:1.36
    description: literal
    command: [sh, -c, "{IDLE}"]
    entrypoint: [env, LITERAL=1]
    environment: {{TOKEN: literal, URL: literal, MODE: plain}}
    ports: ["80/tcp"]
    volumes: ["/literal:/data"]
    deploy: {{resources: {{limits: {{cpus: "1", memory: 64mb}}}}}}
    restartPolicy: always
    healthcheck: {{test: [CMD-SHELL, "true"], interval: 10s}}
    dependsOn: {{helper: service_started}}
  helper:
    image: busybox:1.36
    command: [sh, -c, "{IDLE}"]
"""


def registries(password_file: Path) -> str:
    return f"""\
kind: Registry
project: taint
name: team
uri: 127.0.0.1:5555
description: "${{S_REG_DESC}}"
credentials:
  username: "${{S_REG_USER}}"
  password: {{env: REGISTRY_PW}}
---
kind: Registry
project: taint
name: other
uri: "${{S_REG_URI}}"
description: a registry whose host comes from the environment
credentials:
  username: deploy
  password: {{file: {password_file}}}
---
kind: StackPatch
project: taint
patch:
  - {{op: replace, path: /services/helper/command, value: [sh, -c, "{IDLE} # ${{S_PATCHED}}"]}}
"""


def manifests(image: str, password_file: Path) -> str:
    body = stack(image, stack_desc="${S_STACK_DESC}", desc="${S_DESC}")
    return body + "---\n" + registries(password_file)


# The operator allows the planted variables (and no other) to reach the manifests.
ALLOWED = {"SYNCD_ALLOW_ENV": "S_*,B_*,P_*,REGISTRY_PW"}


def syncd(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "syncd", "--log-level", "debug", *args],
        capture_output=True,
        text=True,
        env={**os.environ, **ALLOWED, **env},
        check=False,
        timeout=300,
    )


def leaks(text: str, wanted: list[str]) -> list[str]:
    return [value for value in wanted if value in text]


@pytest.fixture
def password_file(tmp_path: Path) -> Path:
    """A registry password in the operator's secrets directory (`SYNCD_SECRETS_DIR`)."""
    path = tmp_path / "secrets" / "other-registry"
    path.parent.mkdir()
    path.write_text(f"filepassword{TAG}\n")
    return path


def operator(values: dict[str, str], password_file: Path) -> dict[str, str]:
    return {**values, **ALLOWED, "SYNCD_SECRETS_DIR": str(password_file.parent)}


def test_no_plan_format_nor_validate_shows_a_planted_secret(
    tmp_path: Path, password_file: Path
) -> None:
    port = free_port()
    values = operator(planted(port, f"localhost:5000/taint/image{TAG}:v1"), password_file)
    repo = GitRepo(tmp_path / "repo")
    repo.write("taint.yaml", literal_stack())
    base = repo.commit("literal")
    repo.write("taint.yaml", manifests("${S_IMAGE}", password_file))
    head = repo.commit("planted")
    outputs = []
    for fmt in ("text", "markdown", "json", "json-patch"):
        args = ("plan", "--repo", str(repo.path), "--base", base, "--head", head, "--format", fmt)
        done = syncd(*args, env=values)
        assert done.returncode == 2, done.stderr
        assert "<redacted>" in done.stdout, fmt
        outputs += [done.stdout, done.stderr]
    shown = json.loads(syncd(*args[:-1], "json", env=values).stdout)
    [web] = [s for s in shown["stacks"][0]["services"] if s["service"] == "taint/default/web"]
    changed = {op["path"] for op in web["patch"]}
    assert {"/image", "/description", "/restartPolicy", "/cpus", "/memory"} <= changed
    assert all(op["value"] == "<redacted>" for op in web["patch"] if op["path"] != "/dependsOn")
    for fmt in ("text", "json", "github"):
        done = syncd(
            "validate", "--repo", str(repo.path), "--rev", head, "--format", fmt, env=values
        )
        assert done.returncode == 0, done.stdout + done.stderr
        outputs += [done.stdout, done.stderr]
    assert leaks("\n".join(outputs), needles(values, port, password_file)) == []


INVALID = """\
kind: Stack
project: bad
services:
  web:
    image: "${B_IMAGE}"
    ports: ["${B_PORT}"]
    volumes: ["${B_MOUNT}"]
    deploy: {resources: {limits: {memory: "${B_MEMORY}", cpus: "${B_CPUS}"}}}
    restartPolicy: "${B_RESTART}"
    healthcheck: {test: [CMD, "true"], interval: "${B_INTERVAL}"}
    dependsOn: {db: "${B_COND}"}
  db: {image: busybox:1.36}
---
kind: Stack
project: clash
services:
  one: {image: "${B_HOST_IMAGE}", ports: ["${B_CLASH}"], volumes: ["${B_VOLUME}"]}
  two: {image: busybox:1.36, ports: ["${B_CLASH}"]}
---
kind: Stack
project: "${B_PROJECT}"
services: {}
---
kind: Registry
project: bad
name: team
uri: "${B_URI}"
credentials: {username: "${B_USER}", password: {env: X}}
"""


def invalid_values() -> dict[str, str]:
    return {
        "B_IMAGE": f"Not An Image {TAG}",
        "B_PORT": "98765:80/tcp",
        "B_MOUNT": f"/data:rel{TAG}",
        "B_CLASH": "45678:80/tcp",
        "B_VOLUME": f"vol{TAG}:/data",
        "B_HOST_IMAGE": f"reg{TAG}.example:5000/app:1",
        "B_MEMORY": f"mem{TAG}",
        "B_CPUS": f"cpus{TAG}",
        "B_RESTART": f"restart{TAG}" + "-long" * 12,  # quoted cut short: a prefix must not show
        "B_INTERVAL": f"ival{TAG}",
        "B_COND": f"cond{TAG}",
        "B_PROJECT": f"project{TAG}",
        "B_URI": f"https://uri{TAG}/x",
        "B_USER": f"user{TAG}",
    }


def test_errors_about_a_secret_value_do_not_quote_it(tmp_path: Path) -> None:
    values = invalid_values()
    (tmp_path / "bad.yaml").write_text(INVALID)
    outputs = []
    for fmt in ("text", "json", "github"):
        done = syncd("validate", "--repo", str(tmp_path), "--format", fmt, env=values)
        assert done.returncode == 1, done.stdout + done.stderr
        outputs += [done.stdout, done.stderr]
    report = json.loads(outputs[2])
    pointers = {p["pointer"] for p in report["problems"]}
    assert {"/services/web/image", "/services/web/restartPolicy", "/uri", "/project"} <= pointers
    assert {"/services/web/dependsOn/db", "/services/web/ports/0", "/services/web/volumes/0"} <= (
        pointers
    )
    assert {"/services/one/volumes/0", "/services/one/image"} <= pointers
    assert "/services/two/ports/0" not in pointers  # a port from a variable is never compared
    wanted = [*values.values(), "98765", "45678", TAG]
    assert leaks("\n".join(outputs), wanted) == []


def test_a_failing_patch_does_not_quote_a_secret(tmp_path: Path) -> None:
    """A StackPatch whose `test` fails next to a secret, and one that makes the stack invalid
    with a secret value: the errors (from `plan`) name the op, never the values."""
    values = {"P_TOKEN": f"patchtoken{TAG}", "P_RESTART": f"patchrestart{TAG}"}
    repo = GitRepo(tmp_path / "repo")
    repo.write(
        "stack.yaml",
        "kind: Stack\nproject: p\nservices:\n"
        "  web: {image: busybox:1.36, environment: {TOKEN: '${P_TOKEN}'}}\n",
    )
    base = repo.commit("base")
    outputs = []
    for patch in (
        "{op: test, path: /services/web/environment/TOKEN, value: guess}",
        "{op: replace, path: /services/web/restartPolicy, value: '${P_RESTART}'}",
        "{op: add, path: /services/web/ports, value: ['${P_TOKEN}']}",
    ):
        repo.write("patch.yaml", f"kind: StackPatch\nproject: p\npatch:\n  - {patch}\n")
        head = repo.commit("patch")
        done = syncd("plan", "--repo", str(repo.path), "--base", base, "--head", head, env=values)
        assert done.returncode == 1, done.stdout + done.stderr
        assert "patch" in done.stderr
        outputs.append(done.stdout + done.stderr)
    assert leaks("\n".join(outputs), list(values.values())) == []


@pytest.fixture
def planted_image(docker_client: docker.DockerClient, busybox_image: str) -> Iterator[str]:
    """busybox under a unique name: a secret image reference that runs."""
    reference = f"localhost/taint-{TAG}:v1"
    docker_client.images.get(busybox_image).tag(reference)
    try:
        yield reference
    finally:
        docker_client.images.remove(reference, noprune=True)


@pytest.mark.docker
def test_no_output_of_apply_or_of_a_running_daemon_shows_a_planted_secret(
    deployment: Deployment, planted_image: str, password_file: Path
) -> None:
    port = free_port()
    values = operator(planted(port, planted_image), password_file)
    wanted = needles(values, port, password_file)
    repo = GitRepo(deployment.repo)
    repo.write("taint.yaml", manifests("${S_IMAGE}", password_file))
    repo.commit("planted")
    where = ["--data-dir", str(deployment.settings.data_dir), "--instance", deployment.instance]
    outputs = []
    applied = syncd("apply", "--repo", str(repo.path), *where, env=values)
    assert applied.returncode == 3, applied.stdout + applied.stderr  # `private` cannot be pulled
    assert "taint/default/private" in applied.stdout and "<redacted>" in applied.stdout
    outputs += [applied.stdout, applied.stderr]
    live = syncd("plan", "--repo", str(repo.path), *where, "--format", "json", env=values)
    outputs += [live.stdout, live.stderr]

    env = {**values, "SYNCD_LOG_LEVEL": "debug"}
    daemon = RunningDaemon(
        str(repo.path), deployment.settings.data_dir, deployment.instance, env=env
    )
    try:
        daemon.started()
        wait_for(lambda: daemon.status()["lastSync"], 60, "the first sync")
        pid = project_id("taint")
        services = wait_for(
            lambda: [
                s
                for s in daemon.http.get(f"/v2/projects/{pid}/services").json()
                if s["serviceName"] == "web" and s["deployedState"].get("envs")
            ],
            30,
            "the view with the deployed state",
        )
        web = services[0]
        wait_for(lambda: "exec_start" in daemon.log(), 30, "a healthcheck run (an event)")
        assert web["pendingState"]["envs"]["TOKEN"] == "<redacted>"
        assert web["deployedState"]["envs"]["TOKEN"] == "<redacted>"
        assert web["deployedState"]["image"] == "<redacted>" == web["pendingState"]["image"]
        assert web["description"] == "<redacted>"
        stack = daemon.http.get(f"/v2/stacks/{web['stackId']}").json()
        assert stack["description"] == "<redacted>"
        urls = [
            "/v2/projects",
            f"/v2/projects/{pid}",
            f"/v2/projects/{pid}/stacks",
            f"/v2/projects/{pid}/services",
            f"/v2/projects/{pid}/volumes",
            f"/v2/projects/{pid}/registries",
            f"/v2/stacks/{web['stackId']}",
            "/v2/syncd/daemon/status",
            "/v2/syncd/syncs",
            "/healthz",
            "/metrics",
        ]
        for service in daemon.http.get(f"/v2/projects/{pid}/services").json():
            urls.append(f"/v2/stacks/{service['stackId']}/services/{service['id']}")
            urls.append(f"/v2/stacks/{service['stackId']}/services/{service['serviceName']}")
        for registry in daemon.http.get(f"/v2/projects/{pid}/registries").json():
            urls.append(f"/v2/registries/{registry['id']}")
        answers = [daemon.http.get(url) for url in urls]
        assert all(a.status_code == 200 for a in answers), [a.status_code for a in answers]
        status = answers[urls.index("/v2/syncd/daemon/status")].json()
        assert status["lastError"] and "private" in status["lastError"]["message"]
        outputs += [a.text for a in answers]
        outputs.append(daemon.log())
    finally:
        daemon.close()
    assert leaks("\n".join(outputs), wanted) == []
    state = deployment.settings.state_file  # at rest too: the store keeps digests of secrets
    stored = b"".join(p.read_bytes() for p in state.parent.glob(state.name + "*"))
    assert leaks(stored.decode(errors="replace"), wanted) == []


def _state(text: str, env: dict[str, str], base: LiveState | None = None) -> DesiredState:
    manifests = read_manifests([ManifestFile("s.yaml", text.encode())], env)
    if base is None:
        return resolve(manifests, "rev")
    return resolve(manifests, "rev", base.last_applied(), base.last_secrets())


def test_a_tainted_list_item_stays_redacted_wherever_a_list_op_moves_it() -> None:
    """jsonpatch turns a list change into ops whose indexes are those of the list while the ops
    run: redaction by place alone would miss an item that moved."""
    env = {"X": f"moved{TAG}"}
    head = "kind: Stack\nproject: m\nservices:\n  web: {image: busybox:1.36, %s}\n"
    old = _state(head % "command: [a, b, c, d]", env)
    for command in ("['${X}', a, b, c, d]", "[d, c, '${X}', a]", "[b, '${X}']", "['x-${X}']"):
        new = _state(head % f"command: {command}", env)
        result = plan(new, as_live(old))
        assert result.changed
        shown = "\n".join(render(result, fmt) for fmt in PlanFormat)
        assert env["X"] not in shown and "<redacted>" in shown, command


def test_update_strategy_keeps_the_taint_of_what_it_keeps() -> None:
    env = {"X": f"kept{TAG}", "Y": f"image{TAG}"}
    declared = _state(
        "kind: Stack\nproject: u\nservices:\n"
        "  web: {image: 'busybox:${Y}', environment: {TOKEN: '${X}'}, ports: ['80/tcp']}\n",
        env,
    )
    updated = _state(
        "kind: Stack\nproject: u\nstrategy: update\nservices:\n  web: {description: new}\n",
        env,
        as_live(declared),
    )
    web = next(iter(updated.stacks.values())).services["web"]
    assert {"/environment/TOKEN", "/image"} <= web.secrets
    assert web.spec["environment"]["TOKEN"] == env["X"]


def test_a_secret_quoted_in_another_case_is_hidden_too() -> None:
    """Host names are compared and quoted lower-cased: `Reg<SECRET>/app` is the host
    `reg<secret>`, which a case-sensitive scrub misses."""
    env = {"X": f"CamelSecret{TAG}"}
    text = "kind: Stack\nproject: c\nservices:\n  web: {image: 'Reg${X}/app:1'}\n"
    manifests = read_manifests([ManifestFile("c.yaml", text.encode())], env)
    [warning] = manifests.warnings
    assert "no Registry for" in warning.message
    assert env["X"].lower() not in warning.message.lower(), warning.message
    assert taint.scrub(f"host {env['X'].upper()}:5000", [env["X"]]) == "host <redacted>:5000"
    taint.remember([env["X"]])
    assert env["X"].lower() not in taint.scrub_known(f"pull reg{env['X'].lower()}/app")


def test_a_public_name_stays_visible_in_any_case() -> None:
    shown = taint.scrub("stack Shop/web: port 7000", ["shop:7000"], keep=["shop"])
    assert shown == "stack Shop/web: port <redacted>"


@pytest.mark.parametrize("short", ["a", "A", "ac", "80", "abc"])
def test_a_short_secret_is_never_told_by_where_it_was_cut_out(short: str) -> None:
    """Cut out of `'always'` or `<redacted>` itself, a one-letter secret shows through the
    holes it leaves (`<red<redacted>cted>`, `'<redacted>lw<redacted>ys'`): such a text is
    withheld whole, and a longer secret never cuts into a `<redacted>` already written."""
    text = (
        "kind: Stack\nproject: s\nservices:\n"
        "  web: {image: busybox:1.36, restartPolicy: '${X}', ports: ['${X}:80/tcp']}\n"
    )
    manifests = read_manifests([ManifestFile("s.yaml", text.encode())], {"X": short})
    assert manifests.errors  # the policy at least ('80:80/tcp' is a valid port)
    for problem in manifests.errors:
        assert problem.message == taint.WITHHELD, problem.message
    assert taint.scrub("'<redacted>' x reda", ["reda"]) == "'<redacted>' x <redacted>"


def test_the_remembered_secret_values_are_bounded_and_keep_the_newest() -> None:
    from syncd import taint

    taint.remember(f"old-secret-{i:05d}" for i in range(taint.MAX_KNOWN))
    taint.remember(["the-newest-secret"])
    assert "the-newest-secret" not in taint.scrub_known("a the-newest-secret b")
    assert "old-secret-00000" in taint.scrub_known("a old-secret-00000 b")  # forgotten first
    assert "old-secret-00001" not in taint.scrub_known("a old-secret-00001 b")
