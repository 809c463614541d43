"""An account's story: its score over time with the signals behind it, every lease and why
it moved, every routing decision with its candidates.

Each part comes from the service the CLI uses for it: `dtem explain` (the score now and
its strongest signals), `dtem lease show` (a lease's history), `dtem route --explain`
(routing decisions), `dtem accounts show` (tier and routing); the score history is the
ledger's append-only score rows, newest last. Each list is capped (`limit`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

from dtem.domain.clock import Clock
from dtem.domain.errors import NotFound
from dtem.domain.ports import (
    DecisionLogPort,
    DirectoryPort,
    EconomicsPort,
    LeasesPort,
    LedgerOf,
    ScoresPort,
)
from dtem.domain.score_records import ScoreRecord
from dtem.domain.store_market import LeaseFilter
from dtem.services import accounts, governance, leases, routing, scoring

HISTORY = 60
LEASES = 20
DECISIONS = 20


class _StoryTx(ScoresPort, EconomicsPort, DirectoryPort, LeasesPort, DecisionLogPort, Protocol):
    """Scores and signals, economics, leases and routing decisions."""


@dataclass(frozen=True)
class AccountStory:
    view: accounts.AccountView
    explanation: scoring.Explanation
    history: list[ScoreRecord]  # oldest first
    leases: list[leases.LeaseView]  # newest first, each with its transitions
    decisions: list[dict[str, Any]]  # newest first, with candidates and exclusions
    threshold: float  # the active policy's


def account_story(ledger: Any, clock: Clock, external_id: str) -> AccountStory:
    """Everything the dashboard's account page shows. Raises `NotFound`."""
    view = accounts.show_account(ledger, clock, external_id)
    active = governance.ensure_policy(ledger, clock)
    with ledger.transaction() as tx:
        explanation = scoring.explain(tx, external_id, active, clock())
    history, found = _history_and_leases(ledger, external_id)
    decisions = routing.explain(ledger, external_id, DECISIONS).decisions
    return AccountStory(view, explanation, history, found, decisions, active.policy.threshold)


def _history_and_leases(
    ledger: LedgerOf[_StoryTx], external_id: str
) -> tuple[list[ScoreRecord], list[leases.LeaseView]]:
    with ledger.transaction() as tx:
        acc = tx.accounts_by_external_id([external_id]).get(external_id)
        if acc is None or acc.id is None:
            raise NotFound(f"account {external_id!r} does not exist")
        history = list(reversed(tx.score_history(acc.id, limit=HISTORY)))
        ids = [x.id for x in tx.find_leases(LeaseFilter(account_id=acc.id, limit=LEASES))]
    return history, [leases.show_lease(ledger, i) for i in ids]
