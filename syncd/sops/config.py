"""`.sops.yaml`: the first `creation_rules` entry whose `path_regex` matches a file (its path
relative to the config's folder) gives the age recipients (`age:`, comma-separated or a list)
and the encryption rule (`encrypted_regex`, …) that `syncd secrets encrypt` uses, as sops does."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import yaml

from syncd.errors import SopsError
from syncd.sops.tree import DEFAULT_UNENCRYPTED_SUFFIX, Rules

CONFIG_NAME = ".sops.yaml"
_RULE_KEYS = ("unencrypted_suffix", "encrypted_suffix", "unencrypted_regex", "encrypted_regex")


@dataclass(frozen=True)
class CreationRule:
    recipients: tuple[str, ...]
    rules: Rules | None  # None: sops's default (all but `_unencrypted` keys)


def creation_rule(text: str, relative: str, where: str) -> CreationRule | None:
    """The rule of `.sops.yaml` text (read from `where`) for the file at `relative`; None when
    no rule matches; SopsError when the config is malformed or the rule has no age recipient."""
    try:
        config = yaml.safe_load(text)
    except yaml.YAMLError:
        raise SopsError(f"{where}: not valid YAML") from None
    rules = config.get("creation_rules") if isinstance(config, dict) else None
    if not isinstance(rules, list):
        raise SopsError(f"{where}: no creation_rules list")
    for number, rule in enumerate(rules):
        if not isinstance(rule, dict):
            raise SopsError(f"{where}: creation_rules[{number}] is not a map")
        pattern = rule.get("path_regex", "")
        try:
            if pattern and not re.search(str(pattern), relative):
                continue
        except re.error:
            raise SopsError(f"{where}: creation_rules[{number}].path_regex is invalid") from None
        return _rule(rule, f"{where}: creation_rules[{number}]")
    return None


def _rule(rule: dict[str, Any], where: str) -> CreationRule:
    age = rule.get("age")
    if isinstance(age, str):
        recipients = tuple(r.strip() for r in age.split(",") if r.strip())
    elif isinstance(age, list) and all(isinstance(r, str) for r in age):
        recipients = tuple(r.strip() for r in age)
    else:
        raise SopsError(f"{where} has no age recipients (age:)")
    chosen = {k: rule[k] for k in _RULE_KEYS if rule.get(k)}
    if len(chosen) > 1 or not all(isinstance(v, str) for v in chosen.values()):
        raise SopsError(f"{where}: at most one of {', '.join(_RULE_KEYS)}, as text")
    for key in ("unencrypted_regex", "encrypted_regex"):
        try:
            re.compile(chosen.get(key, ""))
        except re.error:
            raise SopsError(f"{where}.{key} is invalid") from None
    rules = Rules(**chosen) if chosen else Rules(DEFAULT_UNENCRYPTED_SUFFIX)
    return CreationRule(recipients, rules)
