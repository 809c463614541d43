"""Every error mapped once to an HTTP response, so a client always gets a problem back.

Answers are RFC 9457 problem details (`problems.py`). Product errors get their status
from `STATUS` and their type from their name (`LeaseConflict` →
`https://dtem.dev/problems/lease-conflict`); "the database is unreachable" is a 503 with
`Retry-After`. FastAPI's request validation errors and HTTP exceptions (401, 403, an
unknown path's 404, 405) are problems too. Anything else is a bug: logged with its
traceback and answered with a problem 500 by `LastResort`, which (unlike Starlette's own
error page) leaves the client's keep-alive connection usable for its next request. A client
that disconnects before its body is read is logged at INFO, not as an error.
"""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DataError
from starlette.exceptions import HTTPException
from starlette.requests import ClientDisconnect
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from dtem.domain.errors import (
    ActivationRefused,
    ArgumentInvalid,
    AuthError,
    ClaimNotHeld,
    DomainError,
    FileUnreadable,
    Forbidden,
    InputInvalid,
    LeaseConflict,
    LeaseTransitionInvalid,
    LedgerUnavailable,
    NotFound,
    PolicyInvalid,
    SourceExists,
    WriteConflict,
)
from dtem.entrypoints.api import problems

log = logging.getLogger("dtem.api")

STATUS: dict[type[DomainError], int] = {
    ActivationRefused: 409,  # before PolicyInvalid, its base
    NotFound: 404,
    LeaseConflict: 409,
    ClaimNotHeld: 409,
    LeaseTransitionInvalid: 409,
    PolicyInvalid: 422,
    InputInvalid: 422,
    ArgumentInvalid: 422,
    FileUnreadable: 422,
    AuthError: 401,
    Forbidden: 403,
    SourceExists: 409,
    WriteConflict: 503,  # still colliding after the service's retries: try again shortly
    LedgerUnavailable: 503,
}
RETRY_AFTER_SECONDS = 5  # what a client should wait before retrying after a 503
UNAVAILABLE = "the ledger database is unavailable; retry shortly"  # hosts stay in the log


def install(app: FastAPI) -> None:
    """Register the handlers and the last-resort middleware on `app`."""
    app.add_exception_handler(DomainError, _domain_error)
    app.add_exception_handler(HTTPException, problems.http_exception)
    app.add_exception_handler(RequestValidationError, problems.validation_error)
    app.add_exception_handler(OverflowError, _out_of_range)
    app.add_exception_handler(DataError, _out_of_range)
    app.add_middleware(LastResort)


def status_of(exc: DomainError) -> int:
    """The HTTP status of a product error (400 for one `STATUS` does not name)."""
    return next((c for k, c in STATUS.items() if isinstance(exc, k)), 400)


def error_response(exc: DomainError, instance: str = "") -> JSONResponse:
    """The problem answer for a product error, typed by its name, with its status."""
    code = status_of(exc)
    detail = str(exc)
    if isinstance(exc, LedgerUnavailable):
        log.warning("%s", exc)
        detail = UNAVAILABLE
    extra: dict[str, object] = {"error": type(exc).__name__}
    if isinstance(exc, InputInvalid):
        extra["rows"] = [e.__dict__ for e in exc.errors]
    if isinstance(exc, PolicyInvalid):
        extra["problems"] = exc.problems
    headers = {"Retry-After": str(RETRY_AFTER_SECONDS)} if code == 503 else None
    if isinstance(exc, AuthError):
        headers = {"WWW-Authenticate": "Bearer"}
    kind = problems.kebab(type(exc).__name__)
    return problems.problem_response(code, detail, instance, kind, headers, **extra)


INT64 = range(-(2**63), 2**63)  # what a database integer holds


async def _out_of_range(request: Request, exc: Exception) -> JSONResponse:
    """A number too large for the database (SQLite: `OverflowError`; PostgreSQL: SQLSTATE
    22003). In the path it names an id that cannot exist (404); elsewhere it is 422."""
    if isinstance(exc, DataError) and getattr(exc.orig, "sqlstate", None) != "22003":
        raise exc
    too_big = _ids_beyond_64_bits(request)
    if too_big:
        detail = f"no {too_big[0]} {request.path_params[too_big[0]]}: ids are 64-bit integers"
        return error_response(NotFound(detail), request.url.path)
    detail = "a number in the request is out of range (64-bit integers only)"
    return problems.problem_response(
        422, detail, request.url.path, "number-out-of-range", error="NumberOutOfRange"
    )


def _int(value: object) -> int:
    try:
        return int(str(value))
    except ValueError:
        return 0


async def _domain_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, DomainError)
    too_big = _ids_beyond_64_bits(request)
    if isinstance(exc, ArgumentInvalid) and too_big:  # the ledger could not even look it up
        exc = NotFound(f"no {too_big[0]} {request.path_params[too_big[0]]}: ids are 64-bit")
    return error_response(exc, request.url.path)


def _ids_beyond_64_bits(request: Request) -> list[str]:
    return [k for k, v in request.path_params.items() if _int(v) not in INT64]


class LastResort:
    """ASGI middleware: an unexpected exception becomes a logged problem 500, not a torn socket."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def watch(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, receive, watch)
        except ClientDisconnect:  # the client left before its body was read: nobody to answer
            log.info("client disconnected during %s %s", scope.get("method"), scope.get("path"))
        except Exception:
            log.exception("unexpected error in %s %s", scope.get("method"), scope.get("path"))
            if started:  # half a response is out: nothing clean can follow
                raise
            answer = problems.problem_response(
                500,
                "internal error (logged on the server)",
                str(scope.get("path", "")),
                "internal-error",
                error="InternalError",
            )
            await answer(scope, receive, send)
