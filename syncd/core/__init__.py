"""Core: the pure centre. Canonical specs, the desired state resolved from manifests, the live
state observed from the engine, and the plan between them. Takes values, returns values: no I/O.

Stage 4. May import: the root leaves, `manifests`, and `engine.base` (the engine's vocabulary,
never an adapter).
"""
