"""syncd's benchmark suite: `python -m bench [NAME...] [--json]` (see bench/README.md)."""

from bench.common import BenchFailure, Figure, timeit_median

__all__ = ["BenchFailure", "Figure", "timeit_median"]
