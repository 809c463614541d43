"""Fault trials: `dtem review` and `dtem review --rebalance --move-leases` killed -9.

On a ledger with 100 stale leases and 100 hot accounts to route, the review is killed
after a random number of its steps and the rebalance at a random moment; reruns complete,
no account has two active leases, each lease agrees with its history, and the audit
chain verifies. More trials: `python bench/faults.py review --trials 10`.
"""

from __future__ import annotations

import pytest

from tests.faults.review_kill import run_review_trial

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("faults")]


def test_review_and_rebalance_killed_then_rerun_keep_the_market_sound(sqlite_url: str) -> None:
    trial = run_review_trial(sqlite_url, seed=11, leases=100, triggers=100)
    assert trial.problems == []
    assert trial.active_leases > 0 and trial.audit_entries > trial.leases_before


@pytest.mark.postgres
def test_review_and_rebalance_killed_on_postgres(pg_url: str) -> None:
    trial = run_review_trial(pg_url, seed=12, leases=100, triggers=100)
    assert trial.problems == []
    assert trial.active_leases > 0
