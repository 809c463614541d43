"""Values the webhook refuses per call, naming the field, the same on SQLite and PostgreSQL."""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from typing import Any

import pytest

from dtem.services.governance import active_policy
from dtem.services.scoring import explain
from tests.conftest import T0
from tests.e2e.webhook_app import Hook, hook_on


@pytest.fixture(params=["sqlite", "postgres"])
def hook(request: pytest.FixtureRequest) -> Iterator[Hook]:
    yield from hook_on(request)


def _track(**props: Any) -> dict[str, Any]:
    return {
        "type": "track",
        "userId": "u1",
        "event": "Demo Requested",
        "properties": {"domain": "acme.com", **props},
    }


def _nested(depth: int) -> dict[str, Any]:
    doc: dict[str, Any] = {}
    for _ in range(depth):
        doc = {"x": doc}
    return doc


def test_unsafe_values_are_refused_per_call_and_the_rest_of_the_batch_stored(hook: Hook) -> None:
    batch = [
        _track(value=2.0),
        _track(value=1e308),
        _track(value=-1),
        _track(value=math.nan),
        _track(value=math.inf),
        _track(note="a\x00b"),
        _track(blob=_nested(40)),
        {**_track(), "userId": "u\x00"},
    ]
    got = hook.post("/v1/batch", json.dumps({"batch": batch}).encode())  # NaN as JSON's NaN
    assert got.status_code == 200, got.text
    body = got.json()
    assert (body["accepted"], body["success"]) == (1, True)
    assert {r["index"]: r["errors"] for r in body["rejected"]} == {
        1: ["properties.value: 1e+308 is above 1e+06, the most a 'hand_raise' signal takes"],
        2: ["properties.value: must be a finite number, zero or more (got -1)"],
        3: ["properties.value: must be a finite number"],
        4: ["properties.value: must be a finite number"],
        5: ["properties.note: contains a NUL character"],
        6: ["properties.blob" + ".x" * 30 + ": nested deeper than 32 levels"],
        7: ["userId: contains a NUL character"],
    }
    [stored] = hook.signals()
    assert (stored["value"], stored["type"]) == (2.0, "hand_raise")
    with hook.c.ledger.transaction() as tx:  # the state stays finite: explain works
        why = explain(tx, "A1", active_policy(tx), T0)
    assert math.isfinite(why.score.score) and why.intensities["hand_raise"] == 2.0


def test_a_single_call_with_an_unsafe_value_is_400_naming_the_field(hook: Hook) -> None:
    huge = hook.post("/v1/track", _track(value=1e308))
    assert huge.status_code == 400
    assert huge.json()["errors"] == [
        "properties.value: 1e+308 is above 1e+06, the most a 'hand_raise' signal takes"
    ]
    nan = hook.post("/v1/track", json.dumps(_track(value=math.nan)).encode())
    assert nan.status_code == 400
    assert nan.json()["errors"] == ["properties.value: must be a finite number"]
    nul = hook.post("/v1/page", {"userId": "u1", "name": "Pri\x00cing"})
    assert nul.status_code == 400 and nul.json()["errors"] == ["name: contains a NUL character"]
    assert hook.signals() == []


def test_a_body_nested_beyond_any_parser_is_400_not_500(hook: Hook) -> None:
    deep = b'{"batch": [' + b'{"x":' * 20_000 + b"1" + b"}" * 20_000 + b"]}"
    got = hook.post("/v1/batch", deep)
    assert got.status_code == 400 and "nested too deeply" in got.json()["detail"]


def test_a_batch_with_no_valid_call_or_no_call_at_all_is_400(hook: Hook) -> None:
    for batch in ([], [_track(value=-5)], [{"type": "track"}]):
        got = hook.post("/v1/batch", {"batch": batch})
        assert got.status_code == 400, batch
        assert got.json()["success"] is False and got.json()["accepted"] == 0
    assert hook.signals() == []
