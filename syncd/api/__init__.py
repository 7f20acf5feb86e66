"""The daemon's HTTP API (FastAPI): health, the git webhook receiver and sync status.

The mittwald-shaped `/v2` routes build on this app (issue 6). Every error is JSON
`{type, message}`. Handlers read the daemon's in-memory status; none waits on Docker.
"""

from syncd.api.app import create_app

__all__ = ["create_app"]
