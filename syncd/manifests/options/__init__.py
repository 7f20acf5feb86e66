"""The option groups of a service beyond mittwald's fields, one module per concern. Pure: no I/O."""

from syncd.manifests.options.files import FilesFields, Mount, StackFilesFields, VolumeName
from syncd.manifests.options.lifecycle import LifecycleFields
from syncd.manifests.options.network import NetworkFields, StackNetworkFields
from syncd.manifests.options.process import ProcessFields
from syncd.manifests.options.security import SecurityFields

__all__ = [
    "FilesFields",
    "LifecycleFields",
    "Mount",
    "NetworkFields",
    "ProcessFields",
    "SecurityFields",
    "StackFilesFields",
    "StackNetworkFields",
    "VolumeName",
]
