"""Muting: a rep stops one kind of notification reaching their Slack and digest e-mail.

A mute is read when an event is written to the outbox: a `slack` or `email` subscription
gets no delivery of a kind the event's rep muted (company-wide `json` hooks are not
people, and get every event). Every mute and unmute is audited with its actor.

>>> # mute(ledger, clock, "R1", "lease.granted", actor="token:7:R1")
"""

from __future__ import annotations

from typing import Protocol

from dtem.domain.clock import Clock
from dtem.domain.digest_mail import DIGEST_EVENT
from dtem.domain.errors import ArgumentInvalid
from dtem.domain.ports import AuditPort, DirectoryPort, LedgerOf, OutboxPort
from dtem.domain.webhooks import EVENT_TYPES

MUTABLE_KINDS = (
    *[t for t in EVENT_TYPES if t.startswith("lease.")],
    "account.hand_raise",
    DIGEST_EVENT,
)


class _Mutes(OutboxPort, AuditPort, DirectoryPort, Protocol):
    """Mutes, the reps they belong to, the audit chain."""


def check_kind(kind: str) -> str:
    """A kind a rep may mute, else `ArgumentInvalid` naming the field.

    >>> check_kind("score.crossed")
    Traceback (most recent call last):
    ...
    dtem.domain.errors.ArgumentInvalid: kind: cannot mute 'score.crossed'; use lease.granted, \
lease.revoked, lease.expired, lease.reassigned, lease.sprint_ending, account.hand_raise, \
rep.digest
    """
    if kind not in MUTABLE_KINDS:
        raise ArgumentInvalid(f"kind: cannot mute {kind!r}; use {', '.join(MUTABLE_KINDS)}")
    return kind


def mute(ledger: LedgerOf[_Mutes], clock: Clock, rep: str, kind: str, actor: str) -> list[str]:
    """Mute `kind` for `rep` (external id); returns the rep's muted kinds. Muting a muted
    kind changes nothing."""
    check_kind(kind)
    with ledger.transaction() as tx:
        rep_id = _rep_id(tx, rep)
        if tx.mute_notification(rep_id, kind, clock(), actor):
            tx.append_audit(actor, "notify.mute", {"rep": rep, "kind": kind}, clock())
        return _kinds(tx, rep_id)


def unmute(ledger: LedgerOf[_Mutes], clock: Clock, rep: str, kind: str, actor: str) -> list[str]:
    """Let `kind` reach `rep` again; returns the rep's muted kinds."""
    check_kind(kind)
    with ledger.transaction() as tx:
        rep_id = _rep_id(tx, rep)
        if tx.unmute_notification(rep_id, kind):
            tx.append_audit(actor, "notify.unmute", {"rep": rep, "kind": kind}, clock())
        return _kinds(tx, rep_id)


def muted_kinds(ledger: LedgerOf[_Mutes], rep: str) -> list[str]:
    with ledger.transaction() as tx:
        return _kinds(tx, _rep_id(tx, rep))


def _kinds(tx: OutboxPort, rep_id: int) -> list[str]:
    return sorted(kind for _, kind in tx.muted_notifications([rep_id]))


def _rep_id(tx: DirectoryPort, rep: str) -> int:
    found = tx.reps_by_external_id([rep]).get(rep)
    if found is None or found.id is None:
        raise ArgumentInvalid(f"rep: no rep {rep!r}")
    return found.id
