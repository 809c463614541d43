"""An erasure is all or nothing: when its audit entry cannot be written, nothing is erased
(SQLite and PostgreSQL); and state rebuilt after an erasure equals the state folded from
the remaining signals alone."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from datetime import timedelta
from typing import Any

import pytest
import sqlalchemy as sa

from dtem.adapters.ledger.sql import SqlLedger
from dtem.domain.clock import FixedClock
from dtem.domain.errors import AuditChainBroken
from dtem.domain.model import Account
from dtem.domain.privacy import Person
from dtem.domain.signals import SignalRecord
from dtem.services import governance
from dtem.services.privacy import erase_person, rebuilt_state
from dtem.services.scoring import apply_signals
from tests.conftest import T0, sql_ledger


@pytest.fixture(params=["sqlite", "postgres"])
def sql(request: pytest.FixtureRequest) -> Iterator[SqlLedger]:
    url = request.getfixturevalue("sqlite_url" if request.param == "sqlite" else "pg_url")
    led = sql_ledger(url)
    yield led
    led.engine.dispose()


def _signal(event_id: str, user: str, hours: int, kind: str = "web_visit") -> SignalRecord:
    return SignalRecord(
        event_id=event_id,
        account_key="acme.com",
        key_kind="domain",
        type=kind,
        occurred_at=T0 - timedelta(hours=hours),
        value=1.0 + hours / 10,
        source="first_party",
        received_at=T0,
        attributes={"user_id": user},
    )


def _seed(ledger: SqlLedger, clock: FixedClock) -> int:
    governance.ensure_policy(ledger, clock)
    with ledger.transaction() as tx:
        tx.insert_accounts([Account("A1", "Acme", domain="acme.com")], T0)
        acc = int(tx.accounts_by_external_id(["A1"])["A1"].id)
        records = [
            _signal("a1", "u-ana", 30, "hand_raise"),
            _signal("a2", "u-ana", 5),
            _signal("b1", "u-bob", 50),
            _signal("b2", "u-bob", 1, "pricing_visit"),
        ]
        records = [replace(r, account_id=acc) for r in records]
        tx.insert_signals(records)
        tx.link_identities({"u-ana": "domain:acme.com"}, T0, replace=True)
        apply_signals(tx, records, governance.active_policy(tx), T0)
    return acc


def test_without_its_audit_entry_an_erasure_erases_nothing(sql: SqlLedger) -> None:
    clock = FixedClock(T0)
    acc = _seed(sql, clock)
    with sql.transaction() as tx:
        states_before = tx.account_states([acc])
        scores_before = tx.latest_scores([acc])
    with sql.engine.begin() as conn:
        conn.execute(sa.text("DELETE FROM audit_head"))  # appends now refuse
    with pytest.raises(AuditChainBroken):
        erase_person(sql, Person.of(email=None, user_id="u-ana"), clock, "test")
    with sql.transaction() as tx:
        assert len(tx.signals_naming(None, ["u-ana"])) == 2
        assert tx.identity_links(["u-ana"]) == {"u-ana": "domain:acme.com"}
        assert tx.account_states([acc]) == states_before
        assert tx.latest_scores([acc]) == scores_before


def test_the_rebuilt_state_is_the_fold_of_the_remaining_signals_bit_for_bit(
    sql: SqlLedger,
) -> None:
    clock = FixedClock(T0 + timedelta(hours=2))
    acc = _seed(sql, clock)
    report = erase_person(sql, Person.of(email=None, user_id="u-ana"), clock, "test")
    assert (report.signals, report.identity_links, report.accounts_rescored) == (2, 1, 1)
    # Bob's signals alone, folded into an empty ledger's account the same way ingest does
    with sql.transaction() as tx:
        after: dict[str, Any] = tx.account_states([acc])[acc]
        policy = governance.active_policy(tx).policy
        assert after == rebuilt_state(tx, acc, policy)
        tx.insert_accounts([Account("B1", "Bob only", domain="bob.example")], T0)
        ref = int(tx.accounts_by_external_id(["B1"])["B1"].id)
        bob = [_signal("c1", "u-bob", 50), _signal("c2", "u-bob", 1, "pricing_visit")]
        bob = [replace(r, account_id=ref) for r in bob]
        tx.insert_signals(bob)
        apply_signals(tx, bob, governance.active_policy(tx), T0)
        assert tx.account_states([ref])[ref] == after
        last = tx.latest_scores([acc])[acc]
    assert last.as_of == clock() and last.method == "incremental"
