"""Group commit: concurrent webhook deliveries share units of work, each answered on its own.

Forty deliveries go to `POST /v1/batch` at once (the ASGI app, one event loop): most from
two sources whose message ids repeat across deliveries, one with an unknown write key,
one with a revoked key, one with a call refused at parse time and one refused when
stored, hand-raises among them and a `group` call that links a user. The same deliveries
sent one at a time to a fresh ledger must give the same answers (the duplicates of a
resent pair fall on whichever copy came second), the same stored rows, the same decayed
states and the same latest scores. A poison delivery that fails its group's unit of
work fails only itself.
"""

from __future__ import annotations

import asyncio
import math
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import replace
from datetime import timedelta
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from dtem.adapters.ledger.engine import make_engine
from dtem.bootstrap import Container, build
from dtem.config import Settings
from dtem.domain.clock import FixedClock
from dtem.domain.errors import AuthError
from dtem.domain.model import Account, Rep
from dtem.entrypoints.api.app import create_app
from dtem.entrypoints.api.group_commit import GroupCommitter
from dtem.services import governance, signals
from dtem.services.signals import sources
from dtem.services.signals.messages import parse_call
from tests.conftest import PG_URL, T0

ACCOUNTS = 20
PAIRS = 18  # deliveries 4k..4k+3: web, app, web, app with the same message ids


@pytest.fixture(params=["sqlite", "postgres"])
def two_urls(request: pytest.FixtureRequest, tmp_path: object) -> Iterator[tuple[str, str]]:
    """Two empty ledgers on one backend: one for concurrent, one for sequential delivery."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path}/group.db", f"sqlite:///{tmp_path}/one.db"
        return
    if not PG_URL:
        pytest.skip("DTEM_TEST_POSTGRES_URL not set")
    schemas = [f"t_{uuid.uuid4().hex[:12]}" for _ in range(2)]
    admin = make_engine(PG_URL)
    with admin.begin() as conn:
        for s in schemas:
            conn.execute(sa.text(f'CREATE SCHEMA "{s}"'))
    sep = "&" if "?" in PG_URL else "?"
    yield tuple(f"{PG_URL}{sep}options=-csearch_path%3D{s}" for s in schemas)  # type: ignore[misc]
    with admin.begin() as conn:
        for s in schemas:
            conn.execute(sa.text(f'DROP SCHEMA "{s}" CASCADE'))
    admin.dispose()


def _seed(url: str) -> tuple[Container, dict[str, str]]:
    c = replace(build(Settings(), url), clock=FixedClock(T0))
    governance.ensure_policy(c.ledger, c.clock)
    accounts = [Account(f"A{i}", f"Account {i}", domain=f"a{i}.com") for i in range(ACCOUNTS)]
    with c.ledger.transaction() as tx:
        tx.insert_accounts(accounts, c.clock())
        tx.insert_reps([Rep(f"R{i}", f"Rep {i}", capacity=10) for i in range(3)], c.clock())
    keys = {name: sources.create_source(c.ledger, c.clock, name)[1] for name in ("web", "app")}
    keys["old"] = sources.create_source(c.ledger, c.clock, "old")[1]
    sources.revoke_source(c.ledger, c.clock, "old")
    keys["nope"] = "dtem_wk_unknown"
    return c, keys


def _track(pair: int, i: int, **props: Any) -> dict[str, Any]:
    """The same message (id and content) wherever it is sent again."""
    return {
        "type": "track",
        "userId": f"u{pair}-{i}",
        "event": "Demo Requested" if (pair + i) % 7 == 0 else "Pricing Page Viewed",
        "messageId": f"m{pair}-{i}",
        "timestamp": (T0 - timedelta(hours=i + 1, minutes=pair)).isoformat(),
        "properties": {"domain": f"a{(pair * 7 + i) % ACCOUNTS}.com", **props},
    }


def _deliveries() -> list[tuple[str, dict[str, Any]]]:
    out = [
        ("web" if n % 2 == 0 else "app", {"batch": [_track(n // 4, i) for i in range(10)]})
        for n in range(PAIRS * 2)
    ]
    out.insert(5, ("nope", {"batch": [_track(90, 0)]}))
    out.insert(11, ("old", {"batch": [_track(91, 0)]}))
    bad = {"type": "track", "event": "No User", "messageId": "x"}  # refused when parsed
    too_big = _track(92, 1, value=2e6)  # refused when stored: above the type's cap
    out.insert(17, ("web", {"batch": [_track(92, 0), bad, too_big, _track(92, 2)]}))
    link = {"type": "group", "userId": "linked", "groupId": "A3", "messageId": "g1"}
    by_link = {"type": "track", "userId": "linked", "event": "Demo Requested", "messageId": "l1"}
    out.insert(23, ("app", {"batch": [link]}))
    out.insert(29, ("app", {"batch": [{**by_link, "timestamp": T0.isoformat()}]}))
    return out


async def _post(http: httpx.AsyncClient, key: str, body: dict[str, Any]) -> dict[str, Any]:
    got = await http.post("/v1/batch", json=body, auth=(key, ""))
    return {"status": got.status_code, **got.json()}


def _hand_raised_accounts(body: dict[str, Any]) -> set[str]:
    calls = [parse_call(None, m) for m in body["batch"] if "userId" in m and "event" in m]
    return {
        str(getattr(m, "properties", {}).get("domain", ""))
        for m in calls
        if getattr(m, "event", "") == "Demo Requested"
    } - {""}


def _routed(c: Container, domain: str) -> bool:
    with c.ledger.transaction() as tx:
        acc = tx.account_ids_by_domain([domain])[domain]
        return bool(tx.routing_decisions(acc))


async def _concurrently(c: Container, keys: dict[str, str]) -> tuple[list[Any], list[int]]:
    app = create_app(c)
    sizes: list[int] = []

    def commit(group: Sequence[signals.Delivery]) -> list[signals.Outcome]:
        sizes.append(len(group))
        return signals.receive_deliveries(c.ledger, c.clock, group, c.pipeline)

    app.state.signal_committer = GroupCommitter(commit)
    routed_late: list[str] = []

    async def one(key: str, body: dict[str, Any]) -> dict[str, Any]:
        got = await _post(http, keys[key], body)
        if got["status"] == 200:  # its hand-raises were routed before this answer
            for domain in _hand_raised_accounts(body):
                if not await asyncio.to_thread(_routed, c, domain):
                    routed_late.append(domain)
        return got

    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://dtem") as http:
        answers = await asyncio.gather(*(one(k, b) for k, b in _deliveries()))
    assert routed_late == []
    return list(answers), sizes


async def _one_at_a_time(c: Container, keys: dict[str, str]) -> list[Any]:
    transport = httpx.ASGITransport(app=create_app(c))
    async with httpx.AsyncClient(transport=transport, base_url="http://dtem") as http:
        return [await _post(http, keys[k], b) for k, b in _deliveries()]


def _ledger_state(c: Container) -> tuple[set[tuple[Any, ...]], dict[Any, float], dict[int, float]]:
    with c.engine.connect() as conn:
        rows = conn.execute(
            sa.text(
                "SELECT scope, event_id, account_id, type, value, unmatched_reason FROM signals"
            )
        ).all()
        states = conn.execute(sa.text("SELECT account_id, type, intensity FROM account_state"))
        state = {(a, t): float(x) for a, t, x in states}
    with c.ledger.transaction() as tx:
        scores = {a: r.score for a, r in tx.latest_scores().items()}
    return {tuple(r) for r in rows}, state, scores


def _same_numbers(a: dict[Any, float], b: dict[Any, float]) -> bool:
    return a.keys() == b.keys() and all(math.isclose(a[k], b[k], rel_tol=1e-9) for k in a)


def test_concurrent_deliveries_answer_and_store_as_one_at_a_time(
    two_urls: tuple[str, str],
) -> None:
    (grouped, keys_g), (single, keys_s) = _seed(two_urls[0]), _seed(two_urls[1])
    answers, sizes = asyncio.run(_concurrently(grouped, keys_g))
    expected = asyncio.run(_one_at_a_time(single, keys_s))

    assert max(sizes) > 1 and sum(sizes) == len(answers)  # shared units of work
    assert [a["status"] for a in answers] == [e["status"] for e in expected]
    assert [a["status"] for a in answers].count(401) == 2
    for a, e in zip(answers, expected, strict=True):
        assert a.get("rejected") == e.get("rejected")
        assert a.get("accepted", 0) + a.get("duplicates", 0) == e.get("accepted", 0) + e.get(
            "duplicates", 0
        )
    for n in range(PAIRS * 2):  # the second copy of each source's pair is all duplicates
        first, second = (a for a, (k, b) in zip(answers, _deliveries(), strict=True)
                         if b["batch"][0]["messageId"].startswith(f"m{n // 4}-")
                         and k == ("web" if n % 2 == 0 else "app"))  # fmt: skip
        assert sorted([first["duplicates"], second["duplicates"]]) == [0, 10]
    refused = next(a for a in answers if a.get("rejected"))
    assert [r["index"] for r in refused["rejected"]] == [1, 2] and refused["accepted"] == 2

    got_rows, got_states, got_scores = _ledger_state(grouped)
    want_rows, want_states, want_scores = _ledger_state(single)
    assert got_rows == want_rows
    assert _same_numbers(got_states, want_states)
    assert _same_numbers(got_scores, want_scores)
    grouped.engine.dispose()
    single.engine.dispose()


def test_a_poison_delivery_fails_alone_and_the_rest_of_its_group_commits(
    sqlite_url: str,
) -> None:
    c, keys = _seed(sqlite_url)
    score = c.pipeline.score

    def score_unless_poisoned(tx: Any, batch: Any, active: Any) -> Any:
        if any(s.event_name == "Poison" for s in batch.stored):
            raise RuntimeError("the score stage failed")
        return score(tx, batch, active)

    pipeline = replace(c.pipeline, score=score_unless_poisoned)
    poison = {**_track(1, 0), "event": "Poison", "messageId": "poison"}
    bodies = [[_track(0, i) for i in range(3)], [poison], [_track(2, i) for i in range(3)]]
    deliveries = [
        signals.Delivery([parse_call(None, m) for m in b], write_key=keys["web"]) for b in bodies
    ]
    deliveries.insert(1, signals.Delivery(deliveries[0].messages, write_key=keys["nope"]))
    outcomes = signals.receive_deliveries(c.ledger, c.clock, deliveries, pipeline)

    assert isinstance(outcomes[1], AuthError) and isinstance(outcomes[2], RuntimeError)
    ok = [o for i, o in enumerate(outcomes) if i in (0, 3)]
    assert all(isinstance(o, signals.Received) and o.accepted == 3 for o in ok)
    with c.ledger.transaction() as tx:
        stored = tx.signal_stats().total
    assert stored == 6
    c.engine.dispose()
