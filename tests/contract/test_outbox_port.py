"""OutboxPort: subscriptions, deliveries, claims and attempts on memory, SQLite, PostgreSQL."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest

from dtem.domain.errors import NotFound
from dtem.domain.model import Account, Rep
from dtem.domain.webhooks import (
    CANCELLED,
    DELIVERED,
    FAILED,
    PENDING,
    DeliveryClaim,
    DeliveryFilter,
    WebhookAttempt,
    WebhookEvent,
    WebhookSubscription,
)
from tests.conftest import T0


def _sub(events: tuple[str, ...] = (), url: str = "https://hooks.example.com/a") -> Any:
    return WebhookSubscription(url, "whsec_c2VjcmV0", events, T0, "cli")


def _event(kind: str = "lease.granted", n: int = 1) -> WebhookEvent:
    return WebhookEvent(f"evt_{n}", kind, T0, {"lease_id": n, "account": "A1"})


def test_a_subscription_is_stored_whole_and_read_back(ledger: Any) -> None:
    with ledger.transaction() as tx:
        a = tx.add_webhook_subscription(_sub(("lease.granted", "score.crossed")))
        b = tx.add_webhook_subscription(_sub(url="http://10.0.0.1:8080/hook"))
    with ledger.transaction() as tx:
        assert tx.webhook_subscription(a.id) == a
        assert [s.id for s in tx.webhook_subscriptions()] == [a.id, b.id]
    assert a.events == ("lease.granted", "score.crossed") and a.secret == "whsec_c2VjcmV0"
    assert a.active and a.created_at == T0 and a.format == "json" and b.events == ()
    with ledger.transaction() as tx, pytest.raises(NotFound, match="subscription 99"):
        tx.webhook_subscription(99)


def test_nothing_is_written_for_an_event_no_active_subscription_takes(ledger: Any) -> None:
    with ledger.transaction() as tx:
        assert not tx.has_webhook_subscribers("lease.granted")
        assert tx.enqueue_webhook_events([_event()]) == 0
        tx.add_webhook_subscription(_sub(("score.crossed",)))
        assert not tx.has_webhook_subscribers("lease.granted")
        assert tx.has_webhook_subscribers("score.crossed")
        assert tx.enqueue_webhook_events([_event()]) == 0
    with ledger.transaction() as tx:
        assert tx.webhook_deliveries(DeliveryFilter()) == []


def test_an_event_makes_one_pending_delivery_per_subscription_taking_it(ledger: Any) -> None:
    with ledger.transaction() as tx:
        every = tx.add_webhook_subscription(_sub())
        leases = tx.add_webhook_subscription(_sub(("lease.granted",)))
        tx.add_webhook_subscription(_sub(("policy.activated",)))
        written = tx.enqueue_webhook_events([_event(), _event("score.crossed", 2)])
    assert written == 3
    with ledger.transaction() as tx:
        found = tx.webhook_deliveries(DeliveryFilter())
        mine = tx.webhook_deliveries(DeliveryFilter(subscription_id=leases.id))
    assert sorted((d.subscription_id, d.event.id) for d in found) == [
        (every.id, "evt_1"),
        (every.id, "evt_2"),
        (leases.id, "evt_1"),
    ]
    assert [d.event for d in mine] == [_event()]
    assert all(d.status == PENDING and d.attempts == 0 and d.next_attempt_at == T0 for d in found)
    assert [d.id for d in found] == sorted((d.id for d in found), reverse=True)  # newest first


def test_a_stopped_subscription_takes_nothing_and_its_pending_rows_are_cancelled(
    ledger: Any,
) -> None:
    with ledger.transaction() as tx:
        sub = tx.add_webhook_subscription(_sub())
        tx.enqueue_webhook_events([_event(), _event(n=2)])
    with ledger.transaction() as tx:
        assert tx.deactivate_webhook_subscription(sub.id, T0 + timedelta(hours=1)) == 2
        assert tx.deactivate_webhook_subscription(sub.id, T0 + timedelta(hours=2)) == 0
        assert not tx.has_webhook_subscribers("lease.granted")
        assert tx.enqueue_webhook_events([_event(n=3)]) == 0
    with ledger.transaction() as tx:
        stopped = tx.webhook_subscription(sub.id)
        statuses = {d.status for d in tx.webhook_deliveries(DeliveryFilter())}
        assert tx.webhook_subscriptions(active_only=True) == []
        with pytest.raises(NotFound):
            tx.deactivate_webhook_subscription(42, T0)
    assert not stopped.active and stopped.removed_at == T0 + timedelta(hours=1)
    assert statuses == {CANCELLED}


def test_a_claim_takes_due_rows_once_until_it_lapses(ledger: Any) -> None:
    with ledger.transaction() as tx:
        tx.add_webhook_subscription(_sub())
        tx.enqueue_webhook_events([_event(n=i) for i in range(1, 4)])
        later = WebhookEvent("evt_9", "lease.granted", T0 + timedelta(hours=1), {})
        tx.enqueue_webhook_events([later])
    first = DeliveryClaim("a" * 32, T0 + timedelta(minutes=5), limit=2)
    with ledger.transaction() as tx:
        got = tx.claim_webhook_deliveries(T0, first)
        rest = tx.claim_webhook_deliveries(T0, DeliveryClaim("b" * 32, T0 + timedelta(minutes=5)))
    assert [d.event.id for d in got] == ["evt_1", "evt_2"]
    assert [d.event.id for d in rest] == ["evt_3"]  # evt_9 is not due yet
    lapse = T0 + timedelta(minutes=5)
    with ledger.transaction() as tx:
        again = tx.claim_webhook_deliveries(lapse, DeliveryClaim("c" * 32, lapse, limit=10))
    assert [d.event.id for d in again] == ["evt_1", "evt_2", "evt_3"]  # the holders died


def test_an_attempt_moves_its_delivery_only_under_the_claim_holding_it(ledger: Any) -> None:
    with ledger.transaction() as tx:
        tx.add_webhook_subscription(_sub())
        tx.enqueue_webhook_events([_event(), _event(n=2)])
    claim = DeliveryClaim("a" * 32, T0 + timedelta(minutes=5))
    with ledger.transaction() as tx:
        one, two = tx.claim_webhook_deliveries(T0, claim)
    retry = T0 + timedelta(minutes=1)
    failed = WebhookAttempt(one.id, 1, T0, 500, None, 12, retry)
    ok = WebhookAttempt(two.id, 1, T0, 204, None, 3)
    with ledger.transaction() as tx:
        assert not tx.record_webhook_attempt(failed, "z" * 32)  # not the holder
        assert tx.record_webhook_attempt(failed, claim.token)
        assert tx.record_webhook_attempt(ok, claim.token)
        assert not tx.record_webhook_attempt(ok, claim.token)  # the claim ended with it
    with ledger.transaction() as tx:
        assert tx.webhook_delivery(one.id).status == PENDING
        assert tx.webhook_delivery(one.id).next_attempt_at == retry
        assert tx.webhook_delivery(two.id).status == DELIVERED
        assert tx.webhook_attempts([one.id, two.id]) == [failed, ok]
        assert tx.claim_webhook_deliveries(T0, claim) == []  # not due before its retry
        (_due,) = tx.claim_webhook_deliveries(retry, DeliveryClaim("b" * 32, retry))
        last = WebhookAttempt(one.id, 2, retry, None, "timed out after 5 s", 5000, None)
        assert tx.record_webhook_attempt(last, "b" * 32)
    with ledger.transaction() as tx:
        gave_up = tx.webhook_delivery(one.id)
        assert tx.webhook_attempts([one.id])[-1] == last
        with pytest.raises(NotFound, match="delivery 99"):
            tx.webhook_delivery(99)
    assert (gave_up.status, gave_up.attempts, gave_up.next_attempt_at) == (FAILED, 2, None)


def test_a_replay_is_a_new_delivery_of_the_same_event(ledger: Any) -> None:
    with ledger.transaction() as tx:
        sub = tx.add_webhook_subscription(_sub(("policy.activated",)))
        at = T0 + timedelta(days=1)
        first = tx.add_webhook_delivery(sub.id, _event(), T0, None)  # a type it does not take
        again = tx.add_webhook_delivery(sub.id, first.event, at, first.id)
        with pytest.raises(NotFound):
            tx.add_webhook_delivery(7, _event(), T0, None)
    with ledger.transaction() as tx:
        recent = tx.webhook_deliveries(DeliveryFilter(since=T0 + timedelta(hours=1)))
        pending = tx.webhook_deliveries(DeliveryFilter(statuses=frozenset({PENDING}), limit=1))
        older = tx.webhook_deliveries(DeliveryFilter(before_id=again.id))
    assert again.event == first.event and again.replay_of == first.id
    assert (again.created_at, again.next_attempt_at, again.status) == (at, at, PENDING)
    assert [d.id for d in recent] == [again.id] and [d.id for d in pending] == [again.id]
    assert [d.id for d in older] == [first.id]  # the next page, newest first


def test_a_claim_for_one_delivery_takes_that_one_only(ledger: Any) -> None:
    with ledger.transaction() as tx:
        tx.add_webhook_subscription(_sub())
        tx.enqueue_webhook_events([_event(n=i) for i in range(1, 4)])
        wanted = tx.webhook_deliveries(DeliveryFilter())[0]  # the newest: evt_3
    hold = T0 + timedelta(minutes=5)
    with ledger.transaction() as tx:
        got = tx.claim_webhook_deliveries(T0, DeliveryClaim("a" * 32, hold, only=wanted.id))
        again = tx.claim_webhook_deliveries(T0, DeliveryClaim("b" * 32, hold, only=wanted.id))
    assert [d.id for d in got] == [wanted.id] and again == []


# --- notifications: mutes, a rep-scoped subscription, once-only notices ---------------------
def _notified_reps(ledger: Any) -> dict[str, int]:
    with ledger.transaction() as tx:
        tx.insert_reps([Rep("R1", "Rita", team="east"), Rep("R2", "Raj")], T0)
        return {r.external_id: r.id for r in tx.all_reps()}


def test_mutes_are_kept_per_rep_and_kind_and_unmuted(ledger: Any) -> None:
    reps = _notified_reps(ledger)
    with ledger.transaction() as tx:
        first = tx.mute_notification(reps["R1"], "lease.granted", T0, "cli")
        again = tx.mute_notification(reps["R1"], "lease.granted", T0, "cli")
        tx.mute_notification(reps["R2"], "rep.digest", T0, "cli")
    with ledger.transaction() as tx:
        assert (first, again) == (True, False)
        assert tx.muted_notifications([reps["R1"]]) == {(reps["R1"], "lease.granted")}
        assert (tx.unmute_notification(reps["R1"], "lease.granted"),) == (True,)
        assert tx.unmute_notification(reps["R1"], "lease.granted") is False
        assert tx.muted_notifications([reps["R1"], reps["R2"]]) == {(reps["R2"], "rep.digest")}
        assert tx.muted_notifications([]) == set()


def test_a_rep_scoped_slack_subscription_gets_only_that_reps_unmuted_events(
    ledger: Any,
) -> None:
    reps = _notified_reps(ledger)
    sub = WebhookSubscription("https://x.test/s", "k", (), T0, "cli", "slack", rep_id=reps["R1"])
    crm = WebhookSubscription("https://x.test/c", "k", (), T0, "cli", "json")
    with ledger.transaction() as tx:
        slack_id, crm_id = tx.add_webhook_subscription(sub).id, tx.add_webhook_subscription(crm).id
        tx.mute_notification(reps["R1"], "lease.revoked", T0, "cli")
    events = [
        WebhookEvent.new("lease.granted", T0, {"rep_id": reps["R1"]}),
        WebhookEvent.new("lease.granted", T0, {"rep_id": reps["R2"]}),
        WebhookEvent.new("lease.revoked", T0, {"rep_id": reps["R1"]}),
        WebhookEvent.new("policy.activated", T0, {"version": 2}),
    ]
    with ledger.transaction() as tx:
        written = tx.enqueue_webhook_events(events)
        rows = tx.webhook_deliveries(DeliveryFilter())
    to_slack = [d.event.type for d in rows if d.subscription_id == slack_id]
    assert written == 5 and to_slack == ["lease.granted"]
    assert len([d for d in rows if d.subscription_id == crm_id]) == 4


def test_a_sprint_end_and_a_days_digest_are_noted_once(ledger: Any) -> None:
    reps = _notified_reps(ledger)
    with ledger.transaction() as tx:
        tx.insert_accounts([Account("A1", "Acme")], T0)
        account_id = tx.all_account_ids()["A1"]
        lease = tx.grant_lease(account_id, reps["R1"], T0, T0 + timedelta(days=30), 80.0, 1, "r")
    end = T0 + timedelta(days=30)
    with ledger.transaction() as tx:
        sprint = [tx.note_sprint_ending(lease.id, end, T0) for _ in range(2)]
        later = tx.note_sprint_ending(lease.id, end + timedelta(days=14), T0)
        day = date(2027, 1, 5)
        digests = [tx.note_digest(reps["R1"], day, T0) for _ in range(2)]
        other = tx.note_digest(reps["R2"], day, T0)
    assert sprint == [True, False] and later is True
    assert digests == [True, False] and other is True
