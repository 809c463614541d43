"""Agent cost over a period: every touch at the policy's agent_touch_cost of its day."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from tests.conftest import T0
from tests.market_seed import put_score, seed

from dtem.adapters.ledger.memory import MemoryLedger
from dtem.bootstrap import signal_pipeline
from dtem.domain.clock import FixedClock
from dtem.domain.errors import ArgumentInvalid
from dtem.domain.model import Account
from dtem.domain.policy import default_policy
from dtem.services import agents
from dtem.services.agent_cost import agent_cost
from dtem.services.governance import activate_policy, store_policy

PIPE = signal_pipeline()
DAY = timedelta(days=1)


def test_each_touch_is_priced_at_the_policy_in_force_when_it_happened() -> None:
    ledger, clock = MemoryLedger(), FixedClock(T0)
    acc, _ = seed(ledger, clock, [Account("N1", "One", potential_value=40_000.0)], [])
    put_score(ledger, acc["N1"], 7.0, T0, propensity=0.02)
    cheap = default_policy().to_dict() | {"agent_touch_cost": 0.35}
    activate_policy(ledger, store_policy(ledger, cheap, clock, "ana"), clock, "ana")
    agents.claim_accounts(ledger, clock, "bot", 1)
    for kind in ("email_sent", "reply"):
        agents.record_touch(ledger, clock, "bot", "N1", kind, PIPE)
    later = FixedClock(T0 + DAY)
    dear = default_policy().to_dict() | {"agent_touch_cost": 1.255}
    activate_policy(ledger, store_policy(ledger, dear, later, "ana"), later, "ana")
    agents.claim_accounts(ledger, later, "bot", 1)
    agents.record_touch(ledger, later, "bot", "N1", "call", PIPE)
    cost = agent_cost(ledger, T0, T0 + 2 * DAY)
    assert (cost.touches, cost.total) == (3, Decimal("1.96"))  # 0.35 + 0.35 + 1.255 → 1.96
    assert cost.by_agent["bot"].touches == 3
    assert cost.by_kind["call"].cost == Decimal("1.26")  # 1.255 rounded half-up
    assert agent_cost(ledger, T0 + DAY, T0 + 2 * DAY).total == Decimal("1.26")
    with pytest.raises(ArgumentInvalid):
        agent_cost(ledger, T0 + DAY, T0)
