"""Apply: carry a plan out. Resolve, observe, plan and execute one sync against an engine,
keep what was applied in the store, and resolve registry credentials.

Stage 6. May import: the root leaves, `source`, `manifests`, `engine`, `core`.
"""
