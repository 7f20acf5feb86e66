"""The collector is paused inside a section and runs again after the outermost one, in every
order sections end, and stays off if someone else had turned it off."""

from __future__ import annotations

import gc
import threading

import pytest

from syncd.gcpause import gc_paused


@gc_paused
def _inside() -> bool:
    return gc.isenabled()


@gc_paused
def _nested() -> tuple[bool, bool]:
    return _inside(), gc.isenabled()


@gc_paused
def _fails() -> None:
    raise ValueError("boom")


def test_the_collector_is_off_inside_and_on_again_after() -> None:
    assert gc.isenabled()
    assert _nested() == (False, False)
    assert gc.isenabled()
    with pytest.raises(ValueError, match="boom"):
        _fails()
    assert gc.isenabled()


def test_a_collector_someone_else_turned_off_stays_off() -> None:
    gc.disable()
    try:
        assert _inside() is False
        assert not gc.isenabled()
    finally:
        gc.enable()


def test_overlapping_sections_in_threads_turn_it_on_after_the_last() -> None:
    started, release = threading.Event(), threading.Event()
    seen: list[bool] = []

    @gc_paused
    def slow() -> None:
        started.set()
        release.wait(10)
        seen.append(gc.isenabled())

    worker = threading.Thread(target=slow)
    worker.start()
    started.wait(10)
    assert _inside() is False  # ends first: the other section still runs
    assert not gc.isenabled()
    release.set()
    worker.join(10)
    assert seen == [False] and gc.isenabled()


@gc_paused
def _builds() -> list[list[int]]:
    return [[n] for n in range(2_000)]


def test_what_a_section_leaves_goes_to_the_oldest_generation_unwalked() -> None:
    gc.collect()
    kept = _builds()
    assert gc.get_count()[0] < 100  # not the 2,000 lists: no young collection walks them
    oldest = {id(o) for o in gc.get_objects(generation=2)}
    assert id(kept) in oldest and id(kept[-1]) in oldest
    assert gc.get_freeze_count() == 0  # nothing stays frozen


def test_objects_someone_else_froze_stay_frozen() -> None:
    gc.collect()
    gc.freeze()
    try:
        frozen = gc.get_freeze_count()
        kept = _builds()
        assert gc.get_freeze_count() == frozen  # not thawed by the section's end
        assert id(kept) not in {id(o) for o in gc.get_objects(generation=2)}
    finally:
        gc.unfreeze()
