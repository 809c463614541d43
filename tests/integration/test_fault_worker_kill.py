"""Fault trials: `dtem worker` killed -9 at random points while it consumes NATS JetStream.

Each trial publishes 200 signal rows, kills the real worker process twice when the
ledger holds a random number of them, then restarts it until the stream is drained:
every signal is stored exactly once and every account state equals the batch recompute.
More trials: `python bench/faults.py worker --trials 10`.
"""

from __future__ import annotations

import os

import pytest

from tests.faults.worker_kill import run_worker_trial

NATS_URL = os.environ.get("DTEM_TEST_NATS_URL")
pytestmark = [
    pytest.mark.xdist_group("faults"),
    pytest.mark.nats,
    pytest.mark.slow,
    pytest.mark.skipif(not NATS_URL, reason="DTEM_TEST_NATS_URL not set"),
]


@pytest.mark.parametrize("trial", [1, 2, 3])
def test_worker_killed_mid_stream_stores_every_signal_once_and_states_match_batch(
    trial: int, sqlite_url: str
) -> None:
    result = run_worker_trial(sqlite_url, NATS_URL or "", seed=trial, signals=200)
    assert result.problems == []
    assert result.stored == 200 and result.duplicates == 0
    assert len(result.kills) == 2 and result.states_checked > 0


@pytest.mark.postgres
def test_worker_killed_mid_stream_on_postgres(pg_url: str) -> None:
    result = run_worker_trial(pg_url, NATS_URL or "", seed=7, signals=200)
    assert result.problems == []
    assert result.stored == 200 and result.states_checked > 0
