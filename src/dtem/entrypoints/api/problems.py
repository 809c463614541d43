"""Error answers as RFC 9457 problem details (`application/problem+json`).

Every error the API sends has the members `type` (a URI naming the kind of problem),
`title` (its short summary), `status`, `detail` (this occurrence, in words) and
`instance` (the request path), plus extension members: `error` (the error's name, as
before problem details), and where they apply `rows` (an input's row errors), `problems`
(a policy's broken rules) and `errors` (a request's field errors, each naming the field
with `loc` and giving the `reason`).

Example:

    >>> problem_body(404, "no account 'ACME'", "/accounts/ACME", kind="not-found")["type"]
    'https://dtem.dev/problems/not-found'
"""

from __future__ import annotations

import http
import re
from typing import Any

from fastapi import Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.routing import iter_route_contexts
from pydantic import BaseModel, ConfigDict, Field
from starlette.exceptions import HTTPException

PROBLEM_JSON = "application/problem+json"
PROBLEM_BASE = "https://dtem.dev/problems/"
BLANK = "about:blank"  # RFC 9457: no more than the HTTP status says

TITLES: dict[str, str] = {
    "not-found": "Not found",
    "lease-conflict": "The account already has an active lease",
    "lease-version-conflict": "The lease changed meanwhile",
    "claim-not-held": "The agent does not hold this account",
    "lease-transition-invalid": "The lease's state does not allow this",
    "policy-invalid": "Invalid policy",
    "activation-refused": "Activation refused",
    "argument-invalid": "Invalid argument",
    "input-invalid": "Invalid input rows",
    "file-unreadable": "File unreadable",
    "auth-error": "Unauthenticated",
    "forbidden": "Forbidden",
    "source-exists": "The source already exists",
    "write-conflict": "Concurrent writes collided",
    "ledger-unavailable": "Ledger unavailable",
    "ledger-missing": "Ledger unavailable",
    "request-invalid": "Invalid request",
    "number-out-of-range": "Number out of range",
    "idempotency-key-invalid": "Invalid idempotency key",
    "tracking-call-invalid": "Invalid tracking call",
    "write-key-missing": "Write key missing",
    "body-too-large": "Body too large",
    "idempotency-key-reused": "Idempotency key reused for another request",
    "idempotency-key-in-flight": "A request with this idempotency key is in progress",
    "internal-error": "Internal error",
}


class FieldError(BaseModel):
    """One reason a request was refused, naming the field (`loc`, as FastAPI gives it)."""

    loc: list[str | int] = Field(examples=[["body", "trigger"]])
    field: str = Field(description="`loc` as a dotted path", examples=["body.trigger"])
    reason: str = Field(examples=["Field required"])
    type: str = Field(examples=["missing"])


class Problem(BaseModel):
    """An RFC 9457 problem: the body of every error answer (extension members may follow)."""

    model_config = ConfigDict(extra="allow")
    type: str = Field(examples=["https://dtem.dev/problems/lease-conflict"])
    title: str
    status: int = Field(ge=100, le=599)
    detail: str
    instance: str = Field(description="the request path", examples=["/routing/ACME"])
    error: str = Field(description="the error's name", examples=["LeaseConflict"])
    errors: list[FieldError] | None = Field(None, description="a request's field errors")
    rows: list[dict[str, Any]] | None = Field(None, description="an input's row errors")
    problems: list[str] | None = Field(None, description="a policy's broken rules")


def kebab(name: str) -> str:
    """`LeaseConflict` → `lease-conflict` (the slug of a problem type)."""
    return re.sub(r"(?<!^)(?=[A-Z])", "-", name).lower()


def problem_body(
    status: int, detail: str, instance: str, kind: str | None = None, **extra: Any
) -> dict[str, Any]:
    """The members of one problem; `kind` is the type's slug (none: `about:blank`)."""
    phrase = _phrase(status)
    body: dict[str, Any] = {
        "type": PROBLEM_BASE + kind if kind else BLANK,
        "title": TITLES.get(kind or "", phrase),
        "status": status,
        "detail": detail,
        "instance": instance,
        "error": extra.pop("error", None) or phrase.replace(" ", "").replace("-", ""),
    }
    return body | extra


def problem_response(
    status: int,
    detail: str,
    instance: str,
    kind: str | None = None,
    headers: dict[str, str] | None = None,
    **extra: Any,
) -> JSONResponse:
    """A problem as an HTTP response with the `application/problem+json` media type."""
    body = problem_body(status, detail, instance, kind, **extra)
    return JSONResponse(body, status_code=status, headers=headers, media_type=PROBLEM_JSON)


def _phrase(status: int) -> str:
    try:
        return http.HTTPStatus(status).phrase
    except ValueError:
        return "Error"


async def http_exception(request: Request, exc: Exception) -> JSONResponse:
    """Starlette's and FastAPI's `HTTPException` (401, 403, an unknown path's 404, 405…)."""
    assert isinstance(exc, HTTPException)
    detail = exc.detail if isinstance(exc.detail, str) else _phrase(exc.status_code)
    headers = dict(exc.headers) if exc.headers else {}
    if exc.status_code == 405:
        headers["Allow"] = ", ".join(sorted(allowed_methods(request)))
    return problem_response(exc.status_code, detail, request.url.path, headers=headers or None)


def allowed_methods(request: Request) -> set[str]:
    """The methods of the resource the path names: every route with the most literal
    template matching it (Starlette names only the first route's; `GET /bids` and
    `POST /bids` are two routes, and `/routing/decisions` is not `/routing/{account}`)."""
    path = request.url.path
    matching = [
        route
        for route in iter_route_contexts(request.app.routes)
        if route.methods
        and getattr(route, "path_regex", None) is not None
        and route.path_regex.match(path)
    ]
    literal = sorted(matching, key=lambda r: str(r.path_format).count("{"))
    template = literal[0].path_format if literal else None
    return {m for r in matching if r.path_format == template for m in r.methods or ()}


async def validation_error(request: Request, exc: Exception) -> JSONResponse:
    """A request FastAPI could not read: 422 with every field error in `errors`."""
    assert isinstance(exc, RequestValidationError)
    errors = [field_error(e) for e in exc.errors()]
    detail = "; ".join(f"{e['field']}: {e['reason']}" for e in errors) or "invalid request"
    return problem_response(
        422, detail, request.url.path, "request-invalid", error="RequestInvalid", errors=errors
    )


def field_error(error: Any) -> dict[str, Any]:
    """One pydantic error as `{loc, field, reason, type}` (the input itself is not echoed)."""
    loc = [x if isinstance(x, int) else str(x) for x in error.get("loc", ())]
    return {
        "loc": loc,
        "field": ".".join(str(x) for x in loc),
        "reason": str(error.get("msg", "invalid")),
        "type": str(error.get("type", "value_error")),
    }
