"""Fault trial: PostgreSQL restarted under webhook load (a throwaway cluster on its own port).

Four clients send `/v1/batch` to a real `dtem serve` while the cluster is stopped, kept
down three seconds and started again: every answer is a 200 (and its calls are stored)
or a 503 with Retry-After — never a 500, never a hang — and the server answers 200 again
after the restart without being restarted itself. More: `python bench/faults.py restart`.
"""

from __future__ import annotations

import pytest

from tests.faults.pg_cluster import postgres_bin
from tests.faults.pg_restart import run_restart_trial

pytestmark = [
    pytest.mark.xdist_group("faults"),
    pytest.mark.slow,
    pytest.mark.skipif(postgres_bin() is None, reason="no PostgreSQL server binaries"),
]


def test_postgres_restart_under_webhook_load_gives_only_stored_200s_and_503s() -> None:
    trial = run_restart_trial(clients=4, before_s=3.0, down_s=3.0)
    assert trial.problems == []
    assert trial.statuses["200"] > 0 and trial.statuses["503"] > 0
    assert trial.stored_of_acknowledged == trial.acknowledged > 0
