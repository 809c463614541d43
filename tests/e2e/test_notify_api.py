"""A rep mutes their own notification kinds over HTTP (`/notifications/{rep}/mutes`), on
SQLite and PostgreSQL; another rep's are refused, a manager may change any rep's."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.e2e.inprocess import Api, serve


@pytest.fixture(params=["sqlite", "postgres"])
def api(request: pytest.FixtureRequest) -> Iterator[Api]:
    yield from serve(request)


def test_a_rep_mutes_and_unmutes_their_own_kinds(api: Api) -> None:
    rep = api._auth("rep")
    put = api.client.put("/notifications/R1/mutes/lease.granted", headers=rep)
    again = api.client.put("/notifications/R1/mutes/lease.granted", headers=rep)
    listed = api.get("/notifications/R1/mutes", role="rep")
    gone = api.client.delete("/notifications/R1/mutes/lease.granted", headers=rep)
    assert put.status_code == again.status_code == listed.status_code == 200
    assert listed.json() == {"rep": "R1", "muted": ["lease.granted"]}
    assert gone.json() == {"rep": "R1", "muted": []}


def test_a_rep_cannot_touch_another_reps_mutes_but_a_manager_can(api: Api) -> None:
    refused = api.client.put("/notifications/R2/mutes/rep.digest", headers=api._auth("rep"))
    done = api.client.put("/notifications/R2/mutes/rep.digest", headers=api._auth("manager"))
    assert refused.status_code == 403 and "only its own" in refused.text
    assert done.status_code == 200 and done.json()["muted"] == ["rep.digest"]


def test_an_unknown_kind_is_422_naming_the_field(api: Api) -> None:
    got = api.client.put("/notifications/R1/mutes/score.crossed", headers=api._auth("rep"))
    assert got.status_code == 422 and "kind: cannot mute 'score.crossed'" in got.text
