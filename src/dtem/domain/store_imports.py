"""Ledger port.

Imports: opportunities, stage history, activities, import batches, record changes,
account attributes (source fields without a column of their own, such as a lead's origin).

Bulk methods take and return whole collections so an import of a million rows makes a
handful of statements, not a million.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from dtem.domain.model import Account, Activity, Opportunity


@dataclass(frozen=True)
class ImportBatch:
    """One committed import: what, from which file (and its SHA-256), by whom, counts."""

    id: int
    kind: str
    file: str
    sha256: str
    at: datetime
    actor: str
    counts: dict[str, int]


@dataclass(frozen=True)
class RecordChange:
    """What one import changed in one record: field -> [old, new]."""

    entity: str
    external_id: str
    changes: dict[str, list[Any]]


@dataclass(frozen=True)
class StageEntry:
    """One line of an opportunity's stage history."""

    opportunity_external_id: str
    stage: str
    changed_at: datetime
    source: str


class ImportsStore(Protocol):
    """Methods of a unit of work for this feature (see `dtem.domain.ports.LedgerTx`)."""

    # batches and changes ----------------------------------------------------------------
    def add_import_batch(
        self, kind: str, file: str, sha256: str, at: datetime, actor: str, counts: dict[str, int]
    ) -> int: ...
    def import_batches(self) -> list[ImportBatch]: ...
    def add_record_changes(self, batch_id: int, changes: Sequence[RecordChange]) -> None: ...
    def record_changes(self, batch_id: int | None = None) -> list[RecordChange]: ...

    # accounts in bulk -------------------------------------------------------------------
    def all_accounts(self) -> dict[str, Account]: ...
    def bulk_insert_accounts(self, accounts: Sequence[Account], at: datetime) -> None: ...
    def account_attributes(self, external_ids: Collection[str]) -> dict[str, dict[str, str]]: ...
    def all_account_attributes(self, name: str) -> dict[str, str]: ...
    def set_account_attributes(self, values: dict[str, dict[str, str | None]]) -> None: ...

    # opportunities ----------------------------------------------------------------------
    def opportunities_by_external_id(
        self, external_ids: Collection[str]
    ) -> dict[str, Opportunity]: ...
    def all_opportunities(self) -> list[Opportunity]: ...
    def insert_opportunities(self, opportunities: Sequence[Opportunity], at: datetime) -> None: ...
    def update_opportunities(self, opportunities: Sequence[Opportunity], at: datetime) -> None: ...
    def append_stage_history(self, entries: Sequence[StageEntry]) -> None: ...
    def stage_history(self, opportunity_external_id: str) -> list[StageEntry]: ...

    # activities -------------------------------------------------------------------------
    def existing_activity_ids(self, external_ids: Collection[str]) -> set[str]: ...
    def insert_activities(self, activities: Sequence[Activity]) -> None: ...
