"""In-memory implementation of `ImportsPort` and `OpportunitiesPort` for unit tests.

Imports: opportunities, stage history, activities, import batches, record changes,
account attributes. Rows live in `self.s.extra[<table name>]` so `count(table)` works.
"""

from __future__ import annotations

import copy
from collections.abc import Collection, Sequence
from dataclasses import replace
from datetime import datetime
from typing import Any

from dtem.domain.model import Account, Activity, Opportunity
from dtem.domain.store_imports import (
    SNAPSHOT_FIELDS,
    AccountSnapshot,
    ImportBatch,
    RecordChange,
    StageEntry,
)


class ImportsMemory:
    """Mixed into `MemoryTx`; `self.s.extra` holds this feature's rows by table name."""

    s: Any

    def _rows(self, table: str) -> list[Any]:
        rows: list[Any] = self.s.extra.setdefault(table, [])
        return rows

    # --- batches and changes ------------------------------------------------------------
    def add_import_batch(
        self, kind: str, file: str, sha256: str, at: datetime, actor: str, counts: dict[str, int]
    ) -> int:
        batches = self._rows("import_batches")
        batch = ImportBatch(len(batches) + 1, kind, file, sha256, at, actor, dict(counts))
        batches.append(batch)
        return batch.id

    def import_batches(self) -> list[ImportBatch]:
        return list(self._rows("import_batches"))

    def add_record_changes(self, batch_id: int, changes: Sequence[RecordChange]) -> None:
        self._rows("record_changes").extend((batch_id, copy.deepcopy(c)) for c in changes)

    def record_changes(self, batch_id: int | None = None) -> list[RecordChange]:
        rows = self._rows("record_changes")
        return [c for b, c in rows if batch_id is None or b == batch_id]

    # --- accounts in bulk ---------------------------------------------------------------
    def all_accounts(self) -> dict[str, Account]:
        return dict(self.s.accounts)

    def account_snapshot(self) -> AccountSnapshot:
        rows = {
            k: tuple(getattr(a, f) for f in SNAPSHOT_FIELDS) for k, a in self.s.accounts.items()
        }
        return AccountSnapshot(rows)

    def bulk_insert_accounts(self, accounts: Sequence[Account], at: datetime) -> None:
        self.insert_accounts(accounts, at)  # type: ignore[attr-defined]

    def account_attributes(self, external_ids: Collection[str]) -> dict[str, dict[str, str]]:
        wanted = set(external_ids)
        out: dict[str, dict[str, str]] = {}
        for xid, name, value in self._rows("account_attributes"):
            if xid in wanted:
                out.setdefault(xid, {})[name] = value
        return out

    def all_account_attributes(self, name: str) -> dict[str, str]:
        return {x: v for x, n, v in self._rows("account_attributes") if n == name}

    def set_account_attributes(self, values: dict[str, dict[str, str | None]]) -> None:
        unknown = [x for x in values if x not in self.s.accounts]
        if unknown:
            raise KeyError(f"unknown accounts {unknown[:5]}")
        touched = {(x, n) for x, attrs in values.items() for n in attrs}
        kept = [r for r in self._rows("account_attributes") if (r[0], r[1]) not in touched]
        new = [(x, n, v) for x, attrs in values.items() for n, v in attrs.items() if v is not None]
        self.s.extra["account_attributes"] = kept + new

    # --- opportunities ------------------------------------------------------------------
    def opportunities_by_external_id(self, external_ids: Collection[str]) -> dict[str, Opportunity]:
        wanted = set(external_ids)
        return {o.external_id: o for o in self._rows("opportunities") if o.external_id in wanted}

    def all_opportunities(self) -> list[Opportunity]:
        return list(self._rows("opportunities"))

    def insert_opportunities(self, opportunities: Sequence[Opportunity], at: datetime) -> None:
        rows = self._rows("opportunities")
        known = {o.external_id for o in rows}
        for o in opportunities:
            if o.external_id in known or (
                o.account_external_id is not None and o.account_external_id not in self.s.accounts
            ):
                raise ValueError(f"cannot insert opportunity {o.external_id}")
            rows.append(replace(o, id=len(rows) + 1, rep_external_id=self._rep(o)))
            known.add(o.external_id)

    def update_opportunities(self, opportunities: Sequence[Opportunity], at: datetime) -> None:
        rows = self._rows("opportunities")
        index = {o.external_id: i for i, o in enumerate(rows)}
        for o in opportunities:
            i = index[o.external_id]
            rows[i] = replace(o, id=rows[i].id, rep_external_id=self._rep(o))

    def unattached_opportunities(
        self, key_kind: str | None = None, keys: Collection[str] | None = None, limit: int = 0
    ) -> list[Opportunity]:
        def fold(key: str) -> str:
            return key.lower() if key_kind == "name" else key

        wanted = None if keys is None else {fold(k) for k in keys}
        out = [
            o
            for o in self._rows("opportunities")
            if o.account_external_id is None
            and (key_kind is None or o.key_kind == key_kind)
            and (wanted is None or (o.account_key is not None and fold(o.account_key) in wanted))
        ]
        return out[:limit] if limit else out

    def _rep(self, o: Opportunity) -> str | None:
        """Like the SQL foreign key lookup: an unknown rep is stored as no rep."""
        return o.rep_external_id if o.rep_external_id in self.s.reps else None

    def append_stage_history(self, entries: Sequence[StageEntry]) -> None:
        known = {o.external_id for o in self._rows("opportunities")}
        missing = [
            e.opportunity_external_id for e in entries if e.opportunity_external_id not in known
        ]
        if missing:
            raise KeyError(f"unknown opportunities {missing[:5]}")
        self._rows("opportunity_stages").extend(entries)

    def stage_history(self, opportunity_external_id: str) -> list[StageEntry]:
        rows = self._rows("opportunity_stages")
        return [e for e in rows if e.opportunity_external_id == opportunity_external_id]

    # --- activities ---------------------------------------------------------------------
    def existing_activity_ids(self, external_ids: Collection[str]) -> set[str]:
        wanted = set(external_ids)
        return {a.external_id for a in self._rows("activities") if a.external_id in wanted}

    def insert_activities(self, activities: Sequence[Activity]) -> None:
        rows = self._rows("activities")
        for a in activities:
            if a.account_external_id not in self.s.accounts:
                raise ValueError(f"activity {a.external_id}: unknown account")
            rows.append(replace(a, id=len(rows) + 1))
