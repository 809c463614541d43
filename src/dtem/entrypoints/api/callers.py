"""Who is calling: the role guards the routers share, the audit actor of a token, and the
rep a rep token acts as."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends

from dtem.domain.errors import Forbidden
from dtem.domain.ports import TokenRecord
from dtem.entrypoints.api.deps import require_role

ManagerDep = Annotated[TokenRecord, Depends(require_role("manager"))]
RouterDep = Annotated[TokenRecord, Depends(require_role("manager", "agent"))]
RepOrManagerDep = Annotated[TokenRecord, Depends(require_role("manager", "rep"))]
ReaderDep = Annotated[TokenRecord, Depends(require_role("manager", "viewer"))]


def actor(token: TokenRecord) -> str:
    """The audit log's name for the token: `token:7` or `token:7:R-001`."""
    return f"token:{token.id}" + (f":{token.subject}" if token.subject else "")


def own_rep(token: TokenRecord) -> str:
    """The rep a rep token acts as (tokens made before subjects were required may lack one)."""
    if not token.subject:
        raise Forbidden(f"rep token {token.id} names no rep; create one with --subject")
    return token.subject


def rep_scope(token: TokenRecord) -> str | None:
    """The only rep whose leases and decisions this token may read (None: every rep's)."""
    return own_rep(token) if token.role == "rep" else None
