"""Signal ports: ingestion (signals, identity links, unmatched) and webhook sources.

The records they exchange live in `dtem.domain.store_radar` and `dtem.domain.signals`.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from datetime import datetime
from typing import Protocol

from dtem.domain.signals import SignalRecord
from dtem.domain.store_radar import SignalSource, SignalStats


class SignalsPort(Protocol):
    """Stored signals, the identity links that match them to accounts, and their stats."""

    def insert_signals(self, records: Sequence[SignalRecord]) -> set[str]:
        """Insert the records whose (scope, event id) is new; return the event ids inserted.

        The records of one call share one scope (ValueError otherwise).
        """
        ...

    def supersede_signals(self, keys: Collection[tuple[str, str, str]]) -> list[SignalRecord]:
        """For each (account key, topic, source) keep only the latest row; mark the rest.

        Returns the rows it marked, as they were before (scoring takes them back out).
        """
        ...

    def account_ids_by_domain(self, domains: Collection[str]) -> dict[str, int]:
        """Normalised domain -> account id (the lowest id when several share it)."""
        ...

    def account_ids_by_name(self, names: Collection[str]) -> dict[str, int]:
        """Lower-case name -> account id, for names (any case, trimmed) that exactly one
        account has (a name two accounts share names neither)."""
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

    def attach_signals(self, account_by_event: Mapping[tuple[str, str], int]) -> None:
        """Give unmatched signals, by (scope, event id), their account (clears the reason)."""
        ...

    def signal_stats(self) -> SignalStats: ...


class SignalSourcesPort(Protocol):
    """Senders of webhook events; only the SHA-256 of a write key is stored."""

    def add_signal_source(self, source: SignalSource) -> int:
        """Store a source; a taken name raises `SourceExists`."""
        ...

    def signal_source_by_hash(self, key_hash: str) -> SignalSource | None: ...
    def signal_sources(self) -> list[SignalSource]: ...
    def revoke_signal_source(self, name: str, at: datetime) -> None: ...
