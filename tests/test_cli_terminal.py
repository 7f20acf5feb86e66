"""Nothing a daemon answers (or a pushed manifest, a container or an error put into its answers)
reaches the operator's terminal as a control sequence: `syncd status`, `syncd history` and
`syncd logs` against a stand-in daemon on a real socket whose every text holds escape sequences
(a title change, a screen clear, an 8-bit CSI, a bidi override); each is shown escaped."""

from __future__ import annotations

import json
from typing import Any

import pytest

from syncd.cli.main import main
from syncd.cli.overview import Overview, Row, StackRow
from syncd.cli.status import render
from tests.test_cli_client import Server

EVIL = "\x1b]0;pwned\x07\x1b[2J\x9b31m\u202eevil\r"
CONTROLS = ("\x1b", "\x07", "\x9b", "\u202e", "\r")


def answers(method: str, path: str) -> tuple[int, dict[str, str], bytes]:
    base = path.partition("?")[0]
    body: Any = {
        "/v2/syncd/daemon/status": {
            "instance": EVIL,
            "appliedRevision": EVIL,
            "engineAvailable": False,
            "stacks": {f"p{EVIL}/s{EVIL}": {"appliedRevision": EVIL, "error": EVIL}},
            "brokenStacks": [{"stack": f"b{EVIL}/x", "problems": [EVIL]}],
            "lastError": {"stage": EVIL, "message": EVIL},
        },
        "/v2/syncd/services": [{"service": EVIL, "health": EVIL}],
        "/v2/projects": [{"id": "pid", "description": f"p{EVIL}"}],
        "/v2/projects/pid/stacks": [
            {
                "id": "sid",
                "prefix": f"i_p{EVIL}_s{EVIL}_",
                "services": [
                    {"serviceName": EVIL, "status": EVIL, "message": EVIL, "statusSetAt": EVIL},
                    {"serviceName": "ok", "status": EVIL, "requiresRecreate": True},
                ],
            }
        ],
        "/v2/syncd/syncs": [
            {
                "id": EVIL,
                "startedAt": EVIL,
                "revision": EVIL,
                "trigger": EVIL,
                "result": EVIL,
                "stage": EVIL,
                "error": EVIL,
                "duration": 1.5,
                "count": 2,
                "lastSeen": EVIL,
            },
        ],
    }.get(base)
    if base.endswith("/logs"):
        text = f"line one {EVIL}\nline two {EVIL}\n".encode()
        return 200, {"Content-Type": "text/plain"}, text
    if body is None:
        return 404, {"Content-Type": "application/json"}, b'{"message": "no such route"}'
    return 200, {"Content-Type": "application/json"}, json.dumps(body).encode()


def no_controls(text: str) -> None:
    for char in CONTROLS:
        assert char not in text, (char, text)


@pytest.mark.parametrize(
    "args",
    [
        ["status"],
        ["status", "--format", "json"],
        ["history"],
        ["history", "--format", "json"],
        ["logs", "p/s/web"],
    ],
)
def test_a_daemons_answers_reach_the_terminal_escaped(
    args: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    with Server(answers) as daemon:
        main([*args, "--api", daemon.url])
    out, err = capsys.readouterr()
    no_controls(out)
    no_controls(err)
    assert "\\x1b" in out or "\\u001b" in out, out  # shown, escaped


def test_status_escapes_every_cell_whoever_built_the_rows() -> None:
    """The host's rows come from container labels and the state store: escaped the same."""
    row = Row(EVIL, EVIL, EVIL, EVIL, EVIL, EVIL, None, EVIL, None)
    stack = StackRow(f"{EVIL}/{EVIL}", EVIL, EVIL, EVIL)
    seen = Overview("host", EVIL, (row,), (stack,), EVIL, (EVIL,))
    for color in (False, True):
        shown = render(seen, color=color).replace("\x1b[31m", "").replace("\x1b[0m", "")
        no_controls(shown)


@pytest.mark.parametrize("count", ["many", None, True, -3, 2.5, [2], {"n": 2}])
def test_history_takes_any_count_a_daemon_sends(count: object) -> None:
    from syncd.cli.history import entry

    shown = entry({"id": 1, "trigger": "watch", "result": "failed", "count": count})
    assert shown["count"] == 1
    assert entry({"id": 1, "trigger": "watch", "result": "failed", "count": 4})["count"] == 4
