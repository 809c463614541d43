"""Accounts over HTTP: one account with its tier and routing; set a tier or do-not-contact.

Any valid token may read an account; setting a tier or do-not-contact needs a manager
(or admin) token and is audited under the token's subject. Example:

    curl -X PUT -H "Authorization: Bearer $TOKEN" -d '{"tier": "1", "note": "key logo"}' \
        localhost:8000/accounts/ACME-001/tier
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, Field, StrictBool

from dtem.domain.errors import Forbidden
from dtem.domain.model import Tier
from dtem.domain.ports import TokenRecord
from dtem.entrypoints.api.deps import ContainerDep, TokenDep, require_role
from dtem.entrypoints.api.pagination import Page, PageDep
from dtem.services import accounts
from dtem.services.governance import ensure_policy

router = APIRouter(tags=["accounts"])

ManagerDep = Annotated[TokenRecord, Depends(require_role("manager"))]
AI_POOL = int(Tier.AI_ONLY)


class AccountRowOut(BaseModel):
    account: str
    name: str
    do_not_contact: bool
    tier: int | None = Field(description="the stored tier; null: not computed yet")
    reason: str | None
    policy_version: int | None

    @classmethod
    def of(cls, r: accounts.AccountRow) -> AccountRowOut:
        a, t = r.account, r.tier
        return cls(
            account=a.external_id, name=a.name, do_not_contact=a.do_not_contact,
            tier=int(t.tier) if t else None, reason=t.reason if t else None,
            policy_version=t.policy_version if t else None,
        )  # fmt: skip


class TierIn(BaseModel):
    tier: Literal["1", "2", "3", "auto"] = Field(description="1, 2, 3, or auto (the rules)")
    note: str = Field("", max_length=500)


class ContactIn(BaseModel):
    do_not_contact: StrictBool
    note: str = Field("", max_length=500)


def _actor(token: TokenRecord) -> str:
    return f"token:{token.id}" + (f":{token.subject}" if token.subject else "")


@router.get("/accounts", response_model=Page[AccountRowOut])
def account_list(
    c: ContainerDep,
    token: TokenDep,
    page: PageDep,
    tier: Annotated[int | None, Query(ge=1, le=3, description="Only this tier.")] = None,
    do_not_contact: Annotated[
        bool | None, Query(description="true: only do-not-contact; false: only contactable")
    ] = None,
) -> Page[AccountRowOut]:
    """Accounts by external id with their tier and reason (`dtem accounts list`). An agent
    token sees only the AI pool (tier 3)."""
    if token.role == "agent":
        if tier not in (None, AI_POOL):
            raise Forbidden(f"an agent sees only tier {AI_POOL} accounts, not tier {tier}")
        tier = AI_POOL
    rows = accounts.list_accounts(c.ledger, tier, do_not_contact, page.fetch, page.after(str))
    return page.of(rows, key=lambda r: r.account.external_id, item=AccountRowOut.of)


@router.get("/accounts/{external_id}")
def account_show(external_id: str, c: ContainerDep, _t: TokenDep) -> dict[str, Any]:
    """Tier and why, do-not-contact, score, active lease and what routed it."""
    return accounts.account_json(accounts.show_account(c.ledger, c.clock, external_id))


@router.put("/accounts/{external_id}/tier")
def account_tier(
    external_id: str, body: TierIn, c: ContainerDep, token: ManagerDep
) -> dict[str, Any]:
    """Name the account's tier, or give it back to the policy's rules (`auto`)."""
    ensure_policy(c.ledger, c.clock)
    actor = _actor(token)
    stored = accounts.set_tier(c.ledger, c.clock, external_id, body.tier, actor, body.note)
    return {"account": external_id, **accounts.tier_json(stored)}


@router.put("/accounts/{external_id}/do-not-contact")
def account_contact(
    external_id: str, body: ContactIn, c: ContainerDep, token: ManagerDep
) -> dict[str, Any]:
    """Mark the account do-not-contact (or clear it); an agent's claim on it ends."""
    stored = accounts.set_do_not_contact(
        c.ledger, c.clock, external_id, body.do_not_contact, _actor(token), body.note
    )
    return {"account": external_id, "do_not_contact": stored.do_not_contact}
