"""The removal guards: an instance belongs to the source it first applied, and no sync removes
more than a set share of its services unless told to.

The source is kept in the state store (`Store.meta("source")`, JSON). A sync from another
source that would remove anything is refused, naming the recorded source, unless it adopts the
instance (`--adopt`, which records the new source). A sync from another source that removes
nothing is allowed and does NOT move the binding: only an explicit takeover does, so an apply
from a wrong directory that merely adds services cannot silently make the next one from there
"the owner" and free to remove the first source's services.
"""

from __future__ import annotations

from dataclasses import dataclass

from syncd import logs
from syncd.apply.store import Store
from syncd.core.plan import Action, Plan
from syncd.errors import PlanRefused, SyncdError
from syncd.source.identity import SourceIdentity

META_SOURCE = "source"
DEFAULT_SHARE = 0.5  # SYNCD_MAX_REMOVAL_SHARE: 50 %
MASS_FLAG = "--allow-mass-removal"


def parse_share(text: str) -> float:
    """`SYNCD_MAX_REMOVAL_SHARE`: a percentage (`50`, `50%`) or a fraction (`0.5`), 0-100 %."""
    raw = text.strip().removesuffix("%").strip()
    try:
        value = float(raw)
    except ValueError:
        value = -1.0
    if value > 1 or text.strip().endswith("%"):
        value /= 100
    if not 0 <= value <= 1:
        raise SyncdError(
            f"max-removal-share {text[:40]!r} is not a share of the services: give a "
            "percentage (50 or 50%) or a fraction (0.5)"
        )
    return value


def removals(plan: Plan) -> tuple[int, int]:
    """How many running (managed) services the plan removes, of how many there are."""
    changes = [c for s in plan.stacks for c in s.services if c.live is not None]
    return sum(c.action is Action.REMOVE for c in changes), len(changes)


@dataclass(frozen=True)
class Guard:
    """What one CLI apply or daemon may do. `source` None: no binding checked or recorded."""

    source: SourceIdentity | None = None
    adopt: bool = False
    allow_mass_removal: bool = False
    max_share: float = DEFAULT_SHARE

    def recorded(self, store: Store) -> SourceIdentity | None:
        text = store.meta(META_SOURCE)
        return SourceIdentity.from_json(text) if text is not None else None

    def refusal(self, store: Store, plan: Plan) -> str | None:
        """Why this guard refuses `plan` (None: it does not)."""
        removed, total = removals(plan)
        if not removed:
            return None
        recorded = self.recorded(store)
        if (
            self.source is not None
            and recorded is not None
            and not recorded.same_as(self.source)
            and not self.adopt
        ):
            return (
                f"this instance belongs to {recorded}; {self.source} would remove {removed} "
                "of its services: refused (check --repo, --path, the branch and --instance, or "
                "take the instance over with --adopt)"
            )
        if not self.allow_mass_removal and removed > self.max_share * total:
            return (
                f"the sync would remove {removed} of the instance's {total} services, more "
                f"than {self.max_share:.0%} (max-removal-share): refused (allow it with "
                f"{MASS_FLAG})"
            )
        return None

    def refuse(self, store: Store, plan: Plan) -> None:
        """`PlanRefused` when this guard refuses `plan`."""
        reason = self.refusal(store, plan)
        if reason is not None:
            logs.get().warning("sync_refused", reason=reason)
            raise PlanRefused(reason)

    def bind(self, store: Store) -> None:
        """Bind the instance to this source when it has none yet or this one adopts it."""
        if self.source is None:
            return
        recorded = self.recorded(store)
        if recorded is None or (self.adopt and not recorded.same_as(self.source)):
            store.set_meta(META_SOURCE, self.source.to_json())
            logs.get().info(
                "source_recorded",
                source=str(self.source),
                adopted=str(recorded) if recorded else None,
            )

    def check(self, store: Store, plan: Plan) -> None:
        """`refuse`, then `bind`: under the instance's lock, before executing `plan`."""
        self.refuse(store, plan)
        self.bind(store)
