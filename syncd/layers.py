"""One precedence order for every setting: a flag, then `SYNCD_<NAME>`, then the config file
(`--config` / `SYNCD_CONFIG`, YAML, keys as the flags without `--`), then the default; and
where each value came from (`Origin`)."""

from __future__ import annotations

import argparse
from collections.abc import Mapping
from enum import StrEnum
from pathlib import Path
from typing import Any

from syncd.errors import SyncdError


class Origin(StrEnum):
    FLAG = "flag"
    ENV = "env"
    FILE = "config file"
    DEFAULT = "default"


class Layers:
    """One precedence order for every setting: flag, then `SYNCD_<NAME>`, then the config file
    (`--config` / `SYNCD_CONFIG`, YAML, keys as the flags without `--`), then the default."""

    def __init__(self, args: argparse.Namespace, env: Mapping[str, str]) -> None:
        self.args = args
        self.env = env
        self.origins: dict[str, Origin] = {}
        self.file: dict[str, Any] = {}
        self.file_path = getattr(args, "config", None) or env.get("SYNCD_CONFIG") or None
        if self.file_path:
            self.file = _read_config(Path(self.file_path))

    def get(self, name: str, default: str) -> str:
        flag = getattr(self.args, name, None)
        if flag is not None and flag not in ("", []):
            self.origins[name] = Origin.FLAG
            return ",".join(flag) if isinstance(flag, list) else str(flag)
        variable = self.env.get(f"SYNCD_{name.upper()}")
        if variable:
            self.origins[name] = Origin.ENV
            return variable
        if name in self.file:
            self.origins[name] = Origin.FILE
            value = self.file[name]
            return ",".join(map(str, value)) if isinstance(value, list) else str(value)
        self.origins[name] = Origin.DEFAULT
        return default

    def check_file(self, known: set[str]) -> None:
        unknown = sorted(set(self.file) - known)
        if unknown:
            raise SyncdError(
                f"config file {self.file_path}: unknown setting(s) {', '.join(unknown)}; "
                f"known: {', '.join(sorted(known))}"
            )


def _yaml_problem(path: Path, err: Exception) -> str:
    """`path:line:col: problem`, never the snippet of the file PyYAML quotes after it."""
    import yaml

    if isinstance(err, yaml.MarkedYAMLError) and err.problem_mark is not None:
        mark = err.problem_mark
        return f"{path}:{mark.line + 1}:{mark.column + 1}: not valid YAML: {err.problem}"
    return f"{path} is not valid YAML"


def _read_config(path: Path) -> dict[str, Any]:
    import yaml

    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as err:
        raise SyncdError(f"cannot read the config file {path}: {err.strerror}") from err
    except UnicodeDecodeError:
        # from None: the cause holds the file's bytes (tokens may sit there)
        raise SyncdError(f"config file {path} is not UTF-8 text") from None
    except yaml.YAMLError as err:
        # from None: the cause quotes the file's lines around the error (a token may sit there)
        raise SyncdError(f"config file {_yaml_problem(path, err)}") from None
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        raise SyncdError(f"config file {path} must hold a mapping of setting: value")
    return {str(k).replace("-", "_"): v for k, v in raw.items()}
