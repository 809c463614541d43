"""Store signals: resolve each to its account, skip resent event ids, supersede old intent.

One call works inside the caller's unit of work, so what it stores commits (or not)
together with what `on_committed` runs on it (the signal pipeline's later stages).

Example (inside a unit of work)::

    with ledger.transaction() as tx:
        active = pipeline.active(tx)
        result = ingest(tx, drafts, active.policy, clock(), pipeline.after_ingest(active))
    print(len(result.stored), "new,", len(result.duplicates), "already seen")
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Protocol

from dtem.domain.model import Account
from dtem.domain.policy import Policy
from dtem.domain.ports import DirectoryPort, EconomicsPort, PolicyPort, ScoresPort, SignalsPort
from dtem.domain.signals import (
    PIPELINE_SCOPE,
    AccountKey,
    KeyKind,
    SignalDraft,
    SignalRecord,
    choose_key,
    normalise_domain,
    unmatched_reason,
)
from dtem.services.routing import RoutingTx


@dataclass(frozen=True)
class Committed:
    """What `on_committed` sees: signals now live for an account, signals that a
    newer snapshot replaced (as they were before), and the time of the unit of work."""

    stored: Sequence[SignalRecord]
    superseded: Sequence[SignalRecord]
    now: datetime


class StagesTx(RoutingTx, ScoresPort, EconomicsPort, PolicyPort, Protocol):
    """What the stages after ingest read and write: the active policy, scores and
    economics, then routing (facts, decisions, leases, accounts, audit)."""


class IngestTx(StagesTx, SignalsPort, Protocol):
    """What ingest reads and writes: signals and identities, then the stages on them."""


class KeysTx(SignalsPort, DirectoryPort, Protocol):
    """What resolving account keys reads: identity links, accounts by id, domain, name."""


OnCommitted = Callable[[StagesTx, Committed], object]


def store_only(_tx: StagesTx, _batch: Committed) -> None:
    """An `on_committed` that runs nothing after storing (tools that only store)."""


@dataclass(frozen=True)
class IngestResult:
    """What a call stored (new event ids) and what it skipped as already seen."""

    stored: list[SignalRecord] = field(default_factory=list)
    duplicates: list[str] = field(default_factory=list)

    @property
    def unmatched(self) -> int:
        return sum(r.account_id is None for r in self.stored)


def ingest(
    tx: IngestTx,
    drafts: Sequence[SignalDraft],
    policy: Policy,
    now: datetime,
    on_committed: OnCommitted,
    *,
    scope: str = PIPELINE_SCOPE,
    known: KnownAccounts | None = None,
) -> IngestResult:
    """Store new signals in `tx`; an event id seen before in `scope` is a duplicate.

    `scope` is the sender's event-id space (`source_scope(name)` for a webhook source);
    `known`: accounts already read in this unit of work (a group of deliveries).

    Unmatched signals are kept with a reason. Snapshot signals (weekly intent) supersede
    older rows of the same (account key, topic, source). `on_committed(tx, Committed)`
    runs last, in the same transaction.
    """
    unique: dict[str, SignalDraft] = {}
    repeats: list[str] = []  # the same event id twice in one delivery
    for d in drafts:
        if d.event_id in unique:
            repeats.append(d.event_id)
        unique.setdefault(d.event_id, d)
    keys = {e: choose_key(d.ref, policy.free_mail_domains) for e, d in unique.items()}
    accounts = resolve_keys(tx, keys.values(), policy, known)
    records = [_record(d, keys[e], accounts, policy, now, scope) for e, d in unique.items()]
    inserted = tx.insert_signals(records)
    stored = [r for r in records if r.event_id in inserted]
    snapshots = {
        (r.account_key, r.topic, r.source)
        for r in stored
        if r.topic is not None and unique[r.event_id].snapshot
    }
    retired = tx.supersede_signals(snapshots) if snapshots else []
    on_committed(tx, Committed(stored, retired, now))
    return IngestResult(stored, [e for e in unique if e not in inserted] + repeats)


def _record(
    d: SignalDraft,
    key: AccountKey,
    accounts: dict[AccountKey, tuple[int | None, AccountKey]],
    policy: Policy,
    now: datetime,
    scope: str,
) -> SignalRecord:
    account_id, deciding = accounts[key]
    reason = None if account_id else unmatched_reason(deciding, policy.free_mail_domains).value
    return SignalRecord(
        event_id=d.event_id,
        account_key=key.value,
        key_kind=key.kind,
        type=d.type if d.type in policy.signal_types else "other",
        occurred_at=d.occurred_at,
        value=d.value,
        source=d.source,
        received_at=now,
        account_id=account_id,
        unmatched_reason=reason,
        event_name=d.event_name,
        topic=d.topic,
        attributes=d.attributes,
        scope=scope,
    )


@dataclass
class KnownAccounts:
    """Account ids by external id and by domain, read once per unit of work.

    Ingest writes signals, links and scores, never accounts, so what was read stays true
    until the unit of work ends: a group of deliveries reads its accounts in one query
    (`prefetch`) instead of one per delivery. A key found in no account is kept as None.
    """

    by_id: dict[str, int | None] = field(default_factory=dict)
    by_domain: dict[str, int | None] = field(default_factory=dict)

    def prefetch(self, tx: KeysTx, drafts: Iterable[SignalDraft], policy: Policy) -> None:
        """Read the accounts these drafts name directly (an id, a domain), all at once."""
        keys = {choose_key(d.ref, policy.free_mail_domains) for d in drafts}
        free = set(policy.free_mail_domains)
        self.ids(tx, {k.value for k in keys if k.kind == KeyKind.ID})
        self.domains(tx, {k.value for k in keys if k.kind in _DOMAIN_KINDS} - free)

    def ids(self, tx: KeysTx, external_ids: Collection[str]) -> dict[str, int | None]:
        missing = [x for x in external_ids if x not in self.by_id]
        if missing:
            found = {x: a.id for x, a in tx.accounts_by_external_id(missing).items()}
            self.by_id.update((x, found.get(x)) for x in missing)
        return {x: self.by_id[x] for x in external_ids}

    def domains(self, tx: KeysTx, domains: Collection[str]) -> dict[str, int | None]:
        missing = [d for d in domains if d not in self.by_domain]
        if missing:
            found = tx.account_ids_by_domain(missing)
            self.by_domain.update((d, found.get(d)) for d in missing)
        return {d: self.by_domain[d] for d in domains}


_DOMAIN_KINDS = (KeyKind.DOMAIN, KeyKind.EMAIL)


def resolve_keys(
    tx: KeysTx,
    keys: Iterable[AccountKey],
    policy: Policy,
    known: KnownAccounts | None = None,
) -> dict[AccountKey, tuple[int | None, AccountKey]]:
    """Each key's account id (None when none matches) and the key that decided it.

    A user id goes through its identity link, so the deciding key is the linked one. A
    name key (opportunity imports) matches the one account with that name, any case.
    `known` keeps what was read for later calls in the same unit of work.
    """
    known = KnownAccounts() if known is None else known
    keys = set(keys)
    users = {k.value for k in keys if k.kind == KeyKind.USER_ID}
    links = {u: AccountKey.decode(e) for u, e in tx.identity_links(users).items()} if users else {}
    direct = keys | set(links.values())
    free = set(policy.free_mail_domains)
    by_id = known.ids(tx, {k.value for k in direct if k.kind == KeyKind.ID})
    by_domain = known.domains(
        tx, {k.value for k in direct if k.kind in _DOMAIN_KINDS and k.value not in free}
    )
    names = {k.value for k in direct if k.kind == KeyKind.NAME}
    by_name = tx.account_ids_by_name(names) if names else {}

    def lookup(k: AccountKey) -> int | None:
        if k.kind == KeyKind.ID:
            return by_id.get(k.value)
        if k.kind in _DOMAIN_KINDS and k.value not in free:
            return by_domain.get(k.value)
        if k.kind == KeyKind.NAME:
            return by_name.get(k.value.strip().lower())
        return None

    deciding = {k: links.get(k.value, k) if k.kind == KeyKind.USER_ID else k for k in keys}
    return {k: (lookup(d), d) for k, d in deciding.items()}


def attach_unmatched(
    tx: IngestTx,
    policy: Policy,
    now: datetime,
    *,
    external_ids: Iterable[str] = (),
    domains: Iterable[str] = (),
    user_ids: Iterable[str] = (),
    on_committed: OnCommitted,
    known: KnownAccounts | None = None,
) -> list[SignalRecord]:
    """Attach unmatched signals that new accounts or identity links now resolve.

    Call it in the transaction that adds accounts (their external ids and domains) or
    links users (a `group` call); signals of users linked to those accounts come along.
    Returns the attached signals; `on_committed` runs on them.
    """
    ids = set(external_ids)
    doms = {d for d in (normalise_domain(x) for x in domains) if d}
    encoded = [AccountKey(KeyKind.ID.value, x).encoded for x in ids]
    encoded += [AccountKey(KeyKind.DOMAIN.value, d).encoded for d in doms]
    encoded += [AccountKey(KeyKind.EMAIL.value, d).encoded for d in doms]
    users = set(user_ids) | set(tx.users_linked_to(encoded))
    found = {
        (r.scope, r.event_id): r
        for kind, keys in (
            (KeyKind.ID, ids),
            (KeyKind.DOMAIN, doms),
            (KeyKind.EMAIL, doms),
            (KeyKind.USER_ID, users),
        )
        if keys
        for r in tx.unmatched_signals(kind.value, keys)
    }
    accounts = resolve_keys(tx, (_key(r) for r in found.values()), policy, known)
    attach = {e: a for e, r in found.items() if (a := accounts[_key(r)][0]) is not None}
    tx.attach_signals(attach)
    attached = [
        replace(r, account_id=attach[e], unmatched_reason=None)
        for e, r in found.items()
        if e in attach
    ]
    on_committed(tx, Committed(attached, [], now))
    return attached


def _key(r: SignalRecord) -> AccountKey:
    return AccountKey(r.key_kind, r.account_key)


def attach_for_accounts(
    tx: IngestTx,
    accounts: Iterable[Account],
    policy: Policy,
    now: datetime,
    on_committed: OnCommitted,
) -> list[SignalRecord]:
    """`attach_unmatched` for accounts just inserted or updated (their ids and domains)."""
    accs = list(accounts)
    return attach_unmatched(
        tx,
        policy,
        now,
        external_ids=[a.external_id for a in accs],
        domains=[a.domain for a in accs if a.domain],
        on_committed=on_committed,
    )
