"""`lease.sprint_ending`: the daily review tells a rep that a sprint ends within 3 days.

Written once per lease and sprint (the `sprint_notices` key is the lease and its sprint
end, so a review run twice, or three daily reviews inside the window, write it once; an
advance moves the end and starts a new sprint to announce), and only while an active
subscription takes the type, in the same transaction as the notice.

>>> # announce_sprints_ending(ledger, review_at)  # -> events written
"""

from __future__ import annotations

import math
from datetime import datetime, timedelta
from typing import Protocol

from dtem.domain.ports import DirectoryPort, LeasesPort, LedgerOf, OutboxPort
from dtem.services import webhook_events

SPRINT_ENDING = "lease.sprint_ending"
NOTICE = timedelta(days=3)


class _Notices(OutboxPort, DirectoryPort, LeasesPort, Protocol):
    """Active leases, who holds them, and the outbox."""


def announce_sprints_ending(ledger: LedgerOf[_Notices], at: datetime) -> int:
    """Write `lease.sprint_ending` for each active lease ending in (at, at + 3 days] not
    announced yet; returns the deliveries written."""
    with ledger.transaction() as tx:
        if not tx.has_webhook_subscribers(SPRINT_ENDING):
            return 0
        written = 0
        for lease in tx.active_leases():
            end = lease.expires_at
            if lease.id is None or end is None or not at < end <= at + NOTICE:
                continue
            if tx.note_sprint_ending(lease.id, end, at):
                days = math.ceil((end - at).total_seconds() / 86400)
                written += webhook_events.sprint_ending(tx, lease, at, days)
        return written
