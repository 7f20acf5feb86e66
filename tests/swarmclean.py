"""Removing what one syncd instance made on the shared swarm: its services (and waiting for
their tasks to go, so that their volumes are free), configs, secrets and networks on the
manager, and its volumes on every node (Swarm's volumes are local to the node of the task)."""

from __future__ import annotations

import contextlib
import os
import time

import docker
import docker.errors
import requests

from syncd.engine.base import LABEL_INSTANCE

MANAGER = os.environ.get("SYNCD_SWARM_HOST", "unix:///run/swn1/docker.sock")


def node_socket(hostname: str) -> str:
    """The recipe's layout (`swarm-on-one-machine`): node `swnN` answers on /run/swnN."""
    return f"unix:///run/{hostname}/docker.sock"


def remove_instance(instance: str, manager: str = MANAGER, timeout: float = 30.0) -> None:
    label = {"label": f"{LABEL_INSTANCE}={instance}"}
    api = docker.APIClient(base_url=manager, version="1.41", timeout=30)
    try:
        hostnames = [str(n["Description"]["Hostname"]) for n in api.nodes()]
        services = [s["ID"] for s in api.services(filters=label)]
        for sid in services:
            with contextlib.suppress(docker.errors.NotFound):
                api.remove_service(sid)
        deadline = time.monotonic() + timeout
        while services and any(t.get("ServiceID") in services for t in api.tasks()):
            if time.monotonic() > deadline:
                break
            time.sleep(0.5)
        for config in api.configs(filters=label):
            with contextlib.suppress(docker.errors.APIError):
                api.remove_config(config["ID"])
        for secret in api.secrets(filters=label):
            with contextlib.suppress(docker.errors.APIError):
                api.remove_secret(secret["ID"])
        for network in api.networks(filters=label):
            with contextlib.suppress(docker.errors.APIError):
                api.remove_network(network["Id"])
    finally:
        api.close()
    for hostname in hostnames:
        node = docker.APIClient(base_url=node_socket(hostname), version="1.41", timeout=30)
        try:
            for volume in node.volumes(filters=label).get("Volumes") or []:
                with contextlib.suppress(docker.errors.APIError):
                    node.remove_volume(volume["Name"], force=True)
        except (docker.errors.DockerException, requests.RequestException, OSError):
            continue  # a node that is down keeps its volumes until it is back
        finally:
            node.close()
