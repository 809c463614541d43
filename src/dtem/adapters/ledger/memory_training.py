"""In-memory implementation of `TrainingStore`, over the rows other features keep.

Rows of `signals`, `opportunities` and `opportunity_stages` live in `self.s.extra`
as dicts keyed like the SQL columns (see tables.py).
"""

from __future__ import annotations

from collections.abc import Collection, Iterator
from datetime import date, datetime
from typing import Any

from dtem.domain.clock import as_utc
from dtem.domain.store_training import OutcomeFact, SignalFact


class TrainingMemory:
    """Mixed into `MemoryTx`; `self.s.extra` holds rows by table name."""

    s: Any

    def training_signals(self, until: datetime) -> Iterator[SignalFact]:
        for r in _rows(self.s, "signals"):
            ts = as_utc(r["occurred_at"])
            if r.get("account_id") is not None and not r.get("superseded") and ts <= until:
                yield SignalFact(int(r["account_id"]), r["type"], ts, float(r["value"]))

    def won_outcomes(self, won_stages: Collection[str]) -> list[OutcomeFact]:
        won_at: dict[int, date] = {}
        for h in _rows(self.s, "opportunity_stages"):
            if h["stage"] in won_stages:
                day = as_utc(h["changed_at"]).date()
                won_at[h["opportunity_id"]] = min(day, won_at.get(h["opportunity_id"], day))
        out: list[OutcomeFact] = []
        for o in _rows(self.s, "opportunities"):
            on = o.get("close_date") or won_at.get(o["id"])
            if o["stage"] in won_stages and on is not None:
                out.append(OutcomeFact(int(o["account_id"]), on))
        return out


def _rows(state: Any, table: str) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = state.extra.get(table, [])
    return rows
