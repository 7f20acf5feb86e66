"""CLI: the `syncd` command. Parses arguments, runs `validate`, `plan`, `apply`, `schema` and
`run` (which wires the daemon, its API and its server together), and reports problems.

Stage 9, the top: may import every package.
"""
