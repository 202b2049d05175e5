"""The wait policies (fixtures/waits.py): first look at once, stop when done or before the deadline."""

from __future__ import annotations

import time

import pytest

from fixtures.waits import HTTP_PROBE, Poll

QUICK = Poll("quick", pause=0.01)


def test_stops_at_the_first_final_answer() -> None:
    answers = iter([1, 2, 3, 4, 5])
    outcome = QUICK.until(lambda: next(answers), lambda value: value == 3, seconds=5)
    assert (outcome.value, outcome.looks) == (3, 3)


def test_gives_the_last_answer_at_the_deadline() -> None:
    started = time.monotonic()
    outcome = QUICK.until(lambda: "not yet", lambda value: False, seconds=0.1)
    assert outcome.value == "not yet"
    # Never a look that would start after the deadline: at most one per pause, the first at once.
    assert 2 <= outcome.looks <= 11
    assert time.monotonic() - started < 0.1 + QUICK.pause + 0.05


def test_a_zero_deadline_looks_once() -> None:
    outcome = Poll("slow", pause=2.0).until(lambda: 0, lambda value: False, seconds=0)
    assert outcome.looks == 1
    assert outcome.waited < 1


def test_max_looks_bounds_the_retries() -> None:
    outcome = Poll("three", pause=0.01, max_looks=3).until(lambda: 503, lambda value: value < 500, seconds=5)
    assert (outcome.value, outcome.looks) == (503, 3)


def test_an_exception_is_not_retried() -> None:
    looks = []

    def look() -> int:
        looks.append(1)
        raise RuntimeError("server exited")

    with pytest.raises(RuntimeError, match="server exited"):
        QUICK.until(look, lambda value: True, seconds=5)
    assert len(looks) == 1


def test_deadline_is_explicit() -> None:
    with pytest.raises(ValueError, match="needs a deadline"):
        QUICK.until(lambda: 1, lambda value: True)
    assert HTTP_PROBE.default_seconds == 20.0
    assert HTTP_PROBE.max_looks == 3
