"""Daemon: the long-running loop. `loop` (threads, triggers, the queue, timers), `pipeline` (one
sync: fetch -> parse -> plan -> execute -> record, each step wrapped with its stage),
`revisions` (the head, the last good revision), `history` (status, history rows, metrics,
retries read from the typed failure), `refresh` and `snapshot` (the frozen facts published
after each sync), `events` (Docker events, outages), `metrics`, operator `tasks`, `config`.

Stage 7. May import everything below it: the root leaves, `source`, `manifests`, `engine`, `core`,
`render`, `apply`. Never `api` or `cli`: the API reads the daemon's snapshot through the
protocols in `snapshot`, and is handed the operator's tasks; it is never given the daemon.
"""
