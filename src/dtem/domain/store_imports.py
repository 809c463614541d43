"""Records the import ports exchange (`dtem.domain.ports.imports`): account snapshots,
import batches, record changes, stage history lines.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from dtem.domain.model import Account, Tier

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
