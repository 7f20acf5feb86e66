"""Results back to the commit, without Docker: the daemon's own objects on a real git repository
with the in-memory engine at syncd's `Engine` seam, posting over real HTTP to a fake git host
and a webhook receiver on 127.0.0.1. Commit statuses for GitHub, Gitea and GitLab; webhook
events; the applied commit in the status route; retries, redirects, full queues; what a pusher
can put in a commit message; what never reaches a log."""

from __future__ import annotations

import hmac
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import structlog.testing
from prometheus_client import CollectorRegistry

from syncd.cli.main import main
from syncd.daemon.notifyconfig import CommitStatusSettings, NotifySettings, Provider
from syncd.daemon.outbox import Delivery, Outbox, OutboxMetrics, post
from syncd.daemon.status import Trigger
from syncd.errors import DeliveryFailed, StartupError
from syncd.source.commits import clean_text, parse_commit, repo_path_of
from syncd.source.repository import Repository
from syncd.timestamps import iso, parse
from tests.daemon_support import wait_for
from tests.fake_engine import FakeEngine
from tests.gitrepo import GitRepo
from tests.notify_support import Receiver, Silent
from tests.statushost import FakeStatusHost
from tests.test_readme_claims import InProcess

TOKEN = "ghp-token-of-the-notify-test"
HOOK_KEY = "hook-key-in-the-query"
GOOD = """\
kind: Stack
project: shop
services:
  web: {image: "busybox:1.36"}
"""
BROKEN = """\
kind: Stack
project: shop
services:
  web: {image: "busybox:1.36", restartPolicy: sometimes}
"""


@pytest.fixture
def githost() -> Iterator[FakeStatusHost]:
    host = FakeStatusHost()
    yield host
    host.close()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    made = Receiver()
    yield made
    made.close()


def _notified(
    tmp_path: Path, settings: NotifySettings, manifests: str = GOOD
) -> tuple[InProcess, list[threading.Thread]]:
    made = InProcess(
        tmp_path, manifests, FakeEngine(instance="claims").have("busybox:1.36"),
        branch="main", notify=settings,
    )  # fmt: skip
    threads = [t for t in made.daemon.threads() if t.name.startswith("syncd-notify")]
    for thread in threads:
        thread.start()
    return made, threads


def _stop(made: InProcess, threads: list[threading.Thread]) -> None:
    made.daemon.stop.set()
    for thread in threads:
        thread.join(5)
    made.close()


def _token_file(tmp_path: Path, token: str = TOKEN) -> Path:
    path = tmp_path / "token"
    path.write_text(token + "\n")
    return path


def _settings(
    tmp_path: Path, githost: FakeStatusHost, provider: Provider, *webhooks: str, api: str = ""
) -> NotifySettings:
    status = CommitStatusSettings(provider, api or githost.url, _token_file(tmp_path), "acme/shop")
    return NotifySettings(status, webhooks, "https://syncd.example.com")


# provider, the API URL's path as given, its states (running, failed), the endpoint's path
CASES = [
    (Provider.GITHUB, "", "pending", "failure", "/repos/acme/shop/statuses/"),
    (Provider.GITEA, "", "pending", "failure", "/api/v1/repos/acme/shop/statuses/"),
    (Provider.GITEA, "/api/v1", "pending", "failure", "/api/v1/repos/acme/shop/statuses/"),
    (Provider.GITLAB, "", "running", "failed", "/api/v4/projects/acme%2Fshop/statuses/"),
]


@pytest.mark.parametrize("case", CASES, ids=lambda c: f"{c[0]}{c[1]}")
def test_each_sync_sets_the_commit_status_pending_then_success_or_failure_with_the_stage(
    tmp_path: Path, githost: FakeStatusHost, case: tuple[Provider, str, str, str, str]
) -> None:
    provider, api, running, failed, path = case
    settings = _settings(tmp_path, githost, provider, api=githost.url + api)
    made, threads = _notified(tmp_path, settings)
    try:
        good = made.repo.git("rev-parse", "HEAD")
        made.sync()
        wait_for(
            lambda: githost.states(good) == [running, "success"], timeout=60.0, what="two statuses"
        )
        made.daemon.sync_once({Trigger.DRIFT})  # a routine pass: the same outcome, no post
        made.repo.write("stack.yaml", BROKEN)
        broken = made.repo.commit("break it")
        made.sync()
        wait_for(
            lambda: githost.states(broken) == [running, failed], timeout=60.0, what="the failure"
        )
        assert githost.states(good) == [running, "success"]
        last = githost.statuses[-1]
        assert last.description.startswith("parse failed: stack.yaml:4:")
        assert "restartPolicy" in last.description and len(last.description) <= 140
        assert last.target_url == "https://syncd.example.com/v2/syncd/daemon/status"
        assert last.context == "syncd/claims" and last.repo == "acme/shop"
        assert last.token == TOKEN
        assert all(r.path.startswith(path) for r in githost.requests)
    finally:
        _stop(made, threads)


def test_webhook_events_carry_the_commit_stacks_counts_and_the_located_error(
    tmp_path: Path, githost: FakeStatusHost, receiver: Receiver
) -> None:
    url = f"{receiver.url}/hook?key={HOOK_KEY}"
    made, threads = _notified(tmp_path, NotifySettings(webhooks=(url,)))
    try:
        with structlog.testing.capture_logs() as events:
            good = made.repo.git("rev-parse", "HEAD")
            made.sync()
            [done] = wait_for(
                lambda: receiver.of("sync_succeeded", good), timeout=60.0, what="the event"
            )
            made.repo.write("stack.yaml", BROKEN)
            broken = made.repo.commit("break \x1b[31mit\u202e\nsecond line")
            made.sync()
            [failed] = wait_for(
                lambda: receiver.of("sync_failed", broken), timeout=60.0, what="the failure"
            )
        assert done["commit"]["subject"] == "first"
        assert done["commit"]["author"] == "syncd tests"
        assert done["commit"]["committedAt"].endswith("Z")  # ISO 8601 in UTC (issue 18)
        sent, committed = parse(done["at"]), parse(done["commit"]["committedAt"])
        assert done["at"].endswith("Z") and sent and committed and sent >= committed
        assert done["stacks"] == ["shop/default"] and done["counts"]["create"] == 1
        assert done["result"] == "ok" and done["error"] is None and done["trigger"] == "watch"
        assert failed["result"] == "failed" and failed["stage"] == "parse"
        assert failed["commit"]["subject"] == "break [31mit second line"
        assert failed["error"]["problems"][0].startswith("stack.yaml:4:")
        assert failed["enforcing"] == good
        assert receiver.paths == [f"/hook?key={HOOK_KEY}"] * 2
        assert HOOK_KEY not in repr(events)
    finally:
        _stop(made, threads)


def test_the_status_route_shows_the_applied_commits_subject_author_and_time(
    tmp_path: Path,
) -> None:
    made = InProcess(
        tmp_path, GOOD, FakeEngine(instance="claims").have("busybox:1.36"), branch="main"
    )
    try:
        made.sync()
        first = made.repo.git("rev-parse", "HEAD")
        status = made.http.get("/v2/syncd/daemon/status").json()
        assert status["appliedRevision"] == first
        shown = status["appliedCommit"]
        assert shown["revision"] == first and shown["subject"] == "first"
        assert shown["author"] == "syncd tests"
        committed = int(made.repo.git("log", "-1", "--format=%ct"))
        assert shown["committedAt"] == iso(committed)  # ISO 8601 in answers (issue 18)
        made.repo.write("stack.yaml", BROKEN)
        made.repo.commit("broken")
        made.sync()  # the head fails: the applied commit stays the one that applied
        assert made.http.get("/v2/syncd/daemon/status").json()["appliedCommit"] == shown
    finally:
        made.close()


def test_a_dead_webhook_delays_neither_syncs_nor_commit_statuses(
    tmp_path: Path, githost: FakeStatusHost
) -> None:
    silent = Silent()
    settings = _settings(tmp_path, githost, Provider.GITHUB, silent.url)
    made, threads = _notified(tmp_path, settings)
    try:
        for n in range(3):
            made.repo.write("stack.yaml", GOOD.replace("1.36", f"1.3{n}"))
            revision = made.repo.commit(f"n={n}")
            made.engine.have(f"busybox:1.3{n}")
            made.sync()
            assert made.daemon.status.applied_revision == revision

            def succeeded(sha: str = revision) -> bool:
                return "success" in githost.states(sha)

            wait_for(succeeded, timeout=60.0, what="the status")
    finally:
        _stop(made, threads)
        silent.close()


# -- the outbox: retries, redirects, full queues -------------------------------------------------


def _outbox(
    kind: str = "webhook", capacity: int = 100, send: Any = post
) -> tuple[Outbox, OutboxMetrics, threading.Event]:
    metrics = OutboxMetrics(CollectorRegistry())
    stop = threading.Event()
    box = Outbox(kind, "test", metrics, stop, send=send, capacity=capacity, first_delay=0.01)
    return box, metrics, stop


def _count(counter: Any, kind: str) -> float:
    return float(counter.labels(kind)._value.get())


def test_a_failing_host_is_retried_with_backoff_and_a_redirect_is_not_followed(
    receiver: Receiver,
) -> None:
    box, metrics, stop = _outbox()
    thread = threading.Thread(target=box.run, daemon=True)
    thread.start()
    try:
        receiver.answers.extend([503, 429])
        box.put(lambda: Delivery(f"{receiver.url}/a", {"n": 1}))
        wait_for(lambda: receiver.events == [{"n": 1}], timeout=60.0, what="the third try")
        assert receiver.paths == ["/a"] * 3
        receiver.answers.extend([302, 404])
        box.put(lambda: Delivery(f"{receiver.url}/b", {"n": 2}))
        box.put(lambda: Delivery(f"{receiver.url}/c", {"n": 3}))
        box.put(lambda: Delivery(f"{receiver.url}/d", {"n": 4}))
        wait_for(lambda: len(receiver.events) == 2, timeout=60.0, what="the last delivery")
        assert receiver.paths[3:] == ["/b", "/c", "/d"]  # 302 and 404: one try each
        assert _count(metrics.failed, "webhook") == 2
        assert _count(metrics.sent, "webhook") == 2
    finally:
        stop.set()
        thread.join(5)


def test_a_full_queue_drops_the_oldest_and_counts_it() -> None:
    release = threading.Event()
    sent: list[int] = []

    def send(delivery: Delivery) -> int:
        release.wait(10)
        sent.append(delivery.body["n"])
        return 200

    box, metrics, stop = _outbox(capacity=3, send=send)
    thread = threading.Thread(target=box.run, daemon=True)
    thread.start()
    try:
        box.put(lambda: Delivery("http://127.0.0.1:9/", {"n": 0}))
        wait_for(lambda: box.pending() == 0, timeout=60.0, what="the first item taken")
        for n in range(1, 8):
            box.put(lambda n=n: Delivery("http://127.0.0.1:9/", {"n": n}))  # type: ignore[misc]
        assert box.pending() == 3
        assert _count(metrics.dropped, "webhook") == 4
        release.set()
        wait_for(lambda: len(sent) == 4, timeout=60.0, what="the rest sent")
        assert sent == [0, 5, 6, 7]
    finally:
        stop.set()
        thread.join(5)


def test_delivery_errors_name_the_host_never_the_url_or_its_query() -> None:
    silent = Silent()
    silent.close()  # nothing listens there any more
    with pytest.raises(DeliveryFailed) as caught:
        post(Delivery(f"{silent.url}?key={HOOK_KEY}", {}, {"Authorization": TOKEN}))
    assert caught.value.retry
    assert HOOK_KEY not in str(caught.value) and TOKEN not in str(caught.value)
    assert "127.0.0.1" in str(caught.value)


# -- commits a pusher writes ---------------------------------------------------------------------


def test_commit_subjects_and_authors_are_cleaned_and_bounded(tmp_path: Path) -> None:
    repo = GitRepo(tmp_path / "repo")
    repo.git("config", "user.name", "Mal\x1b]0;title\x07lory\u202e")
    subject = "\x1b[2J\u200bwipe " + "x" * 100_000
    path = repo.write("msg", b"\xff" + subject.encode() + b"\n\nbody\n")
    repo.git("add", "-A")
    repo.git("commit", "-q", "-F", str(path))
    revision = repo.git("rev-parse", "HEAD")
    info = Repository(str(repo.path), tmp_path / "data").commit_info(revision)
    assert info is not None
    assert info.subject[1:].startswith("[2Jwipe xxx") and len(info.subject) <= 200  # ÿ or �
    assert info.author == "Mal]0;titlelory"
    assert all(c.isprintable() for c in info.subject + info.author)
    assert Repository(str(repo.path), tmp_path / "data").commit_info("0" * 40) is None


def test_clean_text_keeps_letters_and_drops_controls() -> None:
    assert clean_text("héllo\tw\u00f6rld\r\n\u2028x", 50) == "héllo wörld x"
    assert clean_text("a\u202eb\u2066c\x00d\x7fe\x9bf", 50) == "abcdef"
    assert clean_text("abcdef", 4) == "abc…"
    assert parse_commit("a" * 40, "b" * 40 + "\x00s\x00a\x001\n") is None
    assert parse_commit("a" * 40, "a" * 40 + "\x00s\x00a\x00soon\n") is None


@pytest.mark.parametrize(
    ("url", "path"),
    [
        ("https://github.com/acme/shop.git", "acme/shop"),
        ("https://x-access-token:t@github.com/acme/shop", "acme/shop"),
        ("ssh://git@gitlab.example.com:2222/group/sub/shop.git", "group/sub/shop"),
        ("git@github.com:acme/shop.git", "acme/shop"),
        ("https://github.com/shop", None),
        ("https://github.com/acme/../shop", None),
        ("https://github.com/acme/-shop", None),
        ("/srv/git/shop.git", None),
        ("", None),
    ],
)
def test_the_repository_path_is_read_from_the_remote_url(url: str, path: str | None) -> None:
    assert repo_path_of(url) == path


# -- settings ------------------------------------------------------------------------------------


def _run(tmp_path: Path, *args: str) -> tuple[int, str, str]:
    import contextlib
    import io

    out, err = io.StringIO(), io.StringIO()
    argv = ["run", "--repo", str(tmp_path), "--data-dir", str(tmp_path / "d"), *args]
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(argv)
    return code, out.getvalue(), err.getvalue()


def test_print_config_shows_the_notification_hosts_never_a_webhooks_query_or_the_token(
    tmp_path: Path,
) -> None:
    token = _token_file(tmp_path)
    code, out, _ = _run(
        tmp_path, "--print-config", "--commit-status", "gitlab",
        "--git-host-api", "https://gitlab.example.com", "--git-host-token-file", str(token),
        "--notify-webhook", f"https://hooks.example.com/services/T0/B0/{HOOK_KEY}",
        "--notify-webhook", f"https://user:{HOOK_KEY}@chat.example.com:8443/x?k={HOOK_KEY}",
        "--listen", "0.0.0.0:8080",
    )  # fmt: skip
    assert code == 0
    [line] = [line for line in out.splitlines() if line.startswith("notify ")]
    assert line.endswith("(flag)")
    assert "commit-status gitlab at gitlab.example.com" in line
    assert "webhooks to hooks.example.com, chat.example.com:8443" in line
    assert "status link none" in line  # every address: no URL to link to
    assert HOOK_KEY not in out and TOKEN not in out


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--commit-status", "github"], "needs --git-host-api and --git-host-token-file"),
        (["--git-host-api", "https://api.github.com"], "need --commit-status"),
        (
            ["--commit-status", "gitea", "--git-host-token-file", "t",
             "--git-host-api", f"https://gitea.example.com/?token={HOOK_KEY}"],
            "may not have a query",
        ),
        (
            ["--commit-status", "github", "--git-host-token-file", "t",
             "--git-host-api", f"https://u:{HOOK_KEY}@api.github.com"],
            "may not hold a user or password",
        ),
        (
            ["--commit-status", "github", "--git-host-token-file", "t",
             "--git-host-api", "https://api.github.com", "--git-host-repo", "acme/../x"],
            "is not OWNER/NAME",
        ),
        (["--notify-webhook", f"file:///etc/passwd?{HOOK_KEY}"], "http:// or https://"),
        (["--notify-webhook", f"https://h.example.com/a b?{HOOK_KEY}"], "holds spaces"),
        (["--notify-webhook", "https://h.example.com:99999/"], "bad port"),
        (["--notify-webhook", f"http://[::1{HOOK_KEY}/"], "is not a URL"),
        (["--public-url", "https://syncd.example.com/?x=1"], "may not have a query"),
        ([x for n in range(11) for x in ("--notify-webhook", f"https://h{n}.example.com/")],
         "at most 10"),
    ],
)  # fmt: skip
def test_bad_notification_settings_stop_the_start_with_a_clear_error(
    tmp_path: Path, args: list[str], message: str
) -> None:
    code, _, err = _run(tmp_path, "--print-config", *args)
    assert code == 78 and message in err, err  # an unusable setting of `run` (ExitCode.CONFIG)
    assert HOOK_KEY not in err


def test_an_unreadable_token_or_an_unknown_repository_path_is_a_start_up_error(
    tmp_path: Path, githost: FakeStatusHost
) -> None:
    engine = FakeEngine(instance="claims").have("busybox:1.36")
    missing = CommitStatusSettings(Provider.GITHUB, githost.url, tmp_path / "nope", "acme/shop")
    with pytest.raises(StartupError, match="cannot read a token") as caught:
        InProcess(tmp_path / "a", GOOD, engine, notify=NotifySettings(missing))
    assert caught.value.code == 78
    unknown = CommitStatusSettings(Provider.GITHUB, githost.url, _token_file(tmp_path))
    with pytest.raises(StartupError, match="give --git-host-repo"):
        InProcess(tmp_path / "b", GOOD, engine, notify=NotifySettings(unknown))


def test_the_repository_path_comes_from_origin_and_a_changed_token_file_is_read_again(
    tmp_path: Path, githost: FakeStatusHost
) -> None:
    token = _token_file(tmp_path)
    settings = NotifySettings(CommitStatusSettings(Provider.GITEA, githost.url, token))
    repo = GitRepo(tmp_path / "repo")
    repo.git("remote", "add", "origin", "git@gitea.example.com:team/infra.git")
    made, threads = _notified(tmp_path, settings)
    try:
        made.sync()
        first = made.repo.git("rev-parse", "HEAD")
        wait_for(
            lambda: githost.states(first) == ["pending", "success"], timeout=60.0, what="statuses"
        )
        token.write_text("rotated-token-value-longer\n")
        # a second service (renaming the only one would be a mass removal, refused)
        made.repo.write("stack.yaml", GOOD + '  api: {image: "busybox:1.36"}\n')
        second = made.repo.commit("second")
        made.sync()
        wait_for(
            lambda: githost.states(second) == ["pending", "success"], timeout=60.0, what="statuses"
        )
        assert {s.repo for s in githost.statuses} == {"team/infra"}
        assert [s.token for s in githost.statuses] == [TOKEN] * 2 + [
            "rotated-token-value-longer"
        ] * 2
        assert githost.statuses[0].target_url is None
    finally:
        _stop(made, threads)


def test_no_secret_from_the_manifests_reaches_an_event_or_a_commit_status(
    tmp_path: Path, githost: FakeStatusHost, receiver: Receiver
) -> None:
    secret = "tag-from-a-secret-4711"
    manifests = GOOD.replace('"busybox:1.36"}', '"busybox:${TAG}", environment: {P: "${TAG}"}}')
    settings = _settings(tmp_path, githost, Provider.GITHUB, f"{receiver.url}/hook")
    engine = FakeEngine(instance="claims", fail_pull={f"busybox:{secret}"})
    made = InProcess(tmp_path, manifests, engine, {"TAG": secret}, branch="main", notify=settings)
    threads = [t for t in made.daemon.threads() if t.name.startswith("syncd-notify")]
    for thread in threads:
        thread.start()
    try:
        made.sync()  # the image is missing: the apply fails, quoting the reference
        revision = made.repo.git("rev-parse", "HEAD")
        [event] = wait_for(
            lambda: receiver.of("sync_failed", revision), timeout=60.0, what="the event"
        )
        wait_for(
            lambda: githost.states(revision) == ["pending", "failure"],
            timeout=60.0,
            what="statuses",
        )
        assert event["stage"] == "apply" and event["failedServices"] == ["shop/default/web"]
        assert "<redacted>" in event["error"]["message"]
        sent = repr(event) + repr(githost.statuses)
        assert secret not in sent and secret[:12] not in sent
    finally:
        _stop(made, threads)


def test_the_same_failure_retried_gives_one_event_and_the_recovery_another(
    tmp_path: Path, receiver: Receiver
) -> None:
    made, threads = _notified(tmp_path, NotifySettings(webhooks=(f"{receiver.url}/hook",)))
    try:
        made.engine.fail_start.add("web")
        revision = made.repo.git("rev-parse", "HEAD")
        for _ in range(3):  # a service that fails to start: retried, and failing the same way
            made.daemon.sync_once({Trigger.RETRY})
        made.engine.fail_start.clear()
        made.daemon.sync_once({Trigger.RETRY})
        wait_for(lambda: receiver.of("sync_succeeded", revision), timeout=60.0, what="the recovery")
        assert [e["event"] for e in receiver.events] == ["sync_failed", "sync_succeeded"]
        assert receiver.events[0]["failedServices"] == ["shop/default/web"]
    finally:
        _stop(made, threads)


def test_the_token_never_follows_a_redirect_to_another_host(
    tmp_path: Path, githost: FakeStatusHost
) -> None:
    elsewhere = FakeStatusHost()
    githost.redirect_to = elsewhere.url
    githost.answers.append(307)  # the pending status is answered with a redirect
    made, threads = _notified(tmp_path, _settings(tmp_path, githost, Provider.GITHUB))
    try:
        with structlog.testing.capture_logs() as events:
            made.sync()
            good = made.repo.git("rev-parse", "HEAD")
            wait_for(
                lambda: githost.states(good) == ["success"], timeout=60.0, what="the next status"
            )
        assert elsewhere.requests == [] and len(githost.requests) == 2
        [failed] = [e for e in events if e["event"] == "notification_failed"]
        assert "redirects are not followed" in failed["error"] and failed["giving_up"]
        assert TOKEN not in repr(events)
    finally:
        _stop(made, threads)
        elsewhere.close()


def test_events_are_signed_with_the_webhook_secret_and_a_plain_http_git_host_is_warned_of(
    tmp_path: Path, receiver: Receiver
) -> None:
    secret_file = tmp_path / "hook-secret"
    secret_file.write_text("s3cret-of-the-signing-test\n")
    code, out, _ = _run(
        tmp_path, "--print-config", "--notify-webhook", receiver.url,
        "--notify-webhook-secret-file", str(secret_file),
    )  # fmt: skip
    assert code == 0 and "signed" in out and "s3cret" not in out
    token = _token_file(tmp_path)
    status = CommitStatusSettings(Provider.GITEA, "http://gitea.example.com", token, "a/b")
    settings = NotifySettings(status, (receiver.url,), None, "s3cret-of-the-signing-test")
    with structlog.testing.capture_logs() as events:
        made, threads = _notified(tmp_path, settings)
    try:
        [warned] = [e for e in events if e["event"] == "git_host_api_not_https"]
        assert warned["host"] == "gitea.example.com"
        made.sync()
        wait_for(lambda: receiver.events, timeout=60.0, what="the event")
        expected = hmac.new(b"s3cret-of-the-signing-test", receiver.bodies[0], "sha256")
        assert receiver.signatures == [f"sha256={expected.hexdigest()}"]
        assert "s3cret" not in repr(settings) and "s3cret" not in repr(made.daemon.config)
    finally:
        _stop(made, threads)
