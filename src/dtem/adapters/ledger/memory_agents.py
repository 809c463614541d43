"""In-memory `AgentClaimsPort`: claims in `self.s.extra["agent_claims"]`."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import replace
from datetime import datetime
from typing import Any

from dtem.domain.clock import as_utc
from dtem.domain.model import Activity
from dtem.domain.nurture import AgentClaim


class AgentsMemory:
    """Mixed into `MemoryTx`; the one-open-claim rule is checked like the SQL index."""

    s: Any

    def _claims(self) -> list[AgentClaim]:
        rows: list[AgentClaim] = self.s.extra.setdefault("agent_claims", [])
        return rows

    def add_claim(
        self, account_id: int, agent: str, at: datetime, expires_at: datetime, policy_version: int
    ) -> AgentClaim | None:
        rows = self._claims()
        if any(c.account_id == account_id and c.released_at is None for c in rows):
            return None
        claim = AgentClaim(
            len(rows) + 1, account_id, agent, as_utc(at), as_utc(expires_at), policy_version
        )
        rows.append(claim)
        return claim

    def lapse_claims(self, at: datetime) -> int:
        rows = self._claims()
        due = [i for i, c in enumerate(rows) if c.released_at is None and c.expires_at <= at]
        for i in due:
            rows[i] = replace(rows[i], released_at=rows[i].expires_at, reason="lapsed")
        return len(due)

    def release_claim(self, claim_id: int, at: datetime, reason: str) -> None:
        rows = self._claims()
        for i, c in enumerate(rows):
            if c.id == claim_id and c.released_at is None:
                rows[i] = replace(c, released_at=as_utc(at), reason=reason)

    def active_claim(self, account_id: int, at: datetime) -> AgentClaim | None:
        return next(
            (c for c in self._claims() if c.account_id == account_id and c.active_at(at)), None
        )

    def claimed_account_ids(self, at: datetime) -> set[int]:
        return {c.account_id for c in self._claims() if c.active_at(at)}

    def agent_touch_counts(self, account_ids: Collection[int], since: datetime) -> dict[int, int]:
        ids = {a.external_id: a.id for a in self.s.accounts.values()}
        wanted, out = set(account_ids), dict[int, int]()
        for act in self.s.extra.get("activities", []):
            account_id = ids.get(act.account_external_id)
            if act.actor_kind == "agent" and account_id in wanted and act.occurred_at >= since:
                out[account_id] = out.get(account_id, 0) + 1
        return out

    def agent_touches(self, since: datetime, until: datetime) -> list[Activity]:
        acts = [
            replace(act, occurred_at=as_utc(act.occurred_at))
            for act in self.s.extra.get("activities", [])
            if act.actor_kind == "agent" and since <= act.occurred_at < until
        ]
        return sorted(acts, key=lambda x: x.occurred_at)
