"""The option groups of a service beyond mittwald's fields, one module per concern. Pure: no I/O."""

from syncd.manifests.options.files import FilesFields, Mount, StackFilesFields, VolumeName
from syncd.manifests.options.lifecycle import (
    MAX_HEALTH_RETRIES,
    DeployLifecycleFields,
    HealthTest,
    LifecycleFields,
    RestartText,
)
from syncd.manifests.options.network import NetworkFields, StackNetworkFields
from syncd.manifests.options.process import ProcessFields
from syncd.manifests.options.security import SecurityFields
from syncd.manifests.options.volumes import Volume

__all__ = [
    "MAX_HEALTH_RETRIES",
    "DeployLifecycleFields",
    "FilesFields",
    "HealthTest",
    "LifecycleFields",
    "Mount",
    "NetworkFields",
    "ProcessFields",
    "RestartText",
    "SecurityFields",
    "StackFilesFields",
    "StackNetworkFields",
    "Volume",
    "VolumeName",
]
