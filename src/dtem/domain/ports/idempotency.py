"""Idempotency port: the first answer to a request sent with an `Idempotency-Key`.

A key is claimed before the request runs (so a second request with the same key, while
the first runs, finds it claimed), then finished with the answer, or forgotten when the
request failed in a way a retry may fix.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol


@dataclass(frozen=True)
class IdempotentRequest:
    """A claimed key: who sent it, the request's fingerprint and, once finished, the answer.

    `status` is None while the first request is still running.
    """

    principal: str
    key: str
    fingerprint: str
    created_at: datetime
    status: int | None = None
    content_type: str | None = None
    body: bytes = b""


class IdempotencyPort(Protocol):
    def claim_idempotency_key(
        self, request: IdempotentRequest, expired_before: datetime
    ) -> IdempotentRequest | None:
        """Claim `request`'s key: None when this call claimed it, else the live claim
        already there (one created before `expired_before` is replaced)."""
        ...

    def finish_idempotency_key(
        self, principal: str, key: str, status: int, content_type: str | None, body: bytes
    ) -> None:
        """Record the answer of the request that claimed the key."""
        ...

    def forget_idempotency_key(self, principal: str, key: str) -> None:
        """Drop a claim (its request failed; a retry runs again)."""
        ...
