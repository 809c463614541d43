"""`train_policy` on PostgreSQL gives the same model and figures as on SQLite."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from dtem.domain.clock import FixedClock
from dtem.services.training import TrainOptions, train_policy
from tests.unit.test_training_service import SNAPSHOT, synthetic_ledger


@pytest.mark.postgres
def test_training_on_postgres_matches_sqlite(pg_url: str, tmp_path: Path):
    clock = FixedClock(datetime(2026, 1, 1, tzinfo=UTC))
    reports = [
        train_policy(
            synthetic_ledger(seed=21, reps=2, url=url, n=1500),
            clock,
            TrainOptions(snapshot=SNAPSHOT),
            "test",
        )
        for url in (pg_url, f"sqlite:///{tmp_path}/ledger.db")
    ]
    pg, lite = reports
    assert (pg.train, pg.holdout) == (lite.train, lite.holdout)
    assert pg.model.auc == pytest.approx(lite.model.auc, abs=1e-12)
    assert pg.coefficients.b0 == pytest.approx(lite.coefficients.b0, rel=1e-9)
    assert pg.e_half.stored == pytest.approx(lite.e_half.stored, rel=1e-9)
