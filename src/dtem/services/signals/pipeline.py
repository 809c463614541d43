"""The signal pipeline: ingest → score → route, in the unit of work that stores signals.

`bootstrap.signal_pipeline()` builds it; the webhook, the NATS worker and file imports
all run it. Ingest stores a delivery and calls the pipeline with what it stored (and what
a newer intent snapshot superseded); the score stage folds that into each account's
decayed state and appends the new scores and their routing triggers; the route stage
leases each account that crossed the threshold or raised its hand. The stages pass what
they wrote on in memory (new scores, triggers with their ids): nothing is read back. The
active policy is looked up once per unit of work, and parsed once per version.

Example (inside a unit of work)::

    active = pipeline.active(tx)
    ingest(tx, drafts, active.policy, now, pipeline.after_ingest(active))
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from dtem.domain.ports import PolicyPort
from dtem.services.governance import ActivePolicy, PolicyCache, active_policy
from dtem.services.scoring import Scored
from dtem.services.signals.ingest import Committed, OnCommitted, StagesTx

ScoreStage = Callable[[StagesTx, Committed, ActivePolicy], Scored]
RouteStage = Callable[[StagesTx, Scored, ActivePolicy, datetime], object]


@dataclass(frozen=True)
class SignalPipeline:
    """The stages after ingest, and the policy cache they share (one per ledger)."""

    policies: PolicyCache
    score: ScoreStage
    route: RouteStage

    def active(self, tx: PolicyPort) -> ActivePolicy:
        """The policy in force for this unit of work (`NotFound` when none is)."""
        return active_policy(tx, self.policies)

    def after_ingest(self, active: ActivePolicy) -> OnCommitted:
        """What ingest runs on what it stored, under `active`: score, then route."""

        def score_then_route(tx: StagesTx, batch: Committed) -> None:
            if batch.stored or batch.superseded:
                self.route(tx, self.score(tx, batch, active), active, batch.now)

        return score_then_route
