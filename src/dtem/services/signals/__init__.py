"""Signal ingestion: the webhook, the broker worker and file imports share this service.

The entry points are `receive_calls` (parsed messages, one unit of work),
`receive_deliveries` (many deliveries in one unit of work: group commit),
`attach_unmatched` (for account imports and identity links) and the source functions.
What runs after signals are stored is the `SignalPipeline` bootstrap builds.
"""

from __future__ import annotations

from collections.abc import Sequence

from dtem.domain.clock import Clock
from dtem.domain.ports import LedgerOf
from dtem.services.retries import retry_conflicts
from dtem.services.signals.group import (
    Delivery,
    GroupTx,
    Outcome,
    group_unit_of_work,
    receive_deliveries,
)
from dtem.services.signals.ingest import (
    IngestResult,
    OnCommitted,
    attach_unmatched,
    ingest,
)
from dtem.services.signals.pipeline import SignalPipeline
from dtem.services.signals.receive import Message, Received, receive

__all__ = [
    "Delivery",
    "IngestResult",
    "Message",
    "OnCommitted",
    "Outcome",
    "Received",
    "SignalPipeline",
    "attach_unmatched",
    "ingest",
    "receive",
    "receive_calls",
    "receive_deliveries",
]


def receive_calls(
    ledger: LedgerOf[GroupTx],
    clock: Clock,
    messages: Sequence[Message],
    pipeline: SignalPipeline,
    *,
    write_key: str | None = None,
    via: str = "api",
) -> Received:
    """Store a delivery and run `pipeline` on it in one unit of work, committed on return.

    With `write_key`, the sender must hold an active source's key (`AuthError`); the
    source's name is recorded as the channel, and its message ids are deduplicated
    within that source only (as Segment does). Otherwise (NATS) within the pipeline.
    A unit of work that collided with a concurrent writer (`WriteConflict`) runs again,
    a bounded number of times. (`receive_deliveries` does the same for many at once.)
    """
    delivery = [Delivery(messages, write_key, via)]
    outcome = retry_conflicts(lambda: group_unit_of_work(ledger, clock, delivery, pipeline))[0]
    if isinstance(outcome, Exception):
        raise outcome
    return outcome
