"""STYLE.md §2: the pure core imports no docker, git, sockets or watchfiles, even indirectly."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "syncd"
PURE = [
    "syncd.errors",
    "syncd.ids",
    "syncd.manifests.yamlsafe",
    "syncd.manifests.interpolate",
    "syncd.manifests.yamlscalars",
    "syncd.manifests.compose",
    "syncd.secretpolicy",
    "syncd.manifests",
    "syncd.core.canonical",
    "syncd.core.desired",
    "syncd.core.live",
    "syncd.core.plan",
    "syncd.render",
    "syncd.core.records",
    "syncd.core.observe",
    "syncd.core.runspec",
    "syncd.engine.base",
    "syncd.source.webhooks",
    "syncd.daemon.status",
    "syncd.api.models",
    "syncd.api.view",
    "syncd.api.projects",
    "syncd.api.imageconfig",
    "syncd.api.deployed",
]
FORBIDDEN = {
    "docker",
    "git",
    "socket",
    "watchfiles",
    "http",
    "urllib",
    "subprocess",
    "sqlite3",
    "requests",
    "httpx",
    "fastapi",
    "uvicorn",
    "asyncio",
}


def _module_file(name: str) -> Path | None:
    rel = Path(*name.split("."))
    for candidate in (PACKAGE.parent / rel / "__init__.py", PACKAGE.parent / f"{rel}.py"):
        if candidate.is_file():
            return candidate
    return None


def _imports(path: Path, name: str) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = name.rsplit(".", node.level)[0] if path.name != "__init__.py" else name
                found.add(f"{base}.{node.module}" if node.module else base)
            elif node.module:
                found.add(node.module)
                found |= {f"{node.module}.{a.name}" for a in node.names}
    return found


def _closure(root: str) -> dict[str, str]:
    """Every module `root` imports, transitively through syncd's own modules: name -> importer."""
    seen: dict[str, str] = {}
    todo = [root]
    if (PACKAGE.parent / Path(*root.split(".")) / "__init__.py").is_file():
        todo += [f"{root}.{p.stem}" for p in (PACKAGE.parent / Path(*root.split("."))).glob("*.py")]
    while todo:
        current = todo.pop()
        path = _module_file(current)
        if path is None:
            continue
        for imported in _imports(path, current):
            if imported not in seen:
                seen[imported] = current
                if imported.startswith("syncd"):
                    todo.append(imported)
    return seen


@pytest.mark.parametrize("module", PURE)
def test_pure_modules_do_no_io(module: str) -> None:
    bad = {
        name: importer
        for name, importer in _closure(module).items()
        if name.split(".")[0] in FORBIDDEN
    }
    assert not bad, f"{module} reaches I/O modules: {bad}"


def test_the_walker_sees_real_imports() -> None:
    # The adapter really imports git: the walk must notice (so the test above can fail).
    assert "git" in {n.split(".")[0] for n in _closure("syncd.source.reader")}
    assert "syncd.manifests.yamlsafe" in _closure("syncd.manifests")


def test_importing_the_core_loads_no_io_library() -> None:
    code = "import json, sys, syncd.manifests; print(json.dumps(sorted(sys.modules)))"
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    loaded = {m.split(".")[0] for m in json.loads(out)}
    assert not loaded & {"docker", "git", "watchfiles"}
