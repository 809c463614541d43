"""Ledger port.

Imports: opportunities, stage history, activities, import batches, record changes,
account attributes (source fields without a column of their own, such as a lead's origin).

Bulk methods take and return whole collections so an import of a million rows makes a
handful of statements, not a million.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from dtem.domain.model import Account, Activity, Opportunity, Tier

# the order of an account's values in an `AccountSnapshot` row (Account's own field order)
SNAPSHOT_FIELDS = (
    "external_id",
    "name",
    "domain",
    "industry",
    "employees",
    "annual_revenue",
    "country",
    "region",
    "tier",
    "do_not_contact",
    "static_owner",
    "potential_value",
    "id",
)
_INDEX = {name: i for i, name in enumerate(SNAPSHOT_FIELDS)}


def _getter(indices: list[int]) -> Callable[[tuple[Any, ...]], tuple[Any, ...]]:
    """The values at `indices` of a row, always as a tuple (itemgetter of one is not)."""
    if len(indices) == 1:
        i = indices[0]
        return lambda row: (row[i],)
    return operator.itemgetter(*indices)


class AccountSnapshot(Mapping[str, Account]):
    """Every stored account as a plain row, keyed by external id; Accounts built on demand.

    An import compares a million rows with `same` and builds `Account`s only for the
    few that changed.

    >>> snap = AccountSnapshot({"A1": ("A1", "Acme", None, None, None, None, None, None,
    ...     2, False, None, None, 7)})
    >>> snap.same("A1", {"name": "Acme", "tier": 2}), snap["A1"].id
    (True, 7)
    """

    def __init__(self, rows: dict[str, tuple[Any, ...]]) -> None:
        self.rows = rows
        self._getters: dict[tuple[str, ...], Callable[[tuple[Any, ...]], tuple[Any, ...]]] = {}

    def same(self, key: str, values: Mapping[str, Any]) -> bool:
        """Whether the stored account `key` already has all these field values."""
        names = tuple(values)
        getter = self._getters.get(names)
        if getter is None:  # one per field set: a file's rows nearly all share one
            getter = self._getters[names] = _getter([_INDEX[n] for n in names])
        return getter(self.rows[key]) == tuple(values.values())

    def __getitem__(self, key: str) -> Account:
        values = dict(zip(SNAPSHOT_FIELDS, self.rows[key], strict=True))
        values["tier"], values["do_not_contact"] = (
            Tier(values["tier"]),
            bool(values["do_not_contact"]),
        )
        return Account(**values)

    def get(self, key: str, default: Any = None) -> Any:  # no KeyError per new account
        return self[key] if key in self.rows else default

    def __contains__(self, key: object) -> bool:
        return key in self.rows

    def __iter__(self) -> Iterator[str]:
        return iter(self.rows)

    def __len__(self) -> int:
        return len(self.rows)


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
    def account_snapshot(self) -> AccountSnapshot:
        """Every account as a row (one query), for comparing a whole file cheaply."""
        ...

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
