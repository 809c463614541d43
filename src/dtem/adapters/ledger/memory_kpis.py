"""In-memory `KpiFactsPort` and `PilotsPort`, over the rows the other features keep.

`self.s.extra` holds `activities` as `Activity`s, `opportunities` as `Opportunity`s,
`scores` as `ScoreRecord`s, `signals` as `SignalRecord`s and `pilots` as `Pilot`s.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import replace
from datetime import datetime
from typing import Any

from dtem.domain.clock import as_utc
from dtem.domain.errors import NotFound
from dtem.domain.kpis import Deal, LeaseSpan, Touch
from dtem.domain.pilots import Pilot, PilotConflict


class KpisMemory:
    """Mixed into `MemoryTx`."""

    s: Any

    def kpi_touches(self, since: datetime, until: datetime) -> list[Touch]:
        ids = {a.external_id: a.id for a in self.s.accounts.values()}
        return [
            Touch(
                ids[x.account_external_id], as_utc(x.occurred_at), x.actor_kind == "rep", x.actor_id
            )
            for x in self.s.extra.get("activities", [])
            if since <= as_utc(x.occurred_at) < until
        ]

    def kpi_deals(self, won: Collection[str], lost: Collection[str]) -> list[Deal]:
        ids = {a.external_id: a.id for a in self.s.accounts.values()}
        return [
            Deal(
                ids[o.account_external_id],
                "won" if o.stage in won else "lost" if o.stage in lost else "open",
                o.amount,
                o.created_date,
                o.close_date,
                o.rep_external_id,
            )
            for o in self.s.extra.get("opportunities", [])
            if o.account_external_id in ids  # an unattached deal has no side to count on
        ]

    def lease_spans(self) -> list[LeaseSpan]:
        reps = {r.id: r.external_id for r in self.s.reps.values()}
        return [
            LeaseSpan(x.account_id, reps[x.rep_id], x.granted_at, x.ended_at)
            for x in sorted(self.s.leases.values(), key=lambda x: x.id)
        ]

    def first_crossings(
        self, threshold: float, since: datetime, until: datetime
    ) -> dict[int, datetime]:
        out: dict[int, datetime] = {}
        for r in self.s.extra.get("scores", []):
            at = as_utc(r.as_of)
            if r.score >= threshold and since <= at < until:
                out[r.account_id] = min(at, out.get(r.account_id, at))
        return out

    def scores_as_of(self, at: datetime) -> dict[int, float]:
        out: dict[int, tuple[datetime, float]] = {}
        for r in self.s.extra.get("scores", []):  # appended in order: a later tie wins
            when = as_utc(r.as_of)
            if when <= at and (r.account_id not in out or when >= out[r.account_id][0]):
                out[r.account_id] = (when, r.score)
        return {a: score for a, (_, score) in out.items()}

    def hand_raises(self, since: datetime, until: datetime) -> list[tuple[int, datetime]]:
        return sorted(
            (r.account_id, as_utc(r.occurred_at))
            for r in self.s.extra.get("signals", [])
            if r.type == "hand_raise" and r.account_id is not None and not r.superseded
            if since <= as_utc(r.occurred_at) < until
        )

    # --- pilots ---------------------------------------------------------------------------
    def _pilots(self) -> list[Pilot]:
        rows: list[Pilot] = self.s.extra.setdefault("pilots", [])
        return rows

    def add_pilot(self, name: str, rep_ids: Collection[int], at: datetime, actor: str) -> Pilot:
        rows = self._pilots()
        if any(p.name == name for p in rows):
            raise PilotConflict(f"a pilot named {name!r} already exists")
        pilot = Pilot(len(rows) + 1, name, tuple(sorted(set(rep_ids))), as_utc(at), actor)
        rows.append(pilot)
        return pilot

    def pilot(self, name: str) -> Pilot | None:
        return next((p for p in self._pilots() if p.name == name), None)

    def pilots(self) -> list[Pilot]:
        return list(self._pilots())

    def end_pilot(self, name: str, at: datetime) -> Pilot:
        rows = self._pilots()
        for i, p in enumerate(rows):
            if p.name == name:
                if p.ended_at is None:
                    rows[i] = replace(p, ended_at=as_utc(at))
                return rows[i]
        raise NotFound(f"pilot {name!r} does not exist")

    def pilot_pod(self) -> frozenset[int]:
        return frozenset(r for p in self._pilots() if p.ended_at is None for r in p.rep_ids)
