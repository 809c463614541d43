"""Dating signals from files and the broker: never after their import or receipt."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from tests.conftest import T0

from dtem.adapters.ledger.memory import MemoryLedger
from dtem.bootstrap import signal_pipeline
from dtem.domain.clock import FixedClock
from dtem.domain.model import Account
from dtem.domain.signals import SignalRecord
from dtem.services import governance
from dtem.services.imports.mapping import load_mapping
from dtem.services.signals import receive_calls
from dtem.services.signals.files import import_signals
from dtem.services.signals.messages import SignalRow, parse_message


@pytest.fixture
def ledger(clock: FixedClock) -> MemoryLedger:
    led = MemoryLedger()
    governance.ensure_policy(led, clock)
    with led.transaction() as tx:
        tx.insert_accounts([Account("A1", "Acme", domain="acme.com")], T0)
    return led


def _stored(ledger: MemoryLedger) -> list[SignalRecord]:
    with ledger.transaction() as tx:
        return list(tx.s.extra.get("signals", []))


def test_a_file_row_dated_after_the_import_is_dated_at_the_import(
    ledger: MemoryLedger, clock: FixedClock, tmp_path: Path
) -> None:
    path = tmp_path / "events.csv"
    path.write_text(
        "event_id,account_id,email,user_id,domain,event,timestamp,value,topic\n"
        "e1,,,,acme.com,Demo Requested,2027-01-03T09:00:00Z,1,\n"
        "e2,,,,acme.com,Demo Requested,9999-12-31T00:00:00Z,1,\n"
    )
    policy = governance.ensure_policy(ledger, clock).policy
    got = import_signals(ledger, clock, path, load_mapping("signals"), policy, signal_pipeline())
    assert got.counts["stored"] == 2
    past, future = _stored(ledger)
    assert (past.occurred_at, "original_timestamp" in past.attributes) == (
        T0 - timedelta(days=1),
        False,
    )
    assert future.occurred_at == T0
    assert future.attributes["original_timestamp"] == "9999-12-31T00:00:00+00:00"


def test_a_file_imported_as_of_a_later_day_is_dated_no_later_than_the_import(
    ledger: MemoryLedger, clock: FixedClock, tmp_path: Path
) -> None:
    path = tmp_path / "surge.csv"
    path.write_text("Domain,Company Name,Topic,Category,Composite Score\nacme.com,A,CRM,S,80\n")
    policy = governance.ensure_policy(ledger, clock).policy
    import_signals(
        ledger,
        clock,
        path,
        load_mapping("bombora_surge"),
        policy,
        signal_pipeline(),
        as_of=T0 + timedelta(days=9),
    )
    [row] = _stored(ledger)
    assert row.occurred_at == T0


def test_a_broker_row_is_skew_corrected_and_never_after_its_receipt(
    ledger: MemoryLedger, clock: FixedClock
) -> None:
    ahead = parse_message(
        b'{"event_id": "r1", "domain": "acme.com", "type": "hand_raise",'
        b' "occurred_at": "2027-01-04T10:00:00Z", "sent_at": "2027-01-04T10:30:00Z"}'
    )
    future = SignalRow(event_id="r2", domain="acme.com", type="web_visit",
                       occurred_at=T0 + timedelta(days=20 * 365))  # fmt: skip
    got = receive_calls(ledger, clock, [ahead, future], signal_pipeline(), via="nats")
    assert got.accepted == 2
    skewed, clamped = _stored(ledger)
    assert skewed.occurred_at == T0 - timedelta(minutes=30)
    assert clamped.occurred_at == T0
