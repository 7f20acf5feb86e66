"""STYLE.md §2 and issue 12: the import rules, by package, read from the tree.

The rules and the table of ranks are in `tests/architecture.py`: every module belongs to a package
of the table (or is a root leaf), imports only go to the same or a lower rank, no module-level
import circle, pure modules reach no I/O library, and each I/O library stays in its owner.
A new module is covered by being in a package; a new package or root module fails until the
table gives it a rank and a reason.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from tests.architecture import (
    FORBIDDEN,
    LIBRARY_OWNERS,
    PACKAGE,
    PACKAGES,
    PURE_MODULES,
    ROOT_LEAVES,
    Rule,
    Violation,
    check,
    forbidden,
    is_pure,
    layer_of,
)
from tests.importgraph import Graph, package_arrows, read_graph

ROOT = Path(__file__).resolve().parent.parent

# A violation that must be tolerated for a while is listed here with the reason; empty since
# issue 12. `test_known_violations_are_still_real` fails once a listed one is gone.
KNOWN_VIOLATIONS: frozenset[str] = frozenset()


@pytest.fixture(scope="module")
def graph() -> Graph:
    return read_graph(ROOT, PACKAGE)


def _report(violations: list[Violation]) -> str:
    return "\n".join(str(v) for v in violations)


@pytest.mark.parametrize("rule", list(Rule))
def test_the_tree_keeps_the_rule(graph: Graph, rule: Rule) -> None:
    new = [v for v in check(graph) if v.rule is rule and v.key not in KNOWN_VIOLATIONS]
    assert not new, f"\n{_report(new)}"


def test_known_violations_are_still_real(graph: Graph) -> None:
    fixed = KNOWN_VIOLATIONS - {v.key for v in check(graph)}
    assert not fixed, f"fixed, remove from KNOWN_VIOLATIONS: {sorted(fixed)}"


def test_the_walk_sees_the_tree(graph: Graph) -> None:
    """The checks above can only pass honestly if the walk really sees syncd's imports."""
    libraries = {i.library for imps in graph.imports.values() for i in imps}
    assert {"git", "docker", "watchfiles", "sqlite3", "fastapi", "uvicorn"} <= libraries
    assert ("syncd.core", "syncd.manifests") in package_arrows(graph)
    assert ("syncd.render", "syncd.core") in package_arrows(graph)
    assert is_pure(graph, "syncd.core.plan") and not is_pure(graph, "syncd.engine.docker")
    assert is_pure(graph, "syncd.engine.base") and not is_pure(graph, "syncd.logs")
    packages = {m.split(".")[1] for m in graph.files if m.count(".") >= 2}
    assert packages == set(PACKAGES)


def test_the_import_graph_output(graph: Graph) -> None:
    run = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "import-graph.py")],
        capture_output=True,
        text=True,
        check=False,
    )
    lines = run.stdout.splitlines()
    render = next(line for line in lines if line.split()[:3] == ["[5]", "render", "->"])
    assert re.search(rf"\bcore {_count(graph)}\b", render), render
    assert run.returncode == (1 if check(graph) else 0), run.stderr
    circles = [v for v in check(graph) if v.rule is Rule.CYCLE]
    assert f"import circles (module-level imports): {len(circles) or 'none'}" in lines


def _count(graph: Graph) -> int:
    return package_arrows(graph)["syncd.render", "syncd.core"]


# --- each rule can fail: a small fake tree in tmp_path --------------------------------------


def _tree(root: Path, files: dict[str, str]) -> Graph:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text), encoding="utf-8")
    for folder in {p.parent for p in root.rglob("*.py")}:
        (folder / "__init__.py").touch()
    return read_graph(root, PACKAGE)


CLEAN = {
    "syncd/__init__.py": '__version__ = "0"\n',
    "syncd/errors.py": "import syncd.ids\n",
    "syncd/ids.py": "import uuid\n",
    "syncd/manifests/model.py": "from syncd import errors\nfrom .. import ids\n",
    "syncd/core/plan.py": "from syncd.manifests.model import X\nfrom . import desired\n",
    "syncd/core/desired.py": """\
        from typing import TYPE_CHECKING

        if TYPE_CHECKING:
            from syncd.engine.base import Engine
        """,
    "syncd/engine/base.py": "import abc\n",
    "syncd/daemon/status.py": "import enum\n",
    "syncd/engine/docker.py": "import docker.errors\nfrom syncd.engine import base\n",
    "syncd/source/reader.py": "def read():\n    import git\n",
    "syncd/daemon/loop.py": "from syncd.core import plan\n\ndef f():\n    from . import metrics\n",
    "syncd/daemon/metrics.py": "from syncd.daemon.loop import f\n",
    "syncd/api/app.py": "import fastapi\nfrom syncd.daemon.loop import f\n",
    "syncd/__main__.py": "from syncd.api import app\n",
}


def test_the_reader_resolves_every_form_of_import(tmp_path: Path) -> None:
    graph = _tree(
        tmp_path,
        {
            "syncd/core/plan.py": """\
                import os.path
                import syncd.core.live as live
                from typing import TYPE_CHECKING
                from syncd import ids, __version__
                from . import live
                from .live import LiveState
                from ..manifests import model

                if TYPE_CHECKING:
                    from syncd.engine.base import Engine
                else:
                    import json

                class Planner:
                    def run(self) -> None:
                        from syncd.apply.store import Store
                """,
            "syncd/core/live.py": "",
            "syncd/ids.py": "",
            "syncd/manifests/model.py": "",
            "syncd/engine/base.py": "",
            "syncd/apply/store.py": "",
        },
    )
    found = {(i.target, i.line, i.lazy, i.type_only) for i in graph.imports["syncd.core.plan"]}
    assert found == {
        ("os.path", 1, False, False),
        ("syncd.core.live", 2, False, False),
        ("typing", 3, False, False),
        ("syncd.ids", 4, False, False),
        ("syncd", 4, False, False),
        ("syncd.core.live", 5, False, False),
        ("syncd.core.live", 6, False, False),
        ("syncd.manifests.model", 7, False, False),
        ("syncd.engine.base", 10, False, True),
        ("json", 12, False, False),
        ("syncd.apply.store", 16, True, False),
    }
    assert graph.place("syncd.core") == "syncd/core/__init__.py"


def test_a_clean_fake_tree_has_no_violation(tmp_path: Path) -> None:
    assert check(_tree(tmp_path, CLEAN)) == []


@pytest.mark.parametrize(
    ("files", "expected"),
    [
        pytest.param(  # an upward import inside a function, to a package's own module
            {"syncd/core/desired.py": "def f():\n    from syncd.daemon.loop import f\n"},
            {"rank: syncd.core.desired -> syncd.daemon.loop"},
            id="upward-lazy",
        ),
        pytest.param(  # `from syncd import x` names the module x
            {"syncd/manifests/model.py": "from syncd import api\n"},
            {"rank: syncd.manifests.model -> syncd.api"},
            id="upward-from-syncd-import",
        ),
        pytest.param(  # a relative import that climbs
            {"syncd/source/reader.py": "from ..engine import docker\n"},
            {"rank: syncd.source.reader -> syncd.engine.docker"},
            id="upward-relative",
        ),
        pytest.param(  # a root leaf that reaches into a package
            {"syncd/ids.py": "from syncd.core.plan import Plan\n"},
            {
                "rank: syncd.ids -> syncd.core.plan",
                "cycle: syncd.core.plan -> syncd.manifests.model -> syncd.ids -> syncd.core.plan",
            },
            id="leaf-upward",
        ),
        pytest.param(
            {"syncd/core/desired.py": "from syncd.core import plan\n"},
            {"cycle: syncd.core.desired -> syncd.core.plan -> syncd.core.desired"},
            id="cycle",
        ),
        pytest.param(  # a circle closed only by a TYPE_CHECKING import is still a circle
            {
                "syncd/daemon/loop.py": "from . import metrics\n",
                "syncd/daemon/metrics.py": (
                    "from typing import TYPE_CHECKING\n"
                    "if TYPE_CHECKING:\n    from syncd.daemon.loop import f\n"
                ),
            },
            {"cycle: syncd.daemon.loop -> syncd.daemon.metrics -> syncd.daemon.loop"},
            id="cycle-type-checking",
        ),
        pytest.param(  # a pure package reaching I/O through an allowed module, lazily
            {"syncd/engine/base.py": "def f():\n    import subprocess\n"},
            {
                "purity: syncd.engine.base -> subprocess",
                "purity: syncd.core.desired -> subprocess",
                "purity: syncd.core.plan -> subprocess",
            },
            id="purity-transitive",
        ),
        pytest.param(  # a pure root leaf importing a forbidden submodule
            {"syncd/ids.py": "from urllib.request import urlopen\n"},
            {
                "purity: syncd.ids -> urllib.request",
                "purity: syncd.errors -> urllib.request",
                "purity: syncd.manifests.model -> urllib.request",
                "purity: syncd.core.plan -> urllib.request",
            },
            id="purity-leaf",
        ),
        pytest.param(  # a module that says it is pure is held to it
            {"syncd/api/view.py": '"""Views. Pure: no I/O."""\nimport sqlite3\n'},
            {"purity: syncd.api.view -> sqlite3", "library: syncd.api.view -> sqlite3"},
            id="purity-claimed",
        ),
        pytest.param(
            {"syncd/apply/execute.py": "import docker\n"},
            {"library: syncd.apply.execute -> docker"},
            id="library-docker",
        ),
        pytest.param(
            {"syncd/daemon/loop.py": "def f():\n    import watchfiles\n"},
            {"library: syncd.daemon.loop -> watchfiles"},
            id="library-watchfiles",
        ),
        pytest.param(
            {"syncd/daemon/metrics.py": "from fastapi import FastAPI\n"},
            {"library: syncd.daemon.metrics -> fastapi"},
            id="library-fastapi",
        ),
        pytest.param(
            {"syncd/newleaf.py": "import os\n"},
            {"unranked: syncd.newleaf"},
            id="new-root-module",
        ),
        pytest.param(
            {"syncd/plugins/x.py": "import os\n"},
            {"unranked: syncd.plugins", "unranked: syncd.plugins.x"},
            id="new-package",
        ),
    ],
)
def test_each_rule_can_fail(tmp_path: Path, files: dict[str, str], expected: set[str]) -> None:
    violations = check(_tree(tmp_path, {**CLEAN, **files}))
    assert {v.key for v in violations} == expected, _report(violations)


def test_a_violation_says_where_and_what_to_do(tmp_path: Path) -> None:
    files = {
        **CLEAN,
        "syncd/core/plan.py": "import os\n\nfrom syncd.daemon import loop\n",
        "syncd/newleaf.py": "",
        "syncd/core/desired.py": "from syncd.engine import docker\n",
    }
    text = _report(check(_tree(tmp_path, files)))
    assert "syncd/core/plan.py:3: rank 4 imports rank 7" in text
    assert "add `newleaf` to ROOT_LEAVES in tests/architecture.py" in text
    chain = "syncd.core.desired -> syncd.engine.docker -> docker.errors"
    assert f"syncd/core/desired.py: a pure module reaches an I/O library: {chain}" in text


def test_a_pure_module_that_moved_away_is_reported(tmp_path: Path) -> None:
    gone = {"syncd/engine/base.py", "syncd/daemon/status.py"}
    files = {k: v for k, v in CLEAN.items() if k not in gone}
    files["syncd/engine/docker.py"] = "import docker\n"
    files["syncd/core/desired.py"] = ""
    keys = {v.key for v in check(_tree(tmp_path, files))}
    assert {f"purity: {m} is gone" for m in PURE_MODULES} == keys


def test_the_tables_agree() -> None:
    assert not set(PACKAGES) & set(ROOT_LEAVES)
    # one package per pipeline stage (1-9); shared leaf packages (`sops`) sit at rank 0
    stages = sorted(layer.rank for layer in PACKAGES.values() if layer.rank > 0)
    assert stages == list(range(1, 10))
    assert all(layer.rank >= 0 for layer in PACKAGES.values())
    assert set(LIBRARY_OWNERS) <= FORBIDDEN
    assert forbidden("docker.errors") == "docker" and forbidden("urllib.parse") is None
    assert forbidden("urllib.request") == "urllib.request" and "git" in FORBIDDEN


# --- what really loads ----------------------------------------------------------------------


def layer_pure(module: str) -> bool:
    layer = layer_of(module)
    return layer is not None and layer.pure


# What importing a pure module must not load. `socket` is not here: pydantic itself loads it.
NOT_LOADED = {
    "docker",
    "git",
    "watchfiles",
    "sqlite3",
    "fastapi",
    "starlette",
    "uvicorn",
    "requests",
    "httpx",
    "asyncio",
    "subprocess",
}


def test_importing_the_core_loads_no_io_library() -> None:
    code = "import json, sys, syncd.manifests; print(json.dumps(sorted(sys.modules)))"
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    loaded = {m.split(".")[0] for m in json.loads(out)}
    assert not loaded & {"docker", "git", "watchfiles"}


def test_importing_the_pure_packages_loads_no_io_library(graph: Graph) -> None:
    """The static walk leaves out the packages Python loads first (`syncd.engine` for
    `syncd.engine.base`); this imports every module of the pure packages and leaves for real."""
    pure = sorted(
        m for m in graph.files if is_pure(graph, m) and (m == "syncd.engine.base" or layer_pure(m))
    )
    assert "syncd.core.plan" in pure and "syncd.engine.base" in pure and "syncd.ids" in pure
    code = (
        "import importlib, json, sys\n"
        f"for m in {pure!r}: importlib.import_module(m)\n"
        "print(json.dumps(sorted(sys.modules)))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    loaded = {m.split(".")[0] for m in json.loads(out)}
    assert not loaded & NOT_LOADED
