"""Watching a local repository's refs (watchfiles, inotify): a commit or push to the branch
calls `on_change` within about two `STEP`s. The only module that imports watchfiles.

watchfiles' loop wakes every `step` milliseconds (and reports a change once a step brings no
newer one), so `STEP` trades latency (~0.2 s) against idle wake-ups (10 a second, about
0.3 % of a core as the kernel counts it)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path

import watchfiles

STEP = 100  # ms


def ref_filter(git_dir: Path, branch: str) -> Callable[[watchfiles.Change, str], bool]:
    wanted = {
        str(git_dir / "refs" / "heads" / branch),
        str(git_dir / "packed-refs"),
        str(git_dir / "HEAD"),
    }

    def accept(change: watchfiles.Change, path: str) -> bool:
        del change
        return path in wanted or path.startswith(str(git_dir / "refs" / "heads") + "/")

    return accept


def watch_refs(
    git_dir: Path,
    branch: str,
    on_change: Callable[[], None],
    stop: threading.Event,
    on_error: Callable[[Exception], None],
) -> None:
    """Blocks until `stop` is set; run it in a thread."""
    while not stop.is_set():
        try:
            for _changes in watchfiles.watch(
                git_dir,
                watch_filter=ref_filter(git_dir, branch),
                debounce=50,
                step=STEP,
                stop_event=stop,
                rust_timeout=1000,
                raise_interrupt=False,
            ):
                on_change()
        except (OSError, RuntimeError) as err:  # the repo moved away, inotify limits, ...
            on_error(err)
            stop.wait(5)
