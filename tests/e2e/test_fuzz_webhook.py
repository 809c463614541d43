"""Fuzzed webhook payloads, on SQLite and PostgreSQL: never a 5xx, every refusal names a field.

Calls are Segment-shaped documents whose fields hold anything JSON can carry (NaN and
Infinity included, as `JSON.parse` accepts them), NUL characters, huge numbers, deep
nesting, timestamps far in the past or future, ids of the wrong type. The number of
examples is bounded (`max_examples`), so the test takes seconds, not minutes.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.e2e.webhook_app import Hook, hook_on

EXAMPLES = 100
# A refusal either starts with the field's path ("properties.value: …", "batch.3: …") or
# is a model rule that names the fields it is about.
FIELD_RULES = re.compile(r"userId or anonymousId|type or event_name|event_name|groupId|previousId")

texts = st.text(
    st.characters(codec="utf-8", exclude_categories=("Cs",), include_characters="\x00"),
    max_size=40,
)
numbers = st.one_of(
    st.integers(-(2**70), 2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([1e308, -1e308, 5e-324, 0.0, -0.0]),
)
timestamps = st.one_of(
    st.datetimes().map(lambda d: d.isoformat() + "Z"),
    st.sampled_from(["9999-12-31T23:59:59Z", "0001-01-01T00:00:00Z", "2027-13-45", "now", ""]),
    numbers,
)
scalars = st.one_of(st.none(), st.booleans(), numbers, texts)
json_values = st.recursive(
    scalars,
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(texts, inner, max_size=4)),
    max_leaves=30,
)


def _deep(depth: int) -> Any:
    doc: Any = 1
    for _ in range(depth):
        doc = {"x": doc}
    return doc


calls = st.fixed_dictionaries(
    {"type": st.sampled_from(["track", "page", "screen", "identify", "group", "alias", "x"])},
    optional={
        "userId": st.one_of(texts, numbers, json_values),
        "anonymousId": texts,
        "event": st.one_of(texts, numbers, st.none()),
        "name": st.one_of(texts, numbers),
        "groupId": st.one_of(texts, numbers),
        "previousId": texts,
        "messageId": st.one_of(texts, numbers),
        "timestamp": timestamps,
        "sentAt": timestamps,
        "originalTimestamp": timestamps,
        "properties": st.one_of(
            st.dictionaries(texts, json_values, max_size=5),
            st.fixed_dictionaries({"value": numbers, "email": texts, "domain": texts}),
            st.integers(0, 60).map(lambda d: {"blob": _deep(d)}),
            json_values,
        ),
        "traits": st.dictionaries(texts, json_values, max_size=4),
        "context": st.one_of(st.dictionaries(texts, json_values, max_size=3), json_values),
    },
)


@pytest.fixture(params=["sqlite", "postgres"])
def hook(request: pytest.FixtureRequest) -> Iterator[Hook]:
    yield from hook_on(request)


def _names_a_field(error: str) -> bool:
    path, sep, _ = error.partition(": ")
    return bool(sep and path.strip()) or bool(FIELD_RULES.search(error))


def _check(got: Any) -> dict[str, Any]:
    assert got.status_code < 500, got.text
    assert "Traceback" not in got.text
    body = got.json()
    assert isinstance(body, dict)
    return body


@settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(batch=st.lists(calls, max_size=6))
def test_fuzzed_batches_never_5xx_and_each_refused_call_names_its_field(
    hook: Hook, batch: list[dict[str, Any]]
) -> None:
    body = _check(hook.post("/v1/batch", json.dumps({"batch": batch}).encode()))
    for rejected in body.get("rejected", []):
        assert rejected["errors"], rejected
        for error in rejected["errors"]:
            assert _names_a_field(error), error


@settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    path=st.sampled_from(["track", "page", "screen", "identify", "group", "alias"]),
    call=calls,
)
def test_fuzzed_single_calls_never_5xx_and_a_400_names_the_field(
    hook: Hook, path: str, call: dict[str, Any]
) -> None:
    got = hook.post(f"/v1/{path}", json.dumps(call).encode())
    body = _check(got)
    if got.status_code == 400:
        assert body["errors"], body
        for error in body["errors"]:
            assert _names_a_field(error), error
    else:
        assert got.status_code == 200 and body["success"] is True, body


@settings(max_examples=EXAMPLES // 2, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])  # fmt: skip
@given(raw=st.one_of(st.binary(max_size=200), json_values.map(lambda v: json.dumps(v).encode())))
def test_any_bytes_as_a_body_get_a_4xx_or_200_never_a_5xx(hook: Hook, raw: bytes) -> None:
    for path in ("/v1/batch", "/v1/track"):
        _check(hook.post(path, raw))
