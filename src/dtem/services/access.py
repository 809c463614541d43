"""API tokens: created once (only a hash is kept), checked on every request."""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta
from typing import Protocol

from dtem.domain.clock import Clock
from dtem.domain.errors import ArgumentInvalid, AuthError, NotFound
from dtem.domain.listings import IdPage
from dtem.domain.ports import (
    AuditPort,
    DirectoryPort,
    LedgerOf,
    ListingsPort,
    TokenPort,
    TokenRecord,
)

ROLES = ("admin", "manager", "rep", "agent", "viewer")

# A token used again within this long keeps its recorded last use: no write per request.
LAST_USE_RESOLUTION = timedelta(minutes=1)


class _AuditedTokens(TokenPort, AuditPort, Protocol):
    """Tokens, every change audited in the same transaction."""


class _TokenIssuer(_AuditedTokens, DirectoryPort, Protocol):
    """Tokens and the reps a rep token may name."""


def hash_secret(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def create_token(
    ledger: LedgerOf[_TokenIssuer],
    clock: Clock,
    role: str,
    name: str = "",
    ttl_days: float | None = None,
    subject: str | None = None,
    actor: str = "cli",
) -> tuple[int, str]:
    """Create a bearer token; return its id and the plaintext (shown once, never stored).

    A `rep` token names an existing rep (`subject` = its external id), an `agent` token
    the agent's name; `ttl_days`, when given, is positive.
    Example: `create_token(ledger, clock, "rep", "rita", 90, subject="R-001")`.
    """
    if role not in ROLES:
        raise ArgumentInvalid(f"unknown role {role!r}; choose one of {', '.join(ROLES)}")
    if ttl_days is not None and not ttl_days > 0:
        raise ArgumentInvalid(
            f"--ttl-days must be a positive number of days, not {ttl_days:g};"
            " leave it out for a token that does not expire"
        )
    subject = subject.strip() if subject is not None else None
    if role in ("rep", "agent") and not subject:
        what = "the rep's external id" if role == "rep" else "the agent's name"
        raise ArgumentInvalid(f"a {role} token needs --subject ({what})")
    plaintext = "dtem_" + secrets.token_urlsafe(32)
    now = clock()
    expires = now + timedelta(days=ttl_days) if ttl_days is not None else None
    record = TokenRecord(hash_secret(plaintext), role, name, now, expires, None, subject or None)
    with ledger.transaction() as tx:
        if role == "rep" and subject not in tx.reps_by_external_id([subject or ""]):
            raise NotFound(f"--subject: rep {subject!r} does not exist")
        token_id = tx.add_token(record)
        payload = {"token_id": token_id, "role": role, "name": name, "subject": subject}
        tx.append_audit(actor, "token.create", payload, now)
    return token_id, plaintext


def list_tokens(
    ledger: LedgerOf[ListingsPort], after: int | None = None, limit: int | None = None
) -> list[TokenRecord]:
    """Tokens by id (after `after`; `limit` None: every one); only hashes are stored."""
    with ledger.transaction() as tx:
        return tx.token_page(IdPage(after=after, limit=limit))


def authenticate(ledger: LedgerOf[TokenPort], clock: Clock, plaintext: str) -> TokenRecord:
    """The token's record if it is known, unexpired and not revoked; else `AuthError`.

    Its last use is recorded, at most once per `LAST_USE_RESOLUTION`.
    """
    with ledger.transaction() as tx:
        record = tx.token_by_hash(hash_secret(plaintext))
    if record is None:
        raise AuthError("unknown token")
    if record.revoked_at is not None:
        raise AuthError("token revoked")
    now = clock()
    if record.expires_at is not None and record.expires_at <= now:
        raise AuthError("token expired")
    not_since = now - LAST_USE_RESOLUTION
    if record.id is not None and (record.last_used_at is None or record.last_used_at < not_since):
        with ledger.transaction() as tx:
            tx.mark_token_used(record.id, now, not_since)
    return record


def revoke_token(
    ledger: LedgerOf[_AuditedTokens], clock: Clock, token_id: int, actor: str = "cli"
) -> datetime:
    """Revoke a token now; return when it was revoked.

    A token already revoked keeps its first revocation time (history is not rewritten)
    and nothing is audited again. Example: `revoke_token(ledger, clock, 3, "ops")`.
    """
    with ledger.transaction() as tx:
        found = next((t for t in tx.tokens() if t.id == token_id), None)
        if found is None:
            raise NotFound(f"token {token_id} does not exist")
        if found.revoked_at is not None:
            return found.revoked_at
        now = clock()
        tx.revoke_token(token_id, now)
        tx.append_audit(actor, "token.revoke", {"token_id": token_id}, now)
        return now
