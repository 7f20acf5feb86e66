"""Reading and writing the four formats: a document's text <-> its tree (a `Branch`) and the raw
`sops` metadata map. YAML is read with YAML 1.2's scalars (as sops's Go YAML reads them: `yes` is
text, dates are text); YAML comments are not kept. dotenv is sops's: `KEY=value` lines, `\\n` for a
newline, `#` comment lines, metadata as `sops_…` lines."""

from __future__ import annotations

import json
import re
from typing import Any

import yaml

from syncd.sops.formats import SopsFormat
from syncd.sops.metadata import flatten, unflatten
from syncd.sops.tree import Branch, to_branch, to_plain
from syncd.sops.values import Comment, scalar_text

META = "sops"
DOTENV_PREFIX = "sops_"
BINARY_KEY = "data"
_TAG = "tag:yaml.org,2002:"
_BOOL = re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$")


class BadDocument(ValueError):
    """The text is not a document of its format (the message says where, never a value)."""


class _Loader(yaml.SafeLoader):
    """SafeLoader with YAML 1.2 booleans, no timestamps, and duplicate keys refused."""


_Loader.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in resolvers if tag not in (_TAG + "bool", _TAG + "timestamp")]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_Loader.add_implicit_resolver(_TAG + "bool", _BOOL, list("tTfF"))


def _mapping(loader: _Loader, node: yaml.MappingNode) -> dict[str, Any]:
    loader.flatten_mapping(node)
    out: dict[str, Any] = {}
    for key_node, value_node in node.value:
        if not isinstance(key_node, yaml.ScalarNode):
            raise BadDocument(f"line {key_node.start_mark.line + 1}: a key is not a plain value")
        key = str(key_node.value)
        if key in out:
            raise BadDocument(f"line {key_node.start_mark.line + 1}: key {key!r} is repeated")
        out[key] = loader.construct_object(value_node, deep=True)
    return out


_Loader.add_constructor(_TAG + "map", _mapping)


class _Dumper(yaml.SafeDumper):
    """Writes multi-line text as literal blocks (the armored age keys), as sops does, and
    repeats equal values rather than writing anchors."""

    def ignore_aliases(self, data: Any) -> bool:
        return True


def _text(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    style = "|" if "\n" in value else None
    return dumper.represent_scalar(_TAG + "str", value, style=style)


_Dumper.add_representer(str, _text)


def load(text: str, fmt: SopsFormat) -> tuple[Branch, Any]:
    """The data tree and the raw `sops` metadata (None when there is none)."""
    if fmt is SopsFormat.DOTENV:
        branch = _load_dotenv(text)
        flat = {k[len(DOTENV_PREFIX) :]: v for k, v in branch if _is_meta(k)}
        data = Branch(item for item in branch if not _is_meta(item[0]))
        return data, unflatten(flat) if flat else None
    mapping = _load_mapping(text, fmt)
    meta = mapping.pop(META, None)
    return to_branch(mapping), meta


def load_plain(text: str, fmt: SopsFormat) -> Branch:
    """A plain document to encrypt (binary: any text, kept whole under `data`)."""
    if fmt is SopsFormat.BINARY:
        return Branch([(BINARY_KEY, text)])
    data, meta = load(text, fmt)
    if meta is not None:
        raise BadDocument("it is already encrypted (it has sops metadata)")
    return data


def _is_meta(key: Any) -> bool:
    return isinstance(key, str) and key.startswith(DOTENV_PREFIX)


def _load_mapping(text: str, fmt: SopsFormat) -> dict[str, Any]:
    try:
        if fmt is SopsFormat.YAML:
            docs = list(yaml.load_all(text, Loader=_Loader))
            if len(docs) != 1:
                raise BadDocument("a SOPS YAML file holds exactly one document")
            value = docs[0]
        else:
            value = json.loads(text, object_pairs_hook=_json_object)
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
        problem = getattr(err, "problem", None) or "error"
        raise BadDocument(f"{where}not valid YAML ({problem})") from None
    except json.JSONDecodeError as err:
        where = f"line {err.lineno}, column {err.colno}"
        raise BadDocument(f"{where}: not valid JSON ({err.msg})") from None
    except RecursionError:
        raise BadDocument("nested too deeply") from None
    if not isinstance(value, dict):
        raise BadDocument("the document is not a map")
    return value


def _json_object(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise BadDocument(f"key {key!r} is repeated")
        out[key] = value
    return out


def _load_dotenv(text: str) -> Branch:
    """sops's dotenv reader: `#` starts a comment line; `KEY=value` splits at the first `=`."""
    branch = Branch()
    for number, line in enumerate(text.split("\n"), start=1):
        if not line:
            continue
        if line.startswith("#"):
            branch.append((Comment(line[1:]), None))
            continue
        key, sep, value = line.partition("=")
        if not sep or not key:
            raise BadDocument(f"line {number}: not a KEY=value line")
        branch.append((key, value.replace("\\n", "\n")))
    return branch


def dump(data: Branch, meta: dict[str, Any] | None, fmt: SopsFormat) -> str:
    """A document's text: the tree, then the metadata (None: a plain document)."""
    if fmt is SopsFormat.DOTENV:
        lines = [_dotenv_line(key, value) for key, value in data]
        if meta is not None:
            lines += [f"{key}={value}" for key, value in flatten(meta)]
        return "".join(line + "\n" for line in lines)
    mapping = to_plain(data)
    if meta is not None:
        mapping[META] = meta
    if fmt is SopsFormat.YAML:
        return yaml.dump(
            mapping, Dumper=_Dumper, indent=4, sort_keys=False, allow_unicode=True, width=2**30
        )
    return json.dumps(mapping, indent=4, ensure_ascii=False) + "\n"


def _dotenv_line(key: Any, value: Any) -> str:
    if isinstance(key, Comment):
        return f"#{key.text}"
    if isinstance(value, list):
        raise BadDocument(f"{key}: a dotenv value cannot be a list or a map")
    return f"{key}={scalar_text(value).replace(chr(10), chr(92) + 'n')}"
