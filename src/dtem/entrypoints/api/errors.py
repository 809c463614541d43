"""Domain errors mapped once to HTTP statuses."""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from dtem.domain.errors import (
    AuthError,
    DomainError,
    Forbidden,
    InputInvalid,
    LeaseConflict,
    LeaseTransitionInvalid,
    NotFound,
    PolicyInvalid,
    SourceExists,
    WriteConflict,
)

STATUS: dict[type[DomainError], int] = {
    NotFound: 404,
    LeaseConflict: 409,
    LeaseTransitionInvalid: 409,
    PolicyInvalid: 422,
    InputInvalid: 422,
    AuthError: 401,
    Forbidden: 403,
    SourceExists: 409,
    WriteConflict: 503,  # still colliding after the service's retries: try again shortly
}


def install(app: FastAPI) -> None:
    @app.exception_handler(DomainError)
    async def _domain_error(_req: Request, exc: DomainError) -> JSONResponse:
        code = next((c for k, c in STATUS.items() if isinstance(exc, k)), 400)
        body: dict[str, object] = {"detail": str(exc), "error": type(exc).__name__}
        if isinstance(exc, InputInvalid):
            body["rows"] = [e.__dict__ for e in exc.errors]
        if isinstance(exc, PolicyInvalid):
            body["problems"] = exc.problems
        headers = {"Retry-After": "1"} if code == 503 else None
        return JSONResponse(body, status_code=code, headers=headers)
