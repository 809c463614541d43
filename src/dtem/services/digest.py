"""The daily digest of each rep, queued through the outbox as an `email` delivery.

`queue_digests` builds one `rep.digest` event per active rep with an e-mail address —
their leases with days left, the leases they gained and lost over the day before `day`,
hand-raises on their accounts that day — and writes it to the outbox in one transaction.
The dispatcher sends it over SMTP later, retried and logged like any webhook, so a dead
SMTP server slows nothing. A rep's digest of a day is queued once (`digest_notices`),
however often the command runs. The first run makes the one `email` subscription that carries
digests (removing it stops them until the next run makes it again).

>>> # queue_digests(ledger, clock, date(2027, 1, 5), actor="worker")
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, Protocol

from dtem.domain.clock import Clock
from dtem.domain.digest_mail import DIGEST_EVENT, EMAIL_FORMAT
from dtem.domain.model import Lease, Rep
from dtem.domain.ports import (
    AuditPort,
    DirectoryPort,
    KpiFactsPort,
    LeasesPort,
    LedgerOf,
    OutboxPort,
)
from dtem.domain.store_market import LeaseFilter
from dtem.domain.webhooks import WebhookEvent, WebhookSubscription
from dtem.webhooks import new_secret

DIGEST_URL = "mailto:"  # to each rep's own address (the event's `email`)


class _DigestFacts(OutboxPort, AuditPort, DirectoryPort, LeasesPort, KpiFactsPort, Protocol):
    """Reps, their leases, hand-raises, and the outbox the digests go to."""


@dataclass(frozen=True)
class DigestRun:
    """What a run made: each digest's data (shown by `--dry-run`) and how many were queued."""

    day: date
    digests: list[dict[str, Any]]
    queued: int


def queue_digests(
    ledger: LedgerOf[_DigestFacts], clock: Clock, day: date, actor: str, dry_run: bool = False
) -> DigestRun:
    """One digest per active rep with an e-mail, covering [day - 1, day) UTC."""
    until = datetime.combine(day, time(), tzinfo=UTC)
    since = until - timedelta(days=1)
    with ledger.transaction() as tx:
        raises = tx.hand_raises(since, until)
        digests = [
            rep_digest(tx, rep, day, since, until, raises)
            for rep in tx.all_reps()
            if rep.active and rep.email and rep.id is not None
        ]
        if dry_run:
            return DigestRun(day, digests, 0)
        _ensure_email_subscription(tx, clock, actor)
        fresh = [d for d in digests if tx.note_digest(d["rep_id"], day, clock())]
        events = [WebhookEvent.new(DIGEST_EVENT, clock(), d) for d in fresh]
        queued = tx.enqueue_webhook_events(events) if events else 0
        detail = {"day": day.isoformat(), "digests": len(fresh), "queued": queued}
        tx.append_audit(actor, "notify.digest", detail, clock())
    return DigestRun(day, digests, queued)


def rep_digest(
    tx: _DigestFacts,
    rep: Rep,
    day: date,
    since: datetime,
    until: datetime,
    raises: list[tuple[int, datetime]],
) -> dict[str, Any]:
    """A rep's day: leases (days left at `until`), gained and lost in [since, until)."""
    active = tx.find_leases(LeaseFilter(rep_id=rep.id, active_only=True, limit=10_000))
    recent = tx.find_leases(LeaseFilter(rep_id=rep.id, limit=500))  # newest first
    gained = [x for x in recent if since <= x.granted_at < until]
    lost = [x for x in recent if x.ended_at is not None and since <= x.ended_at < until]
    mine = {x.account_id for x in active}
    raised = [(a, at) for a, at in raises if a in mine]
    ids = {x.account_id for x in [*active, *gained, *lost]} | {a for a, _ in raised}
    accounts = tx.accounts_by_id(ids)

    def named(account_id: int) -> dict[str, Any]:
        acc = accounts.get(account_id)
        return {"account": acc.external_id if acc else None, "name": acc.name if acc else None}

    return {
        "rep": rep.external_id,
        "rep_id": rep.id,
        "team": rep.team,
        "name": rep.name,
        "email": rep.email,
        "date": day.isoformat(),
        "leases": [{**named(x.account_id), **_left(x, until)} for x in active],
        "gained": [named(x.account_id) for x in gained],
        "lost": [{**named(x.account_id), "state": x.state.value} for x in lost],
        "hand_raises": [{**named(a), "at": at.isoformat()} for a, at in raised],
    }


def _left(lease: Lease, at: datetime) -> dict[str, Any]:
    if lease.expires_at is None:
        return {"expires_at": None, "days_left": None}
    days = math.ceil((lease.expires_at - at).total_seconds() / 86400)
    return {"expires_at": lease.expires_at.date().isoformat(), "days_left": max(days, 0)}


def _ensure_email_subscription(tx: _DigestFacts, clock: Clock, actor: str) -> None:
    if any(s.format == EMAIL_FORMAT for s in tx.webhook_subscriptions(active_only=True)):
        return
    sub = WebhookSubscription(
        DIGEST_URL, new_secret(), (DIGEST_EVENT,), clock(), actor, EMAIL_FORMAT
    )
    stored = tx.add_webhook_subscription(sub)
    detail = {"id": stored.id, "url": DIGEST_URL, "events": [DIGEST_EVENT], "format": EMAIL_FORMAT}
    tx.append_audit(actor, "webhook.subscribe", detail, clock())
