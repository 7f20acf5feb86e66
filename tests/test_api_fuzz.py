"""Property-based fuzzing of the `/v2` API (schemathesis, driven by syncd's own
`/v2/openapi.json`): no 5xx, and every answer inside its documented schema and status codes.

Routes that would reach beyond this machine for random input (image config pulls) are left out.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import docker
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.core.result import Ok
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.daemon_support import RunningDaemon
from tests.engine_support import Deployment
from tests.test_api import serving

pytestmark = pytest.mark.docker
EXCLUDED = ("/v2/container-image-config", "/hooks/git")


@pytest.fixture(scope="module")
def fuzzed(
    tmp_path_factory: pytest.TempPathFactory, docker_client: docker.DockerClient, busybox_image: str
) -> Iterator[RunningDaemon]:
    deployment = Deployment(tmp_path_factory.mktemp("fuzz"), docker_client)
    try:
        with serving(deployment) as daemon:
            yield daemon
    finally:
        deployment.cleanup()


CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]


def test_no_route_fails_or_answers_outside_its_schema(fuzzed: RunningDaemon) -> None:
    schema = schemathesis.openapi.from_url(f"{fuzzed.url}/v2/openapi.json")
    operations = [r.ok() for r in schema.get_all_operations() if isinstance(r, Ok)]
    fuzzable = [op for op in operations if not op.path.startswith(EXCLUDED)]
    assert {"/v2/projects/{projectId}/services", "/v2/stacks/{stackId}"} <= {
        op.path for op in fuzzable
    }
    for operation in fuzzable:

        @given(case=operation.as_strategy())
        @settings(max_examples=30, deadline=None, suppress_health_check=list(HealthCheck))
        def fuzz(case: Any) -> None:
            case.call_and_validate(base_url=fuzzed.url, checks=CHECKS)

        fuzz()
