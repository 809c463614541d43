"""`dtem worker`: consume signals from NATS JetStream (and, later, periodic jobs)."""

from __future__ import annotations

import asyncio
import signal
from datetime import datetime
from typing import TYPE_CHECKING, Annotated

import typer

from dtem.adapters.broker.settings import BrokerSettings
from dtem.entrypoints.cli.common import (
    DbOption,
    JsonOption,
    console,
    handle_errors,
    open_ledger,
    print_json,
)
from dtem.services import governance

if TYPE_CHECKING:  # the worker loads nats-py: only `dtem worker` pays for it
    from dtem.bootstrap import Container
    from dtem.entrypoints.worker import Task

_D = BrokerSettings()


@handle_errors
def worker(
    nats_url: Annotated[
        str | None, typer.Option(help="NATS server (default: $DTEM_NATS_URL).", show_default=False)
    ] = None,
    stream: Annotated[str, typer.Option(help="JetStream stream (created if missing).")] = _D.stream,
    subject: Annotated[str, typer.Option(help="Subjects the stream holds.")] = _D.subject,
    durable: Annotated[str, typer.Option(help="Durable consumer name.")] = _D.durable,
    dlq_subject: Annotated[str, typer.Option(help="Dead-letter subject.")] = _D.dlq_subject,
    max_deliver: Annotated[int, typer.Option(help="Deliveries before a dead letter.")] = 5,
    batch: Annotated[int, typer.Option(help="Messages fetched and stored at once.")] = 100,
    max_events: Annotated[
        int, typer.Option(help="Events per transaction (at most; a message is never split).")
    ] = 10_000,
    max_messages: Annotated[
        int | None, typer.Option(help="Stop after this many messages.", show_default=False)
    ] = None,
    idle_timeout: Annotated[
        float | None, typer.Option(help="Stop after this many idle seconds.", show_default=False)
    ] = None,
    review: Annotated[
        bool,
        typer.Option(
            help="Also run the daily review at the policy's review hour, then queue the reps' "
            "digest e-mails (dtem notify digest)."
        ),
    ] = True,
    db: DbOption = None,
    json_out: JsonOption = False,
) -> None:
    """Consume signal messages from NATS JetStream until stopped (Ctrl-C / SIGTERM).

    A message is a Segment call (track, page, identify, group…) or a DTEM signal row, as
    JSON, or many of them: {"batch": [...]} or a JSON array (a bad event of a batch is
    dead-lettered alone). It is acked once its events are committed; one that cannot be
    parsed, or fails --max-deliver times, goes to the dead-letter subject with the reason.

    Example:  dtem worker --nats-url nats://127.0.0.1:4222 --idle-timeout 60
    """
    from dtem.entrypoints.worker import SignalConsumer, stops_all

    c = open_ledger(db)
    governance.ensure_policy(c.ledger, c.clock, c.settings.actor)
    broker = BrokerSettings(
        nats_url or c.settings.nats_url, stream, subject, durable, dlq_subject, max_deliver
    )
    consumer = SignalConsumer(
        c,
        broker,
        batch=batch,
        max_events=max_events,
        max_messages=max_messages,
        idle_timeout=idle_timeout,
    )
    tasks: list[Task] = [stops_all(consumer.run)]  # a drained consumer ends the worker
    if review:
        tasks.append(_daily_review(c))
    asyncio.run(_until_signalled(tasks, quiet=json_out))
    if json_out:
        print_json(consumer.stats)
    else:
        s = consumer.stats
        console.print(
            f"worker stopped: {s.messages} message(s), {s.stored} stored, "
            f"{s.duplicates} duplicate(s), {s.dead_letters} dead letter(s)"
        )


def _daily_review(c: Container) -> Task:
    from dtem.entrypoints.worker import daily
    from dtem.services.digest import queue_digests
    from dtem.services.review import next_run, run_review

    def next_at() -> datetime:
        with c.ledger.transaction() as tx:
            policy = governance.active_policy(tx).policy
        return next_run(c.clock(), policy)

    def review_then_digest() -> object:
        done = run_review(c.ledger, c.clock, actor="worker")
        queue_digests(c.ledger, c.clock, c.clock().date(), actor="worker")
        return done

    return daily(next_at, c.clock, review_then_digest)


async def _until_signalled(tasks: list[Task], quiet: bool) -> None:
    from dtem.entrypoints.worker import run_tasks

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    if not quiet:
        console.print("worker running; Ctrl-C to stop", style="dim")
    await run_tasks(tasks, stop)
