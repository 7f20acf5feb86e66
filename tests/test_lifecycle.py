"""Lifecycle options without an engine (issue 13): healthcheck forms and zero values (D4, D29),
restart retry counts (D11), the long form of depends_on, replicas (D20) and start-first updates,
from Compose and native manifests to canonical specs, plans and observed replicas (pure)."""

from __future__ import annotations

from typing import Any

import pytest

from syncd.core import canonical, options
from syncd.core.desired import DesiredService, DesiredStack, DesiredState
from syncd.core.live import ServiceStatus
from syncd.core.observe import observe
from syncd.core.plan import Action, Reason, plan
from syncd.core.records import ServiceRecord
from syncd.core.runspec import container_request
from syncd.engine import base, dockeropts
from syncd.engine.base import ContainerState, Names, Observed, ObservedContainer
from syncd.ids import StackKey
from syncd.manifests import read_manifests
from syncd.manifests.compose.reader import compose_to_stack
from syncd.manifests.model import RestartPolicy, Service, Strategy
from syncd.manifests.yamlsafe import Schema, load
from syncd.problems import Severity
from syncd.settings import EngineKind
from tests.planning import File, plan_texts


def _compose(text: str) -> Any:
    documents, problems = load("app/compose.yaml", text.encode(), schema=Schema.COMPOSE)
    assert not problems
    return compose_to_stack(documents[0], {}, {"app/compose.yaml": text.encode()})


def _spec(body: dict[str, Any]) -> dict[str, Any]:
    return canonical.full(Service.model_validate({"image": "busybox:1.36", **body}))


def _problems(conv: Any, severity: Severity) -> list[str]:
    return [f"{p.pointer}: {p.message}" for p in conv.problems if p.severity is severity]


# -- healthcheck -------------------------------------------------------------------------------


def test_a_healthcheck_without_a_test_keeps_the_images_test_and_timings() -> None:
    check = _spec({"healthcheck": {"interval": "10s", "retries": 2}})["healthcheck"]
    assert check == {"test": None, "interval": 10.0, "timeout": None, "startPeriod": None,
                     "retries": 2}  # fmt: skip
    desired = DesiredService(
        StackKey("p", "s").service("a"), _spec({"healthcheck": {"startPeriod": "5s"}})
    )
    probe = container_request(desired, instance="i", revision=None, files=lambda p, s: s)
    assert probe.healthcheck is not None
    assert probe.healthcheck.test == () and probe.healthcheck.timeout == 0.0


@pytest.mark.parametrize("test", [["CMD"], ["NONE", "x"], ["wget", "-q", "x"], []])
def test_a_test_list_docker_cannot_run_is_refused_where_written(test: list[str]) -> None:
    with pytest.raises(ValueError, match=r"CMD|NONE"):
        Service.model_validate({"image": "x", "healthcheck": {"test": test}})
    words = ", ".join(f'"{w}"' for w in test)
    conv = _compose(
        f"services:\n  a:\n    image: busybox:1.36\n    healthcheck: {{test: [{words}]}}\n"
    )
    [error] = _problems(conv, Severity.ERROR)
    assert error.startswith("/services/a/healthcheck/test"), error


def test_an_empty_healthcheck_is_the_images_as_with_no_key() -> None:
    assert _spec({"healthcheck": {}})["healthcheck"] is None
    assert _spec({"healthcheck": {"retries": 0}}) == _spec({})


def test_zero_timings_are_dockers_unset_and_equal_the_omitted_values() -> None:
    zero = {"test": ["CMD", "true"], "interval": "0s", "timeout": "0s", "retries": 0}
    omitted = {"test": ["CMD", "true"]}
    assert _spec({"healthcheck": zero}) == _spec({"healthcheck": omitted})


def test_compose_healthcheck_start_interval_warns_and_a_missing_test_is_carried() -> None:
    conv = _compose(
        "services:\n  a:\n    image: busybox:1.36\n    healthcheck:\n"
        "      interval: 10s\n      start_interval: 2s\n      retries: 120\n"
    )
    assert conv.errors == [] and not conv.not_carried
    assert conv.data["services"]["a"]["healthcheck"] == {"interval": "10s", "retries": 120}
    [warning] = _problems(conv, Severity.WARNING)
    assert warning.startswith("/services/a/healthcheck/start_interval") and "1.44" in warning
    assert conv.problems[0].position.line == 6
    many = _compose("services:\n  a:\n    image: busybox:1.36\n    healthcheck: {retries: 10001}\n")
    assert [e.split(":")[0] for e in _problems(many, Severity.ERROR)] == [
        "/services/a/healthcheck/retries"
    ]


# -- restart -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("compose", "policy", "retries"),
    [
        ("restart: on-failure:5", "on-failure", 5),
        ("restart: on-failure:0", "on-failure", 0),
        ("restart: always", "always", 0),
        ("deploy: {restart_policy: {condition: on-failure, max_attempts: 3}}", "on-failure", 3),
        ("deploy: {restart_policy: {condition: any}}", "always", 0),
    ],
)
def test_restart_retry_counts_reach_the_host_config(
    compose: str, policy: str, retries: int
) -> None:
    conv = _compose(f"services:\n  a:\n    image: busybox:1.36\n    {compose}\n")
    assert conv.errors == [] and not conv.not_carried, conv.not_carried
    spec = canonical.full(conv.stack().services["a"])
    assert (spec["restartPolicy"], spec["restartMaxRetries"]) == (policy, retries)
    expected = {"Name": policy, "MaximumRetryCount": retries} if retries else {"Name": policy}
    assert dockeropts.lifecycle.restart_policy(RestartPolicy(policy), spec) == expected


def test_max_attempts_with_an_other_condition_warns_and_bad_forms_are_errors() -> None:
    conv = _compose(
        "services:\n  a:\n    image: busybox:1.36\n"
        "    deploy: {restart_policy: {condition: any, max_attempts: 3}}\n"
        "  b:\n    image: busybox:1.36\n    restart: always:3\n"
        "  c:\n    image: busybox:1.36\n    deploy: {restart_policy: {condition: [x]}}\n"
    )
    assert any("max_attempts" in w for w in _problems(conv, Severity.WARNING))
    errors = _problems(conv, Severity.ERROR)
    assert any(e.startswith("/services/b/restart") for e in errors), errors
    assert any(e.startswith("/services/c/deploy/restart_policy/condition") for e in errors)


def test_a_native_retry_count_goes_with_on_failure_only() -> None:
    assert _spec({"restartPolicy": "on-failure:7"})["restartMaxRetries"] == 7
    for bad in ("always:3", "on-failure:", "on-failure:-1", "sometimes"):
        with pytest.raises(ValueError, match="on-failure"):
            Service.model_validate({"image": "x", "restartPolicy": bad})


def test_restart_retries_change_recreates_and_defaults_keep_old_hashes() -> None:
    before, after = _spec({"restartPolicy": "on-failure"}), _spec({"restartPolicy": "on-failure:3"})
    assert canonical.recreate_fields(before, after) == ["restartMaxRetries"]
    old = {k: v for k, v in before.items() if k not in ("restartMaxRetries", "replicas")}
    assert canonical.config_hash(old) == canonical.config_hash(before)


# -- depends_on --------------------------------------------------------------------------------


def test_depends_on_long_form_is_carried_and_optional_dependencies_may_be_missing() -> None:
    conv = _compose(
        "services:\n  db:\n    image: busybox:1.36\n  app:\n    image: busybox:1.36\n"
        "    depends_on:\n      db: {condition: service_healthy, restart: true}\n"
        "      cache: {condition: service_started, required: false}\n"
        "  cache:\n    image: busybox:1.36\n    profiles: [debug]\n"
    )
    assert conv.errors == [] and not conv.not_carried
    spec = canonical.full(conv.stack().services["app"])
    assert spec["dependsOn"] == {"db": "service_healthy"}  # cache: not deployed, not waited for
    assert spec["dependsOnRestart"] == ["db"] and spec["dependsOnOptional"] == []
    native = """\
kind: Stack
project: p
services:
  app:
    image: busybox:1.36
    dependsOn: {tools: {condition: service_healthy, required: false}, db: service_started}
  db: {image: busybox:1.36}
"""
    found = read_manifests([File("p.yaml", native.encode())], {})
    assert found.errors == []
    wrong = native.replace(", required: false", "")
    refused = read_manifests([File("p.yaml", wrong.encode())], {}).errors
    assert any("no service 'tools'" in str(p) for p in refused), refused


def test_a_dependency_recreated_restarts_the_dependants_that_ask_for_it() -> None:
    stack = """\
kind: Stack
project: p
services:
  db: {{image: busybox:1.36, environment: {{N: "{n}"}}}}
  app: {{image: busybox:1.36, dependsOn: {{db: {{condition: service_started, restart: true}}}}}}
  other: {{image: busybox:1.36, dependsOn: [db]}}
"""
    result, _, _ = plan_texts(stack.format(n=1), stack.format(n=2))
    actions = {c.key.name: (c.action, c.reason) for c in result.stacks[0].services}
    assert actions["db"][0] is Action.RECREATE
    assert actions["app"] == (Action.START, Reason.DEPENDENCY_RECREATED)
    assert actions["other"] == (Action.NONE, Reason.UNCHANGED)


# -- replicas and update order ------------------------------------------------------------------


def test_compose_replicas_with_a_fixed_host_port_are_errors_start_first_a_warning() -> None:
    """On a Docker host (`manifests.enginecheck`; on Swarm the replicas run on other nodes)."""
    text = (
        "services:\n  a:\n    image: busybox:1.36\n    ports: ['18700:80']\n"
        "    deploy: {replicas: 2}\n"
        "  b:\n    image: busybox:1.36\n    ports: ['18701:80']\n"
        "    deploy: {update_config: {order: start-first}}\n"
        "  c:\n    image: busybox:1.36\n    expose: ['80']\n    scale: 3\n"
        "    deploy: {update_config: {order: start-first}}\n"
        "  d:\n    image: busybox:1.36\n    ports: ['18702:80']\n    scale: 2\n"
    )
    conv = _compose(text)
    assert not conv.not_carried and conv.errors == []
    found = read_manifests([File("app/compose.yaml", text.encode())], {})
    errors = [f"{p.position.line}: {p.pointer}: {p.message}" for p in found.errors]
    assert len(errors) == 2, errors
    assert errors[0].startswith("5: /services/a/deploy/replicas") and "18700" in errors[0]
    assert errors[1].startswith("18: /services/d/deploy/replicas") and "18702" in errors[1]
    # start-first with a fixed host port: replaced stop-first (issue 15), and said so
    warnings = [p for p in found.warnings if "start-first" in p.message]
    assert len(warnings) == 1 and warnings[0].position.line == 9
    assert warnings[0].pointer == "/services/b/deploy/updateConfig/order"
    assert "stop-first" in warnings[0].message
    swarm = read_manifests([File("app/compose.yaml", text.encode())], {}, engine=EngineKind.SWARM)
    assert swarm.problems == []


def test_native_replicas_with_a_fixed_host_port_are_refused_where_written() -> None:
    native = """\
kind: Stack
project: p
services:
  a:
    image: busybox:1.36
    ports: ["18700:80/tcp"]
    deploy: {replicas: 2, updateConfig: {order: start-first}}
"""
    errors = [str(p) for p in read_manifests([File("p.yaml", native.encode())], {}).errors]
    assert len(errors) == 1, errors  # start-first there is replaced stop-first (issue 15)
    assert "p.yaml:7:" in errors[0] and "/deploy/replicas" in errors[0]


def test_changing_replicas_or_the_order_needs_no_new_container() -> None:
    stack = """\
kind: Stack
project: p
services:
  web: {{image: busybox:1.36, deploy: {{replicas: {n}{order}}}}}
"""
    result, _, _ = plan_texts(stack.format(n=1, order=""), stack.format(n=3, order=""))
    [change] = result.stacks[0].services
    assert (change.action, change.fields) == (Action.UPDATE, ("replicas",))
    order = ", updateConfig: {order: start-first}"
    result, _, _ = plan_texts(stack.format(n=1, order=""), stack.format(n=1, order=order))
    assert result.stacks[0].services[0].action is Action.UPDATE


STACK = StackKey("shop", "default")
WEB = STACK.service("web")


def _desired(replicas: int) -> DesiredState:
    service = DesiredService(WEB, _spec({"deploy": {"replicas": replicas}}))
    stack = DesiredStack(STACK, Strategy.DECLARE, "", {"web": service}, {})
    return DesiredState("r1", {STACK: stack})


def _container(hash_: str, cid: str, replica: int, running: bool = True) -> ObservedContainer:
    state = ContainerState.RUNNING if running else ContainerState.EXITED
    return ObservedContainer(cid, cid, WEB, hash_, "r1", "img", state, None, 1.0, replica)


def _record(desired: DesiredState) -> dict[str, ServiceRecord]:
    service = desired.stacks[STACK].services["web"]
    record = ServiceRecord(str(WEB), "r1", service.spec, frozenset(), service.hash, 0, "ok", None)
    return {str(WEB): record}


def test_replicas_are_one_service_and_a_missing_or_stale_replica_is_made_again() -> None:
    desired = _desired(3)
    good = desired.stacks[STACK].services["web"].hash
    containers = (_container(good, "c1", 1), _container(good, "c2", 2), _container(good, "c3", 3))
    seen = observe(Observed(containers), _record(desired), desired=desired)
    web = seen.live.stacks[STACK].services["web"]
    assert [r.index for r in web.replicas] == [1, 2, 3] and web.container_id == "c1"
    assert plan(desired, seen.live).stacks[0].services[0].action is Action.NONE

    stale = (containers[0], _container("old", "c2", 2), _container(good, "c9", 0))
    seen = observe(Observed(stale), _record(desired), desired=desired)
    assert {c.id for c in seen.strays} == {"c2", "c9"}  # another hash; no replica number
    [change] = plan(desired, seen.live).stacks[0].services
    assert (change.action, change.reason) == (Action.START, Reason.REPLICAS)

    stopped = (containers[0], containers[1], _container(good, "c3", 3, running=False))
    seen = observe(Observed(stopped), _record(desired), desired=desired)
    [change] = plan(desired, seen.live).stacks[0].services
    assert (change.action, change.reason) == (Action.START, Reason.STOPPED)


def test_zero_replicas_are_declared_with_no_container_and_stay_so() -> None:
    desired = _desired(0)
    seen = observe(Observed(()), _record(desired), desired=desired)
    web = seen.live.stacks[STACK].services["web"]
    assert web.status is ServiceStatus.STOPPED and web.containers() == ()
    assert plan(desired, seen.live).stacks[0].services[0].action is Action.NONE
    gone = plan(DesiredState("r2", {}), seen.live, allow_empty=True)
    assert gone.stacks[0].services[0].action is Action.REMOVE


def test_replica_names_and_labels_never_collide_with_other_services() -> None:
    names = Names("default")
    assert names.container(WEB) == "shop_default_web"
    assert names.container(WEB, 2) == "shop_default_web.2"  # `.` is in no syncd name
    assert base.replica_of({}) == 1 and base.replica_of({base.LABEL_REPLICA: "3"}) == 3
    assert (
        base.replica_of({base.LABEL_REPLICA: "x"}) == 0
        and base.replica_of({base.LABEL_REPLICA: "٣"}) == 0
    )
    desired = DesiredService(WEB, _spec({"deploy": {"replicas": 2}}))
    request = container_request(desired, instance="i", revision=None, files=lambda p, s: s,
                                replica=2)  # fmt: skip
    assert request.labels[base.LABEL_REPLICA] == "2" and request.replica == 2


def test_a_spec_recorded_before_the_option_fields_plans_no_change() -> None:
    """Upgrading syncd adds option fields at their defaults: no recreate, and no plan diff."""
    desired = _desired(1)
    service = desired.stacks[STACK].services["web"]
    old = {k: v for k, v in service.spec.items() if k not in options.DEFAULTS}
    assert canonical.config_hash(old) == service.hash
    record = ServiceRecord(str(WEB), "r1", old, frozenset(), service.hash, 0, "ok", None)
    seen = observe(
        Observed((_container(service.hash, "c1", 1),)), {str(WEB): record}, desired=desired
    )
    result = plan(desired, seen.live)
    assert not result.changed, result.stacks[0].patch
