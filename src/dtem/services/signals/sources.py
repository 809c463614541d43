"""Signal sources: write keys for the webhook, created once and stored only as a hash.

Example::

    source_id, write_key = create_source(ledger, clock, "website")
    # Segment/RudderStack: write key = `write_key`, host = https://dtem.example.com
"""

from __future__ import annotations

import secrets
from typing import Protocol

from dtem.domain.clock import Clock
from dtem.domain.errors import ArgumentInvalid, AuthError, NotFound
from dtem.domain.listings import IdPage
from dtem.domain.ports import AuditPort, LedgerOf, ListingsPort, SignalSourcesPort
from dtem.domain.store_radar import SignalSource
from dtem.services.access import hash_secret

KEY_PREFIX = "dtem_wk_"


class _AuditedSources(SignalSourcesPort, AuditPort, Protocol):
    """Signal sources, every change audited in the same transaction."""


def create_source(
    ledger: LedgerOf[_AuditedSources], clock: Clock, name: str, actor: str = "cli"
) -> tuple[int, str]:
    """Create a source; return its id and its write key (shown once, never stored)."""
    name = name.strip()
    if not name or len(name) > 128:
        raise ArgumentInvalid("a source name needs 1 to 128 characters")
    write_key = KEY_PREFIX + secrets.token_urlsafe(24)
    now = clock()
    with ledger.transaction() as tx:
        source_id = tx.add_signal_source(SignalSource(name, hash_secret(write_key), now))
        tx.append_audit(actor, "source.create", {"source_id": source_id, "name": name}, now)
    return source_id, write_key


def list_sources(
    ledger: LedgerOf[ListingsPort], after: int | None = None, limit: int | None = None
) -> list[SignalSource]:
    """Sources by id (after `after`; `limit` None: every one), never their keys."""
    with ledger.transaction() as tx:
        return tx.source_page(IdPage(after=after, limit=limit))


def source_named(ledger: LedgerOf[SignalSourcesPort], name: str) -> SignalSource:
    """The source called `name` (revoked or not); `NotFound` without it."""
    with ledger.transaction() as tx:
        found = next((s for s in tx.signal_sources() if s.name == name), None)
    if found is None:
        raise NotFound(f"no signal source named {name!r}")
    return found


def revoke_source(
    ledger: LedgerOf[_AuditedSources], clock: Clock, name: str, actor: str = "cli"
) -> None:
    """Stop accepting a source's write key (audited). Raises `NotFound`."""
    with ledger.transaction() as tx:
        tx.revoke_signal_source(name, clock())
        tx.append_audit(actor, "source.revoke", {"name": name}, clock())


def authenticate_source(tx: SignalSourcesPort, write_key: str) -> SignalSource:
    """The active source holding this write key; `AuthError` otherwise."""
    source = tx.signal_source_by_hash(hash_secret(write_key)) if write_key else None
    if source is None:
        raise AuthError("unknown write key")
    if source.revoked_at is not None:
        raise AuthError("write key revoked")
    return source
