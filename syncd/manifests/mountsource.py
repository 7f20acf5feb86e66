"""Whether a named volume's source took the operator's variables (`${VOL}:/data`). Whether such
a source names a volume the stack declares would tell a pull request, which declares the
volumes, whether a guess of its own equals the variable's value: such a mount is refused,
right guess or wrong. A bind path from a variable (`${DATA_DIR}:/data`) is common and names
nothing of the file: it stays allowed.
Pure: no I/O."""

from __future__ import annotations

from collections.abc import Collection, Mapping

from syncd.manifests.yamlsafe import Path

REFUSED = (
    "a named volume's source cannot come from the operator's variables (whether it names a "
    "declared volume would tell the value): write the volume's name"
)


def written_source(template: str) -> str:
    """The source of a short mount as written (`${VOL:-data}:/data` -> `${VOL:-data}`): the
    text before the first `:` outside `${...}`."""
    depth, index = 0, 0
    while index < len(template):
        if template.startswith("$$", index):
            index += 2
            continue
        if template.startswith("${", index):
            depth, index = depth + 1, index + 2
            continue
        char = template[index]
        if char == "}" and depth:
            depth -= 1
        elif char == ":" and not depth:
            return template[:index]
        index += 1
    return template


def source_from_env(
    item: Path, secrets: Collection[Path], templates: Mapping[Path, str], *, long: bool = False
) -> bool:
    """Whether the mount at `item` (a service's `volumes` item; `long`: its `source` key) took
    its source from the operator's variables. An item whose text is not known counts as one."""
    if long:
        return (*item, "source") in secrets
    if item not in secrets:
        return False
    written = templates.get(item)
    return written is None or "$" in written_source(written).replace("$$", "")
