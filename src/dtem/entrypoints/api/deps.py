"""Request dependencies: the container, the caller's token, role checks."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from dtem.bootstrap import Container
from dtem.domain.errors import AuthError, Forbidden
from dtem.domain.ports import TokenRecord
from dtem.services import access

_bearer = HTTPBearer(auto_error=False)


def get_container(request: Request) -> Container:
    container: Container = request.app.state.container
    return container


ContainerDep = Annotated[Container, Depends(get_container)]


def current_token(
    c: ContainerDep,
    creds: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> TokenRecord:
    """The caller's token; `AuthError` (401, `WWW-Authenticate: Bearer`) when there is
    none, or it is unknown, expired or revoked."""
    if creds is None or creds.scheme.lower() != "bearer":
        raise AuthError("missing bearer token")
    return access.authenticate(c.ledger, c.clock, creds.credentials)


TokenDep = Annotated[TokenRecord, Depends(current_token)]


def require_role(*roles: str) -> Callable[[TokenRecord], TokenRecord]:
    """A dependency that lets only the given roles (admin always) through."""

    def check(token: TokenDep) -> TokenRecord:
        if token.role != "admin" and token.role not in roles:
            raise Forbidden(f"role {token.role!r} may not do this")
        return token

    return check


AdminDep = Annotated[TokenRecord, Depends(require_role("admin"))]
