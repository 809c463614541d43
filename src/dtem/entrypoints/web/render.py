"""Templates (Jinja2, autoescaped) and the dashboard's errors as pages, never JSON or 500s.

`HtmlRoute` is the route class of every dashboard router: a product error becomes a
page with the API's status for it (a missing account 404, a refused role 403, a bad
policy 422 with its problems), an expired or absent session a redirect to sign-in.
An HTMX request gets the same message as a fragment.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from datetime import datetime
from typing import Any
from urllib.parse import quote, urlencode

from fastapi import Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.routing import APIRoute
from jinja2 import Environment, PackageLoader, StrictUndefined

from dtem.domain.errors import DomainError, LedgerUnavailable, PolicyInvalid
from dtem.entrypoints.api.errors import STATUS, UNAVAILABLE
from dtem.entrypoints.web.session import CSRF_FIELD, Session, SignInNeeded

LOGIN = "/ui/login"
# Only this site's scripts, styles and forms; never framed (clickjacking).
SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; base-uri 'none'; "
    "form-action 'self'; frame-ancestors 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
}

env = Environment(
    loader=PackageLoader("dtem.entrypoints.web", "templates"),
    autoescape=True,  # every value is escaped unless a template says otherwise (none does)
    undefined=StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)


def _number(value: float | int | None, digits: int = 0) -> str:
    return "–" if value is None else f"{value:,.{digits}f}"


def _percent(value: float | None, digits: int = 1) -> str:
    return "–" if value is None else f"{value:.{digits}%}"


def _when(value: datetime | None) -> str:
    return "–" if value is None else value.strftime("%Y-%m-%d %H:%M")


def with_query(request: Request, name: str, value: object) -> str:
    """This page's path and query with `name` set to `value` (a pager's link)."""
    query = dict(request.query_params)
    query[name] = str(value)
    return f"{request.url.path}?{urlencode(query)}"


env.filters["number"] = _number
env.filters["percent"] = _percent
env.filters["when"] = _when
env.globals["csrf_field"] = CSRF_FIELD
env.globals["with_query"] = with_query


def page(
    request: Request,
    template: str,
    session: Session | None,
    status_code: int = 200,
    **context: Any,
) -> HTMLResponse:
    """Render `template` with the session (for the menu and the forms' CSRF token)."""
    body = env.get_template(template).render(request=request, session=session, **context)
    return HTMLResponse(body, status_code=status_code, headers=SECURITY_HEADERS)


def is_htmx(request: Request) -> bool:
    return request.headers.get("hx-request") == "true"


def error_page(request: Request, status_code: int, message: str, problems: Any = None) -> Response:
    if is_htmx(request):  # shown in place of the fragment; htmx swaps 2xx answers only
        body = env.get_template("_error.html").render(message=message, problems=problems)
        return HTMLResponse(body, status_code=200, headers={"HX-Reswap": "innerHTML"})
    return page(
        request, "error.html", None, status_code, status=status_code, message=message,
        problems=problems,
    )  # fmt: skip


def sign_in_redirect(request: Request) -> RedirectResponse:
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return RedirectResponse(f"{LOGIN}?next={quote(target, safe='')}", status_code=303)


class HtmlRoute(APIRoute):
    """A route whose errors are pages (see the module's docstring)."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def guarded(request: Request) -> Response:
            try:
                return await handler(request)
            except SignInNeeded:
                return sign_in_redirect(request)
            except DomainError as exc:
                return _domain_error(request, exc)
            except RequestValidationError as exc:
                problems = [
                    f"{'.'.join(str(p) for p in e['loc'][1:])}: {e['msg']}" for e in exc.errors()
                ]
                return error_page(request, 422, "the form is not valid", problems)

        return guarded


def _domain_error(request: Request, exc: DomainError) -> Response:
    code = next((c for k, c in STATUS.items() if isinstance(exc, k)), 400)
    message = UNAVAILABLE if isinstance(exc, LedgerUnavailable) else str(exc)
    problems = exc.problems if isinstance(exc, PolicyInvalid) else None
    return error_page(request, code, message, problems)
