"""In-memory implementation of `RetentionPort` (unit tests); same rows as the SQL one."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from dtem.domain.signals import PIPELINE_SCOPE, SignalRecord, source_scope


def _of_source(r: SignalRecord, source: str, before: datetime) -> bool:
    mine = r.scope == source_scope(source) or (r.scope == PIPELINE_SCOPE and r.source == source)
    return mine and r.occurred_at < before


class RetentionMemory:
    """Rules live in `self.s.extra["signal_retention"]` ([source, days] pairs)."""

    s: Any

    def signal_retention(self) -> dict[str, int]:
        return dict(sorted(self.s.extra.get("signal_retention", [])))

    def set_signal_retention(self, source: str, days: int | None, at: datetime) -> None:
        rules = [r for r in self.s.extra.get("signal_retention", []) if r[0] != source]
        self.s.extra["signal_retention"] = rules + ([(source, days)] if days is not None else [])

    def signal_labels(self) -> set[str]:
        rows: list[SignalRecord] = self.s.extra.get("signals", [])
        return {r.source for r in rows if r.scope == PIPELINE_SCOPE}

    def accounts_with_signals_before(self, source: str, before: datetime) -> set[int]:
        rows: list[SignalRecord] = self.s.extra.get("signals", [])
        return {
            r.account_id for r in rows if r.account_id is not None and _of_source(r, source, before)
        }

    def delete_signals_before(self, source: str, before: datetime) -> int:
        rows: list[SignalRecord] = self.s.extra.get("signals", [])
        kept = [r for r in rows if not _of_source(r, source, before)]
        self.s.extra["signals"] = kept
        return len(rows) - len(kept)
