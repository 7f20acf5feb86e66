"""Where a service's secret values stand in its canonical spec: the manifest paths that took a
value from the environment, as JSON pointers into the spec (what every output redacts and the
state store keeps as digests). Pure: no I/O."""

from __future__ import annotations

from syncd.core import canonical
from syncd.core.canonical import Spec, escape
from syncd.core.options import swarm as swarm_options
from syncd.manifests.model import Service
from syncd.manifests.yamlsafe import Path


def of_service(secrets: set[Path], name: str, service: Service, spec: Spec) -> set[str]:
    """Manifest paths of env-filled values -> pointers into the service's canonical spec."""
    out: set[str] = set()
    for path in secrets:
        if len(path) < 3 or path[:2] != ("services", name):
            continue
        out.add(_spec_pointer(str(path[2]), path[3:], service, spec))
        if path[2] == "deploy" and len(path) == 3:  # the whole `deploy` (a Compose file's)
            out.add(f"/{swarm_options.FIELD}")
    return out


# `deploy` fields by their last manifest keys -> the canonical field (else `/cpus`)
_DEPLOY: dict[tuple[str, ...], str] = {
    ("limits", "cpus"): "/cpus",
    ("limits", "memory"): "/memory",
    ("replicas",): "/replicas",
    ("updateConfig", "order"): "/updateOrder",
    ("update_config", "order"): "/updateOrder",
}


def _spec_pointer(fieldname: str, rest: Path, service: Service, spec: Spec) -> str:
    """Where the canonical spec holds the manifest value at `<fieldname>/<rest>`."""
    match fieldname, rest:
        case (("environment" | "envs"), (str(variable), *_)):
            return f"/environment/{escape(variable)}"
        case (("command" | "entrypoint"), (int(index), *_)):
            return f"/{fieldname}/{index}"
        case (("ports" | "volumes"), (int(index), *_)):
            given = getattr(service, fieldname) or []
            if index >= len(given):  # a failed overlay: its paths do not fit the stack
                return f"/{fieldname}"
            raw = given[index]
            text = canonical.port_text(raw) if fieldname == "ports" else canonical.mount_text(raw)
            items = spec.get(fieldname) or []
            return f"/{fieldname}/{items.index(text)}" if text in items else f"/{fieldname}"
        case "deploy", _ if swarm_options.holds(rest):
            return f"/{swarm_options.FIELD}"
        case "deploy", _:
            return _DEPLOY.get(tuple(str(p) for p in rest[-2:]), "/cpus")
        case "healthcheck", ("test", int(index), *_):
            return f"/healthcheck/test/{index}"
        case "healthcheck", ("test",):
            return "/healthcheck/test"
        case "healthcheck", (str(probe), *_):
            return f"/healthcheck/{probe}"
        case "dependsOn", (str(dependency), *_):
            return f"/dependsOn/{escape(dependency)}"
        case _:
            return f"/{fieldname}"


def kept(last: frozenset[str], given: Spec) -> set[str]:
    """PATCH: the tainted pointers of the fields a service keeps from its last applied spec."""
    return {p for p in last if p.split("/")[1] not in given}
