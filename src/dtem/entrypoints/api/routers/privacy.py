"""Privacy over HTTP, admin only: erasure on request (GDPR Art. 17), retention per source."""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field

from dtem.domain.privacy import Person
from dtem.domain.retention import MAX_RETENTION_DAYS, SourceRetention
from dtem.entrypoints.api.deps import AdminDep, ContainerDep
from dtem.services import privacy, retention

router = APIRouter(tags=["privacy"])


class ErasureIn(BaseModel):
    """Exactly one of `email` and `user_id`."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "oneOf": [  # what Person.of accepts: an address with an @, or a user id
                {
                    "required": ["email"],
                    "properties": {"email": {"type": "string", "pattern": "@"}},
                },
                {
                    "required": ["user_id"],
                    "properties": {"user_id": {"type": "string", "pattern": "\\S"}},
                },
            ]
        },
    )
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


class RetentionOut(BaseModel):
    """A signal source, how it delivers (`webhook`, `pipeline`) and its retention in days
    (null: kept forever)."""

    source: str
    kinds: list[str]
    retention_days: int | None


class RetentionIn(BaseModel):
    """`retention_days`: a whole number of days ≥ 1, or null to keep forever."""

    model_config = ConfigDict(extra="forbid")
    retention_days: int | None = Field(
        ge=1, le=MAX_RETENTION_DAYS, description="days ≥ 1; null keeps forever"
    )


@router.get("/privacy/retention", response_model=list[RetentionOut])
def list_retention(c: ContainerDep, _t: AdminDep) -> list[RetentionOut]:
    """Every signal source and how long the daily review keeps its raw signals."""
    return [_out(r) for r in retention.list_retention(c.ledger)]


@router.put("/privacy/retention/{source}", response_model=RetentionOut)
def set_retention(source: str, body: RetentionIn, c: ContainerDep, token: AdminDep) -> RetentionOut:
    """Set a source's retention (audited); the next daily review applies it."""
    row = retention.set_retention(
        c.ledger, c.clock, source, body.retention_days, f"token:{token.id}"
    )
    return _out(row)


def _out(r: SourceRetention) -> RetentionOut:
    return RetentionOut(source=r.source, kinds=list(r.kinds), retention_days=r.retention_days)
