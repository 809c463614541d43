"""Ledger port.

Radar: signals, identity links, sources, decayed account state, scores, crossings.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from dtem.domain.score_records import (
    AccountFacts,
    ScoreEvent,
    ScoreRecord,
    SignalColumns,
)
from dtem.domain.scoring import Decayed
from dtem.domain.segments import Economics, WonDeal
from dtem.domain.signals import SignalRecord
from dtem.domain.store_training import SignalFact


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

    def supersede_signals(self, keys: Collection[tuple[str, str, str]]) -> list[SignalRecord]:
        """For each (account key, topic, source) keep only the latest row; mark the rest.

        Returns the rows it marked, as they were before (scoring takes them back out).
        """
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

    # --- scoring: decayed state, scores, routing triggers, segment economics -----------
    # (implemented in sql_scores.py / memory_scores.py)
    def scoring_accounts(self, ids: Collection[int] | None = None) -> list[AccountFacts]:
        """Firmographics of the given accounts (all accounts when `ids` is None)."""
        ...

    def account_states(self, account_ids: Collection[int]) -> dict[int, dict[str, Decayed]]:
        """Decayed intensity per (account, signal type); accounts without state are absent."""
        ...

    def save_account_states(self, states: Mapping[int, Mapping[str, Decayed]]) -> None:
        """Insert or replace the given (account, type) states."""
        ...

    def account_signals(self, account_id: int, until: datetime) -> list[SignalFact]:
        """One account's matched, non-superseded signals at or before `until`."""
        ...

    def signal_columns(self, until: datetime) -> SignalColumns:
        """Every matched, non-superseded signal at or before `until`, as columns."""
        ...

    def latest_scores(self, account_ids: Collection[int] | None = None) -> dict[int, ScoreRecord]:
        """The newest score row of each account (of all scored accounts when None)."""
        ...

    def score_history(self, account_id: int, limit: int = 20) -> list[ScoreRecord]:
        """An account's score rows, newest first."""
        ...

    def append_scores(self, records: Sequence[ScoreRecord]) -> None: ...
    def append_score_events(self, events: Sequence[ScoreEvent]) -> None: ...

    def score_events(self, after_id: int = 0, unconsumed: bool = False) -> list[ScoreEvent]:
        """Routing triggers with id > `after_id`, oldest first."""
        ...

    def consume_score_events(self, ids: Collection[int], at: datetime) -> None:
        """Mark triggers as handled by the Market Maker."""
        ...

    def won_deals(self, won_stages: Collection[str]) -> list[WonDeal]:
        """Won opportunities with their account's segment, amount and cycle days."""
        ...

    def latest_economics(self) -> Economics | None:
        """The newest frozen segment-economics snapshot (None before the first refresh)."""
        ...

    def add_economics(self, economics: Economics) -> int:
        """Store a snapshot under the next version number; return that version."""
        ...

    # --- end of scoring -----------------------------------------------------------------
