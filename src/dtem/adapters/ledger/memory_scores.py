"""In-memory implementation of `ScoresPort` and `EconomicsPort` (unit tests).

Rows live in `self.s.extra[table]` under the SQL table names: `account_state` as dicts,
`scores` and `score_events` as records, `segment_economics` as `Economics` snapshots.
Signals and opportunities are read as the features that write them keep them
(records, or dicts keyed like the SQL columns).
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import replace
from datetime import datetime
from typing import Any

import numpy as np

from dtem.domain.clock import as_utc
from dtem.domain.model import segment_of
from dtem.domain.score_records import AccountFacts, ScoreEvent, ScoreRecord, SignalColumns
from dtem.domain.scoring import Decayed, decayed, epoch_seconds
from dtem.domain.segments import Economics, WonDeal
from dtem.domain.store_training import SignalFact


def _get(row: Any, name: str) -> Any:
    return row[name] if isinstance(row, dict) else getattr(row, name, None)


class ScoresMemory:
    """Mixed into `MemoryTx` through `RadarMemory`."""

    s: Any

    def _table(self, name: str) -> list[Any]:
        rows: list[Any] = self.s.extra.setdefault(name, [])
        return rows

    def _live_signals(self, until: datetime) -> list[SignalFact]:
        out: list[SignalFact] = []
        for r in self._table("signals"):
            ts = as_utc(_get(r, "occurred_at"))
            acc = _get(r, "account_id")
            if acc is not None and not _get(r, "superseded") and ts <= until:
                out.append(SignalFact(int(acc), _get(r, "type"), ts, float(_get(r, "value"))))
        return out

    # --- inputs -------------------------------------------------------------------------
    def scoring_accounts(self, ids: Collection[int] | None = None) -> list[AccountFacts]:
        wanted = None if ids is None else set(ids)
        facts = [
            AccountFacts(a.id, a.external_id, a.industry, a.employees)
            for a in self.s.accounts.values()
            if a.id is not None and (wanted is None or a.id in wanted)
        ]
        return sorted(facts, key=lambda f: f.id)

    def account_signals(self, account_id: int, until: datetime) -> list[SignalFact]:
        found = [f for f in self._live_signals(until) if f.account_id == account_id]
        return sorted(found, key=lambda f: f.occurred_at)

    def signal_columns(self, until: datetime) -> SignalColumns:
        facts = self._live_signals(until)
        return SignalColumns(
            np.asarray([f.account_id for f in facts], dtype=np.int64),
            [f.type for f in facts],
            np.asarray([round(epoch_seconds(f.occurred_at) * 1e6) for f in facts], np.int64),
            np.asarray([f.value for f in facts], dtype=np.float64),
        )

    # --- decayed state ------------------------------------------------------------------
    def account_states(self, account_ids: Collection[int]) -> dict[int, dict[str, Decayed]]:
        wanted = set(account_ids)
        out: dict[int, dict[str, Decayed]] = {}
        for r in self._table("account_state"):
            if r["account_id"] in wanted:
                out.setdefault(r["account_id"], {})[r["type"]] = decayed(r["intensity"], r["as_of"])
        return out

    def save_account_states(self, states: Mapping[int, Mapping[str, Decayed]]) -> None:
        rows = self._table("account_state")
        index = {(r["account_id"], r["type"]): i for i, r in enumerate(rows)}
        for acc, by_type in states.items():
            for typ, d in by_type.items():
                row = {"account_id": acc, "type": typ, "intensity": d[0], "as_of": d[1]}
                if (acc, typ) in index:
                    rows[index[(acc, typ)]] = row
                else:
                    index[(acc, typ)] = len(rows)
                    rows.append(row)

    # --- scores and triggers ------------------------------------------------------------
    def latest_scores(self, account_ids: Collection[int] | None = None) -> dict[int, ScoreRecord]:
        wanted = None if account_ids is None else set(account_ids)
        out: dict[int, ScoreRecord] = {}
        for r in self._table("scores"):  # appended in order: the last one wins
            if wanted is None or r.account_id in wanted:
                out[r.account_id] = r
        return out

    def score_history(self, account_id: int, limit: int = 20) -> list[ScoreRecord]:
        mine = [(r.as_of, i, r) for i, r in enumerate(self._table("scores"))]
        mine = [x for x in mine if x[2].account_id == account_id]
        return [r for _, _, r in sorted(mine, key=lambda x: (x[0], x[1]), reverse=True)][:limit]

    def append_scores(self, records: Sequence[ScoreRecord]) -> None:
        self._table("scores").extend(records)

    def lock_account_states(self, account_ids: Collection[int]) -> None:
        """Nothing to do: the in-memory ledger runs one transaction at a time."""

    def append_score_events(self, events: Sequence[ScoreEvent]) -> list[ScoreEvent]:
        rows = self._table("score_events")
        for e in events:
            rows.append(replace(e, id=len(rows) + 1))
        return rows[len(rows) - len(events) :]

    def score_events(self, after_id: int = 0, unconsumed: bool = False) -> list[ScoreEvent]:
        return [
            e
            for e in self._table("score_events")
            if e.id > after_id and not (unconsumed and e.consumed_at is not None)
        ]

    def consume_score_events(self, ids: Collection[int], at: datetime) -> None:
        wanted = set(ids)
        rows = self._table("score_events")
        for i, e in enumerate(rows):
            if e.id in wanted and e.consumed_at is None:
                rows[i] = replace(e, consumed_at=at)

    # --- segment economics --------------------------------------------------------------
    def won_deals(self, won_stages: Collection[str]) -> list[WonDeal]:
        by_external = self.s.accounts
        by_id = {a.id: a for a in by_external.values()}
        out: list[WonDeal] = []
        for o in self._table("opportunities"):
            if _get(o, "stage") not in won_stages:
                continue
            acc = by_id.get(_get(o, "account_id")) or by_external.get(
                _get(o, "account_external_id")
            )
            created, closed = _get(o, "created_date"), _get(o, "close_date")
            cycle = (closed - created).days if created and closed else None
            segment = segment_of(acc.employees, acc.industry) if acc else segment_of(None, None)
            out.append(WonDeal(segment, _get(o, "amount"), cycle))
        return out

    def latest_economics(self) -> Economics | None:
        snapshots: list[Economics] = self._table("segment_economics")
        return snapshots[-1] if snapshots else None

    def add_economics(self, economics: Economics) -> int:
        snapshots: list[Economics] = self._table("segment_economics")
        version = len(snapshots) + 1
        snapshots.append(replace(economics, version=version))
        return version
