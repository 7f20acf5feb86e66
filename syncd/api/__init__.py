"""The daemon's HTTP API (FastAPI): health, the git webhook receiver and sync status.

The mittwald-shaped `/v2` routes build on this app. Every error is JSON `{type, message}`.
Handlers read the daemon's in-memory status; none waits on Docker. HTTP only: the server, body
limits, routes, response models and the views built from the daemon's snapshot.

Stage 8. May import every package below it, including `daemon`; never `cli`.
"""

from syncd.api.app import create_app

__all__ = ["create_app"]
