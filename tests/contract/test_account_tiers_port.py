"""AccountTiersPort on memory, SQLite and PostgreSQL: one stored tier per account, an
override that survives recomputation, do-not-contact set and cleared."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from dtem.domain.clock import FixedClock
from dtem.domain.errors import NotFound
from dtem.domain.model import Account, Tier
from dtem.domain.tiers import AccountTier, TierOverride
from tests.conftest import T0
from tests.market_seed import seed

HOUR = timedelta(hours=1)


def _two(ledger: Any) -> dict[str, int]:
    acc, _ = seed(ledger, FixedClock(T0), [Account("A1", "Acme"), Account("B1", "Bolt")], [])
    return acc


def test_tiers_are_stored_once_per_account_and_rewritten(ledger: Any) -> None:
    acc = _two(ledger)
    a, b = acc["A1"], acc["B1"]
    with ledger.transaction() as tx:
        assert tx.account_tiers() == {}
        tx.put_account_tiers(
            [
                AccountTier(a, Tier.HYBRID, "hybrid", 1, T0),
                AccountTier(b, Tier.AI_ONLY, "small", 1, T0),
            ]
        )
    with ledger.transaction() as tx:
        tx.put_account_tiers([AccountTier(a, Tier.HUMAN_ONLY, "value above the cut", 2, T0 + HOUR)])
        stored = tx.account_tiers()
        assert stored[a] == AccountTier(a, Tier.HUMAN_ONLY, "value above the cut", 2, T0 + HOUR)
        assert stored[b].tier is Tier.AI_ONLY and stored[b].policy_version == 1
        assert set(tx.account_tiers([b])) == {b}
        assert tx.account_tiers([]) == {}


def test_an_override_survives_a_recomputation_and_can_be_cleared(ledger: Any) -> None:
    a = _two(ledger)["A1"]
    override = TierOverride(Tier.HUMAN_ONLY, "ana", T0, "board-level relationship")
    with ledger.transaction() as tx:
        with pytest.raises(NotFound):
            tx.set_tier_override(a, override)  # no stored tier yet
        tx.put_account_tiers([AccountTier(a, Tier.HYBRID, "hybrid", 1, T0)])
        tx.set_tier_override(a, override)
    with ledger.transaction() as tx:
        tx.put_account_tiers([AccountTier(a, Tier.HUMAN_ONLY, override.reason(), 1, T0 + HOUR)])
        assert tx.account_tiers([a])[a].override == override
        tx.set_tier_override(a, None)
        assert tx.account_tiers([a])[a].override is None


def test_do_not_contact_is_set_and_cleared(ledger: Any) -> None:
    a = _two(ledger)["A1"]
    with ledger.transaction() as tx:
        tx.set_do_not_contact(a, True, T0)
        assert tx.accounts_by_id([a])[a].do_not_contact is True
        tx.set_do_not_contact(a, False, T0 + HOUR)
        assert tx.accounts_by_external_id(["A1"])["A1"].do_not_contact is False
        with pytest.raises(NotFound):
            tx.set_do_not_contact(987654, True, T0)
