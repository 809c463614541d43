"""Plans: what an import would insert, update (field by field) or leave unchanged.

A plan is computed inside the import's transaction from the ledger's current state and
the file's clean records; writing it is a separate step, so `--dry-run` is simply "plan,
do not write". Updates touch only the fields the mapping sets: a file without an
Industry column never wipes an account's industry.

>>> from dtem.domain.model import Account
>>> p = plan_upsert("accounts", [(2, {"external_id": "A1", "name": "Acme Ltd"})],
...     {"A1": Account("A1", "Acme")}, Account)
>>> p.updates[0].name, p.changes[0].changes
('Acme Ltd', {'name': ['Acme', 'Acme Ltd']})
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from enum import Enum
from typing import Any

from dtem.domain.errors import RowError
from dtem.domain.model import Account, Rep, Tier
from dtem.domain.store_imports import AccountSnapshot, RecordChange, StageEntry
from dtem.services.imports.validate import ATTR, Record

# a mapped but empty value for these means "not given": keep the stored value (or default)
NOT_NULL: dict[str, frozenset[str]] = {
    "accounts": frozenset({"tier", "do_not_contact"}),
    "reps": frozenset({"capacity", "hourly_cost", "active", "segments", "languages"}),
}


@dataclass(frozen=True)
class StageChange:
    """An opportunity whose stage an import set or changed (old is None for a new one)."""

    opportunity_external_id: str
    account_id: int
    old_stage: str | None
    new_stage: str


@dataclass
class Plan:
    """What writing the import will do. `rows` = rows that passed validation."""

    entity: str
    inserts: list[Any] = field(default_factory=list)
    updates: list[Any] = field(default_factory=list)
    changes: list[RecordChange] = field(default_factory=list)
    unchanged: int = 0
    errors: list[RowError] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    attributes: dict[str, dict[str, str | None]] = field(default_factory=dict)
    stage_entries: list[StageEntry] = field(default_factory=list)
    stage_changes: list[StageChange] = field(default_factory=list)
    unattached: int = 0  # opportunity rows stored (or kept) without an account

    @property
    def changed(self) -> bool:
        return bool(self.inserts or self.updates or self.attributes)


def plan_upsert(
    entity: str,
    records: list[Record],
    existing: Mapping[str, Any],
    make: Callable[..., Any],
    defaults: dict[str, Any] | None = None,
    old_attributes: dict[str, dict[str, str]] | None = None,
) -> Plan:
    """Insert new keys, update changed ones (mapped fields only), count the rest."""
    plan = Plan(entity)
    snapshot = existing if isinstance(existing, AccountSnapshot) else None
    keep = NOT_NULL.get(entity, frozenset())
    names = list(records[0][1]) if records else []
    attr_names = [k for k in names if k.startswith(ATTR)]
    droppable = [k for k in names if k in keep]  # a None here means "not given"
    for _row, rec in records:
        attrs = {k[len(ATTR) :]: _text(rec.pop(k)) for k in attr_names}
        for k in droppable:
            if rec[k] is None:
                del rec[k]
        if "tier" in rec:
            rec["tier"] = Tier(rec["tier"])
        key = rec["external_id"]
        if not attrs and snapshot is not None and key in snapshot and snapshot.same(key, rec):
            plan.unchanged += 1  # the common re-import case: no Account built, no diff
            continue
        old = existing.get(key)
        diff: dict[str, list[Any]] = {}
        if old is None:
            plan.inserts.append(make(**{**defaults, **rec}) if defaults else make(**rec))
        else:
            diff = {
                k: [_json(getattr(old, k)), _json(v)]
                for k, v in rec.items()
                if getattr(old, k) != v
            }
            if diff:
                plan.updates.append(replace(old, **rec))
        if attrs:
            attr_diff = _attribute_diff(attrs, (old_attributes or {}).get(key, {}))
            if attr_diff:
                plan.attributes[key] = {name: new for name, (_, new) in attr_diff.items()}
                diff |= {f"attributes.{n}": [o, v] for n, (o, v) in attr_diff.items()}
        if old is not None and diff:
            plan.changes.append(RecordChange(entity, key, diff))
        elif old is not None:
            plan.unchanged += 1
    return plan


def _attribute_diff(new: dict[str, str | None], old: dict[str, str]) -> dict[str, tuple[Any, Any]]:
    return {n: (old.get(n), v) for n, v in new.items() if old.get(n) != v}


def account_maker(**values: Any) -> Account:
    return Account(**values)


def rep_maker(**values: Any) -> Rep:
    return Rep(**values)


def _text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, datetime | date):
        return value.isoformat()
    return str(value)


def _json(value: Any) -> Any:
    """Values as they are written to record_changes (JSON)."""
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, tuple):
        return list(value)
    return value
