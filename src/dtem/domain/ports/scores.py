"""Scoring ports: decayed account state, scores, routing triggers, segment economics.

The records they exchange live in `dtem.domain.score_records`.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from datetime import datetime
from typing import Protocol

from dtem.domain.score_records import AccountFacts, ScoreEvent, ScoreRecord, SignalColumns
from dtem.domain.scoring import Decayed
from dtem.domain.segments import Economics, WonDeal
from dtem.domain.store_training import SignalFact


class ScoresPort(Protocol):
    """What scoring reads (firmographics, signals, state) and writes (scores, triggers)."""

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

    def lock_account_states(self, account_ids: Collection[int]) -> None:
        """Hold these accounts' decayed states until commit, locked in id order.

        A writer that reads, folds and writes a state holds it; a concurrent writer of the
        same account waits and then reads the committed total. Sorted: no deadlock.
        """
        ...

    def append_scores(self, records: Sequence[ScoreRecord]) -> None: ...

    # --- routing triggers ---------------------------------------------------------------
    def append_score_events(self, events: Sequence[ScoreEvent]) -> list[ScoreEvent]:
        """Store routing triggers; returns them, in order, with their ids."""
        ...

    def score_events(self, after_id: int = 0, unconsumed: bool = False) -> list[ScoreEvent]:
        """Routing triggers with id > `after_id`, oldest first."""
        ...

    def consume_score_events(self, ids: Collection[int], at: datetime) -> None:
        """Mark triggers as handled by the Market Maker."""
        ...


class EconomicsPort(Protocol):
    """Frozen segment-economics snapshots and the won deals they are computed from."""

    def won_deals(self, won_stages: Collection[str]) -> list[WonDeal]:
        """Won opportunities with their account's segment, amount and cycle days."""
        ...

    def latest_economics(self) -> Economics | None:
        """The newest frozen segment-economics snapshot (None before the first refresh)."""
        ...

    def add_economics(self, economics: Economics) -> int:
        """Store a snapshot under the next version number; return that version."""
        ...
