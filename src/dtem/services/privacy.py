"""Erasure on request (GDPR Art. 17): a person's signals and identity links, gone.

One transaction: the signals that name the person (see `dtem.domain.privacy`) and their
identity links are deleted; the decayed state of every account those signals had moved
is rebuilt from the signals that remain (not by subtraction, which would leave rounding
residue), the accounts are re-scored, and one audit entry records the request by a
random request id, the kind of key and the counts — never the email or the user id.
Erasing again finds nothing and reports zeros.

Erasing by email also erases the user ids that the erased signals carried (a tracked
user whose events named that address is the same person), with their identity links.

Example:

    report = erase_person(ledger, Person.of(email="ana@acme.com", user_id=None), clock, "admin")
    report.signals, report.request_id  # (3, 'er_5f0c…')
"""

from __future__ import annotations

import uuid
from collections.abc import Collection
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

from dtem.domain.clock import Clock
from dtem.domain.policy import Policy
from dtem.domain.ports import (
    AuditPort,
    EconomicsPort,
    LedgerOf,
    OutboxPort,
    PolicyPort,
    PrivacyPort,
    ScoresPort,
)
from dtem.domain.privacy import USER_FIELDS, Person
from dtem.domain.rescoring import absorb_all
from dtem.domain.scoring import Decayed, decay_rate, epoch_seconds
from dtem.domain.signals import SignalRecord
from dtem.services.governance import active_policy
from dtem.services.scoring import rescore

_EVERY_SIGNAL = datetime(9999, 12, 31, tzinfo=UTC)  # `account_signals` up to the end of time


class _ErasureTx(
    PrivacyPort, ScoresPort, EconomicsPort, PolicyPort, AuditPort, OutboxPort, Protocol
):
    """Find and delete, rebuild states, re-score, audit: one transaction."""


@dataclass(frozen=True)
class ErasureReport:
    """What an erasure removed and re-scored; no personal data (it is printed and logged)."""

    request_id: str
    subject: str  # email | user_id: the kind of key the request named
    signals: int
    identity_links: int
    accounts_rescored: int

    def as_dict(self) -> dict[str, Any]:
        return {
            "request_id": self.request_id,
            "subject": self.subject,
            "signals": self.signals,
            "identity_links": self.identity_links,
            "accounts_rescored": self.accounts_rescored,
        }


def erase_person(
    ledger: LedgerOf[_ErasureTx],
    person: Person,
    clock: Clock,
    actor: str,
    request_id: str | None = None,
) -> ErasureReport:
    """Erase what names `person`, re-score what it moved, audit it (all or nothing)."""
    request_id = request_id or f"er_{uuid.uuid4().hex}"
    with ledger.transaction() as tx:
        now = clock()
        active = active_policy(tx)
        signals, user_ids = _signals_of(tx, person)
        accounts = {s.account_id for s in signals if s.account_id is not None}
        tx.lock_account_states(accounts)
        erased = tx.erase_signals({(s.scope, s.event_id) for s in signals})
        links = tx.erase_identity_links(user_ids)
        states = {acc: rebuilt_state(tx, acc, active.policy) for acc in sorted(accounts)}
        tx.replace_account_states(states)
        if states:
            rescore(tx, states, active, now)
        report = ErasureReport(request_id, person.kind, erased, links, len(states))
        tx.append_audit(actor, "privacy.erase", report.as_dict(), now)
    return report


def _signals_of(tx: PrivacyPort, person: Person) -> tuple[list[SignalRecord], set[str]]:
    """The person's signals and user ids (by email: also the user ids its signals carry)."""
    user_ids = {person.user_id} if person.user_id is not None else set()
    found = {(s.scope, s.event_id): s for s in tx.signals_naming(person.email, user_ids)}
    if person.email is not None:
        carried = _user_ids_in(found.values()) - user_ids
        if carried:
            user_ids |= carried
            found |= {(s.scope, s.event_id): s for s in tx.signals_naming(None, carried)}
    return [found[k] for k in sorted(found)], user_ids


def _user_ids_in(signals: Collection[SignalRecord]) -> set[str]:
    ids = {s.account_key for s in signals if s.key_kind == "user_id"}
    for s in signals:
        ids |= {v for k, v in s.attributes.items() if k in USER_FIELDS and isinstance(v, str)}
    return {i for i in ids if i}


def rebuilt_state(tx: ScoresPort, account_id: int, policy: Policy) -> dict[str, Decayed]:
    """An account's decayed state folded afresh from its stored, live signals, oldest first."""
    types = policy.signal_types
    rates = {t: decay_rate(st.half_life_days) for t, st in types.items()}
    state: dict[str, Decayed] = {}
    absorb_all(
        state,
        (
            (f.type, f.value, epoch_seconds(f.occurred_at), rates[f.type])
            for f in tx.account_signals(account_id, _EVERY_SIGNAL)
            if f.type in types
        ),
    )
    return state
