"""The OpenAPI declaration of the tracking webhook (`/v1/*`): bodies, auth and refusals.

The handlers read the raw body themselves (size-checked, gunzipped, in a browser's
`text/plain`), so FastAPI cannot derive the schema from a parameter; it is written here,
to say exactly what `services.signals.messages` accepts: a user (`userId` or
`anonymousId`, text or a number), a `messageId` of 1 to 255 characters, a `value` in
`properties` that is a number zero or more, and per call its own required field.

Example: `router.post("/track", openapi_extra=call_operation("track"))`.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

MEDIA_TYPES = ("application/json", "text/plain")  # analytics.js posts text/plain
SECURITY_SCHEME = {"type": "http", "scheme": "basic", "description": "the write key as user"}

_ID = {"oneOf": [{"type": "string", "minLength": 1, "maxLength": 255}, {"type": "number"}]}
_NULL = {"type": "null"}
_ID_OR_NULL = {"anyOf": [{"type": "string", "maxLength": 255}, {"type": "number"}, _NULL]}
_TEXT = {"anyOf": [{"type": "string", "maxLength": 255}, _NULL]}
_TIME = {"anyOf": [{"type": "string", "format": "date-time"}, _NULL]}
_VALUE = {  # the cap is the active policy's per signal type (default 1e6)
    "anyOf": [{"type": "number", "minimum": 0, "maximum": 1_000_000}, {"type": "null"}]
}
_PROPERTIES = {"type": "object", "properties": {"value": _VALUE}}
_COMMON: dict[str, Any] = {
    "userId": _ID_OR_NULL,
    "anonymousId": _ID_OR_NULL,
    "context": {"type": "object"},
    "timestamp": _TIME,
    "originalTimestamp": _TIME,
    "sentAt": _TIME,
    "messageId": {"anyOf": [{"type": "string", "minLength": 1, "maxLength": 255}, _NULL]},
    "writeKey": {"type": "string", "description": "the write key (browsers; no header)"},
}
_OWN: dict[str, tuple[dict[str, Any], list[str]]] = {
    "track": ({"event": {"type": "string", "minLength": 1, "maxLength": 255},
               "properties": _PROPERTIES}, ["event"]),
    "page": ({"name": _TEXT, "category": {"anyOf": [{"type": "string"}, _NULL]},
              "properties": _PROPERTIES}, []),
    "screen": ({"name": _TEXT, "category": {"anyOf": [{"type": "string"}, _NULL]},
                "properties": _PROPERTIES}, []),
    "identify": ({"traits": {"type": "object"}}, []),
    "group": ({"groupId": _ID, "traits": {"type": "object"}}, ["groupId"]),
    "alias": ({"previousId": {"type": "string", "minLength": 1, "maxLength": 255}},
              ["previousId"]),
}  # fmt: skip
_A_USER = [  # a user that is there: a non-empty text or a number
    {"required": ["userId"], "properties": {"userId": _ID}},
    {"required": ["anonymousId"], "properties": {"anonymousId": _ID}},
]


class TrackingProblem(BaseModel):
    """A refused tracking request: a problem with `success: false` (Segment's clients read
    it) and, for an invalid call, each reason as `field: problem` in `errors`."""

    model_config = ConfigDict(extra="allow")
    type: str
    title: str
    status: int
    detail: str
    instance: str
    error: str
    success: bool = Field(False)
    errors: list[str] | None = None


def call_schema(call_type: str) -> dict[str, Any]:
    """The JSON Schema of one call of `call_type` as a request body."""
    own, required = _OWN[call_type]
    schema: dict[str, Any] = {
        "type": "object",
        "properties": {**_COMMON, **own},
        "required": required,
    }
    if call_type != "alias":  # an alias names the user through previousId
        schema["anyOf"] = _A_USER
    return schema


def batch_schema() -> dict[str, Any]:
    """A batch: its calls each carry their `type` (invalid ones are listed, not stored)."""
    calls = []
    for call_type in ("track", "page", "screen", "identify", "group", "alias"):
        one = call_schema(call_type)
        own = {k: v for k, v in one["properties"].items() if k != "writeKey"}  # top level only
        one["properties"] = {**own, "type": {"const": call_type}}
        one["required"] = [*one["required"], "type"]
        calls.append(one)
    item = {"oneOf": calls}
    return {
        "type": "object",
        "properties": {
            "batch": {"type": "array", "items": item, "minItems": 1},
            "context": {"description": "an object shared by every call (else ignored)"},
            "writeKey": _COMMON["writeKey"],
        },
        "required": ["batch"],
    }


def operation(body: dict[str, Any]) -> dict[str, Any]:
    """`openapi_extra` of a tracking operation: its body, write-key auth, its refusals."""
    ref = {"$ref": "#/components/schemas/TrackingProblem"}
    problem = {"application/problem+json": {"schema": ref}}
    return {
        "requestBody": {
            "required": True,
            "content": {media: {"schema": body} for media in MEDIA_TYPES},
        },
        "security": [{"writeKey": []}],
        "responses": {
            "400": {"description": "malformed JSON or an invalid call", "content": problem},
            "401": {"description": "no write key, or an unknown one", "content": problem},
            "413": {"description": "body larger than 500 KB", "content": problem},
        },
    }


def call_operation(call_type: str) -> dict[str, Any]:
    return operation(call_schema(call_type))


def batch_operation() -> dict[str, Any]:
    return operation(batch_schema())
