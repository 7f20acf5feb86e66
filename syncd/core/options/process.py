"""The canonical form of a service's process options (see `manifests.options.process`).

`DEFAULTS` holds each field's value when the manifest omits it (Docker's own default, made
explicit); `fields` the canonical values of the fields the manifest sets.

- `stopGracePeriod`: whole seconds, rounded up (Docker's `StopTimeout` is whole seconds; D9);
  None = the daemon's `stop_timeout` setting;
- `stopSignal`: `SIGTERM` for `TERM`/`term`/`SIGTERM`, numbers as written;
- `labels`: sorted; lists keep their order (resolvers, /etc/hosts and groups are read in order);
- `pullPolicy`: a client-side choice: its change needs no new container.
Pure: no I/O.
"""

from __future__ import annotations

from typing import Any

from syncd.manifests.model import Service
from syncd.manifests.options.process import PullPolicy, canonical_signal, grace_seconds

DEFAULTS: dict[str, Any] = {
    "user": None,  # None: the image's user
    "workingDir": None,  # None: the image's working directory
    "hostname": None,  # None: Docker's (the container id)
    "domainname": None,
    "labels": {},
    "init": False,
    "tty": False,
    "stdinOpen": False,
    "stopSignal": None,  # None: the image's (SIGTERM unless it says otherwise)
    "stopGracePeriod": None,  # None: the daemon's stop_timeout setting
    "extraHosts": [],
    "dns": [],
    "dnsSearch": [],
    "dnsOpt": [],
    "groupAdd": [],
    "platform": None,  # None: the engine's own platform
    "pullPolicy": PullPolicy.MISSING.value,
    "macAddress": None,
}
# Fields of this group whose change needs no new container (syncd only records them).
METADATA: frozenset[str] = frozenset({"pullPolicy"})

_PLAIN = ("user", "workingDir", "hostname", "domainname", "platform", "macAddress")
_FLAGS = ("init", "tty", "stdinOpen")
_LISTS = ("extraHosts", "dns", "dnsSearch", "dnsOpt", "groupAdd")
_ATTRIBUTES = {
    "workingDir": "working_dir",
    "stdinOpen": "stdin_open",
    "stopSignal": "stop_signal",
    "stopGracePeriod": "stop_grace_period",
    "extraHosts": "extra_hosts",
    "dnsSearch": "dns_search",
    "dnsOpt": "dns_opt",
    "groupAdd": "group_add",
    "pullPolicy": "pull_policy",
    "macAddress": "mac_address",
}


def fields(service: Service, given: set[str]) -> dict[str, Any]:
    """`given`: the model field names the manifest sets (`service.model_fields_set`)."""
    out: dict[str, Any] = {}
    for name in (*_PLAIN, *_FLAGS, *_LISTS, "labels", "stopSignal", "stopGracePeriod"):
        attribute = _ATTRIBUTES.get(name, name)
        if attribute not in given:
            continue
        value = getattr(service, attribute)
        if value is None:
            out[name] = DEFAULTS[name]
        elif name in _LISTS:
            out[name] = list(value)
        elif name == "labels":
            out[name] = dict(sorted(value.items()))
        elif name == "stopSignal":
            out[name] = canonical_signal(value)
        elif name == "stopGracePeriod":
            out[name] = grace_seconds(value)
        else:
            out[name] = value
    if "pull_policy" in given:
        policy = service.pull_policy
        out["pullPolicy"] = (policy or PullPolicy.MISSING).value
    return out


def stop_timeout(spec: dict[str, Any] | None, fallback: int) -> int:
    """Seconds a container of `spec` gets to stop before it is killed: its grace period, else
    the daemon's `stop_timeout` setting (`fallback`)."""
    grace = (spec or {}).get("stopGracePeriod")
    return grace if isinstance(grace, int) and not isinstance(grace, bool) else fallback
