"""Eligibility: which accounts humans may be given now, and which reps may get one, why not.

Account rules come first (`account_refusal`): do-not-contact is never routed; an account
with an active lease is already leased; tier 3 (AI only), an unscored account and one
below the threshold stay in the pool unless the contact raised a hand. An account that
passes them without a hand-raise is *hot* (`is_hot`): the rebalance's accounts.

Rep rules, in order, each with its reason (`REASONS`): inactive, on leave, segment,
language, no capacity (active leases ≥ capacity in force), cooldown on this account and,
after a revocation, not faster than the revoked rep. `exclusion_codes` applies them to
numpy arrays that broadcast (a roster, or accounts × roster); `rep_exclusion` to one pair.

>>> from dtem.domain.model import Account, Rep
>>> from dtem.domain.policy import default_policy
>>> acct = Account("A1", "Acme", employees=50, industry="Retail", country="DE")
>>> rep_exclusion(Rep("R1", "Rita", languages=("French",)), acct, 0, 25)
'language (de)'
>>> rep_exclusion(Rep("R2", "Raj", segments=("smb|*",), languages=("German",)), acct, 0, 25)
>>> account_refusal(acct, 55.0, default_policy())
('pool', 'score 55.0 below threshold 60')
"""

from __future__ import annotations

import functools

import numpy as np
import numpy.typing as npt

from dtem.domain.model import Account, Rep, Tier, segment_of
from dtem.domain.policy import Policy

IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]
FloatArray = npt.NDArray[np.float64]

# Code k (1-based) = REASONS[k - 1]; 0 = eligible. `language` is named with its code.
REASONS = (
    "inactive", "on_leave", "segment", "language", "no_capacity", "cooldown",
    "not_faster_than_revoked_rep",
    "outside_pilot_pod",  # a pilot runs: only its pod is fed by routing (dtem.domain.roster)
)  # fmt: skip

# Languages spoken by default in a country (ISO 3166 alpha-2 or English name), ISO 639-1.
COUNTRY_LANGUAGE: dict[str, str] = {
    "us": "en", "gb": "en", "uk": "en", "ie": "en", "au": "en", "nz": "en", "ca": "en",
    "de": "de", "at": "de", "fr": "fr", "be": "fr", "es": "es", "mx": "es", "ar": "es",
    "co": "es", "cl": "es", "it": "it", "pt": "pt", "br": "pt", "nl": "nl", "se": "sv",
    "no": "no", "dk": "da", "fi": "fi", "pl": "pl", "jp": "ja", "cn": "zh", "kr": "ko",
    "united states": "en", "usa": "en", "united kingdom": "en", "ireland": "en",
    "australia": "en", "canada": "en", "germany": "de", "austria": "de", "france": "fr",
    "spain": "es", "mexico": "es", "italy": "it", "portugal": "pt", "brazil": "pt",
    "netherlands": "nl", "sweden": "sv", "japan": "ja", "china": "zh",
    # the names imports store for the codes above (ISO 3166 common names, pycountry)
    "new zealand": "en", "belgium": "fr", "argentina": "es", "colombia": "es",
    "chile": "es", "norway": "no", "denmark": "da", "finland": "fi", "poland": "pl",
    "south korea": "ko",
}  # fmt: skip
LANGUAGE_NAMES: dict[str, str] = {
    "english": "en", "german": "de", "french": "fr", "spanish": "es", "italian": "it",
    "portuguese": "pt", "dutch": "nl", "swedish": "sv", "japanese": "ja", "chinese": "zh",
}  # fmt: skip


# --- accounts ---------------------------------------------------------------------------
def account_refusal(
    account: Account,
    score: float | None,
    policy: Policy,
    hand_raise: bool = False,
    has_active_lease: bool = False,
) -> tuple[str, str] | None:
    """(outcome, reason) when no human may be given the account now; None when one may."""
    if account.do_not_contact:
        return "skipped", "do-not-contact: never routed"
    if has_active_lease:
        return "already_leased", "the account already has an active lease"
    if account.tier == Tier.AI_ONLY and not hand_raise:
        return "pool", "tier 3 (AI only): a human gets it only on a hand-raise"
    if score is None and not hand_raise:
        return "pool", "no score yet"
    if score is not None and not clears_threshold(score, policy) and not hand_raise:
        return "pool", f"score {score:.1f} below threshold {policy.threshold:.4g}"
    return None


def clears_threshold(score: float, policy: Policy) -> bool:
    """A score at or above the policy threshold: humans work the account."""
    return score >= policy.threshold


def is_hot(account: Account, score: float | None, policy: Policy) -> bool:
    """An unleased account routing would give a human without a hand-raise."""
    return account_refusal(account, score, policy) is None


def account_language(account: Account) -> str | None:
    """The language routing requires, from the country; None = no language constraint."""
    if not account.country:
        return None
    return COUNTRY_LANGUAGE.get(account.country.strip().lower())


# --- reps -------------------------------------------------------------------------------
@functools.lru_cache(maxsize=65536)
def segment_matches(rep_segments: tuple[str, ...], segment: str) -> bool:
    """Empty = any; an entry matches part by part, `*` matching anything.

    >>> segment_matches(("smb|*",), "smb|retail"), segment_matches(("mid|retail",), "smb|retail")
    (True, False)
    """
    if not rep_segments:
        return True
    parts = segment.split("|")
    for entry in rep_segments:
        want = entry.strip().lower().split("|")
        if len(want) == len(parts) and all(w in ("*", p) for w, p in zip(want, parts, strict=True)):
            return True
    return False


@functools.lru_cache(maxsize=4096)
def language_codes(languages: tuple[str, ...]) -> frozenset[str]:
    """ISO codes of a rep's languages (names such as "German" and codes both work)."""
    return frozenset(LANGUAGE_NAMES.get(x.strip().lower(), x.strip().lower()) for x in languages)


def speaks(rep_languages: tuple[str, ...], language: str | None) -> bool:
    """No language rule, or a rep without languages, or one that speaks it."""
    return language is None or not rep_languages or language in language_codes(rep_languages)


def exclusion_codes(
    active: BoolArray,
    on_leave: BoolArray,
    in_segment: BoolArray,
    speaks_language: BoolArray,
    load: IntArray,
    capacity: IntArray,
    cooling: BoolArray,
    slower: BoolArray | None = None,
) -> IntArray:
    """Per rep (or per account × rep: arguments broadcast), the first failing rule's code."""
    checks = [~active, on_leave, ~in_segment, ~speaks_language, load >= capacity, cooling]
    if slower is not None:
        checks.append(slower)
    # np.select takes the first true condition: the order of REASONS.
    codes: IntArray = np.select(checks, list(range(1, len(checks) + 1)), 0).astype(np.int64)
    return codes


def reason(code: int, language: str | None) -> str:
    """The stored reason of an exclusion code (`language (de)` names the language)."""
    name = REASONS[code - 1]
    return f"language ({language})" if name == "language" else name


def rep_exclusion(
    rep: Rep,
    account: Account,
    load: int,
    capacity: int,
    on_leave: bool = False,
    cooling: bool = False,
) -> str | None:
    """The same rules for one (account, rep) pair: the reason the rep may not get it, or None.

    `capacity` is the capacity in force (`dtem.domain.capacity.rep_capacity`).
    """
    segment = segment_of(account.employees, account.industry)
    language = account_language(account)
    codes = exclusion_codes(
        np.array([rep.active]),
        np.array([on_leave]),
        np.array([segment_matches(rep.segments, segment)]),
        np.array([speaks(rep.languages, language)]),
        np.array([load]),
        np.array([capacity]),
        np.array([cooling]),
    )
    return reason(int(codes[0]), language) if codes[0] else None
