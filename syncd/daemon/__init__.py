"""Daemon: the long-running loop. Triggers (start, watch, webhook, poll, operator), the sync
pipeline, stage failures and retries, status and history, metrics and operator tasks.

Stage 7. May import everything below it: the root leaves, `source`, `manifests`, `engine`, `core`,
`render`, `apply`. Never `api` or `cli`: the API reads the daemon, not the other way round.
"""
