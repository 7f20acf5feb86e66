"""syncd's own service route answers the full canonical spec, declared and deployed, with every
option field and values from the environment redacted; the mittwald route of the same service
keeps its shape. In-process daemon over a real socket, on the fake engine."""

from __future__ import annotations

from pathlib import Path

from syncd.ids import StackKey
from tests.fake_engine import FakeEngine
from tests.leaks import shows
from tests.test_readme_claims import InProcess

SHOP = StackKey("shop", "default")
SECRET = "spec-secret-5521"
STACK = """\
kind: Stack
project: shop
services:
  web:
    image: busybox:1.36
    command: [sleep, "3600"]
    environment: {TOKEN: "${WORD}", MODE: plain}
    restartPolicy: always
    ports: ["18081:80/tcp", ":81/tcp"]
  hidden:
    image: busybox:1.36
    ports: ["${PORT}:80/tcp"]
"""


def test_the_service_spec_route_shows_every_field_and_no_secret(tmp_path: Path) -> None:
    engine = FakeEngine(instance="claims").have("busybox:1.36")
    made = InProcess(tmp_path, STACK, engine, {"WORD": SECRET, "PORT": "18555"})
    try:
        made.sync()
        assert made.daemon.status.good_revision is not None, made.daemon.status.last_error
        service = SHOP.service("web")
        answer = made.http.get(f"/v2/syncd/stacks/{SHOP.id}/services/{service.id}")
        assert answer.status_code == 200, answer.text
        body = answer.json()
        assert SECRET not in answer.text
        assert body["service"] == "shop/default/web" and body["id"] == service.id
        declared = body["declared"]
        assert declared["image"] == "busybox:1.36"
        assert declared["environment"] == {"MODE": "plain", "TOKEN": "<redacted>"}
        assert declared["restartPolicy"] == "always"
        # the canonical spec: every field the plan diffs, not only mittwald's few
        mittwald = made.http.get(f"/v2/stacks/{SHOP.id}/services/{service.id}").json()
        assert set(declared) - set(mittwald["pendingState"]) - {"environment"}
        assert "declared" not in mittwald and "pendingState" in mittwald
        assert body["deployed"] is None or SECRET not in str(body["deployed"])
        # the host ports bound, per replica: the fixed one, and the one picked for `:81`
        assert body["published"] == {"1": ["127.0.0.1:18081->80/tcp", "127.0.0.1:49153->81/tcp"]}, (
            body["published"]
        )
        hidden = SHOP.service("hidden")
        other = made.http.get(f"/v2/syncd/stacks/{SHOP.id}/services/{hidden.id}").json()
        assert other["published"] == {"1": ["<redacted>"]}  # the port came from the environment
        assert not shows(str(other), "18555")
        by_name = made.http.get(f"/v2/syncd/stacks/{SHOP.id}/services/web")
        assert by_name.json() == body
        missing = made.http.get(f"/v2/syncd/stacks/{SHOP.id}/services/nope")
        assert missing.status_code == 404
        assert missing.json()["type"] == "NotFound"
    finally:
        made.close()
