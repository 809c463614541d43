"""The tracking API's committer: groups bounded in events, each request its own outcome."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Sequence

import pytest

from dtem.domain.errors import AuthError
from dtem.entrypoints.api.group_commit import GroupCommitter
from dtem.services.signals import Delivery, IngestResult, Outcome, Received


def _delivery(n: int, key: str) -> Delivery:
    return Delivery([object()] * n, write_key=key)  # type: ignore[list-item]


def _answers(group: Sequence[Delivery]) -> list[Outcome]:
    """Each delivery's own outcome: refused for key 'bad', else as many accepted as sent."""
    return [
        AuthError("unknown write key") if d.write_key == "bad" else Received(IngestResult())
        for d in group
    ]


async def _submit_all(committer: GroupCommitter, deliveries: list[Delivery]) -> list[object]:
    async def one(d: Delivery) -> object:
        try:
            return await committer.submit(d)
        except Exception as exc:  # the outcome this request would answer with
            return exc

    return list(await asyncio.gather(*(one(d) for d in deliveries)))


def test_groups_hold_at_most_max_events_and_each_request_gets_its_own_outcome() -> None:
    sizes: list[list[int]] = []
    release = threading.Event()

    def commit(group: Sequence[Delivery]) -> list[Outcome]:
        sizes.append([d.size for d in group])
        release.wait(5)  # the first group holds the writer while the rest queue up
        return _answers(group)

    committer = GroupCommitter(commit, max_events=1000)
    deliveries = [_delivery(400, "bad" if i == 3 else "ok") for i in range(8)]
    deliveries.append(_delivery(2500, "ok"))  # alone: larger than a group, still taken

    async def run() -> list[object]:
        task = asyncio.ensure_future(_submit_all(committer, deliveries))
        await asyncio.sleep(0.05)
        release.set()
        return await task

    outcomes = asyncio.run(run())
    assert [s for group in sizes for s in group] == [d.size for d in deliveries]  # in order
    assert all(sum(g) <= 1000 or len(g) == 1 for g in sizes) and max(map(len, sizes)) > 1
    assert [type(o) for o in outcomes] == [Received] * 3 + [AuthError] + [Received] * 5


def test_a_group_whose_commit_raises_answers_its_requests_and_the_next_group_runs() -> None:
    calls: list[int] = []

    def commit(group: Sequence[Delivery]) -> list[Outcome]:
        calls.append(len(group))
        if len(calls) == 1:
            raise RuntimeError("the ledger went away")
        return _answers(group)

    committer = GroupCommitter(commit)
    first = asyncio.run(_submit_all(committer, [_delivery(1, "ok")]))
    assert isinstance(first[0], RuntimeError)
    again = asyncio.run(_submit_all(committer, [_delivery(1, "ok"), _delivery(1, "ok")]))
    assert all(isinstance(o, Received) for o in again)


def test_an_auth_error_reaches_its_caller_as_an_exception() -> None:
    committer = GroupCommitter(_answers)
    with pytest.raises(AuthError):
        asyncio.run(committer.submit(_delivery(1, "bad")))
