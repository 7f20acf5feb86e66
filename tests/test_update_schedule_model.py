"""`updateSchedule` (issue 15): mittwald's stack-level {cron, timezone} and a service's own
(cron or interval), validated at parse time with located errors; its canonical form (a change
needs no new container); due times, and check times that survive a restart."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from syncd.api.schedules import stack_schedule
from syncd.apply.store import Store
from syncd.apply.updates import Pin, Updates, next_due
from syncd.core import canonical
from syncd.core.desired import DesiredState, resolve
from syncd.ids import ServiceKey
from syncd.manifests import read_manifests
from syncd.settings import Settings
from tests.fake_engine import FakeEngine
from tests.planning import File

STACK = """\
kind: Stack
project: shop
updateSchedule: {{cron: "0 4 * * *", timezone: Europe/Berlin}}
services:
  web:
    image: busybox:1.36
  api:
    image: busybox:1.36
    updateSchedule: {schedule}
"""
WEB, API = ServiceKey("shop", "default", "web"), ServiceKey("shop", "default", "api")


def _problems(text: str) -> list[str]:
    return [str(p) for p in read_manifests([File("s.yaml", text.encode())], {}).errors]


def _desired(schedule: str = "{interval: 6h}") -> DesiredState:
    manifests = read_manifests([File("s.yaml", STACK.format(schedule=schedule).encode())], {})
    assert manifests.errors == []
    return resolve(manifests, "rev", {})


@pytest.mark.parametrize(
    ("schedule", "message"),
    [
        ('{cron: "0 0 30 2 *"}', "is not a valid cron expression"),  # never fires
        ('{cron: "* * * *"}', "is not a cron expression of 5 fields"),
        ('{cron: "* * * * * *"}', "is not a cron expression of 5 fields"),
        ('{cron: "61 * * * *"}', "is not a valid cron expression"),
        ('{cron: "0 4 * * *", timezone: Mars/Olympus}', "is not a known time zone"),
        ('{cron: "0 4 * * *", timezone: "../../etc/passwd"}', "is not a time zone name"),
        ("{interval: 500ms}", "the interval is between 1 s and 366 days"),
        ("{interval: 9000h}", "at most 8760h"),
        ("{interval: 1h, timezone: UTC}", "'timezone' goes with 'cron' only"),
        ('{interval: 1h, cron: "* * * * *"}', "either a 'cron' expression or an 'interval'"),
        ("{}", "either a 'cron' expression or an 'interval'"),
        ("{interval: soon}", "is not a duration"),
        ("{every: 1h}", "every"),
    ],
)
def test_a_bad_schedule_is_a_located_error(schedule: str, message: str) -> None:
    problems = _problems(STACK.format(schedule=schedule))
    assert len(problems) == 1, problems
    assert problems[0].startswith("s.yaml:9:"), problems
    assert "/services/api/updateSchedule" in problems[0] and message in problems[0], problems


def test_a_bad_stack_schedule_is_reported_once_at_the_stack() -> None:
    text = STACK.format(schedule="{interval: 1h}").replace("0 4 * * *", "0 4 * *")
    problems = _problems(text)
    assert len(problems) == 1 and problems[0].startswith("s.yaml:3:"), problems
    assert "/updateSchedule" in problems[0], problems


def test_the_stack_schedule_applies_to_services_without_their_own() -> None:
    desired = _desired().stacks[WEB.stack_key].services
    assert desired["web"].spec["updateSchedule"] == {
        "cron": "0 4 * * *",
        "timezone": "Europe/Berlin",
    }
    assert desired["api"].spec["updateSchedule"] == {"interval": "6h"}


def test_a_schedule_change_needs_no_new_container_and_no_schedule_keeps_the_hash() -> None:
    before = _desired().stacks[WEB.stack_key].services["api"].spec
    after = _desired("{interval: 1h}").stacks[WEB.stack_key].services["api"].spec
    assert canonical.recreate_fields(before, after) == []
    assert canonical.changed_fields(before, after) == ["updateSchedule"]
    plain = dict(before)
    plain["updateSchedule"] = None  # the default: left out of the hash (no recreate on upgrade)
    assert canonical.config_hash(plain) == canonical.config_hash(
        {k: v for k, v in plain.items() if k != "updateSchedule"}
    )


def test_due_times_of_intervals_and_of_crons_in_their_zone() -> None:
    start = datetime(2026, 1, 10, 12, 0, tzinfo=UTC).timestamp()
    assert next_due({"interval": "6h"}, start) == start + 6 * 3600
    berlin = next_due({"cron": "0 4 * * *", "timezone": "Europe/Berlin"}, start)
    assert datetime.fromtimestamp(berlin, UTC) == datetime(2026, 1, 11, 3, 0, tzinfo=UTC)


def test_check_times_survive_a_restart_and_pins_replace_only_their_tag(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, instance="t")
    engine = FakeEngine()
    now = [1_000_000.0]
    desired = _desired("{interval: 1h}")
    store = Store(settings.state_file)
    updates = Updates(settings, engine, store, {}, clock=lambda: now[0])
    updates.track(desired)  # first seen: due one hour from now
    now[0] += 1800
    assert not updates.newly_due()
    store.close()

    store = Store(settings.state_file)  # a restart: the check time is read back
    updates = Updates(settings, engine, store, {}, clock=lambda: now[0])
    updates.track(desired)
    assert not updates.newly_due()
    now[0] += 1801
    assert updates.newly_due()
    assert not updates.newly_due()  # told once

    pin = Pin(
        "busybox:1.36", "busybox@sha256:" + "a" * 64, "sha256:" + "b" * 64, "sha256:" + "a" * 64
    )
    updates._write(API, now[0], pin)
    services = updates.pinned(desired).stacks[API.stack_key].services
    assert services["api"].spec["image"] == pin.image
    assert services["web"].spec["image"] == "busybox:1.36"  # same tag, no pin of its own
    moved = resolve(
        read_manifests(
            [
                File(
                    "s.yaml",
                    STACK.format(schedule="{interval: 1h}")
                    .replace("busybox:1.36", "busybox:1.37", 2)
                    .encode(),
                )
            ],
            {},
        ),
        "rev",
        {},
    )
    assert (
        updates.pinned(moved).stacks[API.stack_key].services["api"].spec["image"] == "busybox:1.37"
    )
    store.close()


COMPOSE = """\
name: shop
services:
  web:
    image: busybox:1.36
    x-syncd:
      updateSchedule: {schedule}
"""


def test_a_compose_service_sets_its_schedule_under_x_syncd() -> None:
    text = COMPOSE.format(schedule='{cron: "*/15 * * * *"}')
    manifests = read_manifests([File("compose.yaml", text.encode())], {})
    assert manifests.errors == []
    spec = resolve(manifests, "rev", {}).stacks[WEB.stack_key].services["web"].spec
    assert spec["updateSchedule"] == {"cron": "*/15 * * * *", "timezone": "UTC"}


@pytest.mark.parametrize(
    ("schedule", "where", "message"),
    [
        ("{interval: 10ms}", "compose.yaml:6:23: ", "the interval is between"),
        ('{cron: "0 0 31 2 *"}', "compose.yaml:6:23: ", "is not a valid cron expression"),
        ('{interval: "${EVERY}"}', "compose.yaml:6:", "plain text (no variables)"),
    ],
)
def test_a_bad_compose_schedule_is_a_located_error(schedule: str, where: str, message: str) -> None:
    text = COMPOSE.format(schedule=schedule)
    found = read_manifests([File("compose.yaml", text.encode())], {"EVERY": "1h"})
    problems = [str(p) for p in found.errors]
    assert len(problems) == 1 and problems[0].startswith(where), problems
    assert message in problems[0], problems


def test_the_api_shows_the_stack_schedule_its_services_share_and_hides_secret_ones() -> None:
    assert stack_schedule(_desired().stacks[WEB.stack_key].services) is None  # web and api differ
    same = _desired('{cron: "0 4 * * *", timezone: Europe/Berlin}').stacks[WEB.stack_key]
    shown = stack_schedule(same.services)
    assert shown is not None and shown.model_dump() == {
        "cron": "0 4 * * *",
        "timezone": "Europe/Berlin",
    }
    text = STACK.format(schedule='{cron: "1 * * * *"}').replace("0 4 * * *", "${CRON}")
    text = text.replace("timezone: Europe/Berlin", "timezone: UTC").replace("1 * * * *", "${CRON}")
    manifests = read_manifests([File("s.yaml", text.encode())], {"CRON": "5 4 * * *"})
    assert manifests.errors == [], manifests.errors
    services = resolve(manifests, "rev", {}).stacks[WEB.stack_key].services
    hidden = stack_schedule(services)
    assert hidden is not None and hidden.cron == "<redacted>", hidden
