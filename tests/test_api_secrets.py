"""No API answer shows a value filled from the environment, whatever field it fills: image,
command, entrypoint, ports, volumes, resource limits and description, not only `environment`
(pending and deployed state, the status's pending plan). In-process daemon over a real socket,
on the fake engine of tests/fake_engine.py."""

from __future__ import annotations

from pathlib import Path

from syncd.ids import StackKey
from tests.fake_engine import FakeEngine
from tests.leaks import shows
from tests.test_readme_claims import InProcess

SHOP = StackKey("shop", "default")
SECRET = "planted-api-secret-4711"
ENV = {"TAG": "1.36", "WORD": SECRET, "CPUS": "3.75", "PORT": "18471", "VOL": "mnt4711"}
STACK = """\
kind: Stack
project: shop
services:
  web:
    image: "busybox:${TAG}"
    description: "front ${WORD}"
    command: [sh, -c, "echo ${WORD}"]
    entrypoint: ["/bin/${WORD}"]
    environment: {TOKEN: "${WORD}", MODE: plain}
    ports: ["${PORT}:80/tcp"]
    volumes: ["vol4711:/${VOL}"]
    deploy: {resources: {limits: {cpus: "${CPUS}", memory: "${PORT}mb"}}}
volumes:
  vol4711: {}
"""


def test_no_answer_shows_a_value_filled_from_the_env(tmp_path: Path) -> None:
    made = InProcess(tmp_path, STACK, FakeEngine(instance="claims").have("busybox:1.36"), ENV)
    try:
        made.sync()
        assert made.daemon.status.good_revision is not None, made.daemon.status.last_error
        answer = made.services()
        assert answer.status_code == 200, answer.text
        (web,) = answer.json()
        pending = web["pendingState"]
        assert pending["image"] == "<redacted>"  # a tainted list item is that item only
        assert pending["command"] == ["sh", "-c", "<redacted>"]
        assert pending["envs"] == {"MODE": "plain", "TOKEN": "<redacted>"}
        assert web["description"] == "<redacted>"
        assert web["deploy"]["resources"]["limits"] == {
            "cpus": "<redacted>",
            "memory": "<redacted>",
        }
        stack = made.http.get(f"/v2/stacks/{SHOP.id}").json()
        status = made.http.get("/v2/syncd/daemon/status").json()
        for shown in (answer.text, str(stack), str(status)):
            for value in (SECRET, "18471", "3.75", "mnt4711", "busybox:1.36"):
                assert not shows(shown, value), (value, shown)
    finally:
        made.close()
