"""Group commit: many deliveries stored, scored and routed in one unit of work.

Deliveries that arrive while the ledger is busy wait; the next unit of work takes them
all (`receive_deliveries`). It reads the active policy once, authenticates each
delivery's write key (once per key in the group), stores each delivery in turn — so a
message id resent in a later delivery of the same source is its duplicate, and a
`group` call links users for the deliveries after it, exactly as one after the other —
then scores every account the group moved once and routes, and commits once. Each
delivery gets its own outcome: its `Received` (accepted, duplicates in its own scope,
messages refused on their own) or the error that refused it alone (`AuthError`).

A group that fails as a whole (a `WriteConflict` after the retries, a value the database
cannot hold) is run again delivery by delivery, each in its own unit of work, so one
poison delivery fails only itself.

Example::

    outcomes = receive_deliveries(ledger, clock, [Delivery(calls, write_key=key)], pipeline)
    received = outcomes[0]  # a Received, or the exception that refused this delivery
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

from dtem.domain.clock import Clock
from dtem.domain.errors import AuthError
from dtem.domain.policy import Policy
from dtem.domain.ports import LedgerOf, SignalSourcesPort
from dtem.domain.signals import PIPELINE_SCOPE, SignalRecord, source_scope
from dtem.services.retries import retry_conflicts
from dtem.services.signals.ingest import Committed, IngestTx, KnownAccounts, StagesTx
from dtem.services.signals.pipeline import SignalPipeline
from dtem.services.signals.receive import Drafted, Message, Received, draft_all, receive
from dtem.services.signals.sources import authenticate_source

log = logging.getLogger("dtem.signals.group")

Outcome = Received | Exception


class GroupTx(IngestTx, SignalSourcesPort, Protocol):
    """A group: the senders' sources, then ingest and the pipeline's stages."""


@dataclass(frozen=True)
class Delivery:
    """One request's messages and who sent them (a write key, or a channel such as NATS)."""

    messages: Sequence[Message]
    write_key: str | None = None
    via: str = "api"

    @property
    def size(self) -> int:
        return len(self.messages)


@dataclass
class _Moved:
    """What the deliveries of a group stored and superseded, scored once at the end."""

    stored: list[SignalRecord] = field(default_factory=list)
    superseded: list[SignalRecord] = field(default_factory=list)

    def __call__(self, _tx: StagesTx, batch: Committed) -> None:
        self.stored.extend(batch.stored)
        self.superseded.extend(batch.superseded)


def receive_deliveries(
    ledger: LedgerOf[GroupTx],
    clock: Clock,
    deliveries: Sequence[Delivery],
    pipeline: SignalPipeline,
) -> list[Outcome]:
    """Store, score and route `deliveries` in one unit of work; one outcome each, in order.

    Committed on return. An outcome is the delivery's `Received` or the exception that
    refused it (an unknown or revoked write key). A group that fails as a whole runs
    again delivery by delivery (see the module's docstring).
    """
    try:
        return retry_conflicts(lambda: group_unit_of_work(ledger, clock, deliveries, pipeline))
    except Exception as exc:  # each delivery alone then meets its own error
        if len(deliveries) == 1:
            return [exc]
        log.warning("a group of %d deliveries failed (%s): one by one", len(deliveries), exc)
        return [_alone(ledger, clock, d, pipeline) for d in deliveries]


def group_unit_of_work(
    ledger: LedgerOf[GroupTx],
    clock: Clock,
    deliveries: Sequence[Delivery],
    pipeline: SignalPipeline,
) -> list[Outcome]:
    """One try at the group: one transaction, one outcome per delivery (no retry)."""
    with ledger.transaction() as tx:
        now = clock()
        active = pipeline.active(tx)
        prepared = _prepared(tx, deliveries, active.policy, now)
        moved, known = _Moved(), KnownAccounts()
        drafts = (x for p in prepared if not isinstance(p, AuthError) for x in p.drafted.drafts)
        known.prefetch(tx, drafts, active.policy)  # the group's accounts, in one query
        outcomes: list[Outcome] = []
        for p in prepared:
            if isinstance(p, AuthError):
                outcomes.append(p)
                continue
            got = receive(
                tx, p.delivery.messages, active.policy, now, p.channel, moved,
                scope=p.scope, drafted=p.drafted, known=known,
            )  # fmt: skip
            outcomes.append(got)
        if moved.stored or moved.superseded:
            pipeline.after_ingest(active)(tx, Committed(moved.stored, moved.superseded, now))
        return outcomes


@dataclass(frozen=True)
class _Prepared:
    delivery: Delivery
    channel: str
    scope: str
    drafted: Drafted


def _prepared(
    tx: SignalSourcesPort, deliveries: Sequence[Delivery], policy: Policy, now: datetime
) -> list[_Prepared | AuthError]:
    """Each delivery authenticated and drafted, before any of them writes: a refused one
    has nothing to undo."""
    channels = _Channels(tx)
    out: list[_Prepared | AuthError] = []
    for d in deliveries:
        try:
            channel, scope = channels.of(d)
        except AuthError as exc:
            out.append(exc)
            continue
        out.append(_Prepared(d, channel, scope, draft_all(d.messages, policy, now, channel)))
    return out


class _Channels:
    """Each delivery's channel and dedupe scope; a write key is looked up once a group,
    inside its transaction, so a key revoked before the group began is refused."""

    def __init__(self, tx: SignalSourcesPort) -> None:
        self.tx = tx
        self.by_key: dict[str, tuple[str, str] | AuthError] = {}

    def of(self, d: Delivery) -> tuple[str, str]:
        if d.write_key is None:
            return d.via, PIPELINE_SCOPE
        found = self.by_key.get(d.write_key)
        if found is None:
            try:
                name = authenticate_source(self.tx, d.write_key).name
                found = (name, source_scope(name))
            except AuthError as exc:
                found = exc
            self.by_key[d.write_key] = found
        if isinstance(found, AuthError):
            raise AuthError(str(found))
        return found


def _alone(
    ledger: LedgerOf[GroupTx], clock: Clock, d: Delivery, pipeline: SignalPipeline
) -> Outcome:
    try:
        return retry_conflicts(lambda: group_unit_of_work(ledger, clock, [d], pipeline))[0]
    except Exception as exc:  # the outcome of this delivery only
        return exc
