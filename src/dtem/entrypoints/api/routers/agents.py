"""The agent gateway over HTTP (`/agent/v1`): claims, touches, hand-raises.

Every endpoint needs a bearer token of role `agent` (admin also passes); the token's
subject is the agent's name, and an agent reports only on accounts it holds (409
otherwise, audited). See docs/agents.md.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends
from pydantic import BaseModel, Field

from dtem.domain.nurture import TOUCH_KINDS
from dtem.domain.ports import TokenRecord
from dtem.entrypoints.api.deps import ContainerDep, require_role
from dtem.services import agents

router = APIRouter(prefix="/agent/v1", tags=["agents"])

AgentDep = Annotated[TokenRecord, Depends(require_role("agent"))]


class ClaimIn(BaseModel):
    limit: int = Field(10, ge=1, le=500, description="at most this many accounts")


class ClaimOut(BaseModel):
    claim_id: int
    account: str
    tier: int
    score: float | None
    nurture_value: float = Field(description="P(a) × value(a), the order of the claims")
    expires_at: datetime


class ClaimsOut(BaseModel):
    agent: str
    claims: list[ClaimOut]
    note: str = ""


class TouchIn(BaseModel):
    account: str
    kind: str = Field(examples=list(TOUCH_KINDS))
    event_id: str | None = Field(None, max_length=200, description="idempotency key")


class TouchOut(BaseModel):
    account: str
    kind: str
    event_id: str


class HandRaiseIn(BaseModel):
    account: str
    note: str = Field("", max_length=500)


class HandRaiseOut(BaseModel):
    account: str
    outcome: str
    rep: str | None
    lease_id: int | None
    score: float | None


def _agent(token: TokenRecord) -> str:
    return token.subject or token.name or f"token-{token.id}"


@router.post("/claims", response_model=ClaimsOut)
def claim(body: ClaimIn, token: AgentDep, c: ContainerDep) -> ClaimsOut:
    """Claim up to `limit` accounts this agent may nurture, best first."""
    got = agents.claim_accounts(c.ledger, c.clock, _agent(token), body.limit)
    out = [ClaimOut(**vars(x)) for x in got.claims]
    return ClaimsOut(agent=_agent(token), claims=out, note=got.note)


@router.post("/touches", response_model=TouchOut)
def touch(body: TouchIn, token: AgentDep, c: ContainerDep) -> TouchOut:
    """Record a touch on a held account (an activity and a signal; scoring runs)."""
    event = agents.record_touch(
        c.ledger, c.clock, _agent(token), body.account, body.kind, c.pipeline, body.event_id
    )
    return TouchOut(account=body.account, kind=body.kind, event_id=event)


@router.post("/hand-raises", response_model=HandRaiseOut)
def hand_raise(body: HandRaiseIn, token: AgentDep, c: ContainerDep) -> HandRaiseOut:
    """Hand a held account to a human now: the answer names the rep and the lease."""
    got = agents.raise_hand(c.ledger, c.clock, _agent(token), body.account, c.pipeline, body.note)
    return HandRaiseOut(**vars(got))
