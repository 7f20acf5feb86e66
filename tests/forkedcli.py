"""`syncd` commands run as real processes forked from a forkserver that has imported syncd once
(a fresh interpreter costs ~2 s of imports per command on a loaded 2-core machine), for
tests/killpoints.py.

Each command records, in files of its own, its output (stdout and stderr) and the exit code
`main` returned. multiprocessing's forkserver reports a child's exit status over a pipe and
can lose it under load: `Popen.poll()` then reads EOF and says 255 (cpython#140867). That
happened once in CI, to a `syncd plan` whose stderr went nowhere. A status lost that way is
read from the command's own record once the command is done; a command killed with SIGKILL
records nothing and keeps the status the forkserver reported. A failure shows the command's
output."""

from __future__ import annotations

import atexit
import functools
import itertools
import multiprocessing
import os
import pathlib
import shutil
import tempfile
import time
import warnings
from typing import Any

LOST = 255  # what multiprocessing says when the forkserver's status pipe ends early
_numbers = itertools.count()


@functools.cache
def _records() -> pathlib.Path:
    """This process's folder for the records (made at the first command, removed at exit)."""
    made = pathlib.Path(tempfile.mkdtemp(prefix="syncd-forkedcli-"))
    atexit.register(shutil.rmtree, made, ignore_errors=True)
    return made


def _run(argv: list[str], record: str, environ: dict[str, str], hold: str | None) -> None:
    """(the forked child) `hold`: a file to wait for before running (tests/test_forkedcli.py)"""
    from syncd.cli.main import main

    while hold is not None and not os.path.exists(hold):
        time.sleep(0.01)

    said = os.open(f"{record}.out", os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.dup2(said, 1)
    os.dup2(said, 2)
    os.environ.update(environ)
    try:
        code = int(main(argv))
    except SystemExit as exit:
        code = exit.code if isinstance(exit.code, int) else 1
    written = pathlib.Path(f"{record}.part")
    written.write_text(str(code))
    written.rename(f"{record}.code")
    raise SystemExit(code)


def _context() -> Any:
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(["syncd.cli.main", "tests.forkedcli"])
    return context


class Cli:
    """One `syncd <argv>`, started."""

    def __init__(
        self, argv: list[str], environ: dict[str, str], hold: pathlib.Path | None = None
    ) -> None:
        self.record = _records() / f"cli-{next(_numbers)}"
        self.said = ""  # the output of a command that exited other than 0
        self.process = _context().Process(
            target=_run,
            args=(argv, str(self.record), environ, None if hold is None else str(hold)),
            daemon=True,
        )
        self.process.start()

    @property
    def exitcode(self) -> int | None:
        return self.process.exitcode  # type: ignore[no-any-return]

    def join(self, timeout: float) -> None:
        self.process.join(timeout)

    def kill(self) -> None:
        self.process.kill()

    def output(self) -> str:
        path = self.record.with_suffix(".out")
        return path.read_text(errors="replace")[-4000:] if path.exists() else "(none)"

    def finish(self, what: str, timeout: float) -> int:
        """The exit code, once the command ended (a hang past `timeout` fails)."""
        try:
            self.join(timeout)
            if self.exitcode is None:
                self.kill()
                raise AssertionError(f"{what} still ran after {timeout:g} s: {self.output()}")
            code = self.exitcode if self.exitcode != LOST else self._recorded(what, timeout)
            if code != 0:  # (not a failure by itself: a plan may exit 2)
                self.said = self.output()
            return code
        finally:
            for suffix in (".out", ".code", ".part"):
                self.record.with_suffix(suffix).unlink(missing_ok=True)

    def _recorded(self, what: str, timeout: float) -> int:
        recorded = self.record.with_suffix(".code")
        deadline = time.monotonic() + timeout
        while not recorded.exists() and _alive(self.process.pid):
            if time.monotonic() > deadline:
                raise AssertionError(f"{what} still ran after {timeout:g} s: {self.output()}")
            time.sleep(0.05)
        if not recorded.exists():
            raise AssertionError(
                f"{what}: exit {LOST} and no code recorded (it died early): {self.output()}"
            )
        code = int(recorded.read_text())
        warnings.warn(
            f"{what}: the forkserver lost the exit status; recorded: {code}", stacklevel=2
        )
        return code


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True
