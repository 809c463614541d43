"""The worker's periodic tasks: the daily review runs at its time; a drained consumer stops all."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from dtem.domain.clock import FixedClock
from dtem.entrypoints.worker import daily, run_tasks, stops_all


def test_daily_job_runs_when_its_time_comes_and_stops_with_the_worker() -> None:
    clock = FixedClock(datetime(2027, 1, 4, 5, 59, 59, 900_000, tzinfo=UTC))
    runs: list[datetime] = []

    def job() -> None:
        runs.append(clock())
        clock.advance(days=1)  # the next run is a day later

    def next_at() -> datetime:
        return clock() + timedelta(milliseconds=50) if not runs else clock() + timedelta(days=1)

    async def stop_soon(stop: asyncio.Event) -> None:
        await asyncio.sleep(0.5)

    stop = asyncio.Event()
    asyncio.run(run_tasks([daily(next_at, clock, job), stops_all(stop_soon)], stop))
    assert len(runs) == 1 and stop.is_set()


def test_a_task_that_ends_stops_the_other_tasks() -> None:
    seen: list[str] = []

    async def finite(stop: asyncio.Event) -> str:
        return "drained"

    async def forever(stop: asyncio.Event) -> None:
        await stop.wait()
        seen.append("stopped")

    stop = asyncio.Event()
    results = asyncio.run(run_tasks([stops_all(finite), forever], stop))
    assert results[0] == "drained" and seen == ["stopped"]
