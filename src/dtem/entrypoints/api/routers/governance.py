"""Policies and audit over HTTP."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel

from dtem.entrypoints.api.deps import AdminDep, ContainerDep, TokenDep
from dtem.services import audit, governance

router = APIRouter(tags=["governance"])


class PolicyOut(BaseModel):
    version: int
    active: bool
    policy: dict[str, Any]


class ActivateIn(BaseModel):
    version: int
    force: bool = False  # activate a trained version its gate refused (needs a reason)
    reason: str = ""


@router.get("/policy", response_model=PolicyOut)
def get_active_policy(c: ContainerDep, _t: TokenDep) -> PolicyOut:
    active = governance.ensure_policy(c.ledger, c.clock)
    return PolicyOut(version=active.version, active=True, policy=active.policy.to_dict())


@router.get("/policy/{version}", response_model=PolicyOut)
def get_policy(version: int, c: ContainerDep, _t: TokenDep) -> PolicyOut:
    with c.ledger.transaction() as tx:
        doc = tx.policy_document(version)
        active = tx.active_policy_version()
    return PolicyOut(version=version, active=version == active, policy=doc)


@router.post("/policy/activate", response_model=PolicyOut)
def activate(body: ActivateIn, c: ContainerDep, token: AdminDep) -> PolicyOut:
    actor = f"token:{token.id}"
    active = governance.activate_policy(
        c.ledger, body.version, c.clock, actor, force=body.force, reason=body.reason
    )
    return PolicyOut(version=active.version, active=True, policy=active.policy.to_dict())


@router.get("/audit/verify")
def verify(c: ContainerDep, _t: AdminDep) -> dict[str, Any]:
    return {"ok": True, "entries": audit.verify_audit(c.ledger)}
