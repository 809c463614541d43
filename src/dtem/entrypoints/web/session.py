"""The dashboard's session: a bearer token kept in an HttpOnly cookie, and CSRF tokens.

A person signs in by pasting an API token; the server checks it with the API's own code
(`access.authenticate`) and keeps it in a cookie that scripts cannot read (`HttpOnly`)
and that no other site's page sends (`SameSite=Strict`). Every request checks it again,
so a revoked or expired token ends the session at once.

Every form carries a CSRF token bound to the session: an HMAC of a fixed label keyed by
the session's token, so it cannot be computed without the cookie and needs no server
state. Before sign-in, the sign-in form uses a double-submit cookie instead.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends, Request, Response

from dtem.domain.errors import AuthError, Forbidden
from dtem.domain.ports import TokenRecord
from dtem.entrypoints.api.deps import ContainerDep
from dtem.services import access

SESSION_COOKIE = "dtem_session"
LOGIN_CSRF_COOKIE = "dtem_login_csrf"
CSRF_FIELD = "csrf"
CSRF_HEADER = "x-csrf-token"
SESSION_SECONDS = 12 * 3600


class SignInNeeded(Exception):
    """No valid session: the page answers with a redirect to the sign-in form."""

    def __init__(self, reason: str = "") -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class Session:
    """The signed-in person: their token's record and the CSRF token of their forms."""

    token: TokenRecord
    csrf: str

    @property
    def role(self) -> str:
        return self.token.role

    @property
    def actor(self) -> str:
        """Who the audit log names for a change made from the dashboard."""
        subject = f":{self.token.subject}" if self.token.subject else ""
        return f"token:{self.token.id}{subject}"

    def allow(self, *roles: str) -> None:
        """Raise `Forbidden` unless the role is one of `roles` (admin always passes)."""
        if self.role != "admin" and self.role not in roles:
            raise Forbidden(f"role {self.role!r} may not see this page")


def csrf_for(plaintext: str) -> str:
    """The session-bound CSRF token of the session holding `plaintext`."""
    return hmac.new(plaintext.encode(), b"dtem-dashboard-csrf", hashlib.sha256).hexdigest()[:40]


def new_login_csrf() -> str:
    return secrets.token_urlsafe(24)


def current_session(request: Request, c: ContainerDep) -> Session:
    """The session of the request's cookie, checked as the API checks a bearer token."""
    plaintext = request.cookies.get(SESSION_COOKIE)
    if not plaintext:
        raise SignInNeeded()
    try:
        token = access.authenticate(c.ledger, c.clock, plaintext)
    except AuthError as exc:
        raise SignInNeeded(str(exc)) from None
    return Session(token, csrf_for(plaintext))


SessionDep = Annotated[Session, Depends(current_session)]


async def check_csrf(request: Request, session: SessionDep) -> Session:
    """A form's (or an HTMX request's header) CSRF token must be the session's."""
    form = await request.form()
    sent = request.headers.get(CSRF_HEADER) or str(form.get(CSRF_FIELD) or "")
    if not hmac.compare_digest(sent.encode(), session.csrf.encode()):
        raise Forbidden("the form's CSRF token is missing or stale; reload the page")
    return session


FormSessionDep = Annotated[Session, Depends(check_csrf)]


def page_for(*roles: str) -> Any:
    """A dependency: the session, if its role is one of `roles` (admin always); checked
    before a form's fields are read, so a refused role never learns what the form wants."""

    def check(session: SessionDep) -> Session:
        session.allow(*roles)
        return session

    return Depends(check)


def form_for(*roles: str) -> Any:
    """As `page_for`, for a form: its CSRF token is checked first."""

    def check(session: FormSessionDep) -> Session:
        session.allow(*roles)
        return session

    return Depends(check)


def set_session(response: Response, request: Request, plaintext: str) -> None:
    response.set_cookie(
        SESSION_COOKIE, plaintext, max_age=SESSION_SECONDS, path="/",
        secure=request.url.scheme == "https", httponly=True, samesite="strict",
    )  # fmt: skip
    response.delete_cookie(LOGIN_CSRF_COOKIE, path="/ui/login")


def clear_session(response: Response) -> None:
    response.delete_cookie(SESSION_COOKIE, path="/", httponly=True, samesite="strict")


def set_login_csrf(response: Response, request: Request, value: str) -> None:
    response.set_cookie(
        LOGIN_CSRF_COOKIE, value, max_age=3600, path="/ui/login",
        secure=request.url.scheme == "https", httponly=True, samesite="strict",
    )  # fmt: skip
