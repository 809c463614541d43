"""In-memory `IdempotencyPort` for the fake ledger (same contract as the SQL one)."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from typing import Any

from dtem.domain.ports.idempotency import IdempotentRequest


class IdempotencyMemory:
    """Mixed into `MemoryTx`; claims live in `extra["idempotency_keys"]`."""

    s: Any

    def _idempotency_claims(self) -> list[IdempotentRequest]:
        claims: list[IdempotentRequest] = self.s.extra.setdefault("idempotency_keys", [])
        return claims

    def _idempotency_find(self, principal: str, key: str) -> int | None:
        for i, claim in enumerate(self._idempotency_claims()):
            if (claim.principal, claim.key) == (principal, key):
                return i
        return None

    def claim_idempotency_key(
        self, request: IdempotentRequest, expired_before: datetime
    ) -> IdempotentRequest | None:
        i = self._idempotency_find(request.principal, request.key)
        if i is not None and self._idempotency_claims()[i].created_at >= expired_before:
            return self._idempotency_claims()[i]
        if i is not None:
            del self._idempotency_claims()[i]
        self._idempotency_claims().append(request)
        return None

    def finish_idempotency_key(
        self, principal: str, key: str, status: int, content_type: str | None, body: bytes
    ) -> None:
        i = self._idempotency_find(principal, key)
        if i is not None:
            claims = self._idempotency_claims()
            claims[i] = replace(claims[i], status=status, content_type=content_type, body=body)

    def forget_idempotency_key(self, principal: str, key: str) -> None:
        i = self._idempotency_find(principal, key)
        if i is not None:
            del self._idempotency_claims()[i]
