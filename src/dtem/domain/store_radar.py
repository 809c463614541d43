"""Records the signal ports exchange (`dtem.domain.ports.signals`): sources and stats."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class SignalSource:
    """A sender of webhook events; only the SHA-256 of its write key is stored."""

    name: str
    key_hash: str
    created_at: datetime
    revoked_at: datetime | None = None
    id: int | None = None


@dataclass(frozen=True)
class SignalStats:
    """Counts for `dtem signals stats`: by type, unknown event names, unmatched reasons."""

    total: int
    by_type: dict[str, int]
    unknown_events: dict[str, int]
    unmatched: dict[str, int]
    superseded: int
