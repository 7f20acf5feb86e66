"""Start-first only where it is possible (issue 15): the order a spec gets, the native
`update:` short form, and the plan saying per replaced service whether it is down, and why."""

from __future__ import annotations

import json
from typing import Any

import pytest

from syncd.core.updateorder import Fallback, effective
from syncd.manifests import ManifestFile, read_manifests
from syncd.manifests.options.lifecycle import UpdateOrder
from syncd.render import PlanFormat, render
from tests.planning import plan_texts

START = {"updateOrder": "start-first"}


@pytest.mark.parametrize(
    ("spec", "order", "fallback"),
    [
        ({}, UpdateOrder.STOP_FIRST, None),
        (START, UpdateOrder.START_FIRST, None),
        ({**START, "ports": ["80/tcp", ":81/tcp"]}, UpdateOrder.START_FIRST, None),
        ({**START, "ports": ["8000-8010:80/tcp"]}, UpdateOrder.START_FIRST, None),
        ({**START, "ports": ["8080:80/tcp"]}, UpdateOrder.STOP_FIRST, Fallback.FIXED_HOST_PORT),
        (
            {**START, "ports": ["127.0.0.1:53:53/udp"]},
            UpdateOrder.STOP_FIRST,
            Fallback.FIXED_HOST_PORT,
        ),
        ({**START, "networkMode": "host"}, UpdateOrder.STOP_FIRST, Fallback.HOST_NETWORK),
        (
            {**START, "macAddress": "02:42:ac:11:00:02"},
            UpdateOrder.STOP_FIRST,
            Fallback.FIXED_ADDRESS,
        ),
        (
            {**START, "networks": {"default": {"ipv4Address": "10.1.0.5"}}},
            UpdateOrder.STOP_FIRST,
            Fallback.FIXED_ADDRESS,
        ),
        ({**START, "networks": {"default": {"ipv4Address": None}}}, UpdateOrder.START_FIRST, None),
    ],
)
def test_start_first_falls_back_where_two_containers_cannot_run(
    spec: dict[str, Any], order: UpdateOrder, fallback: Fallback | None
) -> None:
    found = effective(spec)
    assert (found.effective, found.fallback) == (order, fallback)


STACK = """\
kind: Stack
project: p
services:
  web:
    image: busybox:1.36
    environment: {{N: "{n}"}}
    update: start-first
  pinned:
    image: busybox:1.36
    environment: {{N: "{n}"}}
    ports: ["18080:80/tcp"]
    update: start-first
  plain:
    image: busybox:1.36
    environment: {{N: "{n}"}}
"""


def test_the_plan_says_which_services_are_replaced_with_downtime_and_why() -> None:
    result = plan_texts(STACK.format(n=1), STACK.format(n=2), {})[0]
    text = render(result, PlanFormat.TEXT)
    markdown = render(result, PlanFormat.MARKDOWN)
    why = "stop-first: a fixed host port can be bound by one container at a time"
    for out in (text, markdown):
        assert "replaced without downtime (start-first)" in out, out
        assert f"replaced with downtime ({why})" in out, out
        assert "replaced with downtime (stop-first)" in out, out  # plain: its own order
    body = json.loads(render(result, PlanFormat.JSON))
    impacts = {s["service"]: s["impact"] for s in body["stacks"][0]["services"]}
    assert impacts["p/default/web"]["down"] is False
    assert impacts["p/default/web"]["updateOrder"] == "start-first"
    pinned = impacts["p/default/pinned"]
    assert (pinned["down"], pinned["updateOrder"], pinned["declaredUpdateOrder"]) == (
        True,
        "stop-first",
        "start-first",
    )
    assert pinned["updateOrderReason"] == why.removeprefix("stop-first: ")
    assert body["restarts"] == {"services": 3, "down": 2}


def test_update_and_deploy_update_config_order_must_agree() -> None:
    text = """\
kind: Stack
project: p
services:
  w:
    image: busybox:1.36
    update: start-first
    deploy: {updateConfig: {order: stop-first}}
"""
    errors = [str(p) for p in read_manifests([ManifestFile("p.yaml", text.encode())], {}).errors]
    assert len(errors) == 1 and "p.yaml:6:" in errors[0] and "/services/w/update" in errors[0]
    agreeing = text.replace("order: stop-first", "order: start-first")
    assert not read_manifests([ManifestFile("p.yaml", agreeing.encode())], {}).errors


def test_a_fallback_resting_on_the_operators_variables_is_not_shown() -> None:
    text = """\
kind: Stack
project: p
services:
  w:
    image: busybox:{tag}
    ports: ["${{PORT}}:80/tcp"]
    update: start-first
"""
    result = plan_texts(text.format(tag="1.36"), text.format(tag="1.37"), {"PORT": "18443"})[0]
    for fmt in PlanFormat:
        out = render(result, fmt)
        assert "18443" not in out and "fixed host port" not in out, fmt
    [change] = result.stacks[0].changes
    assert change.impact is not None and change.impact.down is None
