"""What a paged list asks the ledger for: its filters, where the previous page ended, and
how many rows to return.

Every list is read with keyset pagination: rows come in the order of one unique key
(`after`/`before` is the key of the last row already shown), so a page never repeats or
skips a row because another was inserted meanwhile, and no query reads past `limit`.

    AccountQuery(tier=1, after="ACME-001", limit=51)  # tier-1 accounts after ACME-001
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class AccountQuery:
    """Accounts by external id (ascending); `tier` is the stored tier."""

    tier: int | None = None
    do_not_contact: bool | None = None
    after: str | None = None
    limit: int = 50


@dataclass(frozen=True)
class RepQuery:
    """Reps by external id (ascending); each filter equals its field, in any case."""

    manager: str | None = None
    team: str | None = None
    region: str | None = None
    after: str | None = None
    limit: int | None = 50  # None: every one


@dataclass(frozen=True)
class DecisionQuery:
    """Routing decisions, newest first (`before` is a decision id)."""

    account_id: int | None = None
    rep_id: int | None = None
    since: datetime | None = None
    before: int | None = None
    limit: int = 50


@dataclass(frozen=True)
class AuditQuery:
    """Audit entries, newest first (`before` is a sequence number)."""

    action: str | None = None
    actor: str | None = None
    since: datetime | None = None
    before: int | None = None
    limit: int = 50


@dataclass(frozen=True)
class OpportunityQuery:
    """Opportunities by external id (ascending)."""

    account: str | None = None  # the account's external id
    rep: str | None = None  # the owner's external id
    stage: str | None = None
    unattached: bool | None = None  # True: only those waiting for their account
    after: str | None = None
    limit: int | None = 50  # None: every one


@dataclass(frozen=True)
class IdPage:
    """A list ordered by its integer id, oldest first or `newest_first`; `after` is the id
    of the last row already shown (in that order)."""

    after: int | None = None
    newest_first: bool = False
    limit: int | None = 50  # None: every one
