"""Webhook CPU per event, in process: what a group of `/v1/batch` deliveries costs the server.

The same Segment batches as `bench/webhook.py` (100 track calls a delivery over 1,000
accounts), without HTTP: each group of `--group` deliveries is parsed (`parse_batch`)
and committed (`receive_deliveries`: authenticate, store, score, route, commit) on a
fresh SQLite ledger, after a warm-up in which every account crosses the threshold once.
The reference, in the same run on the same documents: pydantic validation of the batch
and one committed SQLite insert per event (the reference server of `bench/webhook.py`).

CPU time (`time.process_time`) is measured per group, and the median and the least of
the groups are shown: on a shared machine the least is the steadiest figure.

    .venv/bin/python bench/webhook_cpu.py --groups 20
    .venv/bin/python bench/webhook_cpu.py --profile 25   # the top lines of a cProfile
"""

from __future__ import annotations

import argparse
import cProfile
import datetime as dt
import os
import pstats
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parent))

from dtem.bootstrap import build
from dtem.config import Settings
from dtem.domain.model import Account
from dtem.services import governance, signals
from dtem.services.signals import sources
from dtem.services.signals.messages import parse_batch
from webhook import ACCOUNTS, BATCH, Batch, reference_app


class Docs:
    """Fresh Segment batches (unique message ids), as wrk's script sends them."""

    def __init__(self) -> None:
        self.n = 0
        self.ts = (dt.datetime.now(dt.UTC) - dt.timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ")

    def __call__(self) -> dict[str, Any]:
        self.n += 1
        return {"batch": [self.call(i) for i in range(BATCH)]}

    def call(self, i: int) -> dict[str, Any]:
        return {
            "type": "track", "userId": f"u{i}",
            "event": "Pricing Page Viewed" if i % 3 else "Page Viewed",
            "messageId": f"m-{self.n}-{i}", "timestamp": self.ts,
            "properties": {"domain": f"a{(self.n * BATCH + i) % ACCOUNTS}.com", "path": "/pricing"},
        }  # fmt: skip


def product(tmp: str, group: int, docs: Docs) -> Any:
    """A function running one group through the product: (parse s, commit s) of CPU."""
    c = build(Settings(), f"sqlite:///{tmp}/dtem.db")
    governance.ensure_policy(c.ledger, c.clock)
    with c.ledger.transaction() as tx:
        tx.insert_accounts(
            [Account(f"A{i}", f"Account {i}", domain=f"a{i}.com") for i in range(ACCOUNTS)],
            c.clock(),
        )
    _, key = sources.create_source(c.ledger, c.clock, "bench")

    def run(profile: cProfile.Profile | None = None) -> tuple[float, float]:
        raw = [docs() for _ in range(group)]
        t0 = time.process_time()
        deliveries = [signals.Delivery(parse_batch(d)[0], write_key=key) for d in raw]
        t1 = time.process_time()
        if profile:
            profile.enable()
        signals.receive_deliveries(c.ledger, c.clock, deliveries, c.pipeline)
        if profile:
            profile.disable()
        return t1 - t0, time.process_time() - t1

    return run


def reference(tmp: str, group: int, docs: Docs) -> Any:
    """The reference's endpoint on the same documents: CPU s of a group."""
    app = reference_app(f"{tmp}/ref.db")
    endpoint = next(r.endpoint for r in app.routes if getattr(r, "path", "") == "/v1/batch")  # type: ignore[attr-defined]

    def run() -> float:
        raw = [docs() for _ in range(group)]
        t0 = time.process_time()
        for d in raw:
            endpoint(Batch.model_validate(d))
        return time.process_time() - t0

    return run


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--group", type=int, default=16, help="deliveries a group")
    ap.add_argument("--groups", type=int, default=20, help="groups measured")
    ap.add_argument("--warmup", type=int, default=40, help="groups before measuring")
    ap.add_argument("--profile", type=int, metavar="LINES", help="print a CPU profile's top")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        docs = Docs()
        run, ref = product(tmp, args.group, docs), reference(tmp, args.group, docs)
        for _ in range(args.warmup):
            run()
        per = BATCH * args.group / 1e6  # seconds a group → µs an event
        dtem = [run() for _ in range(args.groups)]
        refs = [ref() / per for _ in range(args.groups)]
        if args.profile:
            prof = cProfile.Profile(time.process_time)
            for _ in range(args.groups):
                run(prof)
    parse = [p / per for p, _ in dtem]
    commit = [c / per for _, c in dtem]
    total = [p + c for p, c in zip(parse, commit, strict=True)]
    print(f"{args.group} deliveries of {BATCH} events a group, {args.groups} groups; "
          f"µs of CPU an event, median (least)")  # fmt: skip
    print(f"{'':<38}{'parse':>14}{'commit':>14}{'total':>14}")
    row = "{:<38}{:>14}{:>14}{:>14}"
    fig = "{:.1f} ({:.1f})".format
    print(row.format("DTEM (store, score, route, commit)",
                     fig(statistics.median(parse), min(parse)),
                     fig(statistics.median(commit), min(commit)),
                     fig(statistics.median(total), min(total))))  # fmt: skip
    print(row.format("reference (pydantic + insert)", "", "",
                     fig(statistics.median(refs), min(refs))))  # fmt: skip
    print(f"ratio reference / DTEM (CPU an event, median): "
          f"{statistics.median(refs) / statistics.median(total):.2f}")  # fmt: skip
    print(f"load average (1, 5, 15 min): {', '.join(f'{x:.2f}' for x in os.getloadavg())}")
    if args.profile:
        pstats.Stats(prof).sort_stats("tottime").print_stats(args.profile)


if __name__ == "__main__":
    main()
