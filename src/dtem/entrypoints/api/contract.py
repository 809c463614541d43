"""The OpenAPI document, completed so that it declares every status each operation can
return, each with the problem schema (`application/problem+json`).

The statuses are read from each route when the document is built, so a router added later
is covered without writing anything:

- every operation: 500 (a bug, still a problem);
- one that uses the ledger (depends on the container): 400 (a product error with no status
  of its own) and 503 with `Retry-After` (the database is gone or writes collided);
- one that needs a bearer token: 401 and 403;
- one with parameters or a body: 422 (and 404: what it names may not exist);
- POST, PUT, PATCH, DELETE on the ledger: 409 (a conflict, or an idempotency key in use);
- every POST: the optional `Idempotency-Key` header (see `idempotency.py`), and 422 for a
  key reused with another body.

A route's own `responses=` entries win (the Segment webhook declares its own problem
shape); a status it lists without content gets the problem schema.

Example: `install(app)` once every router is included (`create_app` does it).
"""

from __future__ import annotations

import http
from collections.abc import Callable, Iterator
from typing import Any

from fastapi import FastAPI
from fastapi.dependencies.models import Dependant
from fastapi.openapi.utils import get_openapi
from fastapi.routing import APIRoute, RouteContext, iter_route_contexts

from dtem.entrypoints.api.deps import current_token, get_container
from dtem.entrypoints.api.problems import PROBLEM_JSON, FieldError, Problem
from dtem.entrypoints.api.tracking_schema import SECURITY_SCHEME, TrackingProblem

PROBLEM_REF = {"$ref": "#/components/schemas/Problem"}
IDEMPOTENCY_HEADER = {
    "name": "Idempotency-Key",
    "in": "header",
    "required": False,
    "description": "A unique key per request: a retry with the same key and body gets the "
    "first answer again (header `Idempotent-Replayed: true`) for 24 hours.",
    "schema": {"type": "string", "minLength": 1, "maxLength": 255, "pattern": "^[\\x21-\\x7e]+$"},
}
RETRY_AFTER = {
    "Retry-After": {"description": "seconds to wait before retrying", "schema": {"type": "integer"}}
}
WRITES = {"POST", "PUT", "PATCH", "DELETE"}


def install(app: FastAPI) -> None:
    """Make `app.openapi()` build the completed document (once, then cached)."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = completed_openapi(app)
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


def completed_openapi(app: FastAPI) -> dict[str, Any]:
    """FastAPI's document with every route's problem statuses and POST headers declared."""
    doc = get_openapi(
        title=app.title,
        version=app.version,
        description=app.description,
        routes=app.routes,
    )
    components = doc.setdefault("components", {})
    schemas = components.setdefault("schemas", {})
    schemas.update(_problem_schemas())
    components.setdefault("securitySchemes", {})["writeKey"] = SECURITY_SCHEME
    for route in _api_routes(app):
        for method in sorted((route.methods or set()) - {"HEAD"}):
            operation = doc["paths"][route.path_format][method.lower()]
            _complete(operation, route, method)
    for unused in ("HTTPValidationError", "ValidationError"):
        schemas.pop(unused, None)  # FastAPI's 422 shape: every 422 is a problem now
    return doc


def statuses_of(route: RouteContext, method: str) -> set[int]:
    """The error statuses `route` can answer `method` with (see the module docstring)."""
    calls = set(_calls(route.dependant))
    has_input = any(
        [
            route.dependant.path_params,
            *(d.query_params or d.header_params or d.body_params for d in _walk(route.dependant)),
            route.body_field is not None,
        ]
    )
    uses_ledger = get_container in calls
    out = {500}
    if uses_ledger:
        out |= {400, 503}
    if current_token in calls:
        out |= {401, 403}
    if has_input or method == "POST":
        out.add(422)
    if has_input and uses_ledger:
        out.add(404)
    if method in WRITES and uses_ledger:
        out.add(409)
    return out


def _complete(operation: dict[str, Any], route: RouteContext, method: str) -> None:
    responses = operation.setdefault("responses", {})
    for status in sorted(statuses_of(route, method)):
        entry = responses.setdefault(str(status), {"description": http.HTTPStatus(status).phrase})
        content = entry.get("content", {})
        if not content or _is_fastapi_422(content):
            entry["content"] = {PROBLEM_JSON: {"schema": PROBLEM_REF}}
        if status == 503:
            entry.setdefault("headers", RETRY_AFTER)
    if method == "POST":
        params = operation.setdefault("parameters", [])
        if not any(p.get("name") == IDEMPOTENCY_HEADER["name"] for p in params):
            params.append(IDEMPOTENCY_HEADER)


def _is_fastapi_422(content: dict[str, Any]) -> bool:
    schema = content.get("application/json", {}).get("schema", {})
    return bool(schema.get("$ref", "").endswith("/HTTPValidationError"))


def _problem_schemas() -> dict[str, Any]:
    ref = "#/components/schemas/{model}"
    problem = Problem.model_json_schema(ref_template=ref)
    nested = problem.pop("$defs", {})
    return {
        **nested,
        "FieldError": FieldError.model_json_schema(ref_template=ref),
        "Problem": problem,
        "TrackingProblem": TrackingProblem.model_json_schema(ref_template=ref),
    }


def _api_routes(app: FastAPI) -> Iterator[RouteContext]:
    """Every API operation's route as served (an included router's prefix applied)."""
    for route in iter_route_contexts(app.routes):
        if isinstance(route.original_route, APIRoute) and route.include_in_schema:
            yield route


def _walk(dependant: Dependant) -> Iterator[Dependant]:
    yield dependant
    for sub in dependant.dependencies:
        yield from _walk(sub)


def _calls(dependant: Dependant) -> Iterator[Callable[..., Any]]:
    for d in _walk(dependant):
        if d.call is not None:
            yield d.call
