"""A Segment-compatible tracking API: point Segment or RudderStack SDKs at DTEM.

`POST /v1/track|page|screen|identify|group|alias|batch`, Basic auth with the source's
write key as user name and an empty password, JSON bodies (optionally gzip) up to
500 KB. A 200 means the calls are committed to the ledger. Browsers (analytics.js) post
to the short paths `/v1/t|p|i|g|a|b` with the key in a `writeKey` field of a
`text/plain` body; CORS for them is `tracking_cors` in `app.py`.

Example:  curl -u "$WRITE_KEY:" -H 'Content-Type: application/json' \
          -d '{"userId":"u1","event":"Demo Requested"}' localhost:8000/v1/track
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import APIRouter, Request, status
from fastapi.responses import JSONResponse
from pydantic import ValidationError

from dtem.entrypoints.api.deps import ContainerDep
from dtem.entrypoints.api.group_commit import GroupCommitter
from dtem.entrypoints.api.tracking import Refused, key_and_body
from dtem.entrypoints.api.tracking_schema import batch_operation, call_operation
from dtem.services import signals
from dtem.services.signals.messages import (
    Rejected,
    SegmentCall,
    field_errors,
    parse_batch,
    parse_call,
)

router = APIRouter(prefix="/v1", tags=["segment"])


def _fail(code: int, detail: str, **extra: Any) -> Refused:
    return Refused(code, detail, **extra)


async def _store(
    request: Request, c: ContainerDep, key: str, calls: list[SegmentCall]
) -> signals.Received:
    # Concurrent deliveries share one unit of work (group commit, one group at a time per
    # process): the answer comes after the commit, with this delivery's own outcome.
    state = request.app.state
    committer: GroupCommitter | None = getattr(state, "signal_committer", None)
    if committer is None:
        commit = functools.partial(
            signals.receive_deliveries, c.ledger, c.clock, pipeline=c.pipeline
        )
        committer = state.signal_committer = GroupCommitter(commit)
    return await committer.submit(signals.Delivery(calls, write_key=key, via="api"))


async def _single(request: Request, c: ContainerDep, call_type: str) -> JSONResponse:
    try:
        key, doc = await key_and_body(request)
        try:
            call = parse_call(call_type, doc)
        except ValidationError as exc:
            errors = field_errors(exc)
            raise _fail(400, "; ".join(errors), errors=errors) from exc
    except Refused as refused:
        return refused.response(request.url.path)
    got = await _store(request, c, key, [call])
    if got.refused:
        errors = got.refused[0].errors
        return _fail(400, "; ".join(errors), errors=errors).response(request.url.path)
    return JSONResponse({"success": True, "duplicate": bool(got.result.duplicates)})


@router.post(
    "/track", openapi_extra=call_operation("track"), summary="Record an event (Segment track)"
)
async def track(request: Request, c: ContainerDep) -> JSONResponse:
    return await _single(request, c, "track")


@router.post(
    "/page", openapi_extra=call_operation("page"), summary="Record a page view (Segment page)"
)
async def page(request: Request, c: ContainerDep) -> JSONResponse:
    return await _single(request, c, "page")


@router.post(
    "/screen",
    openapi_extra=call_operation("screen"),
    summary="Record a screen view (Segment screen)",
)
async def screen(request: Request, c: ContainerDep) -> JSONResponse:
    return await _single(request, c, "screen")


@router.post(
    "/identify",
    openapi_extra=call_operation("identify"),
    summary="Describe a user; a company email links them",
)
async def identify(request: Request, c: ContainerDep) -> JSONResponse:
    return await _single(request, c, "identify")


@router.post(
    "/group",
    openapi_extra=call_operation("group"),
    summary="Link a user to an account (Segment group)",
)
async def group(request: Request, c: ContainerDep) -> JSONResponse:
    return await _single(request, c, "group")


@router.post(
    "/alias", openapi_extra=call_operation("alias"), summary="Accepted for compatibility; ignored"
)
async def alias(request: Request, c: ContainerDep) -> JSONResponse:
    return await _single(request, c, "alias")


@router.post(
    "/batch",
    openapi_extra=batch_operation(),
    summary="Many calls at once; invalid ones are listed, not stored",
)
async def batch(request: Request, c: ContainerDep) -> JSONResponse:
    try:
        key, doc = await key_and_body(request)
        calls, rejected = _batch_calls(doc)
    except Refused as refused:
        return refused.response(request.url.path)
    got = await _store(request, c, key, calls) if calls else None
    if got is not None:
        rejected = _with_refused(rejected, len(calls), got.refused)
    kept = len(calls) - (len(got.refused) if got else 0)
    body = {
        "success": kept > 0,
        "accepted": got.accepted if got else 0,
        "duplicates": len(got.result.duplicates) if got else 0,
        "rejected": [{"index": r.index, "errors": r.errors} for r in rejected],
    }
    if not kept:  # nothing valid (an empty batch included): the SDK must not think it sent
        del body["success"]
        return _fail(400, "the batch has no valid call", **body).response(request.url.path)
    return JSONResponse(body, status_code=status.HTTP_200_OK)


def _short(call_type: str) -> Callable[[Request, ContainerDep], Awaitable[JSONResponse]]:
    async def endpoint(request: Request, c: ContainerDep) -> JSONResponse:
        return await _single(request, c, call_type)

    return endpoint


# analytics.js's paths (`t`rack, `p`age, `i`dentify, `g`roup, `a`lias, `b`atch)
for _path, _call in {
    "t": "track",
    "p": "page",
    "i": "identify",
    "g": "group",
    "a": "alias",
}.items():
    router.add_api_route(f"/{_path}", _short(_call), methods=["POST"], include_in_schema=False)
router.add_api_route("/b", batch, methods=["POST"], include_in_schema=False)


def _with_refused(
    rejected: list[Rejected], n_calls: int, refused: list[Rejected]
) -> list[Rejected]:
    """The parse rejections and the calls refused when stored (indexed among the valid
    calls), all by their index in the batch."""
    skipped = {r.index for r in rejected}
    valid = [i for i in range(n_calls + len(rejected)) if i not in skipped]
    moved = [Rejected(valid[r.index], r.errors) for r in refused]
    return sorted([*rejected, *moved], key=lambda r: r.index)


def _batch_calls(doc: Any) -> tuple[list[SegmentCall], list[Rejected]]:
    try:
        return parse_batch(doc)
    except ValueError as exc:
        raise _fail(400, str(exc)) from exc
