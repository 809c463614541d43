"""TrainingPort: the history `dtem train` reads is the same on memory, SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from dtem.domain.model import Account, Opportunity, Rep
from dtem.domain.signals import SignalRecord
from dtem.domain.store_imports import StageEntry
from tests.conftest import T0


def _signal(event_id: str, account_id: int | None, days: float, **kw: Any) -> SignalRecord:
    at = T0 + timedelta(days=days)
    kind, value = kw.pop("type", "web_visit"), kw.pop("value", 1.0)
    return SignalRecord(
        event_id, "acme.com", "domain", kind, at, value, "first_party", at,
        account_id=account_id, **kw,
    )  # fmt: skip


def _accounts(tx: Any) -> dict[str, int]:
    tx.insert_accounts([Account("A", "Acme"), Account("B", "Beta")], T0)
    return tx.all_account_ids()  # type: ignore[no-any-return]


def test_training_signals_are_matched_current_and_up_to_the_date(ledger: Any) -> None:
    with ledger.transaction() as tx:
        ids = _accounts(tx)
        tx.insert_signals([
            _signal("old", ids["A"], -3, type="pricing_visit", value=2.0),
            _signal("edge", ids["B"], 0),
            _signal("later", ids["A"], 1),
            _signal("unmatched", None, -1, unmatched_reason="unknown_domain"),
        ])  # fmt: skip
    with ledger.transaction() as tx:
        got = sorted(tx.training_signals(T0), key=lambda s: s.occurred_at)
    assert [(s.account_id, s.type, s.value) for s in got] == [
        (ids["A"], "pricing_visit", 2.0),
        (ids["B"], "web_visit", 1.0),
    ]
    assert got[0].occurred_at == T0 - timedelta(days=3)


def test_won_outcomes_are_dated_by_close_date_else_by_stage_history(ledger: Any) -> None:
    with ledger.transaction() as tx:
        _accounts(tx)
        tx.insert_opportunities([
            Opportunity("O1", "A", "closed_won", close_date=date(2027, 2, 1)),
            Opportunity("O2", "B", "closed_won"),
            Opportunity("O3", "B", "proposal", close_date=date(2027, 3, 1)),
        ], T0)  # fmt: skip
        tx.append_stage_history([
            StageEntry("O2", "proposal", T0, "import"),
            StageEntry("O2", "closed_won", T0 + timedelta(days=5), "import"),
        ])  # fmt: skip
    with ledger.transaction() as tx:
        ids = tx.all_account_ids()
        got = sorted((o.account_id, o.on) for o in tx.won_outcomes(("closed_won",)))
    assert got == sorted(
        [(ids["A"], date(2027, 2, 1)), (ids["B"], (T0 + timedelta(days=5)).date())]
    )


def test_opportunity_histories_carry_fields_owner_and_dated_stages_oldest_first(
    ledger: Any,
) -> None:
    with ledger.transaction() as tx:
        _accounts(tx)
        tx.insert_reps([Rep("R1", "Rita")], T0)
        tx.insert_opportunities([
            Opportunity("O1", "A", "proposal", 1200.0, date(2027, 1, 5), None, "R1",
                        product="Analytics"),
            Opportunity("O2", "B", "closed_lost", close_date=date(2027, 3, 1)),
        ], T0)  # fmt: skip
        tx.append_stage_history([
            StageEntry("O1", "proposal", T0 + timedelta(days=9), "crm_sync"),
            StageEntry("O1", "discovery", T0 + timedelta(days=2), "import"),
        ])  # fmt: skip
    with ledger.transaction() as tx:
        ids = tx.all_account_ids()
        rep = tx.reps_by_external_id(["R1"])["R1"].id
        got = {o.account_id: o for o in tx.opportunity_histories()}
    o1, o2 = got[ids["A"]], got[ids["B"]]
    assert (o1.rep_id, o1.stage, o1.amount, o1.created_date, o1.product) == (
        rep,
        "proposal",
        1200.0,
        date(2027, 1, 5),
        "Analytics",
    )
    assert o1.stages == (
        ("discovery", T0 + timedelta(days=2)),
        ("proposal", T0 + timedelta(days=9)),
    )
    assert (o2.rep_id, o2.stage, o2.close_date, o2.stages) == (
        None,
        "closed_lost",
        date(2027, 3, 1),
        (),
    )
