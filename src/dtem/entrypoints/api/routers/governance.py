"""Policies and audit over HTTP."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query
from pydantic import AwareDatetime, BaseModel, StrictBool

from dtem.domain.ports import LambdaStep
from dtem.entrypoints.api.deps import AdminDep, ContainerDep, TokenDep
from dtem.entrypoints.api.pagination import Page, PageDep
from dtem.entrypoints.api.params import VersionNumber, VersionPath
from dtem.services import audit, capacity_rate, governance
from dtem.services.policy_schema import policy_schema
from dtem.services.preview import preview_policy

router = APIRouter(tags=["governance"])


class PolicyOut(BaseModel):
    version: int
    active: bool
    policy: dict[str, Any]


class ActivateIn(BaseModel):
    version: VersionNumber
    force: StrictBool = False  # activate a trained version its gate refused (needs a reason)
    reason: str = ""


@router.get("/policy", response_model=PolicyOut)
def get_active_policy(c: ContainerDep, _t: TokenDep) -> PolicyOut:
    active = governance.ensure_policy(c.ledger, c.clock)
    return PolicyOut(version=active.version, active=True, policy=active.stored.to_dict())


@router.get("/policy/{version:int}", response_model=PolicyOut)
def get_policy(version: int, c: ContainerDep, _t: TokenDep) -> PolicyOut:
    with c.ledger.transaction() as tx:
        doc = tx.policy_document(version)
        active = tx.active_policy_version()
    return PolicyOut(version=version, active=version == active, policy=doc)


class ActivateVersionIn(BaseModel):
    force: StrictBool = False  # activate a trained version its gate refused (needs a reason)
    reason: str = ""


@router.post("/policies/{version}/activate", response_model=PolicyOut)
def activate_version(
    version: VersionPath, c: ContainerDep, token: AdminDep, body: ActivateVersionIn | None = None
) -> PolicyOut:
    """Activate stored version `version` (`dtem policy activate N`); audited."""
    body = body or ActivateVersionIn()
    return activate(ActivateIn(version=version, force=body.force, reason=body.reason), c, token)


class ScheduleIn(BaseModel):
    at: AwareDatetime  # a future instant, with its zone


class ScheduleOut(BaseModel):
    id: int
    version: int
    at: datetime
    created_at: datetime
    actor: str
    outcome: str | None  # applied | cancelled | refused once closed; None while pending


@router.post("/policies/{version}/schedule", response_model=ScheduleOut, status_code=201)
def schedule_version(
    version: VersionPath, body: ScheduleIn, c: ContainerDep, token: AdminDep
) -> ScheduleOut:
    """Activate `version` at a future instant (`dtem policy activate N --at TS`); audited."""
    x = governance.schedule_activation(c.ledger, version, body.at, c.clock, f"token:{token.id}")
    return ScheduleOut.model_validate(x, from_attributes=True)


@router.get("/policies/schedules", response_model=list[ScheduleOut])
def list_schedules(c: ContainerDep, _t: TokenDep) -> list[ScheduleOut]:
    """Pending scheduled activations, soonest first (`dtem policy scheduled`)."""
    governance.ensure_policy(c.ledger, c.clock)  # applies what fell due
    pending = governance.pending_schedules(c.ledger)
    return [ScheduleOut.model_validate(x, from_attributes=True) for x in pending]


@router.post("/policies/schedules/{schedule_id}/cancel", status_code=204)
def cancel_schedule(
    schedule_id: Annotated[int, Path(ge=1, le=2**53 - 1)], c: ContainerDep, token: AdminDep
) -> None:
    """Cancel a pending scheduled activation (`dtem policy scheduled --cancel ID`); audited."""
    governance.cancel_schedule(c.ledger, schedule_id, c.clock, f"token:{token.id}")


@router.post("/policy/activate", response_model=PolicyOut)
def activate(body: ActivateIn, c: ContainerDep, token: AdminDep) -> PolicyOut:
    """Activate `version` (kept for older clients: `POST /policies/{version}/activate`)."""
    actor = f"token:{token.id}"
    active = governance.activate_policy(
        c.ledger, body.version, c.clock, actor, force=body.force, reason=body.reason
    )
    return PolicyOut(version=active.version, active=True, policy=active.stored.to_dict())


class StoreIn(BaseModel):
    """A policy document: by default a merge patch (RFC 7396) on the active version, or
    on `base`; with `replace`, the whole policy (what it leaves out takes the default)."""

    document: dict[str, Any]
    note: str = ""
    replace: StrictBool = False
    base: VersionNumber | None = None


class StoredOut(BaseModel):
    version: int
    policy: dict[str, Any]


class VersionOut(BaseModel):
    version: int
    created_at: str
    created_by: str
    note: str
    active: bool


class ChangeOut(BaseModel):
    path: str
    before: Any
    after: Any


class DiffOut(BaseModel):
    a: int
    b: int
    changes: list[ChangeOut]


class RollbackIn(BaseModel):
    reason: str = ""
    to: VersionNumber | None = None  # an earlier active version; default: the one before


@router.get("/policies", response_model=Page[VersionOut])
def list_policies(c: ContainerDep, _t: TokenDep, page: PageDep) -> Page[VersionOut]:
    """Every stored version, oldest first (`dtem policy list`)."""
    found = governance.list_policies(c.ledger, page.after(int), page.fetch)
    return page.of(
        found,
        key=lambda v: v.version,
        item=lambda v: VersionOut(version=v.version, created_at=v.created_at.isoformat(),
                                  created_by=v.created_by, note=v.note, active=v.active),
    )  # fmt: skip


@router.get("/policies/schema")
def get_policy_schema(_t: TokenDep) -> dict[str, Any]:
    """The JSON Schema (draft 2020-12) of a policy document."""
    return policy_schema()


class LambdaOut(BaseModel):
    active_version: int
    lambda_ratio: float
    threshold: float
    threshold_in_force: float
    steps: list[LambdaStep]  # the ledger's record, as stored


@router.get("/policies/lambda", response_model=LambdaOut)
def get_lambda(
    c: ContainerDep, _t: TokenDep, limit: Annotated[int, Query(ge=1, le=1000)] = 30
) -> LambdaOut:
    """The capacity interest rate: each review's λ step (oldest first), the threshold in
    force it gave, and pipeline bloat — as `dtem policy lambda`."""
    active = governance.ensure_policy(c.ledger, c.clock)
    steps = capacity_rate.lambda_history(c.ledger, limit)
    return LambdaOut(
        active_version=active.version, lambda_ratio=active.lambda_ratio,
        threshold=active.stored.threshold, threshold_in_force=active.policy.threshold,
        steps=steps,
    )  # fmt: skip


@router.post("/policies", response_model=StoredOut, status_code=201)
def store(body: StoreIn, c: ContainerDep, token: AdminDep) -> StoredOut:
    """Validate and store a new version (not activated); every problem listed at once."""
    version = governance.store_policy(
        c.ledger, body.document, c.clock, f"token:{token.id}", body.note,
        merge=not body.replace, base=body.base,
    )  # fmt: skip
    with c.ledger.transaction() as tx:
        return StoredOut(version=version, policy=tx.policy_document(version))


@router.get("/policies/{a}/diff", response_model=DiffOut)
def diff(a: int, c: ContainerDep, _t: TokenDep, to: int | None = None) -> DiffOut:
    """Every field that differs from version `a` to version `to` (default: active)."""
    d = governance.diff_policies(c.ledger, a, to)
    return DiffOut(a=d.a, b=d.b, changes=[ChangeOut(**ch.to_dict()) for ch in d.changes])


@router.post("/policies/{version}/preview")
def preview(version: int, c: ContainerDep, _t: AdminDep, examples: int = 10) -> dict[str, Any]:
    """What activating `version` would change now (threshold crossings, tiers, rep loads,
    commission, λ); writes nothing."""
    from dtem.bootstrap import batch_scorer  # the batch engine loads on first use

    return preview_policy(c.ledger, version, batch_scorer("duckdb"), c.clock, examples).to_dict()


@router.post("/policies/rollback", response_model=PolicyOut)
def rollback(body: RollbackIn, c: ContainerDep, token: AdminDep) -> PolicyOut:
    """Activate the previous version (or `to`) again as a new version (audited)."""
    active = governance.rollback_policy(
        c.ledger, c.clock, f"token:{token.id}", body.reason, body.to
    )
    return PolicyOut(version=active.version, active=True, policy=active.stored.to_dict())


@router.get("/audit/verify")
def verify(c: ContainerDep, _t: AdminDep) -> dict[str, Any]:
    return {"ok": True, "entries": audit.verify_audit(c.ledger)}
