"""Every error syncd reports, split by what the caller should do about it (kopf's split).

The classes, by what the caller does next (a `ManifestError` carries `problems.Problem`s):

- wait for a new revision: the revision itself is wrong (`ManifestError`, `PatchRefused`,
  `PlanRefused`); retrying the same revision gives the same answer.
- retry later: the outside world failed (`SourceError`, `EngineError`, `EngineUnavailable`); the
  same revision may well work next time.
- refuse the request: a caller sent something syncd will not act on (`WebhookRejected`,
  `WebhookMalformed`, `CredentialsHostMismatch`); answer it, change nothing.
- fix the settings: the operator's configuration cannot work (`SecretFileError`,
  `CredentialsError`, `PortInUse`, `PolicyFileError`); nothing improves until the operator acts.

Adapters translate third-party exceptions at the boundary and chain them
(`raise EngineUnavailable(...) from err`); `from None` only where the cause could carry a secret
or bytes a user controls, with a comment saying which.
"""

from __future__ import annotations

from collections.abc import Sequence
from enum import IntEnum, StrEnum

from syncd.problems import Position, Problem


class SyncdError(Exception):
    """Base of syncd's own errors."""


# -- wait for a new revision ------------------------------------------------------------------


class ManifestError(SyncdError):
    """The revision's manifests are invalid: wait for a new revision, keep the last good state."""

    def __init__(self, problems: Sequence[Problem], *, held: str | None = None) -> None:
        self.problems = sorted(problems, key=Problem.sort_key)
        self.held = held  # why the errors hold every stack (`manifests.isolate`), if they do
        count = len(self.problems)
        first = str(self.problems[0]) if self.problems else "no details"
        more = f" (and {count - 1} more)" if count > 1 else ""
        super().__init__(f"{first}{more}")


class YamlFatal(SyncdError):
    """A problem that stops the reading of a YAML file, at a place in it (the loader turns it into
    a located `Problem`)."""

    def __init__(self, position: Position, message: str) -> None:
        super().__init__(message)
        self.position = position
        self.message = message


class TemplateError(SyncdError):
    """A string cannot be interpolated; the message quotes only the template, never a value."""


class PatchRefused(SyncdError):
    """An op of an overlay cannot be applied; `problem` says where and why, and nothing more."""

    def __init__(self, problem: Problem) -> None:
        super().__init__(str(problem))
        self.problem = problem


class CycleError(SyncdError):
    """A dependency graph has a cycle; `cycle` names it as `[a, b, a]`."""

    def __init__(self, cycle: list[str]) -> None:
        super().__init__(" -> ".join(cycle))
        self.cycle = cycle


class PlanRefused(SyncdError):
    """The plan would do something syncd refuses to do without being told to."""


# -- retry later -------------------------------------------------------------------------------


class SourceError(SyncdError):
    """The repository or revision could not be read: retry later or fix the settings."""


class CommitRefused(SourceError):
    """A revision whose commits do not verify against the operator's keys (`--verify-commits`):
    not applied; it waits for the branch to move. `reason` is a `source.signed.Refusal` value
    (the metrics count by it), `commit` the short sha of the commit that failed."""

    def __init__(self, message: str, *, reason: str, commit: str) -> None:
        super().__init__(message)
        self.reason = reason
        self.commit = commit


class SettingsUnusable(SyncdError):
    """The operator's settings contradict each other (e.g. `--verify-commits` without a key
    source): nothing starts, nothing is applied (`ExitCode.CONFIG`)."""


class EngineError(SyncdError):
    """The engine refused or failed an operation; the message is the engine's answer."""


class EngineUnavailable(EngineError):
    """The engine cannot be reached at all (daemon down, socket missing, no permission)."""


class ExternalVolumeMissing(EngineError):
    """A service mounts an external volume (`external: true`) that the engine does not have:
    syncd never creates one."""

    def __init__(self, name: str) -> None:
        super().__init__(
            f"external volume {name!r} does not exist; syncd never creates an external volume: "
            f"create it (docker volume create {name}) or declare it without external"
        )
        self.name = name


# -- refuse the request ------------------------------------------------------------------------


class WebhookRejected(SyncdError):
    """The request is not a genuine webhook of a configured host: answer 401."""


class WebhookMalformed(SyncdError):
    """A genuine webhook whose payload cannot be read safely: answer 400."""


class PlanRequestInvalid(SyncdError):
    """A plan request names nothing syncd will read (a malformed ref or revision): answer 400,
    before git sees it."""


class RevisionNotFound(SourceError):
    """The revision or ref a plan request names is neither in the daemon's repository nor on its
    remote: answer 404."""


class PlansBusy(SyncdError):
    """As many plans as allowed run (or wait) already: answer 429; `retry_after` seconds later a
    slot is likely free."""

    def __init__(self, message: str, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class CredentialsHostMismatch(SyncdError):
    """A registry's credentials were about to go to another host than the registry's own: refused
    before anything is sent (the API answers 400)."""

    def __init__(self, registry_host: str, target_host: str, image: str) -> None:
        self.registry_host = registry_host
        self.target_host = target_host
        super().__init__(
            f"the credentials of registry {registry_host} are only ever sent to {registry_host}, "
            f"but {image} is pulled from {target_host}: refused, nothing was sent"
        )


class GitHostError(SyncdError):
    """A git host's API (GitHub, Gitea, GitLab) refused or failed a request of `syncd comment`;
    the message says which request and what the host answered, never the token."""

    def __init__(self, message: str, status: int | None = None) -> None:
        self.status = status  # the HTTP status the host answered, if it answered
        super().__init__(message)


class GitHostUnreachable(GitHostError):
    """The git host's API cannot be reached (connection refused, timeout, TLS)."""


class GitHostSettingsError(GitHostError):
    """What `syncd comment` needs is missing or unusable (token, API URL, repository, pull
    request number): fix the job's settings."""


# -- fix the settings --------------------------------------------------------------------------


class SecretFileError(SyncdError):
    """A `{file: …}` secret cannot be read, or may not be (outside the secrets directory)."""


class SopsError(SyncdError):
    """A SOPS file cannot be read (malformed, too large, no metadata) or a key file is unusable;
    the message names the file and why, never a value, a key or ciphertext."""


class SopsInvalid(SopsError):
    """A part of a SOPS file is malformed (a value, the metadata, the document) or over a bound;
    the message says what, never a value, and the caller adds the file's name."""


class SopsDecryptError(SopsError):
    """A SOPS file cannot be decrypted: no identity opens its data key, its MAC does not match
    (tampered), or a value does not decrypt."""


class CredentialsError(SyncdError):
    """A registry's password cannot be read (variable unset, file missing)."""


class PortInUse(SyncdError):
    """The listen address cannot be bound."""


# -- apply: one service's failure (the others go on) ---------------------------------------------


class ServiceFailed(SyncdError):
    """One service could not be brought to its desired state; the other services go on, and its
    dependents are skipped with the reason."""


class RolledBack(ServiceFailed):
    """A replace whose new container failed (create, start, unhealthy, exited in the grace
    period): the new one was removed and the old one runs again under its name."""

    def __init__(self, reason: str) -> None:
        self.reason = reason
        super().__init__(f"rolled back: {reason}")


class DependencyNotHealthy(ServiceFailed):
    """A `service_healthy` gate failed: the dependency never became healthy (stage `health`)."""


# -- the `syncd` command: a named revision's problems, and the exit codes ------------------------


class InvalidRevision(ManifestError):
    """The manifests of a revision named on the command line (`plan --base/--head`) are invalid;
    `revision` says which, e.g. `revision main (0123456789ab)`."""

    def __init__(self, revision: str, problems: Sequence[Problem]) -> None:
        super().__init__(problems)
        self.revision = revision


class ExitCode(IntEnum):
    """What the `syncd` process exits with (the README's CLI section lists them)."""

    OK = 0
    ERROR = 1  # nothing applied: invalid manifests or input, no engine, plan refused
    CHANGES = 2  # `plan`, `apply --dry-run --detailed-exitcode`: there are changes (terraform)
    PARTIAL = 3  # `apply`: applied, but some services failed
    UNAVAILABLE = 69  # `run` at start-up: no Docker engine (sysexits EX_UNAVAILABLE)
    CANTCREAT = 73  # `run` at start-up: the listen address is taken (EX_CANTCREAT)
    CONFIG = 78  # `run` at start-up: repository or settings unusable (EX_CONFIG)


class PolicyFileError(SyncdError):
    """The operator's policy file cannot be used (unreadable, invalid at a line, or inside the
    manifest repo): fix the settings; syncd applies nothing meanwhile (`ExitCode.CONFIG`)."""

    def __init__(self, message: str, problems: Sequence[Problem] = ()) -> None:
        self.problems = sorted(problems, key=Problem.sort_key)
        super().__init__(message)


class StartupError(SyncdError):
    """`syncd run` cannot start: the message for the operator and the process's exit code."""

    def __init__(self, message: str, code: int) -> None:
        super().__init__(message)
        self.code = code


class OperationRefused(SyncdError):
    """An operator task cannot be done in the current state (the API answers 412)."""


class UnknownRegistry(SyncdError):
    """No declared registry has the id a request names (the API answers 404)."""


# -- sync failures: what failed, where, and what the daemon does next -----------------------------


class Stage(StrEnum):
    """The step of a sync that failed. A failure before the head revision has a plan (fetch,
    verify, parse, resolve, plan) falls back to the last good revision; of those, verify, parse,
    resolve and plan are the revision's own and wait for a new commit, the others are retried."""

    FETCH = "fetch"  # reading the branch head and its files from git
    VERIFY = "verify"  # the head's commit signature(s), with `--verify-commits`
    PARSE = "parse"  # manifests, and resolving them (StackPatch ops, interpolation)
    RESOLVE = "resolve"  # an internal error while resolving the desired state
    PLAN = "plan"  # comparing with what runs; a refused plan
    APPLY = "apply"
    HEALTH = "health"
    ENGINE = "engine"
    RECORD = "record"  # storing the result

    @property
    def before_plan(self) -> bool:
        """The head has no plan yet: the last good revision is enforced instead."""
        return self in (Stage.FETCH, Stage.VERIFY, Stage.PARSE, Stage.RESOLVE, Stage.PLAN)


class SyncFailure(SyncdError):
    """A sync step failed: its stage, the revision it was on and the located problems. The
    status, history, metrics and API read these fields, never the message text. `crashed`: an
    error syncd did not expect (a bug), reported by its type only."""

    def __init__(
        self,
        stage: Stage,
        message: str,
        *,
        revision: str | None = None,
        problems: Sequence[str] = (),
        crashed: bool = False,
    ) -> None:
        super().__init__(message)
        self.stage = stage
        self.message = message
        self.revision = revision
        self.problems = tuple(problems)
        self.crashed = crashed

    def retry_after(self, failures: int) -> float | None:
        """Seconds until the sync is tried again after `failures` in a row; None: never, a new
        revision is awaited."""
        raise NotImplementedError


class TemporaryFailure(SyncFailure):
    """Trying again may succeed (git unreachable, a service that failed to start, a crash while
    applying): retried with exponential backoff, at most `ceiling` seconds apart."""

    base = 2.0
    ceiling = 300.0

    def retry_after(self, failures: int) -> float:
        return min(self.ceiling, self.base ** max(1, failures))


class EngineFailure(TemporaryFailure):
    """Docker does not answer: checked again at least every `ceiling` seconds."""

    ceiling = 15.0


class PermanentFailure(SyncFailure):
    """The revision fails on its own (invalid manifests, a refused plan): trying it again gives
    the same answer, so it waits for a new commit."""

    def retry_after(self, failures: int) -> None:
        del failures


class UnresolvedFile(SyncdError):
    """A file from git, config or secret a service names that the revision cannot give;
    `where` is the spec field and its index (`("configs", 0)`)."""

    def __init__(self, where: tuple[str, int], message: str) -> None:
        super().__init__(message)
        self.where = where


class DeliveryFailed(SyncdError):
    """A notification (a commit status, a webhook event) was not taken: `retry` says whether
    sending it again may succeed (no answer, 429, 5xx) or not (a redirect, another 4xx). The
    message names the host only, never the URL (its query may hold a secret)."""

    def __init__(self, message: str, *, retry: bool) -> None:
        super().__init__(message)
        self.retry = retry


class PlanFileError(SyncdError):
    """A saved plan file (`syncd apply --plan`) that cannot be used: unreadable, too big, not
    JSON, or not a plan of this syncd's format."""


class StalePlan(SyncdError):
    """A saved plan no longer describes what an apply would do: the revision, the settings or
    the live state moved since it was made. Its message names what moved."""

    def __init__(self, moved: str) -> None:
        super().__init__(f"stale plan: {moved}")
