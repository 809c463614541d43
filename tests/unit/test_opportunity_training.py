"""`dtem train --model opportunity` on the generated CRM, and the rows it is fitted on."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import pytest
from tests.crm_history import generate_crm

from dtem.adapters.ledger.memory import MemoryLedger
from dtem.domain.clock import FixedClock
from dtem.domain.errors import TrainingDataInsufficient
from dtem.domain.model import Account, Opportunity
from dtem.domain.policy import Policy
from dtem.domain.store_imports import StageEntry
from dtem.services.governance import ensure_policy
from dtem.services.training import TrainOptions
from dtem.services.training.dataset import load_history
from dtem.services.training.opportunity_rows import opportunity_rows
from dtem.services.training.opportunity_service import train_opportunity_model

CLOCK = FixedClock(datetime(2026, 2, 1, tzinfo=UTC))
OPTS = TrainOptions(snapshot=date(2025, 8, 15), horizon_days=45)


def test_the_opportunity_model_trains_is_judged_and_stored(ledger: Any) -> None:
    generate_crm(ledger, seed=3, n_accounts=400)
    r = train_opportunity_model(ledger, CLOCK, OPTS, "test")
    assert r.train.rows > 100 and 0 < r.holdout.positives < r.holdout.rows
    assert r.model.auc > 0.6
    assert [b.name for b in r.comparison.baselines] == ["stage base rate", "account propensity"]
    # the generating process: skilled owners win more, larger deals less
    assert r.coefficients.w_owner > 0 and r.coefficients.w_amount < 0
    assert r.coefficients.product["analytics"] > r.coefficients.product["support"]
    with ledger.transaction() as tx:
        stored = Policy.from_dict(tx.policy_document(r.version))
        check = tx.policy_check(r.version)
    assert stored.opportunity_model == r.coefficients
    assert check is not None and check["passed"] == r.comparison.verdict.passed


def _ledger(opps: list[Opportunity], stages: list[StageEntry]) -> MemoryLedger:
    ledger = MemoryLedger()
    ensure_policy(ledger, CLOCK)
    with ledger.transaction() as tx:
        tx.insert_accounts([Account("A", "Acme")], CLOCK())
        tx.insert_opportunities(opps, CLOCK())
        tx.append_stage_history(stages)
    return ledger


def _rows(ledger: MemoryLedger, snapshot: date) -> Any:
    with ledger.transaction() as tx:
        h = load_history(tx, snapshot, ("closed_won",))
    return opportunity_rows(h, Policy(), list(Policy().signal_types), snapshot, 30)


def test_open_at_s_reads_the_stage_then_never_the_outcome() -> None:
    at = datetime(2025, 3, 1, 10, tzinfo=UTC)
    ledger = _ledger(
        [
            Opportunity("O1", "A", "closed_won", 100.0, date(2025, 2, 1), date(2025, 3, 20)),
            Opportunity("O2", "A", "closed_lost", None, date(2025, 2, 1), date(2025, 3, 5)),
            Opportunity("O3", "A", "closed_won", None, date(2025, 1, 1), date(2025, 2, 20)),
            Opportunity("O4", "A", "proposal", None, date(2025, 3, 9), None),
        ],
        [StageEntry("O1", "proposal", at, "crm_sync"),
         StageEntry("O1", "closed_won", datetime(2025, 3, 20, tzinfo=UTC), "crm_sync")],
    )  # fmt: skip
    rows = _rows(ledger, date(2025, 3, 2))
    # O3 closed before S, O4 opened after S: neither is a row
    assert [(f.stage, f.age_days, f.amount) for f in rows.facts] == [
        ("proposal", 29.0, 100.0),
        ("unknown", 29.0, None),  # no history line by S: the stage then is not known
    ]
    assert rows.labels.tolist() == [1, 0]


def test_a_crm_with_only_won_deals_says_there_is_no_lost_deal() -> None:
    ledger = _ledger(
        [Opportunity(f"O{i}", "A", "closed_won", None, date(2025, 1, 1), date(2025, 2, i + 1))
         for i in range(8)], [],
    )  # fmt: skip
    opts = TrainOptions(snapshot=date(2025, 1, 10), horizon_days=30)
    with pytest.raises(TrainingDataInsufficient, match="no lost deal to tell apart"):
        train_opportunity_model(ledger, CLOCK, opts, "test")


def test_no_opportunity_open_at_s_is_named() -> None:
    ledger = _ledger([Opportunity("O1", "A", "proposal", None, date(2025, 6, 1))], [])
    opts = TrainOptions(snapshot=date(2025, 1, 10), horizon_days=30)
    with pytest.raises(TrainingDataInsufficient, match="none of the 1 opportunities was open"):
        train_opportunity_model(ledger, CLOCK, opts, "test")
