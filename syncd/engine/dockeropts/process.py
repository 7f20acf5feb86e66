"""The process options of a `ContainerRequest` as docker-py arguments.

`options` holds canonical values keyed by syncd's field names (`core.options.process`), every
field present (defaults included). `container_kwargs` feeds `APIClient.create_container`,
`host_kwargs` `APIClient.create_host_config`.
Not here: `labels` (the runspec merges them under syncd's own), `stopGracePeriod` (the
request's `stop_timeout`) and `pullPolicy` (the pull step, which also pulls for `platform`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

# field -> create_container argument; a None value leaves the image's (or Docker's) default
_CONTAINER = {
    "user": "user",
    "workingDir": "working_dir",
    "hostname": "hostname",
    "domainname": "domainname",
    "stopSignal": "stop_signal",
    "macAddress": "mac_address",
    "platform": "platform",
}
_HOST = {
    "extraHosts": "extra_hosts",
    "dns": "dns",
    "dnsSearch": "dns_search",
    "dnsOpt": "dns_opt",
    "groupAdd": "group_add",
}


def container_kwargs(options: Mapping[str, Any]) -> dict[str, Any]:
    out = {arg: options[name] for name, arg in _CONTAINER.items() if options.get(name)}
    out["tty"] = bool(options.get("tty"))
    out["stdin_open"] = bool(options.get("stdinOpen"))
    return out


def host_kwargs(options: Mapping[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {
        arg: list(options[name]) for name, arg in _HOST.items() if options.get(name)
    }
    if options.get("init"):
        out["init"] = True
    return out
