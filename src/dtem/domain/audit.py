"""The audit chain: each entry carries the SHA-256 of its predecessor, so an edit shows.

Each entry's hash also covers its sequence number, so a renumbered entry shows too. The
ledger keeps a *chain head* (how many entries, the last hash) written in the same
transaction as every append, apart from the log itself: deleting entries from the end
leaves the head pointing past them. An *anchor* is a copy of the head kept outside the
database; checking against it also catches a truncation whose head was rewritten.

>>> e = new_entry(1, "2027-01-01T00:00:00+00:00", "admin", "policy.activate", {"v": 2}, GENESIS)
>>> verify_chain([e], {"the chain head": ChainHead(1, e.hash)}).entries
1
>>> verify_chain([], {"the anchor": ChainHead(1, e.hash)})
Traceback (most recent call last):
...
dtem.domain.errors.AuditChainBroken: audit entry #1 is missing (the anchor records 1 entries)
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from dtem.domain.errors import AuditChainBroken

GENESIS = "0" * 64


@dataclass(frozen=True)
class AuditEntry:
    seq: int
    at: str  # ISO-8601 UTC, as stored (the hash covers this exact text)
    actor: str
    action: str
    payload: dict[str, Any]
    prev_hash: str
    hash: str  # as stored; verify_chain recomputes it

    def computed_hash(self) -> str:
        return entry_hash(self.prev_hash, self.seq, self.at, self.actor, self.action, self.payload)


@dataclass(frozen=True)
class AuditNote:
    """What an append records (the ledger numbers, stamps and chains it)."""

    actor: str
    action: str
    payload: dict[str, Any]
    at: datetime


@dataclass(frozen=True)
class ChainHead:
    """What the chain looked like at its end: `entries` entries, the last hashing to
    `last_hash`. Kept by the ledger beside the log (the head) or outside it (an anchor).

    >>> ChainHead.from_dict({"entries": 0, "last_hash": GENESIS}) == ChainHead(0, GENESIS)
    True
    """

    entries: int
    last_hash: str

    def to_dict(self) -> dict[str, Any]:
        return {"entries": self.entries, "last_hash": self.last_hash}

    @classmethod
    def from_dict(cls, doc: Any) -> ChainHead:
        """Read an anchor document; `ValueError` naming the field when it is not one."""
        if not isinstance(doc, dict):
            raise ValueError("an audit anchor is a JSON object with entries and last_hash")
        entries, last_hash = doc.get("entries"), doc.get("last_hash")
        if not isinstance(entries, int) or isinstance(entries, bool) or entries < 0:
            raise ValueError("audit anchor field entries must be a whole number >= 0")
        if not isinstance(last_hash, str) or len(last_hash) != 64:
            raise ValueError("audit anchor field last_hash must be a 64-character hash")
        return cls(entries, last_hash)


def new_entry(
    seq: int, at: str, actor: str, action: str, payload: dict[str, Any], prev_hash: str
) -> AuditEntry:
    """An entry whose stored hash is computed from its content and predecessor."""
    h = entry_hash(prev_hash, seq, at, actor, action, payload)
    return AuditEntry(seq, at, actor, action, payload, prev_hash, h)


def entry_hash(
    prev_hash: str, seq: int, at: str, actor: str, action: str, payload: dict[str, Any]
) -> str:
    """SHA-256 over the previous hash and a canonical JSON of this entry (seq included)."""
    body = json.dumps(
        [prev_hash, seq, at, actor, action, payload],
        sort_keys=True,
        separators=(",", ":"),
        default=str,
    )
    return hashlib.sha256(body.encode()).hexdigest()


def verify_chain(
    entries: Iterable[AuditEntry], checkpoints: Mapping[str, ChainHead] | None = None
) -> ChainHead:
    """Walk the chain in order; return where it ends (entries checked, the last hash).

    `checkpoints` name what each says the chain held ("the chain head", "the anchor"):
    the chain must reach each one's count, its entry there having that hash. Raises
    `AuditChainBroken` naming the first entry that is missing (a gap in the numbering,
    or the end cut off) or altered (its content no longer hashes to its stored hash, its
    hash is not what its successor or a checkpoint recorded).
    """
    marks = {name: c for name, c in (checkpoints or {}).items() if c.entries > 0}
    expected_prev = GENESIS
    count = 0
    for entry in entries:
        if entry.seq != count + 1:
            _gap(count + 1, entry.seq)
        if entry.computed_hash() != entry.hash:
            raise AuditChainBroken(entry.seq, "was altered: its content does not match its hash")
        if entry.prev_hash != expected_prev:
            culprit = count or entry.seq
            raise AuditChainBroken(
                culprit, f"was altered: its hash does not match what entry #{entry.seq} recorded"
            )
        for name, mark in marks.items():
            if mark.entries == entry.seq and mark.last_hash != entry.hash:
                raise AuditChainBroken(entry.seq, f"was altered: its hash differs from {name}")
        expected_prev = entry.hash
        count = entry.seq
    for name, mark in marks.items():
        if mark.entries > count:
            raise AuditChainBroken(count + 1, f"is missing ({name} records {mark.entries} entries)")
    return ChainHead(count, expected_prev)


def _gap(missing: int, found: int) -> None:
    if found < missing:  # only a tampered store repeats or reorders numbers
        raise AuditChainBroken(found, "is out of order or repeated")
    gone = "" if found == missing + 1 else f" (#{missing} to #{found - 1} are all gone)"
    raise AuditChainBroken(missing, f"is missing{gone}")
