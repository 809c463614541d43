"""In-memory implementation of `SignalsPort` and `SignalSourcesPort` (unit tests).

Rows live in `self.s.extra[table]`, like the SQL tables of the same names.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Collection, Mapping, Sequence
from dataclasses import replace
from datetime import datetime
from typing import Any

from dtem.domain.clock import as_utc
from dtem.domain.errors import NotFound, SourceExists
from dtem.domain.signals import SignalRecord, normalise_domain, one_scope, superseded_ids
from dtem.domain.store_radar import SignalSource, SignalStats


class SignalsMemory:
    """Signals, identity links and sources kept in lists."""

    s: Any

    def _rows(self, table: str) -> list[Any]:
        rows: list[Any] = self.s.extra.setdefault(table, [])
        return rows

    # --- signals --------------------------------------------------------------------------
    def insert_signals(self, records: Sequence[SignalRecord]) -> set[str]:
        one_scope(records)
        rows: list[SignalRecord] = self._rows("signals")
        seen = {(r.scope, r.event_id) for r in rows}
        inserted: set[str] = set()
        for rec in records:
            if (rec.scope, rec.event_id) not in seen:
                seen.add((rec.scope, rec.event_id))
                inserted.add(rec.event_id)
                rows.append(replace(rec, occurred_at=as_utc(rec.occurred_at)))
        return inserted

    def supersede_signals(self, keys: Collection[tuple[str, str, str]]) -> list[SignalRecord]:
        wanted = set(keys)
        rows: list[SignalRecord] = self._rows("signals")
        live = [
            ((r.account_key, r.topic or "", r.source), (r.occurred_at, i))
            for i, r in enumerate(rows)
            if r.topic is not None and not r.superseded
        ]
        stale = superseded_ids([row for row in live if row[0] in wanted])
        before = [rows[i] for i in stale]
        for i in stale:
            rows[i] = replace(rows[i], superseded=True)
        return before

    def account_ids_by_domain(self, domains: Collection[str]) -> dict[str, int]:
        wanted = set(domains)
        out: dict[str, int] = {}
        for acc in sorted(self.s.accounts.values(), key=lambda a: -(a.id or 0)):
            d = normalise_domain(acc.domain) if acc.domain else None
            if d in wanted and acc.id is not None:
                out[d] = acc.id
        return out

    def account_ids_by_name(self, names: Collection[str]) -> dict[str, int]:
        wanted = {n.strip().lower() for n in names if n.strip()}
        held: dict[str, list[int]] = {}
        for acc in self.s.accounts.values():
            key = acc.name.strip().lower()
            if key in wanted and acc.id is not None:
                held.setdefault(key, []).append(acc.id)
        return {k: ids[0] for k, ids in held.items() if len(ids) == 1}

    def unmatched_signals(
        self, key_kind: str | None = None, keys: Collection[str] | None = None, limit: int = 0
    ) -> list[SignalRecord]:
        wanted = None if keys is None else set(keys)
        out = [
            r
            for r in self._rows("signals")
            if r.account_id is None
            and (key_kind is None or r.key_kind == key_kind)
            and (wanted is None or r.account_key in wanted)
        ]
        return out[:limit] if limit else out

    def attach_signals(self, account_by_event: Mapping[tuple[str, str], int]) -> None:
        rows: list[SignalRecord] = self._rows("signals")
        for i, r in enumerate(rows):
            if r.account_id is None and (r.scope, r.event_id) in account_by_event:
                account_id = account_by_event[(r.scope, r.event_id)]
                rows[i] = replace(r, account_id=account_id, unmatched_reason=None)

    def signal_stats(self) -> SignalStats:
        rows: list[SignalRecord] = self._rows("signals")
        unmatched = [r for r in rows if r.account_id is None]
        return SignalStats(
            total=len(rows),
            by_type=dict(Counter(r.type for r in rows)),
            unknown_events=dict(Counter(str(r.event_name) for r in rows if r.type == "other")),
            unmatched=dict(Counter(str(r.unmatched_reason) for r in unmatched)),
            superseded=sum(r.superseded for r in rows),
        )

    # --- identity links -------------------------------------------------------------------
    def link_identities(self, links: Mapping[str, str], at: datetime, replace: bool) -> None:
        table: dict[str, str] = self.s.extra.setdefault("identity_links_map", {})
        for user, key in links.items():
            if replace or user not in table:
                table[user] = key
        self.s.extra["identity_links"] = list(table.items())

    def identity_links(self, user_ids: Collection[str]) -> dict[str, str]:
        table: dict[str, str] = self.s.extra.get("identity_links_map", {})
        return {u: table[u] for u in user_ids if u in table}

    def users_linked_to(self, encoded_keys: Collection[str]) -> list[str]:
        table: dict[str, str] = self.s.extra.get("identity_links_map", {})
        wanted = set(encoded_keys)
        return sorted(u for u, k in table.items() if k in wanted)

    # --- sources --------------------------------------------------------------------------
    def add_signal_source(self, source: SignalSource) -> int:
        rows: list[SignalSource] = self._rows("signal_sources")
        if any(r.name == source.name or r.key_hash == source.key_hash for r in rows):
            raise SourceExists(f"a signal source named {source.name!r} exists")
        rows.append(replace(source, id=len(rows) + 1))
        return len(rows)

    def signal_source_by_hash(self, key_hash: str) -> SignalSource | None:
        rows: list[SignalSource] = self._rows("signal_sources")
        return next((r for r in rows if r.key_hash == key_hash), None)

    def signal_sources(self) -> list[SignalSource]:
        return list(self._rows("signal_sources"))

    def revoke_signal_source(self, name: str, at: datetime) -> None:
        rows: list[SignalSource] = self._rows("signal_sources")
        for i, r in enumerate(rows):
            if r.name == name and r.revoked_at is None:
                rows[i] = replace(r, revoked_at=at)
                return
        raise NotFound(f"no active signal source named {name!r}")
