"""In-memory `AccountTiersPort` for unit tests (same contract as SQL)."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import replace
from datetime import datetime
from typing import Any

from dtem.domain.clock import as_utc
from dtem.domain.errors import NotFound
from dtem.domain.tiers import AccountTier, TierOverride


class TiersMemory:
    """Mixed into `MemoryTx`; `self.s.extra["account_tiers"]` holds one `AccountTier` each."""

    s: Any

    def _tiers(self) -> dict[int, AccountTier]:
        return {x.account_id: x for x in self.s.extra.get("account_tiers", [])}

    def _keep(self, tiers: dict[int, AccountTier]) -> None:
        self.s.extra["account_tiers"] = list(tiers.values())

    def account_tiers(self, account_ids: Collection[int] | None = None) -> dict[int, AccountTier]:
        tiers = self._tiers()
        if account_ids is None:
            return tiers
        return {i: tiers[i] for i in set(account_ids) if i in tiers}

    def put_account_tiers(self, tiers: Sequence[AccountTier]) -> None:
        stored = self._tiers()
        for x in tiers:
            old = stored.get(x.account_id)
            at = as_utc(x.computed_at)
            stored[x.account_id] = replace(
                x, reason=x.reason[:512], computed_at=at, override=old.override if old else None
            )
        self._keep(stored)

    def set_tier_override(self, account_id: int, override: TierOverride | None) -> None:
        stored = self._tiers()
        if override is not None:
            override = replace(override, at=as_utc(override.at), note=override.note[:512])
        old = stored.get(account_id)
        if old is None:
            raise NotFound(f"account id {account_id} has no stored tier")
        stored[account_id] = replace(old, override=override)
        self._keep(stored)

    def set_do_not_contact(self, account_id: int, on: bool, at: datetime) -> None:
        for key, a in self.s.accounts.items():
            if a.id == account_id:
                self.s.accounts[key] = replace(a, do_not_contact=on)
                return
        raise NotFound(f"account id {account_id} does not exist")
