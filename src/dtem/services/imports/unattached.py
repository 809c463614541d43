"""Opportunities without an account: stored as pipeline, listed, attached when it arrives.

An opportunity row names its account by external id, domain or name
(`account_external_id`, `account_domain`, `account_name`); the first that matches one
account attaches it. When none matches (no account column filled, or an account not
imported yet) the opportunity is stored all the same, *unattached*, keeping the best key
the row had (id, then domain, then name) as `account_key`/`key_kind`: real pipeline must
not vanish, nor fail its file. An unattached opportunity has no lease, no commission and
no account-level score; the funnel summary counts it on its own.

Later, an accounts import attaches the waiting opportunities whose key now resolves
(`attach_waiting`), with the key resolution unmatched signals use
(`signals.ingest.resolve_keys`); `attach_opportunity` attaches one by hand, naming the
account by external id, domain or name. Once attached, the key is cleared: the account is
the truth, and a re-import of the same row changes nothing. A row that names no account
that matches never detaches a stored opportunity from its account.

>>> # in an accounts import: attach_waiting(tx, new_accounts, policy, now, actor)
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any, Protocol

from dtem.domain.clock import Clock
from dtem.domain.errors import ArgumentInvalid, NotFound
from dtem.domain.listings import OpportunityQuery
from dtem.domain.model import Account, Opportunity
from dtem.domain.policy import Policy
from dtem.domain.ports import AuditPort, LedgerOf, ListingsPort, OpportunitiesPort, PolicyPort
from dtem.domain.signals import AccountKey, KeyKind, normalise_domain
from dtem.services.governance import active_policy
from dtem.services.imports.validate import Record
from dtem.services.signals.ingest import KeysTx, resolve_keys

# the fields a row names its account by, most trusted first, and the key kind of each
KEY_FIELDS: tuple[tuple[str, KeyKind], ...] = (
    ("account_external_id", KeyKind.ID),
    ("account_domain", KeyKind.DOMAIN),
    ("account_name", KeyKind.NAME),
)
_KINDS = frozenset(kind.value for _, kind in KEY_FIELDS)


class AttachTx(KeysTx, OpportunitiesPort, AuditPort, Protocol):
    """Waiting opportunities, the account keys that resolve them, and the audit log."""


class _Attach(AttachTx, PolicyPort, Protocol):
    """Attaching by hand under the active policy (its free-mail domains)."""


@dataclass(frozen=True)
class UnattachedView:
    """One waiting opportunity, as `dtem opportunities unattached` shows it."""

    opportunity: str
    stage: str
    amount: float | None
    product: str | None
    close_date: str | None
    key_kind: str | None  # id | domain | name; None: the row named no account at all
    account_key: str | None
    rep: str | None


def row_keys(rec: dict[str, Any]) -> list[AccountKey]:
    """The account keys a clean row gives, most trusted first; removes the domain and name
    fields from the row (they are not stored as such)."""
    keys: list[AccountKey] = []
    for name, kind in KEY_FIELDS:
        value = rec.pop(name, None) if name != "account_external_id" else rec.get(name)
        if kind == KeyKind.DOMAIN and value is not None:
            value = normalise_domain(value)
        if value:
            keys.append(AccountKey(kind.value, value))
    return keys


def resolve_rows(
    tx: KeysTx,
    records: list[Record],
    stored: dict[str, Opportunity],
    policy: Policy,
) -> int:
    """Set each row's account from its keys (the first that matches), else keep the best
    key on it as unattached; return how many rows stay unattached.

    A row whose stored opportunity has an account and whose keys match none keeps that
    account (its account fields are dropped from the row).
    """
    keys = {row: row_keys(rec) for row, rec in records}
    resolved = _resolve(tx, [k for ks in keys.values() for k in ks], policy)
    waiting = 0
    for row, rec in records:
        xid = next((resolved[k] for k in keys[row] if resolved.get(k)), None)
        old = stored.get(rec["external_id"])
        if xid is not None:
            rec |= {"account_external_id": xid, "account_key": None, "key_kind": None}
        elif old is not None and old.account_external_id is not None:
            rec.pop("account_external_id", None)  # never detach: the stored account stays
        else:
            best = keys[row][0] if keys[row] else None
            rec |= {
                "account_external_id": None,
                "account_key": best.value if best else None,
                "key_kind": best.kind if best else None,
            }
            waiting += 1
    return waiting


def attach_waiting(
    tx: AttachTx, accounts: Iterable[Account], policy: Policy, at: datetime, actor: str
) -> list[Opportunity]:
    """Attach the waiting opportunities that these (new or updated) accounts resolve.

    One audit entry `opportunity.attach` lists what attached. Returns the attached ones.
    """
    accs = list(accounts)
    wanted = (
        (KeyKind.ID, {a.external_id for a in accs}),
        (KeyKind.DOMAIN, {d for a in accs if a.domain and (d := normalise_domain(a.domain))}),
        (KeyKind.NAME, {a.name for a in accs if a.name}),
    )
    found = {
        o.external_id: o
        for kind, keys in wanted
        if keys
        for o in tx.unattached_opportunities(kind.value, keys)
    }
    by_key = {
        o.external_id: AccountKey(o.key_kind or "", o.account_key or "") for o in found.values()
    }
    resolved = _resolve(tx, by_key.values(), policy)
    attached = [(o, xid) for x, o in found.items() if (xid := resolved.get(by_key[x])) is not None]
    _attach(tx, attached, at, actor, "import")
    return [
        replace(o, account_external_id=xid, account_key=None, key_kind=None) for o, xid in attached
    ]


def attach_opportunity(
    ledger: LedgerOf[_Attach], clock: Clock, opportunity: str, account: str, actor: str
) -> Opportunity:
    """Attach one opportunity by hand to the account named by external id, domain or name.

    NotFound for an unknown opportunity or an account nothing matches; ArgumentInvalid for
    an opportunity already attached to another account. Attaching it to its own account
    again changes nothing.
    """
    with ledger.transaction() as tx:
        opp = tx.opportunities_by_external_id([opportunity]).get(opportunity)
        if opp is None:
            raise NotFound(f"opportunity {opportunity!r} does not exist")
        xid = resolve_account(tx, account, active_policy(tx).policy)
        if opp.account_external_id == xid:
            return opp
        if opp.account_external_id is not None:
            raise ArgumentInvalid(
                f"opportunity {opportunity!r} is already attached to account "
                f"{opp.account_external_id!r}"
            )
        _attach(tx, [(opp, xid)], clock(), actor, "manual")
    return replace(opp, account_external_id=xid, account_key=None, key_kind=None)


def resolve_account(tx: KeysTx, account: str, policy: Policy) -> str:
    """The external id of the account named by `account`: an external id, else a domain,
    else the name of exactly one account (any case). NotFound otherwise."""
    text = account.strip()
    domain = normalise_domain(text)
    keys = [AccountKey(KeyKind.ID.value, text)]
    keys += [AccountKey(KeyKind.DOMAIN.value, domain)] if domain else []
    keys += [AccountKey(KeyKind.NAME.value, text)]
    resolved = _resolve(tx, keys, policy)
    xid = next((resolved[k] for k in keys if resolved.get(k)), None)
    if xid is None:
        raise NotFound(
            f"no account {account!r}: not an account's external id or domain, nor the name "
            "of exactly one account"
        )
    return xid


def list_unattached(
    ledger: LedgerOf[ListingsPort], after: str | None = None, limit: int | None = None
) -> list[UnattachedView]:
    """The opportunities waiting for their account, by external id (after `after`; `limit`
    None: every one)."""
    query = OpportunityQuery(unattached=True, after=after, limit=limit)
    with ledger.transaction() as tx:
        waiting = tx.opportunity_page(query)
    return [
        UnattachedView(
            o.external_id,
            o.stage,
            o.amount,
            o.product,
            o.close_date.isoformat() if o.close_date else None,
            o.key_kind,
            o.account_key,
            o.rep_external_id,
        )
        for o in waiting
    ]


def _resolve(tx: KeysTx, keys: Iterable[AccountKey], policy: Policy) -> dict[AccountKey, str]:
    """Key -> the external id of the account it resolves to (keys that resolve only)."""
    wanted = {k for k in keys if k.kind in _KINDS}
    if not wanted:
        return {}
    ids = {k: aid for k, (aid, _) in resolve_keys(tx, wanted, policy).items() if aid}
    xids = {aid: a.external_id for aid, a in tx.accounts_by_id(set(ids.values())).items()}
    return {k: xids[aid] for k, aid in ids.items() if aid in xids}


def _attach(
    tx: AttachTx,
    attached: Sequence[tuple[Opportunity, str]],
    at: datetime,
    actor: str,
    via: str,
) -> None:
    if not attached:
        return
    tx.update_opportunities(
        [
            replace(o, account_external_id=xid, account_key=None, key_kind=None)
            for o, xid in attached
        ],
        at,
    )
    payload = {
        "via": via,
        "attached": [
            {"opportunity": o.external_id, "account": xid, "key_kind": o.key_kind,
             "account_key": o.account_key}
            for o, xid in attached
        ],
    }  # fmt: skip
    tx.append_audit(actor, "opportunity.attach", payload, at)
