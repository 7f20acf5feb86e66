"""`syncd plan --api URL --head REV`: the running daemon plans a revision or ref against what
runs (`POST /v2/syncd/plans`, the read token from SYNCD_READ_TOKEN or --token-file) and the plan
is printed as `syncd plan` prints it, with the same exit codes: 0 no changes, 2 changes, 1 error.
What the daemon answers is printed with its control characters escaped (the answer may come
from anything at that URL: it never drives the terminal), and an answer of another shape is an
error, never a traceback.

`--head` is a commit sha (hexadecimal: sent as `revision`) or a ref (`refs/pull/12/head`, or a
branch name: sent as `ref`, which the daemon fetches from its remote). While the daemon is busy
with other plans (429), the request is repeated after the Retry-After it names, a few times.
"""

from __future__ import annotations

import argparse
import re
import sys
import time

from syncd.cli import client
from syncd.errors import ExitCode, SyncdError
from syncd.taint import redact_url

_SHA = re.compile(r"^[0-9a-fA-F]{7,64}$")
# C0 and C1 controls but tab and newline, and the invisible and bidi format characters
# (`taint.printable`'s set): nothing the daemon answers moves the cursor or reorders the line
_CONTROL = re.compile(
    "[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200b\u200e\u200f\u2028-\u202e\u2060-\u2069\ufeff]"
)
BUSY_TRIES = 5
BUSY_WAIT_MAX = 30.0  # seconds, whatever Retry-After says


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--api",
        metavar="URL",
        help="plan --head against what runs, asking the running daemon at URL "
        "(read token from SYNCD_READ_TOKEN or --token-file)",
    )
    parser.add_argument("--token-file", help="with --api: file holding the read token")


def request_body(head: str, fmt: str) -> dict[str, str]:
    """A sha as `revision`, anything else as `ref`."""
    key = "revision" if _SHA.match(head) else "ref"
    return {key: head, "format": fmt}


def cmd_plan_api(args: argparse.Namespace) -> ExitCode:
    if args.base is not None:
        raise SyncdError(
            "--base and --api do not go together: with --api the daemon plans --head "
            "against what runs"
        )
    if not args.head:
        raise SyncdError("--api needs --head: the commit sha or ref (refs/pull/12/head) to plan")
    token = client.token(args.token_file, "SYNCD_READ_TOKEN")
    body = request_body(args.head, args.format)
    for attempt in range(1, BUSY_TRIES + 1):
        answer = client.call(args.api, "POST", "/v2/syncd/plans", token, body=body)
        if answer.status != 429 or attempt == BUSY_TRIES:
            break
        wait = _retry_after(answer.headers.get("Retry-After"))
        print(f"syncd: the daemon is busy with other plans; asking again in {wait:.0f} s",
              file=sys.stderr)  # fmt: skip
        time.sleep(wait)
    data = answer.json()
    if answer.status == 200 and isinstance(data, dict) and isinstance(data.get("output"), str):
        print(shown(data["output"]))
        for warning in _items(data.get("warnings")):
            print(f"warning: {shown(warning)}", file=sys.stderr)
        return ExitCode.CHANGES if data.get("changed") else ExitCode.OK
    if answer.status == 422 and isinstance(data, dict) and _items(data.get("problems")):
        print(f"syncd: {shown(answer.message())}:", file=sys.stderr)
        for problem in _items(data.get("problems")):
            text = problem.get("text") if isinstance(problem, dict) else problem
            print(shown(text), file=sys.stderr)
        return ExitCode.ERROR
    raise SyncdError(
        f"the daemon at {redact_url(args.api)} answered {answer.status}: {shown(answer.message())}"
    )


def shown(text: object) -> str:
    """Text from the daemon's answer, its control characters escaped."""
    return _CONTROL.sub(lambda m: m.group().encode("unicode_escape").decode("ascii"), str(text))


def _items(value: object) -> list[object]:
    return value if isinstance(value, list) else []


def _retry_after(value: str | None) -> float:
    try:
        seconds = float(value) if value is not None else 5.0
    except ValueError:
        seconds = 5.0
    return max(1.0, min(seconds, BUSY_WAIT_MAX))
