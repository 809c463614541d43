"""Ledger port.

Radar: signals, identity links, sources, decayed account state, scores, crossings.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from dtem.domain.signals import SignalRecord


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


class RadarStore(Protocol):
    """Methods of a unit of work for this feature (see `dtem.domain.ports.LedgerTx`)."""

    # --- signal ingestion: signals, identity links, sources, unmatched -----------------
    def insert_signals(self, records: Sequence[SignalRecord]) -> set[str]:
        """Insert the records whose event id is new; return the event ids inserted."""
        ...

    def supersede_signals(self, keys: Collection[tuple[str, str, str]]) -> int:
        """For each (account key, topic, source) keep only the latest row; mark the rest."""
        ...

    def account_ids_by_domain(self, domains: Collection[str]) -> dict[str, int]:
        """Normalised domain -> account id (the lowest id when several share it)."""
        ...

    def link_identities(self, links: Mapping[str, str], at: datetime, replace: bool) -> None:
        """Link user ids to encoded account keys; `replace=False` keeps existing links."""
        ...

    def identity_links(self, user_ids: Collection[str]) -> dict[str, str]:
        """User id -> encoded account key (`id:001A`, `domain:acme.com`)."""
        ...

    def users_linked_to(self, encoded_keys: Collection[str]) -> list[str]: ...

    def unmatched_signals(
        self, key_kind: str | None = None, keys: Collection[str] | None = None, limit: int = 0
    ) -> list[SignalRecord]:
        """Unmatched signals, optionally of one key kind and keys (limit 0 = all)."""
        ...

    def attach_signals(self, account_by_event: Mapping[str, int]) -> None:
        """Give unmatched signals their account (clears the unmatched reason)."""
        ...

    def signal_stats(self) -> SignalStats: ...

    def add_signal_source(self, source: SignalSource) -> int:
        """Store a source; a taken name raises `SourceExists`."""
        ...

    def signal_source_by_hash(self, key_hash: str) -> SignalSource | None: ...
    def signal_sources(self) -> list[SignalSource]: ...
    def revoke_signal_source(self, name: str, at: datetime) -> None: ...

    # --- end of signal ingestion --------------------------------------------------------
