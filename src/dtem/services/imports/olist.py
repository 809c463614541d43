"""The Olist sample as a sequence of ordinary imports (what `dtem demo` runs).

Order matters: accounts (leads) first, then their industries from the closed deals, then
the reps, then the won opportunities that name both.

>>> [(kind, file, mapping) for kind, file, mapping in OLIST_STEPS][0]
('accounts', 'olist_marketing_qualified_leads_dataset.csv', 'olist')
"""

from __future__ import annotations

from pathlib import Path

from dtem.domain.clock import Clock
from dtem.domain.policy import Policy
from dtem.domain.ports import LedgerOf
from dtem.services.imports.mapping import load_mapping
from dtem.services.imports.service import ImportResult, ImportTx, Progress, import_file
from dtem.services.signals.pipeline import SignalPipeline

LEADS = "olist_marketing_qualified_leads_dataset.csv"
DEALS = "olist_closed_deals_dataset.csv"
OLIST_STEPS: tuple[tuple[str, str, str], ...] = (
    ("accounts", LEADS, "olist"),
    ("accounts", DEALS, "olist-deals"),
    ("reps", DEALS, "olist"),
    ("opportunities", DEALS, "olist"),
)


def import_olist(
    ledger: LedgerOf[ImportTx],
    clock: Clock,
    policy: Policy,
    pipeline: SignalPipeline,
    sample_dir: Path,
    actor: str = "demo",
    progress: Progress | None = None,
) -> list[ImportResult]:
    """Import the two Olist files through the shipped mappings; one result per step."""
    return [
        import_file(
            ledger,
            clock,
            kind,
            sample_dir / file,
            load_mapping(mapping),
            pipeline=pipeline,
            policy=policy,
            actor=actor,
            progress=progress,
        )
        for kind, file, mapping in OLIST_STEPS
    ]
