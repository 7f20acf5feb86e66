"""The four SOPS file formats, chosen by file name as sops chooses them, and the input bounds."""

from __future__ import annotations

from enum import StrEnum
from pathlib import PurePath

MAX_BYTES = 1024 * 1024  # a SOPS file larger than this is refused
MAX_DEPTH = 64  # deeper trees are refused
MAX_VALUES = 10_000  # more values (leaves and comments) are refused


class SopsFormat(StrEnum):
    YAML = "yaml"
    JSON = "json"
    DOTENV = "dotenv"
    BINARY = "binary"


def format_for(path: str) -> SopsFormat:
    """The format sops would use for `path`, by its extension: `.yaml`/`.yml`, `.json`, `.env`;
    anything else is binary."""
    suffix = PurePath(path).suffix.lower()
    if suffix in (".yaml", ".yml"):
        return SopsFormat.YAML
    if suffix == ".json":
        return SopsFormat.JSON
    if suffix == ".env":
        return SopsFormat.DOTENV
    return SopsFormat.BINARY
