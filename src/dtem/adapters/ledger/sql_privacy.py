"""SQL implementation of `PrivacyPort` (SQLite and PostgreSQL).

Candidates are found in SQL (the user-id key, or the attributes' JSON text containing
the email or a user id as JSON writes it), then `names_person` decides on each row, so
both backends and the in-memory fake erase exactly the same rows.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Mapping
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from dtem.adapters.ledger import tables as t
from dtem.adapters.ledger.sql_scores import ScoresSql
from dtem.adapters.ledger.sql_signals import _chunks, _record
from dtem.domain.privacy import names_person
from dtem.domain.scoring import Decayed
from dtem.domain.signals import SignalRecord

_S = t.signals
_NEEDLES = 50  # LIKE terms per query


def _as_json_text(value: str) -> str:
    """How `value` appears inside the stored JSON text (escaped, no quotes)."""
    return json.dumps(value)[1:-1]


class PrivacySql:
    """Mixed into `SqlTx` through `RadarSql`; `self.conn` is the transaction's connection."""

    conn: Connection

    def signals_naming(self, email: str | None, user_ids: Collection[str]) -> list[SignalRecord]:
        users = sorted(set(user_ids))
        text = sa.cast(_S.c.attributes, sa.Text)
        found: dict[tuple[str, str], SignalRecord] = {}
        conditions: list[Any] = []
        if email is not None:
            needle = _as_json_text(email).lower()
            conditions.append(sa.func.lower(text).contains(needle, autoescape=True))
        for chunk in _chunks(users):
            conditions.append(sa.and_(_S.c.key_kind == "user_id", _S.c.account_key.in_(chunk)))
        for i in range(0, len(users), _NEEDLES):
            terms = [text.contains(_as_json_text(u), autoescape=True) for u in users[i : i + 50]]
            conditions.append(sa.or_(*terms))
        for condition in conditions:
            for r in self.conn.execute(sa.select(_S).where(condition)).mappings():
                rec = _record(r)
                if names_person(rec.key_kind, rec.account_key, rec.attributes, email, users):
                    found[rec.scope, rec.event_id] = rec
        return [found[k] for k in sorted(found)]

    def erase_signals(self, keys: Collection[tuple[str, str]]) -> int:
        by_scope: dict[str, list[str]] = {}
        for scope, event_id in keys:
            by_scope.setdefault(scope, []).append(event_id)
        deleted = 0
        for scope, ids in sorted(by_scope.items()):
            for chunk in _chunks(sorted(set(ids))):
                stmt = sa.delete(_S).where(_S.c.scope == scope, _S.c.event_id.in_(chunk))
                deleted += self.conn.execute(stmt).rowcount
        return deleted

    def erase_identity_links(self, user_ids: Collection[str]) -> int:
        il = t.identity_links
        deleted = 0
        for chunk in _chunks(sorted(set(user_ids))):
            deleted += self.conn.execute(sa.delete(il).where(il.c.user_id.in_(chunk))).rowcount
        return deleted

    def replace_account_states(self, states: Mapping[int, Mapping[str, Decayed]]) -> None:
        st = t.account_state
        for chunk in _chunks(sorted(states)):
            self.conn.execute(sa.delete(st).where(st.c.account_id.in_(chunk)))
        ScoresSql.save_account_states(self, states)  # type: ignore[arg-type]
