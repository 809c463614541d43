"""Writers racing on PostgreSQL, each in its own process (not threads: real sessions,
real connections, the interleavings production sees).

Example::

    def _store(ledger: SqlLedger, name: str) -> list[int]:   # module level: it is pickled
        return [governance.store_policy(ledger, {...}, clock, name, "") for _ in range(6)]

    got = race(pg_url, _store, ["admin-0", "admin-1", "admin-2"])   # {name: result}
"""

from __future__ import annotations

import multiprocessing as mp
from collections.abc import Callable, Sequence
from multiprocessing.queues import Queue
from multiprocessing.synchronize import Barrier
from typing import Any, TypeVar

from dtem.adapters.ledger.engine import make_engine
from dtem.adapters.ledger.sql import SqlLedger

T = TypeVar("T")
Work = Callable[[SqlLedger, str], Any]


def _writer(url: str, work: Work, name: str, gate: Barrier, out: Queue[Any]) -> None:
    ledger = SqlLedger(make_engine(url, pool_size=1))
    try:
        gate.wait(120)  # all start together, so their transactions interleave
        out.put((name, True, work(ledger, name)))
    except Exception as exc:  # reported to the test process
        out.put((name, False, repr(exc)))
    finally:
        ledger.engine.dispose()


def race(url: str, work: Callable[[SqlLedger, str], T], names: Sequence[str]) -> dict[str, T]:
    """Run `work(ledger, name)` in one spawned process per name, started at once on the
    database at `url`; their results by name. Fails the test naming every writer that
    raised (with its exception)."""
    ctx = mp.get_context("spawn")  # a fresh interpreter: no engine inherited from the parent
    gate, out = ctx.Barrier(len(names)), ctx.Queue()
    procs = [ctx.Process(target=_writer, args=(url, work, n, gate, out)) for n in names]
    for p in procs:
        p.start()
    reports = [out.get(timeout=180) for _ in procs]
    for p in procs:
        p.join(60)
    failed = {n: r for n, ok, r in reports if not ok}
    assert failed == {}, f"writers failed: {failed}"
    return {n: r for n, _, r in reports}
