"""In-memory implementation of `PrivacyPort` (unit tests); same rule as the SQL one."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from typing import Any

from dtem.domain.privacy import names_person
from dtem.domain.scoring import Decayed
from dtem.domain.signals import SignalRecord


class PrivacyMemory:
    """Rows live in `self.s.extra[table]`, like the SQL tables of the same names."""

    s: Any

    def signals_naming(self, email: str | None, user_ids: Collection[str]) -> list[SignalRecord]:
        users = set(user_ids)
        rows: list[SignalRecord] = self.s.extra.get("signals", [])
        found = [
            r for r in rows if names_person(r.key_kind, r.account_key, r.attributes, email, users)
        ]
        return sorted(found, key=lambda r: (r.scope, r.event_id))

    def erase_signals(self, keys: Collection[tuple[str, str]]) -> int:
        wanted = set(keys)
        rows: list[SignalRecord] = self.s.extra.get("signals", [])
        kept = [r for r in rows if (r.scope, r.event_id) not in wanted]
        self.s.extra["signals"] = kept
        return len(rows) - len(kept)

    def erase_identity_links(self, user_ids: Collection[str]) -> int:
        table: dict[str, str] = self.s.extra.setdefault("identity_links_map", {})
        gone = [u for u in set(user_ids) if u in table]
        for u in gone:
            del table[u]
        self.s.extra["identity_links"] = list(table.items())
        return len(gone)

    def replace_account_states(self, states: Mapping[int, Mapping[str, Decayed]]) -> None:
        rows: list[dict[str, Any]] = self.s.extra.setdefault("account_state", [])
        kept = [r for r in rows if r["account_id"] not in states]
        kept += [
            {"account_id": acc, "type": typ, "intensity": d[0], "as_of": d[1]}
            for acc, by_type in states.items()
            for typ, d in by_type.items()
        ]
        self.s.extra["account_state"] = kept
