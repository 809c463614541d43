"""A signal's value: finite, zero or more, within its type's `max_value` (policy), by field."""

from __future__ import annotations

from pathlib import Path

import pytest
from tests.conftest import T0

from dtem.adapters.ledger.memory import MemoryLedger
from dtem.bootstrap import signal_pipeline
from dtem.domain.clock import FixedClock
from dtem.domain.errors import PolicyInvalid
from dtem.domain.model import Account
from dtem.domain.policy import Policy, default_policy
from dtem.services import governance
from dtem.services.imports.mapping import load_mapping
from dtem.services.signals import receive_calls
from dtem.services.signals.files import import_signals
from dtem.services.signals.messages import SignalRow, parse_call


@pytest.fixture
def ledger(clock: FixedClock) -> MemoryLedger:
    led = MemoryLedger()
    governance.ensure_policy(led, clock)
    with led.transaction() as tx:
        tx.insert_accounts([Account("A1", "Acme", domain="acme.com")], T0)
    return led


def _capped(ledger: MemoryLedger, clock: FixedClock, cap: float) -> Policy:
    doc = default_policy().to_dict()
    doc["signal_types"]["hand_raise"]["max_value"] = cap
    version = governance.store_policy(ledger, doc, clock, "test")
    return governance.activate_policy(ledger, version, clock, "test").policy


def test_a_policy_cap_refuses_a_value_above_its_types_max_value(
    ledger: MemoryLedger, clock: FixedClock
) -> None:
    _capped(ledger, clock, 10.0)
    calls = [
        parse_call("track", {"userId": "u", "event": "Demo Requested", "properties": p})
        for p in ({"domain": "acme.com", "value": 10}, {"domain": "acme.com", "value": 10.5})
    ]
    rows = [SignalRow(domain="acme.com", type="hand_raise", occurred_at=T0, value=11)]
    got = receive_calls(ledger, clock, [*calls, *rows], signal_pipeline())
    assert got.accepted == 1
    assert [(r.index, r.errors) for r in got.refused] == [
        (1, ["properties.value: 10.5 is above 10, the most a 'hand_raise' signal takes"]),
        (2, ["value: 11 is above 10, the most a 'hand_raise' signal takes"]),
    ]


def test_max_value_must_be_a_positive_finite_number() -> None:
    doc = default_policy().to_dict()
    doc["signal_types"]["web_visit"]["max_value"] = -1
    doc["signal_types"]["hiring"]["max_value"] = "lots"
    with pytest.raises(PolicyInvalid) as err:
        Policy.from_dict(doc)
    assert [p for p in err.value.problems if "max_value" in p] == [
        "signal_types.hiring.max_value must be a number, got 'lots'",  # its type: first
        "signal type 'web_visit': max_value must be a number in (0, 1e12], got -1",
    ]
    assert default_policy().signal_types["hand_raise"].max_value == 1_000_000.0


def test_file_rows_with_unsafe_values_are_row_errors_naming_the_field(
    ledger: MemoryLedger, clock: FixedClock, tmp_path: Path
) -> None:
    policy = _capped(ledger, clock, 100.0)
    path = tmp_path / "events.csv"
    path.write_text(
        "event_id,account_id,email,user_id,domain,event,timestamp,value,topic\n"
        ",,,,acme.com,Demo Requested,2027-01-03T09:00:00Z,5,\n"
        ",,,,acme.com,Demo Requested,2027-01-03T09:00:00Z,500,\n"
        ",,,,acme.com,Demo Requested,2027-01-03T09:00:00Z,-2,\n"
        ",,,,acme.com,Demo Requested,2027-01-03T09:00:00Z,nan,\n"
        ",,,,acme.com,Demo Requested,2027-01-03T09:00:00Z,1,crm\x00erp\n"
    )
    got = import_signals(
        ledger, clock, path, load_mapping("signals"), policy, signal_pipeline(), on_error="skip"
    )
    assert got.counts["stored"] == 1
    assert [(e.row, e.field) for e in got.errors] == [
        (3, "value"),
        (4, "value"),
        (5, "value"),
        (6, "topic"),
    ]
    assert "above 100" in got.errors[0].reason
    assert "NUL" in got.errors[3].reason
