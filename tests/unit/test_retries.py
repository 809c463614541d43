"""A unit of work that collided with a concurrent writer runs again, a bounded number of times."""

from __future__ import annotations

import pytest

from dtem.domain.errors import WriteConflict
from dtem.services.retries import ATTEMPTS, retry_conflicts


def test_a_conflicting_unit_of_work_runs_again_until_it_commits() -> None:
    calls: list[int] = []

    def collides_twice() -> str:
        calls.append(1)
        if len(calls) < 3:
            raise WriteConflict("deadlock detected")
        return "committed"

    assert retry_conflicts(collides_twice) == "committed"
    assert len(calls) == 3


def test_the_last_conflict_reaches_the_caller_after_the_bounded_attempts() -> None:
    calls: list[int] = []

    def always_collides() -> None:
        calls.append(1)
        raise WriteConflict("deadlock detected")

    with pytest.raises(WriteConflict):
        retry_conflicts(always_collides)
    assert len(calls) == ATTEMPTS


def test_other_errors_are_not_retried() -> None:
    calls: list[int] = []

    def fails() -> None:
        calls.append(1)
        raise ValueError("a bug, not a collision")

    with pytest.raises(ValueError):
        retry_conflicts(fails)
    assert len(calls) == 1
