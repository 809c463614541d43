"""Erasure on request (GDPR Art. 17) over HTTP: admin only."""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict

from dtem.domain.privacy import Person
from dtem.entrypoints.api.deps import AdminDep, ContainerDep
from dtem.services import privacy

router = APIRouter(tags=["privacy"])


class ErasureIn(BaseModel):
    """Exactly one of `email` and `user_id`."""

    model_config = ConfigDict(extra="forbid")
    email: str | None = None
    user_id: str | None = None


class ErasureOut(BaseModel):
    """What was deleted and re-scored; `request_id` is what the audit entry records."""

    request_id: str
    subject: str
    signals: int
    identity_links: int
    accounts_rescored: int


@router.post("/privacy/erasures", response_model=ErasureOut, status_code=201)
def create_erasure(body: ErasureIn, c: ContainerDep, token: AdminDep) -> ErasureOut:
    person = Person.of(email=body.email, user_id=body.user_id)
    report = privacy.erase_person(c.ledger, person, c.clock, f"token:{token.id}")
    return ErasureOut(**report.as_dict())
