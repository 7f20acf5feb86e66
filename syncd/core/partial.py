"""The desired state of a partial revision (`manifests.isolate`): the valid stacks of the head
beside the stacks kept at their last good spec, each half resolved against its own revision's
files. Pure: no I/O."""

from __future__ import annotations

from syncd.core.desired import DesiredState


def merge(revision: str | None, valid: DesiredState, kept: DesiredState) -> DesiredState:
    """One desired state: the head's stacks and registries win over the kept ones."""
    return DesiredState(
        revision,
        {**kept.stacks, **valid.stacks},
        {**kept.registries, **valid.registries},
        valid.warnings,
        {**kept.files, **valid.files},
    )
