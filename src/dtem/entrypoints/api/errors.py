"""Every error mapped once to an HTTP response, so a client always gets JSON back.

Product errors get their status from `STATUS`; "the database is unreachable" is a 503
with `Retry-After`. Anything else is a bug: logged with its traceback and answered with a
JSON 500 by `LastResort`, which (unlike Starlette's own error page) leaves the client's
keep-alive connection usable for its next request.
"""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
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
    app.add_exception_handler(DomainError, _domain_error)  # type: ignore[arg-type]
    app.add_middleware(LastResort)


def error_response(exc: DomainError) -> JSONResponse:
    """The JSON answer for a product error: `{"detail", "error", …}` and its status."""
    code = next((c for k, c in STATUS.items() if isinstance(exc, k)), 400)
    detail = str(exc)
    if isinstance(exc, LedgerUnavailable):
        log.warning("%s", exc)
        detail = UNAVAILABLE
    body: dict[str, object] = {"detail": detail, "error": type(exc).__name__}
    if isinstance(exc, InputInvalid):
        body["rows"] = [e.__dict__ for e in exc.errors]
    if isinstance(exc, PolicyInvalid):
        body["problems"] = exc.problems
    headers = {"Retry-After": str(RETRY_AFTER_SECONDS)} if code == 503 else None
    return JSONResponse(body, status_code=code, headers=headers)


async def _domain_error(_req: Request, exc: DomainError) -> JSONResponse:
    return error_response(exc)


class LastResort:
    """ASGI middleware: an unexpected exception becomes a logged JSON 500, not a torn socket."""

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
        except Exception:
            log.exception("unexpected error in %s %s", scope.get("method"), scope.get("path"))
            if started:  # half a response is out: nothing clean can follow
                raise
            body = {"detail": "internal error (logged on the server)", "error": "InternalError"}
            await JSONResponse(body, status_code=500)(scope, receive, send)
