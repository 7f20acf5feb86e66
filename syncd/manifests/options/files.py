"""Service fields: files a service mounts from the revision: configs and secrets.

Named as the Compose Specification names them, in camelCase (`cap_add` -> `capAdd`), with
Compose's meaning. Pure: no I/O.
"""

from __future__ import annotations

from syncd.manifests.strict import StrictModel


class FilesFields(StrictModel):
    """Mixed into `model.Service`."""


class StackFilesFields(StrictModel):
    """The stack's config and secret sources (Compose's top-level `configs` and `secrets`)."""
