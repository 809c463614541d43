"""The changes that make webhook events write them in their own unit of work, and only
when an active subscription takes them (in-memory ledger)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from tests.conftest import T0
from tests.market_seed import put_score, seed

from dtem.adapters.ledger.memory import MemoryLedger
from dtem.domain.clock import FixedClock
from dtem.domain.errors import ArgumentInvalid
from dtem.domain.model import Account, Rep
from dtem.domain.score_records import ScoreEvent
from dtem.domain.webhooks import DeliveryFilter, WebhookEvent
from dtem.services import governance, routing, webhooks
from dtem.services.comp import statements
from dtem.services.webhook_events import score_crossings

ACCOUNTS = [Account("A1", "Acme", employees=50, industry="retail")]
REPS = [Rep("R1", "Rita", capacity=2)]


@pytest.fixture
def market() -> tuple[MemoryLedger, FixedClock]:
    ledger, clock = MemoryLedger(), FixedClock(T0)
    acc, _ = seed(ledger, clock, ACCOUNTS, REPS)
    put_score(ledger, acc["A1"], 80.0, T0)
    return ledger, clock


def _events(ledger: MemoryLedger) -> list[WebhookEvent]:
    with ledger.transaction() as tx:
        return [d.event for d in reversed(tx.webhook_deliveries(DeliveryFilter()))]


def test_a_grant_without_subscribers_writes_nothing_to_the_outbox(market: Any) -> None:
    ledger, clock = market
    assert routing.route(ledger, clock, "A1", "crossed_up").outcome == "leased"
    assert "webhook_deliveries" not in ledger.state.extra


def test_a_grant_writes_its_event_with_the_lease_it_made(market: Any) -> None:
    ledger, clock = market
    webhooks.subscribe(ledger, clock, "https://hooks.example.com/a", ["lease.granted"], "cli")
    res = routing.route(ledger, clock, "A1", "crossed_up")
    (event,) = _events(ledger)
    assert res.lease is not None and event.type == "lease.granted" and event.created_at == T0
    assert event.data["lease_id"] == res.lease.id
    assert (event.data["account"], event.data["rep"], event.data["state"]) == (
        "A1",
        "R1",
        "granted",
    )


def test_activation_and_rollback_tell_subscribers_which_version_is_in_force(market: Any) -> None:
    ledger, clock = market
    webhooks.subscribe(ledger, clock, "https://hooks.example.com/a", ["policy.activated"], "cli")
    v2 = governance.store_policy(ledger, {"threshold": 55}, clock, "cli", merge=True)
    governance.activate_policy(ledger, v2, clock, "cli")
    back = governance.rollback_policy(ledger, clock, "cli", "too low")
    data = [e.data for e in _events(ledger)]
    assert data == [
        {"version": v2, "previous": 1, "actor": "cli", "rollback_to": None},
        {"version": back.version, "previous": v2, "actor": "cli", "rollback_to": 1},
    ]


def test_crossings_are_events_and_hand_raises_are_not(market: Any) -> None:
    ledger, clock = market
    webhooks.subscribe(ledger, clock, "https://hooks.example.com/a", ["score.crossed"], "cli")
    raised = [ScoreEvent(1, T0, "crossed_down", 40.0, 1), ScoreEvent(1, T0, "hand_raise", 40.0, 1)]
    with ledger.transaction() as tx:
        assert score_crossings(tx, raised, {1: "A1"}, 60.0) == 1
    (event,) = _events(ledger)
    assert event.data == {
        "account": "A1",
        "account_id": 1,
        "direction": "down",
        "score": 40.0,
        "threshold": 60.0,
        "policy_version": 1,
    }


def test_a_subscription_url_is_checked_and_names_the_field(market: Any) -> None:
    ledger, clock = market
    bad = {
        "ftp://x.example.com/": "url: must start with http:// or https://",
        "https://user:pw@x.example.com/": "url: must not hold a user name or password",
        "https:///nohost": "url: has no host name",
        "http://x.example.com:99999/": "url: Port out of range",
    }
    for url, reason in bad.items():
        with pytest.raises(ArgumentInvalid, match=reason):
            webhooks.subscribe(ledger, clock, url, [], "cli")
    with pytest.raises(ArgumentInvalid, match="events: unknown event type"):
        webhooks.subscribe(ledger, clock, "https://x.example.com/", ["lease.granted", "x"], "cli")
    assert webhooks.subscriptions(ledger) == []


def test_the_secret_is_returned_once_and_the_change_audited(market: Any) -> None:
    ledger, clock = market
    created = webhooks.subscribe(ledger, clock, "https://x.example.com/", [], "cli")
    clock.advance(minutes=1)
    removed = webhooks.unsubscribe(ledger, clock, created.subscription.id, "cli")
    assert created.secret.startswith("whsec_") and not hasattr(removed, "secret")
    assert not removed.active and removed.removed_at == T0 + timedelta(minutes=1)
    actions = [e.action for e in ledger.state.audit]
    assert actions[-2:] == ["webhook.subscribe", "webhook.unsubscribe"]
    assert all(created.secret not in str(e.payload) for e in ledger.state.audit)


def test_closing_a_comp_period_tells_subscribers_once(market: Any) -> None:
    ledger, clock = market
    webhooks.subscribe(ledger, clock, "https://hooks.example.com/a", ["comp.period_closed"], "cli")
    statements.close_period(ledger, clock, "2027-01", "cli")
    statements.close_period(ledger, clock, "2027-01", "cli")  # already closed: nothing new
    (event,) = _events(ledger)
    assert event.type == "comp.period_closed"
    assert event.data == {"period": "2027-01", "lines": 0, "commission": "0.00", "actor": "cli"}
