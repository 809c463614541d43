"""The one place where adapters are built and wired to services.

A stored signal goes through `signal_pipeline()`: ingest → score → route, in the unit of
work that stores it (the webhook, the NATS worker and file imports all run it).
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field

from sqlalchemy.engine import Engine

from dtem.adapters.ledger.engine import describe, make_engine, migrate, require_ledger
from dtem.adapters.ledger.sql import SqlLedger
from dtem.config import Settings
from dtem.domain.batch import BatchScorer
from dtem.domain.clock import Clock, system_clock
from dtem.domain.errors import ArgumentInvalid
from dtem.domain.webhooks import RetryPlan, WebhookSender
from dtem.services.governance import PolicyCache
from dtem.services.signals.pipeline import SignalPipeline
from dtem.services.signals.stages import route_triggered, score_committed
from dtem.services.webhook_dispatch import Dispatcher


def signal_pipeline() -> SignalPipeline:
    """What happens to stored signals, in the unit of work that stores them.

    1. ingest (`services/signals/ingest.py`): resolve accounts, skip resent event ids,
       supersede last week's intent rows;
    2. score (`score_committed`): fold them into each account's decayed state, append the
       new scores and their triggers (threshold crossings, hand-raises);
    3. route (`route_triggered`): lease each account that crossed up or raised its hand.

    One pipeline per ledger: its policy cache parses each policy version once.
    """
    return SignalPipeline(PolicyCache(), score=score_committed, route=route_triggered)


@dataclass
class Container:
    """What entrypoints need: settings, the ledger, the signal pipeline and a clock."""

    settings: Settings
    engine: Engine
    ledger: SqlLedger
    pipeline: SignalPipeline
    clock: Clock = field(default=system_clock)

    @property
    def database(self) -> str:
        """The ledger's URL as shown to people (no password, no driver name)."""
        return describe(self.engine)


def build(settings: Settings, database_url: str | None = None, *, create: bool = True) -> Container:
    """Open the ledger at `database_url` (or the settings' URL) and bring its schema up to date.

    With `create` a missing ledger is created; without it `LedgerMissing` says to run
    `dtem init` and nothing is written to disk. An unusable URL or database raises
    `LedgerUnavailable`.
    """
    engine = make_engine(database_url or settings.resolved_database_url(), create=create)
    if not create:
        require_ledger(engine)
    migrate(engine)
    return Container(settings, engine, SqlLedger(engine), signal_pipeline())


def connect(settings: Settings) -> Container:
    """The container of a server process: the settings' ledger, connected on first use.

    The process that starts the server has checked (or created) the ledger already; a
    database that goes away later is reported per request, not at start-up.
    """
    engine = make_engine(settings.resolved_database_url(), create=False)
    return Container(settings, engine, SqlLedger(engine), signal_pipeline())


def webhook_dispatcher(container: Container) -> Dispatcher:
    """A dispatcher of the container's outbox, POSTing with httpx (jittered retries), and
    sending `email` deliveries over SMTP when `DTEM_SMTP_HOST` is set."""
    from dtem.adapters.webhooks.http_sender import HttpxSender

    return Dispatcher(
        container.ledger,
        HttpxSender(),
        container.clock,
        RetryPlan(random.random),
        timeout=container.settings.webhook_timeout_seconds,
        mailer=smtp_mailer(container.settings),
    )


def smtp_mailer(settings: Settings) -> WebhookSender | None:
    """The digest mailer of `DTEM_SMTP_*`, or None when no host is set."""
    from dtem.adapters.webhooks.smtp_sender import SmtpMailer

    if not settings.smtp_host:
        return None
    password = settings.smtp_password.get_secret_value() if settings.smtp_password else None
    return SmtpMailer(
        settings.smtp_host,
        settings.smtp_port,
        settings.smtp_from,
        settings.smtp_user,
        password,
        settings.smtp_starttls,
    )


def batch_scorer(engine: str) -> BatchScorer:
    """The batch scoring engine by name: `duckdb` (embedded default) or `spark`."""
    if engine == "duckdb":
        from dtem.adapters.batch.duckdb_engine import DuckDbScorer

        return DuckDbScorer()
    if engine == "spark":
        from dtem.adapters.batch.spark_engine import SparkScorer

        return SparkScorer()
    raise ArgumentInvalid(f"unknown engine {engine!r}: use duckdb or spark")
