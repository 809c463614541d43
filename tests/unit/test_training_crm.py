"""`dtem train` on a generated CRM where every account has already bought once.

The labels of issue 13: `--label won` finds repeat wins after every account became a
customer, `--label first-win` says why it finds no rows, `--label advanced` counts stage
moves. On memory, SQLite and PostgreSQL (the `ledger` fixture): the history is read
through the training port on each.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import pytest
from tests.crm_history import generate_crm

from dtem.adapters.ledger.memory import MemoryLedger
from dtem.domain.clock import FixedClock
from dtem.domain.errors import TrainingDataInsufficient
from dtem.services.training import TrainingReport, TrainOptions, train_policy

SNAPSHOT = date(2025, 8, 1)
CLOCK = FixedClock(datetime(2026, 2, 1, tzinfo=UTC))


def crm_ledger(seed: int = 3, n_accounts: int = 400) -> MemoryLedger:
    ledger = MemoryLedger()
    generate_crm(ledger, seed=seed, n_accounts=n_accounts)
    return ledger


def train(ledger: Any, label: str, snapshot: date = SNAPSHOT) -> TrainingReport:
    opts = TrainOptions(snapshot=snapshot, horizon_days=60, label=label, population="all")
    return train_policy(ledger, CLOCK, opts, "test")


def test_won_counts_repeat_wins_after_every_account_has_bought(ledger: Any) -> None:
    crm = generate_crm(ledger, seed=3, n_accounts=400)
    assert crm.first_wins_by < SNAPSHOT  # every account is a customer at S
    r = train(ledger, "won")
    assert r.label == "won"
    assert r.train.rows == r.holdout.rows == crm.accounts
    assert 0 < r.train.positives < r.train.rows and 0 < r.holdout.positives < r.holdout.rows
    assert r.model.auc > 0.65  # heat drives both the signals and the repeat deals


def test_first_win_names_the_customers_it_excludes() -> None:
    ledger = crm_ledger()
    with pytest.raises(TrainingDataInsufficient) as err:
        train(ledger, "first-win")
    message = str(err.value)
    assert f"all 400 accounts had already won by {SNAPSHOT}" in message
    assert "--label first-win excludes them" in message and "--label won" in message


def test_advanced_counts_openings_and_stage_moves_as_well_as_wins() -> None:
    ledger = crm_ledger()
    won, advanced = train(ledger, "won"), train(ledger, "advanced")
    assert advanced.label == "advanced"
    assert advanced.train.positives > won.train.positives  # every win is also an advance
    assert advanced.model.auc > 0.6


def test_a_snapshot_before_any_signal_says_so() -> None:
    ledger = crm_ledger(n_accounts=60)
    opts = TrainOptions(snapshot=date(2024, 6, 1), horizon_days=60)  # population: signalled
    with pytest.raises(
        TrainingDataInsufficient, match="0 of 60 accounts had a signal by 2024-06-01"
    ):
        train_policy(ledger, CLOCK, opts, "test")
