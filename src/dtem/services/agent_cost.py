"""What agents cost over a period: each touch priced at the policy in force when it
happened (`agent_touch_cost`), so CAC counts agents at the price of the day.

    cost = agent_cost(ledger, datetime(2027, 1, 1, tzinfo=UTC), datetime(2027, 2, 1, tzinfo=UTC))
    cost.total, cost.by_agent["nurture-bot"]
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass, field
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any, Protocol

from dtem.domain.errors import ArgumentInvalid
from dtem.domain.policy import Policy
from dtem.domain.ports import AgentClaimsPort, LedgerOf, PolicyPort

CENT = Decimal("0.01")


class _CostTx(AgentClaimsPort, PolicyPort, Protocol):
    """Agent touches and the policy versions in force over time."""


@dataclass(frozen=True)
class AgentSpend:
    touches: int
    cost: Decimal


@dataclass(frozen=True)
class AgentCost:
    start: datetime
    end: datetime
    touches: int
    total: Decimal
    by_agent: dict[str, AgentSpend] = field(default_factory=dict)
    by_kind: dict[str, AgentSpend] = field(default_factory=dict)


def agent_cost(ledger: LedgerOf[_CostTx], start: datetime, end: datetime) -> AgentCost:
    """Agent touches in [start, end), each at the `agent_touch_cost` of the policy active
    at its time (a touch before any activation: the first policy's), in cents."""
    if end <= start:
        raise ArgumentInvalid(f"--to ({end:%Y-%m-%d}) must be after --from ({start:%Y-%m-%d})")
    with ledger.transaction() as tx:
        touches = tx.agent_touches(start, end)
        activations = tx.policy_activations()
        prices = {
            v: Decimal(str(Policy.from_dict(tx.policy_document(v)).agent_touch_cost))
            for v in {a.version for a in activations}
        }
    times = [a.activated_at for a in activations]
    agents: dict[str, list[Decimal]] = {}
    kinds: dict[str, list[Decimal]] = {}
    for touch in touches:
        i = max(bisect.bisect_right(times, touch.occurred_at) - 1, 0)
        price = prices[activations[i].version] if activations else Decimal(0)
        agents.setdefault(touch.actor_id or "?", []).append(price)
        kinds.setdefault(touch.kind, []).append(price)
    total = sum((p for ps in agents.values() for p in ps), Decimal(0))
    return AgentCost(
        start, end, len(touches), _cents(total),
        {a: AgentSpend(len(ps), _cents(sum(ps, Decimal(0)))) for a, ps in sorted(agents.items())},
        {k: AgentSpend(len(ps), _cents(sum(ps, Decimal(0)))) for k, ps in sorted(kinds.items())},
    )  # fmt: skip


def _cents(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def agent_cost_json(cost: AgentCost) -> dict[str, Any]:
    """JSON-ready (money as exact strings)."""

    def spend(x: AgentSpend) -> dict[str, Any]:
        return {"touches": x.touches, "cost": str(x.cost)}

    return {
        "from": cost.start.isoformat(),
        "to": cost.end.isoformat(),
        "touches": cost.touches,
        "total": str(cost.total),
        "by_agent": {k: spend(v) for k, v in cost.by_agent.items()},
        "by_kind": {k: spend(v) for k, v in cost.by_kind.items()},
    }
