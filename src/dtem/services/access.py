"""API tokens: created once (only a hash is kept), checked on every request."""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta
from typing import Protocol

from dtem.domain.clock import Clock
from dtem.domain.errors import ArgumentInvalid, AuthError
from dtem.domain.ports import AuditPort, LedgerOf, TokenPort, TokenRecord

ROLES = ("admin", "manager", "rep", "agent", "viewer")


class _AuditedTokens(TokenPort, AuditPort, Protocol):
    """Tokens, every change audited in the same transaction."""


def hash_secret(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def create_token(
    ledger: LedgerOf[_AuditedTokens],
    clock: Clock,
    role: str,
    name: str = "",
    ttl_days: float | None = None,
    subject: str | None = None,
    actor: str = "cli",
) -> tuple[int, str]:
    """Create a bearer token; return its id and the plaintext (shown once, never stored)."""
    if role not in ROLES:
        raise ArgumentInvalid(f"unknown role {role!r}; choose one of {', '.join(ROLES)}")
    plaintext = "dtem_" + secrets.token_urlsafe(32)
    now = clock()
    expires = now + timedelta(days=ttl_days) if ttl_days else None
    record = TokenRecord(hash_secret(plaintext), role, name, now, expires, None, subject)
    with ledger.transaction() as tx:
        token_id = tx.add_token(record)
        payload = {"token_id": token_id, "role": role, "name": name}
        tx.append_audit(actor, "token.create", payload, now)
    return token_id, plaintext


def authenticate(ledger: LedgerOf[TokenPort], clock: Clock, plaintext: str) -> TokenRecord:
    """The token's record if it is known, unexpired and not revoked; else `AuthError`."""
    with ledger.transaction() as tx:
        record = tx.token_by_hash(hash_secret(plaintext))
    if record is None:
        raise AuthError("unknown token")
    if record.revoked_at is not None:
        raise AuthError("token revoked")
    if record.expires_at is not None and record.expires_at <= clock():
        raise AuthError("token expired")
    return record


def revoke_token(
    ledger: LedgerOf[_AuditedTokens], clock: Clock, token_id: int, actor: str = "cli"
) -> None:
    with ledger.transaction() as tx:
        tx.revoke_token(token_id, clock())
        tx.append_audit(actor, "token.revoke", {"token_id": token_id}, clock())
