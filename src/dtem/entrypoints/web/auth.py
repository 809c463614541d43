"""Sign-in with an API token, sign-out, and where `/` sends each role."""

from __future__ import annotations

import hmac
from typing import Annotated

from fastapi import APIRouter, Form, Request, Response
from fastapi.responses import RedirectResponse

from dtem.domain.errors import AuthError
from dtem.entrypoints.api.deps import ContainerDep
from dtem.entrypoints.web.render import LOGIN, HtmlRoute, page
from dtem.entrypoints.web.session import (
    LOGIN_CSRF_COOKIE,
    FormSessionDep,
    clear_session,
    new_login_csrf,
    set_login_csrf,
    set_session,
)
from dtem.services import access

router = APIRouter(route_class=HtmlRoute, include_in_schema=False)


def home_of(role: str, subject: str | None) -> str:
    """The first page of a role: a rep's own queue, everyone else the pool."""
    if role == "rep" and subject:
        return f"/ui/reps/{subject}"
    return "/"


def _safe_next(target: str | None) -> str | None:
    """Only a path on this site (never `//host` or a scheme): no open redirect."""
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return None


def _login_form(request: Request, error: str = "", status_code: int = 200) -> Response:
    csrf = new_login_csrf()
    response = page(
        request, "login.html", None, status_code, login_csrf=csrf, error=error,
        next=_safe_next(request.query_params.get("next")) or "",
    )  # fmt: skip
    set_login_csrf(response, request, csrf)
    return response


@router.get(LOGIN)
def login_form(request: Request) -> Response:
    return _login_form(request)


@router.post(LOGIN)
def login(
    request: Request,
    c: ContainerDep,
    token: Annotated[str, Form(max_length=200)] = "",
    csrf: Annotated[str, Form(max_length=100)] = "",
    next_page: Annotated[str, Form(alias="next", max_length=500)] = "",
) -> Response:
    """Check the token as the API does; keep it in the session cookie."""
    expected = request.cookies.get(LOGIN_CSRF_COOKIE, "")
    if not expected or not hmac.compare_digest(csrf.encode(), expected.encode()):
        return _login_form(request, "the sign-in form expired; try again", 403)
    if not token.strip():
        return _login_form(request, "token: paste an API token", 422)
    try:
        record = access.authenticate(c.ledger, c.clock, token.strip())
    except AuthError as exc:
        return _login_form(request, f"token: {exc}", 401)
    target = _safe_next(next_page) or home_of(record.role, record.subject)
    response = RedirectResponse(target, status_code=303)
    set_session(response, request, token.strip())
    return response


@router.post("/ui/logout")
def logout(_s: FormSessionDep) -> Response:
    response = RedirectResponse(LOGIN, status_code=303)
    clear_session(response)
    return response
