"""Run the bench modules and print one table: `python -m bench [NAME...] [--json]`.

Every module `bench/bench_*.py` is found and run in name order (only those whose name contains
one of the NAMEs, if given). A module that raises becomes an error row; the others still run.
Progress and tracebacks go to stderr, the table (or JSON) alone to stdout.
Exit status: 0, or 1 if any module raised, or 2 if no module matches.
"""

from __future__ import annotations

import argparse
import importlib
import json
import pkgutil
import sys
import time
import traceback
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field

import bench
from bench.common import Figure

PREFIX = "bench_"
HEADERS = ("benchmark", "value", "unit", "compares against")


@dataclass(frozen=True)
class Outcome:
    module: str
    figures: list[Figure] = field(default_factory=list)
    error: str | None = None


def discover(names: Sequence[str] = ()) -> list[str]:
    """The bench modules (without the `bench.` package), filtered by substrings of their names."""
    found = sorted(
        m.name for m in pkgutil.iter_modules(bench.__path__) if m.name.startswith(PREFIX)
    )
    return [m for m in found if not names or any(n in m for n in names)]


def run_module(module: str) -> Outcome:
    try:
        figures = importlib.import_module(f"bench.{module}").run()
        if not isinstance(figures, list) or not all(isinstance(f, Figure) for f in figures):
            raise TypeError(f"run() returned {type(figures).__name__}, not list[Figure]")
    except Exception as err:
        traceback.print_exc(file=sys.stderr)
        first_line = next(iter(str(err).splitlines()), "")
        message = f"{type(err).__name__}: {first_line}" if first_line else type(err).__name__
        return Outcome(module, error=message[:200])
    return Outcome(module, figures)


def format_value(value: float) -> str:
    return f"{value:.0f}" if abs(value) >= 10_000 else f"{value:.4g}"


def table(outcomes: Sequence[Outcome]) -> str:
    rows: list[tuple[str, str, str, str]] = []
    for outcome in outcomes:
        if outcome.error is not None:
            rows.append((outcome.module, "ERROR", "", outcome.error))
        rows += [(f.name, format_value(f.value), f.unit, f.compares) for f in outcome.figures]
    widths = [max(len(row[i]) for row in [HEADERS, *rows]) for i in range(3)]

    def line(row: Sequence[str]) -> str:
        name, value, unit, compares = row
        cells = [name.ljust(widths[0]), value.rjust(widths[1]), unit.ljust(widths[2]), compares]
        return "  ".join(cells).rstrip()

    rule = "  ".join("-" * w for w in [*widths, len(HEADERS[3])])
    return "\n".join([line(HEADERS), rule, *(line(r) for r in rows)])


def as_json(outcomes: Sequence[Outcome]) -> str:
    return json.dumps(
        {
            "figures": [{"module": o.module, **asdict(f)} for o in outcomes for f in o.figures],
            "errors": [{"module": o.module, "error": o.error} for o in outcomes if o.error],
        },
        indent=2,
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description="Run syncd's benchmarks.")
    parser.add_argument("names", nargs="*", metavar="NAME", help="run only modules containing it")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = parser.parse_args(argv)
    modules = discover(args.names)
    if not modules:
        print(f"no bench module matches {' '.join(args.names)!r}", file=sys.stderr)
        return 2
    outcomes = []
    for module in modules:
        print(f"running {module} ...", file=sys.stderr, flush=True)
        start = time.perf_counter()
        outcomes.append(run_module(module))
        print(f"{module}: {time.perf_counter() - start:.1f} s", file=sys.stderr, flush=True)
    print(as_json(outcomes) if args.json else table(outcomes))
    return 1 if any(o.error is not None for o in outcomes) else 0


if __name__ == "__main__":
    sys.exit(main())
