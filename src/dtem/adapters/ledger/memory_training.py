"""In-memory implementation of `TrainingPort`, over the rows other features keep.

`self.s.extra` holds `signals` as `SignalRecord`s, `opportunities` as `Opportunity`s
and `opportunity_stages` as `StageEntry`s (see memory_signals.py, memory_imports.py).
"""

from __future__ import annotations

from collections.abc import Collection, Iterator
from datetime import date, datetime
from typing import Any

from dtem.domain.clock import as_utc
from dtem.domain.store_training import OpportunityFact, OutcomeFact, SignalFact


class TrainingMemory:
    """Mixed into `MemoryTx`; reads the rows of the signal and import features."""

    s: Any

    def training_signals(self, until: datetime) -> Iterator[SignalFact]:
        for r in self.s.extra.get("signals", []):
            ts = as_utc(r.occurred_at)
            if r.account_id is not None and not r.superseded and ts <= until:
                yield SignalFact(r.account_id, r.type, ts, float(r.value))

    def won_outcomes(self, won_stages: Collection[str]) -> list[OutcomeFact]:
        won_at: dict[str, date] = {}
        for h in self.s.extra.get("opportunity_stages", []):
            if h.stage in won_stages:
                day = as_utc(h.changed_at).date()
                key = h.opportunity_external_id
                won_at[key] = min(day, won_at.get(key, day))
        out: list[OutcomeFact] = []
        for o in self.s.extra.get("opportunities", []):
            on = o.close_date or won_at.get(o.external_id)
            account = self.s.accounts.get(o.account_external_id)
            if o.stage in won_stages and on is not None and account is not None:
                out.append(OutcomeFact(account.id, on))
        return out

    def opportunity_histories(self) -> list[OpportunityFact]:
        history: dict[str, list[tuple[str, datetime]]] = {}
        entries = sorted(
            enumerate(self.s.extra.get("opportunity_stages", [])),
            key=lambda e: (as_utc(e[1].changed_at), e[0]),
        )
        for _, e in entries:
            history.setdefault(e.opportunity_external_id, []).append(
                (e.stage, as_utc(e.changed_at))
            )
        out: list[OpportunityFact] = []
        for o in self.s.extra.get("opportunities", []):
            account = self.s.accounts.get(o.account_external_id)
            if account is None:
                continue
            rep = self.s.reps.get(o.rep_external_id) if o.rep_external_id else None
            out.append(
                OpportunityFact(
                    o.id,
                    account.id,
                    rep.id if rep else None,
                    o.stage,
                    o.amount,
                    o.created_date,
                    o.close_date,
                    tuple(history.get(o.external_id, ())),
                    o.product,
                )
            )
        return out
