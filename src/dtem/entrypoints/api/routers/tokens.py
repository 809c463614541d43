"""API tokens over HTTP (`dtem token …`): create, list, revoke. Admin only.

A created token's secret is in the answer once (only its hash is stored); a `rep` token
names an existing rep, an `agent` token an agent (`subject`). Every change is audited.

    curl -X POST -H "Authorization: Bearer $ADMIN" -d '{"role": "viewer", "name": "bi"}' \\
        localhost:8000/tokens
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field

from dtem.domain.ports import TokenRecord
from dtem.entrypoints.api.callers import actor
from dtem.entrypoints.api.deps import AdminDep, ContainerDep
from dtem.entrypoints.api.pagination import Page, PageDep
from dtem.services import access

router = APIRouter(tags=["tokens"])


class TokenIn(BaseModel):
    """A rep token names its rep (`subject`), an agent token its agent."""

    model_config = ConfigDict(
        json_schema_extra={
            "if": {"properties": {"role": {"enum": ["rep", "agent"]}}},
            "then": {
                "properties": {"subject": {"type": "string", "pattern": "\\S"}},
                "required": ["subject"],
            },
        }
    )
    role: Literal["admin", "manager", "rep", "agent", "viewer"]
    name: str = Field("", max_length=128)
    subject: str | None = Field(None, description="a rep's external id, or an agent's name")
    ttl_days: float | None = Field(
        None, gt=0, le=36_500, description="expire after this many days (at most 100 years)"
    )


class TokenOut(BaseModel):
    id: int
    role: str
    name: str
    subject: str | None
    created_at: datetime
    expires_at: datetime | None
    revoked_at: datetime | None
    last_used_at: datetime | None

    @classmethod
    def of(cls, t: TokenRecord) -> TokenOut:
        return cls(
            id=t.id or 0, role=t.role, name=t.name, subject=t.subject, created_at=t.created_at,
            expires_at=t.expires_at, revoked_at=t.revoked_at, last_used_at=t.last_used_at,
        )  # fmt: skip


class TokenCreatedOut(BaseModel):
    id: int
    role: str
    token: str = Field(description="the bearer secret, shown this once")


class RevokedOut(BaseModel):
    id: int
    revoked_at: datetime


@router.get("/tokens", response_model=Page[TokenOut])
def list_tokens(c: ContainerDep, _t: AdminDep, page: PageDep) -> Page[TokenOut]:
    """Tokens by id, never their secrets, with subject, expiry, revocation and last use."""
    found = access.list_tokens(c.ledger, page.after(int), page.fetch)
    return page.of(found, key=lambda t: t.id or 0, item=TokenOut.of)


@router.post("/tokens", response_model=TokenCreatedOut, status_code=201)
def create_token(body: TokenIn, c: ContainerDep, token: AdminDep) -> TokenCreatedOut:
    """Create a token (`dtem token create`); its secret is shown once."""
    token_id, secret = access.create_token(
        c.ledger, c.clock, body.role, body.name, body.ttl_days, body.subject, actor(token)
    )
    return TokenCreatedOut(id=token_id, role=body.role, token=secret)


@router.post("/tokens/{token_id}/revoke", response_model=RevokedOut)
def revoke_token(token_id: int, c: ContainerDep, token: AdminDep) -> RevokedOut:
    """Revoke a token now (`dtem token revoke`); revoking again keeps the first time."""
    return RevokedOut(
        id=token_id, revoked_at=access.revoke_token(c.ledger, c.clock, token_id, actor(token))
    )
