"""The notification parts of the outbox port, on memory, SQLite and PostgreSQL: mutes, a
rep-scoped subscription, and the once-only notices (a sprint's end, a day's digest)."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from dtem.domain.model import Account, Rep
from dtem.domain.webhooks import DeliveryFilter, WebhookEvent, WebhookSubscription
from tests.conftest import T0


def _reps(ledger: Any) -> dict[str, int]:
    with ledger.transaction() as tx:
        tx.insert_reps([Rep("R1", "Rita", team="east"), Rep("R2", "Raj")], T0)
        return {r.external_id: r.id for r in tx.all_reps()}


def test_mutes_are_kept_per_rep_and_kind_and_unmuted(ledger: Any) -> None:
    reps = _reps(ledger)
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
    reps = _reps(ledger)
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
    reps = _reps(ledger)
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
