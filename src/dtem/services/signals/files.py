"""`dtem import signals`: signal rows from CSV, Parquet or JSONL, with the import rules.

The imports framework reads and validates the file (`signals` entity: same mappings,
row errors, `--on-error skip` rejects file); this module adds the signal rules:

- a row needs a type or an event name, unless it carries an `intent_score` (0-100):
  such a row is third-party intent of type `intent_surge`, with value score/100 when
  the score is at or above `surge_at` (default 60) and 0 below it, and is a weekly
  snapshot that supersedes the previous row of the same account key, topic and source;
- a row without `event_id` gets `sha256:` of its normalised content; when the file has
  no time either, the file's SHA-256 joins the content (re-importing the file is a
  no-op, next week's file is new);
- a time after the import is clamped to the import time (the file's time is kept in the
  attributes as `original_timestamp`), as the webhook does with its receive time;
- all or nothing by default; duplicates (an id already stored) are counted, not errors.

Example::

    result = import_signals(ledger, clock, Path("surge.csv"), load_mapping("bombora_surge"),
                            policy, pipeline)
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Literal, Protocol

from pydantic import ValidationError

from dtem.domain.clock import Clock
from dtem.domain.errors import InputInvalid, RowError
from dtem.domain.policy import Policy
from dtem.domain.ports import ImportsPort, LedgerOf
from dtem.domain.signals import SignalDraft, content_event_id
from dtem.services.imports.mapping import Mapping
from dtem.services.imports.readers import sha256_of
from dtem.services.imports.rejects import write_rejects
from dtem.services.imports.service import read_records
from dtem.services.signals.ingest import IngestTx, ingest
from dtem.services.signals.messages import SignalRow, field_errors
from dtem.services.signals.pipeline import SignalPipeline
from dtem.services.signals.receive import to_draft

SURGE_AT = 60.0  # Bombora's surge line: a composite score of 60 or more


class _FileTx(IngestTx, ImportsPort, Protocol):
    """A signal file: ingest and the pipeline's stages, and the import batch it records."""


@dataclass
class SignalImport:
    """What a signal import did (or, for a dry run, would do)."""

    file: str
    sha256: str
    dry_run: bool
    counts: dict[str, int]
    errors: list[RowError] = field(default_factory=list)
    batch_id: int | None = None
    rejects_file: str | None = None


def import_signals(
    ledger: LedgerOf[_FileTx],
    clock: Clock,
    path: Path,
    mapping: Mapping | None,
    policy: Policy,
    pipeline: SignalPipeline,
    *,
    as_of: datetime | None = None,
    actor: str = "cli",
    dry_run: bool = False,
    on_error: Literal["fail", "skip"] = "fail",
    progress: Callable[[int], None] | None = None,
) -> SignalImport:
    """Import one file of signals in one unit of work (see the module docstring).

    `policy` reads the rows; `pipeline` scores and routes what is stored.
    """
    now = clock()
    records, errors, total = read_records("signals", path, mapping, policy, progress, now)
    sha = sha256_of(path)
    when = as_of or now
    drafts: list[SignalDraft] = []
    for row, rec in records:
        try:
            drafts.append(row_draft(rec, policy, when, sha, path.name, now))
        except ValidationError as exc:
            errors += [_row_error(path.name, row, rec, text) for text in field_errors(exc)]
    errors.sort(key=lambda e: (e.row, e.field))
    if errors and on_error == "fail" and not dry_run:
        raise InputInvalid(errors, source=str(path))
    result = SignalImport(str(path), sha, dry_run, {"rows": total}, errors)
    try:
        with ledger.transaction() as tx:
            then = pipeline.after_ingest(pipeline.active(tx))
            got = ingest(tx, drafts, policy, clock(), then)
            result.counts |= _counts(got.stored, got.duplicates, errors)
            if dry_run:
                raise _DryRun  # roll the unit of work back: nothing is kept
            if got.stored:
                result.batch_id = _record_batch(tx, path.name, sha, clock(), actor, result.counts)
    except _DryRun:
        pass
    if errors and on_error == "skip":
        result.rejects_file = str(write_rejects(path, errors))
    return result


class _DryRun(Exception):
    """Raised inside the unit of work of a dry run so that it rolls back."""


def row_draft(
    rec: dict[str, Any], policy: Policy, when: datetime, sha: str, via: str, now: datetime
) -> SignalDraft:
    """The draft of one validated file record (ValidationError for a rule it breaks).

    `when` dates a row without a time; `now` is the import time, which no row passes.
    """
    fields = {k: v for k, v in rec.items() if v is not None}
    attributes: dict[str, Any] = {
        k: fields.pop(k) for k in ("category", "company_name") if k in fields
    }
    score, surge_at = fields.pop("intent_score", None), fields.pop("surge_at", SURGE_AT)
    if score is not None:
        surge = score >= surge_at
        attributes |= {"intent_score": score, "surge": surge}
        fields.setdefault("type", "intent_surge")
        fields.setdefault("snapshot", True)
        fields["value"] = score / 100.0 if surge else 0.0
    if "occurred_at" not in fields and "event_id" not in fields:
        fields["event_id"] = content_event_id(fields | {"file_sha256": sha})
    fields.setdefault("occurred_at", when)
    row = SignalRow.model_validate(fields | {"attributes": attributes})
    draft = to_draft(row, policy, now, via)
    assert draft is not None  # a signal row always carries a signal
    return draft


def _record_batch(
    tx: _FileTx, file: str, sha: str, at: datetime, actor: str, counts: dict[str, int]
) -> int:
    batch_id = tx.add_import_batch("signals", file, sha, at, actor, counts)
    payload = {"batch_id": batch_id, "file": file, "sha256": sha, "counts": counts}
    tx.append_audit(actor, "import.signals", payload, at)
    return batch_id


def _counts(stored: list[Any], duplicates: list[str], errors: list[RowError]) -> dict[str, int]:
    return {
        "stored": len(stored),
        "duplicates": len(duplicates),
        "unmatched": sum(r.account_id is None for r in stored),
        "rejected": len({e.row for e in errors}),
    }


def _row_error(file: str, row: int, rec: dict[str, Any], text: str) -> RowError:
    name, sep, reason = text.partition(": ")
    if not sep or name not in rec:
        name, reason = "type", text
    return RowError(file, row, name, str(rec.get(name) or ""), reason)
