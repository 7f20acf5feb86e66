"""`network_options.peers`: a service in another's namespace holds a digest of that spec, along
chains, and the walk leaves no reference cycle behind (it runs while the collector is paused)."""

from __future__ import annotations

import gc
from typing import Any

from syncd.core.options import network as network_options


def _specs() -> dict[str, dict[str, Any]]:
    return {
        "db": {"image": "postgres:16"},
        "proxy": {"image": "nginx:1.27", "networkMode": "service:db"},
        "sidecar": {"image": "busybox:1.36", "networkMode": "service:proxy"},
        "loop": {"image": "busybox:1.36", "networkMode": "service:loop"},
    }


def test_peers_follow_chains_and_leave_cycles_out() -> None:
    out = network_options.peers(_specs())
    assert "networkPeer" not in out["db"] and "networkPeer" not in out["loop"]
    assert out["proxy"]["networkPeer"] != out["sidecar"]["networkPeer"]
    changed = _specs()
    changed["db"]["image"] = "postgres:17"
    again = network_options.peers(changed)
    assert again["proxy"]["networkPeer"] != out["proxy"]["networkPeer"]
    assert again["sidecar"]["networkPeer"] != out["sidecar"]["networkPeer"]  # along the chain


def test_peers_make_no_garbage_for_the_cyclic_collector() -> None:
    gc.collect()
    network_options.peers(_specs())
    assert gc.collect() == 0
