"""The policy: every tunable of the model, as one immutable, versioned document.

A policy is stored as a numbered version and never edited; a change is a new version.
`Policy.from_dict` validates a document and lists every problem at once.

>>> p = default_policy()
>>> p.threshold, p.sprint_days, p.signal_types["hand_raise"].weight
(60.0, 30, 6.0)
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from typing import Any

from dtem.domain.errors import PolicyInvalid
from dtem.domain.opportunity_model import OpportunityModel

DEFAULT_MAX_VALUE = 1_000_000.0  # far above any count, score or usage figure sent today


@dataclass(frozen=True)
class SignalType:
    """How one signal type counts: its weight, half-life and the largest value it takes.

    A value above `max_value` is refused (per call, naming the field), so that one
    runaway number cannot make an account's decayed state overflow.
    """

    weight: float
    half_life_days: float
    source: str = "first_party"
    max_value: float = DEFAULT_MAX_VALUE


@dataclass(frozen=True)
class LambdaController:
    """λ ← λ × exp(k × (U − U*)) within [floor, cap] at every review (k = 0: λ stays put)."""

    k: float = 0.5
    target_utilisation: float = 0.85
    floor: float = 10.0
    cap: float = 1000.0


DEFAULT_SIGNAL_TYPES: dict[str, SignalType] = {
    "hand_raise": SignalType(6.0, 7),  # one request lifts a typical account (≈7) over 60
    "pricing_visit": SignalType(1.0, 14),
    "web_visit": SignalType(0.4, 14),
    "form_fill": SignalType(1.2, 21),
    "product_usage": SignalType(0.8, 30),
    "email_engagement": SignalType(0.3, 14),
    "intent_surge": SignalType(0.9, 21, "third_party"),
    "hiring": SignalType(0.3, 60, "third_party"),
    "other": SignalType(0.0, 14, "any"),
}

DEFAULT_EVENT_MAP: dict[str, str] = {
    "Demo Requested": "hand_raise",
    "Meeting Booked": "hand_raise",
    "Contact Sales": "hand_raise",
    "Pricing Page Viewed": "pricing_visit",
    "Page Viewed": "web_visit",
    "Site Visit": "web_visit",
    "Form Submitted": "form_fill",
    "Content Downloaded": "form_fill",
    "Product Used": "product_usage",
    "Feature Used": "product_usage",
    "Email Opened": "email_engagement",
    "Email Clicked": "email_engagement",
    "Intent Surge": "intent_surge",
    "Job Posted": "hiring",
}

# Agent touch kind -> the signal type it is stored as (scoring runs on it like any signal).
AGENT_TOUCH_SIGNALS: dict[str, str] = {
    "email_sent": "email_engagement",
    "reply": "email_engagement",
    "call": "email_engagement",
    "meeting_booked": "form_fill",
    "objection_handled": "email_engagement",
    "contact_mapped": "web_visit",
}

DEFAULT_STAGES: tuple[str, ...] = (
    "prospecting",
    "qualification",
    "discovery",
    "proposal",
    "negotiation",
    "closed_won",
    "closed_lost",
)


@dataclass(frozen=True)
class Policy:
    """Every tunable the model reads. Field comments give the unit."""

    threshold: float = 60.0  # score at or above which humans work an account
    horizon_days: int = 90  # propensity horizon
    sprint_days: int = 30  # lease length, extended by one sprint per advance
    cooldown_days: int = 90  # a revoked rep waits this long before the same account again
    dead_zone_days: float = 2.0  # a crossing with no human touch this soon is a dead zone
    default_capacity: int = 25  # max active leases per rep when a rep has none set
    b0: float = -4.0  # intercept of the propensity logit (≈2% base rate)
    e_half: float = 0.05  # raw equity at which the score is 50
    lambda_hourly: float | None = None  # price of capacity; None = blended rep hourly cost
    default_lambda_hourly: float = 60.0  # used when no rep has an hourly cost
    signal_types: dict[str, SignalType] = field(default_factory=lambda: dict(DEFAULT_SIGNAL_TYPES))
    event_map: dict[str, str] = field(default_factory=lambda: dict(DEFAULT_EVENT_MAP))
    fit_industry: dict[str, float] = field(default_factory=dict)  # logit term by industry
    fit_size_band: dict[str, float] = field(default_factory=dict)  # logit term by size band
    effort_hours: dict[str, float] = field(default_factory=dict)  # hours by segment
    default_effort_hours: float = 10.0
    default_deal_value: float = 10_000.0  # money, when history has no won deal
    default_cycle_days: float = 60.0
    shrinkage_strength: float = 10.0  # pseudo-deals pulling a segment toward the global figure
    stages: tuple[str, ...] = DEFAULT_STAGES  # ordered; later = advance
    won_stages: tuple[str, ...] = ("closed_won",)
    lost_stages: tuple[str, ...] = ("closed_lost",)
    stage_aliases: dict[str, str] = field(default_factory=dict)  # source label -> stage
    comp_points: tuple[tuple[float, float], ...] = ((0.0, 0.20), (60.0, 0.12), (100.0, 0.05))
    tier1_value_cut: float | None = None  # potential value above which an account is Tier 1
    # --- tiers 3 and the agent gateway (docs/agents.md) ---------------------------------
    tier3_value_cut: float | None = None  # potential value below which an account is Tier 3
    tier3_segments: tuple[str, ...] = ()  # size band|industry patterns that are Tier 3
    agent_claim_ttl_minutes: int = 60  # a claim lapses after this unless renewed
    agent_touch_cap_per_week: int = 3  # agent touches per account per 7 days
    agent_quiet_hours_utc: tuple[int, int] | None = None  # [start, end) hours: no claims
    agent_touch_cost: float = 2.0  # money per agent touch (counted in CAC)
    agent_touch_signals: dict[str, str] = field(default_factory=lambda: dict(AGENT_TOUCH_SIGNALS))
    continuity_penalty: float = 500.0  # money lost by moving an active lease in a rebalance
    rep_prior_wins: float = 2.0  # Beta prior of a rep's win-rate multiplier
    rep_prior_losses: float = 8.0
    bid_exponent: float = 1.0
    review_hour_utc: int = 6
    lambda_controller: LambdaController = field(default_factory=LambdaController)
    opportunity_model: OpportunityModel | None = None  # P(win) of open deals; None: not trained
    free_mail_domains: tuple[str, ...] = (
        "gmail.com",
        "yahoo.com",
        "hotmail.com",
        "outlook.com",
        "aol.com",
        "icloud.com",
        "proton.me",
        "protonmail.com",
        "gmx.com",
        "mail.com",
        "live.com",
        "msn.com",
    )

    # --- serialisation -------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready document (tuples become lists)."""
        return _jsonable(dataclasses.asdict(self))  # type: ignore[no-any-return]

    @classmethod
    def from_dict(cls, doc: dict[str, Any]) -> Policy:
        """Build and validate a policy; unknown keys and bad values raise `PolicyInvalid`."""
        problems: list[str] = []
        known = {f.name for f in dataclasses.fields(cls)}
        problems += [f"unknown key {k!r}" for k in doc if k not in known]
        typed, wrong = _well_typed(cls, doc)  # the rules below compare numbers: types first
        problems += wrong
        kwargs: dict[str, Any] = {k: v for k, v in typed.items() if k in known}
        try:
            if "signal_types" in kwargs:
                kwargs["signal_types"], missing = _signal_types(
                    kwargs["signal_types"], doc.get("signal_types", {})
                )
                problems += missing
            if kwargs.get("opportunity_model") is not None:
                kwargs["opportunity_model"] = OpportunityModel.from_dict(
                    kwargs["opportunity_model"]
                )
            if "lambda_controller" in kwargs:
                kwargs["lambda_controller"] = LambdaController(**kwargs["lambda_controller"])
            if kwargs.get("agent_quiet_hours_utc") is not None:
                start, end = kwargs["agent_quiet_hours_utc"]
                kwargs["agent_quiet_hours_utc"] = (int(start), int(end))
            for key in _TUPLE_KEYS:
                if key in kwargs:
                    kwargs[key] = tuple(kwargs[key])
            if "comp_points" in kwargs:
                kwargs["comp_points"] = tuple(
                    (float(s), float(r)) for s, r in kwargs["comp_points"]
                )
            policy = cls(**kwargs)
        except (TypeError, ValueError, AttributeError) as exc:
            raise PolicyInvalid([*problems, f"malformed value: {exc}"]) from exc
        problems += policy.problems()
        if problems:
            raise PolicyInvalid(problems)
        return policy

    def problems(self) -> list[str]:
        """Every rule this policy breaks (empty when valid)."""
        out: list[str] = []
        if not 0 < self.threshold < 100:
            out.append(f"threshold must be in (0, 100), got {self.threshold}")
        for name in ("horizon_days", "sprint_days", "default_capacity"):
            if getattr(self, name) <= 0:
                out.append(f"{name} must be positive, got {getattr(self, name)}")
        if self.cooldown_days < 0:
            out.append("cooldown_days must be >= 0")
        if self.dead_zone_days <= 0:
            out.append(f"dead_zone_days must be positive, got {self.dead_zone_days}")
        if self.e_half <= 0:
            out.append(f"e_half must be positive, got {self.e_half}")
        if self.lambda_hourly is not None and self.lambda_hourly <= 0:
            out.append("lambda_hourly must be positive when set")
        for name, st in self.signal_types.items():
            if st.half_life_days <= 0:
                out.append(f"signal type {name!r}: half_life_days must be positive")
            if not _positive_number(st.max_value, DEFAULT_MAX_VALUE**2):
                out.append(
                    f"signal type {name!r}: max_value must be a number in (0, 1e12],"
                    f" got {st.max_value}"
                )
        if "other" not in self.signal_types:
            out.append("signal_types must define 'other' (unknown events are stored as it)")
        out += [
            f"event {ev!r} maps to unknown signal type {t!r}"
            for ev, t in self.event_map.items()
            if t not in self.signal_types
        ]
        out += _lambda_problems(self.lambda_controller)
        out += _stage_problems(self)
        out += _agent_problems(self)
        out += _comp_problems(self.comp_points)
        return out

    # --- derived --------------------------------------------------------------------
    def stage_rank(self, stage: str) -> int:
        """Position of a stage in the policy's order (closed stages rank last)."""
        return self.stages.index(stage)

    def canonical_stage(self, label: str) -> str | None:
        """Map a source label to a policy stage: alias first, then case/space-insensitive."""
        text = label.strip()
        if text in self.stage_aliases:
            return self.stage_aliases[text]
        key = _norm(text)
        for stage in self.stages:
            if _norm(stage) == key:
                return stage
        for alias, stage in self.stage_aliases.items():
            if _norm(alias) == key:
                return stage
        return None


# Fields a policy document validates and stores but no rule reads yet (`dtem policy show`
# marks them "not used yet"); a test fails as soon as code reads one, so it stays true.
NOT_USED_YET: tuple[str, ...] = ()


_TUPLE_KEYS = ("stages", "won_stages", "lost_stages", "free_mail_domains", "tier3_segments")


def default_policy() -> Policy:
    """The starting policy of docs/model.md, until `dtem train` fits the customer's own."""
    return Policy()


def _signal_types(
    specs: dict[str, Any], given: dict[str, Any]
) -> tuple[dict[str, SignalType], list[str]]:
    """The signal types, and a problem for each required field a spec leaves out (a
    partial document adding a type must give its weight and half-life). A spec missing a
    field, or holding one of the wrong type (already reported), is kept as a placeholder
    so that the references to it are not reported again; the problems refuse the policy.

    >>> _signal_types({"demo": {"weight": 1.0}}, {"demo": {"weight": 1.0}})[1]
    ["signal type 'demo': half_life_days is required"]
    """
    required = [f.name for f in dataclasses.fields(SignalType) if f.default is dataclasses.MISSING]
    built: dict[str, SignalType] = {}
    problems: list[str] = []
    for name, spec in specs.items():
        missing = [key for key in required if key not in spec]
        original = given.get(name) if isinstance(given, dict) else None
        problems += [
            f"signal type {name!r}: {key} is required"
            for key in missing
            if not isinstance(original, dict) or key not in original
        ]
        built[name] = SignalType(0.0, 1.0) if missing else SignalType(**spec)
    return built, problems


def _positive_number(value: object, cap: float) -> bool:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return False
    return math.isfinite(value) and 0 < value <= cap


def _norm(text: str) -> str:
    return "".join(ch for ch in text.lower() if ch.isalnum())


def _stage_problems(p: Policy) -> list[str]:
    out = [
        f"stage {s!r} is in won_stages but not in stages" for s in p.won_stages if s not in p.stages
    ]
    out += [
        f"stage {s!r} is in lost_stages but not in stages"
        for s in p.lost_stages
        if s not in p.stages
    ]
    out += [
        f"stage alias {a!r} maps to unknown stage {s!r}"
        for a, s in p.stage_aliases.items()
        if s not in p.stages
    ]
    if len(set(p.stages)) != len(p.stages):
        out.append("stages must be unique")
    return out


def _agent_problems(p: Policy) -> list[str]:
    out = [
        f"agent touch {kind!r} maps to unknown signal type {st!r}"
        for kind, st in p.agent_touch_signals.items()
        if st not in p.signal_types
    ]
    if p.agent_claim_ttl_minutes <= 0:
        out.append("agent_claim_ttl_minutes must be positive")
    if p.agent_touch_cap_per_week < 0 or p.agent_touch_cost < 0:
        out.append("agent_touch_cap_per_week and agent_touch_cost must be >= 0")
    quiet = p.agent_quiet_hours_utc
    if quiet is not None and not all(0 <= h <= 23 for h in quiet):
        out.append(f"agent_quiet_hours_utc hours must be in 0..23, got {quiet}")
    return out


def _lambda_problems(ctl: LambdaController) -> list[str]:
    out: list[str] = []
    if not (math.isfinite(ctl.k) and 0 <= ctl.k <= 10):
        out.append(f"lambda_controller.k must be in [0, 10] (0 = λ fixed), got {ctl.k}")
    if not 0 < ctl.target_utilisation <= 1:
        out.append(
            f"lambda_controller.target_utilisation must be in (0, 1], got {ctl.target_utilisation}"
        )
    if not (math.isfinite(ctl.floor) and math.isfinite(ctl.cap) and 0 < ctl.floor <= ctl.cap):
        out.append(
            f"lambda_controller needs 0 < floor <= cap (money per hour), got floor {ctl.floor}"
            f" and cap {ctl.cap}"
        )
    return out


def _comp_problems(points: tuple[tuple[float, float], ...]) -> list[str]:
    if len(points) < 2:
        return ["comp_points needs at least two (score, rate) points"]
    out: list[str] = []
    scores = [s for s, _ in points]
    if scores != sorted(scores) or len(set(scores)) != len(scores):
        out.append("comp_points scores must be strictly increasing")
    if scores[0] > 0 or scores[-1] < 100:
        out.append("comp_points must cover scores 0 to 100")
    out += [f"comp rate {r} outside [0, 1]" for _, r in points if not 0 <= r <= 1]
    return out


def _well_typed(
    cls: type, doc: dict[str, Any], where: str = ""
) -> tuple[dict[str, Any], list[str]]:
    """The document without its values of the wrong type, and a problem naming each.

    Types come from the dataclass's annotations; the rules can then run on what is left,
    so that one document's every problem is listed at once.

    >>> _well_typed(Policy, {"threshold": "high", "fit_industry": {"retail": "x", "pet": 1}})
    ({'fit_industry': {'pet': 1}}, ["threshold must be a number, got 'high'", \
"fit_industry.retail must be a number, got 'x'"])
    """
    kinds = {f.name: str(f.type) for f in dataclasses.fields(cls)}
    kept: dict[str, Any] = {}
    problems: list[str] = []
    for key, value in doc.items():
        if key not in kinds:
            kept[key] = value  # unknown keys are reported by the caller
            continue
        clean, found = _typed_value(kinds[key], value, where + key)
        problems += found
        if clean is not _DROP:
            kept[key] = clean
    return kept, problems


_DROP = object()  # a value left out because its type is wrong


def _typed_value(kind: str, value: Any, name: str) -> tuple[Any, list[str]]:
    """`(value, [])` when `value` fits an annotation such as `dict[str, float]`, else what
    is left of it (or `_DROP`) and the problems."""
    if kind.endswith(" | None"):
        return (None, []) if value is None else _typed_value(kind[: -len(" | None")], value, name)
    expected = {"float": "a number", "int": "a number", "str": "text"}.get(kind)
    if expected is not None:
        fits = isinstance(value, str) if kind == "str" else _is_number(value)
        return (value, []) if fits else (_DROP, [f"{name} must be {expected}, got {value!r}"])
    nested = {
        "SignalType": SignalType,
        "LambdaController": LambdaController,
        "OpportunityModel": OpportunityModel,
    }.get(kind)
    if nested is not None or kind.startswith("dict["):
        if not isinstance(value, dict):
            return _DROP, [f"{name} must be a mapping of keys to values, got {value!r}"]
        if nested is not None:
            return _well_typed(nested, value, name + ".")
        inner = kind[len("dict[") : -1].split(", ", 1)[1]
        checked = {k: _typed_value(inner, v, f"{name}.{k}") for k, v in value.items()}
        kept = {k: v for k, (v, _) in checked.items() if v is not _DROP}
        return kept, [p for _, found in checked.values() for p in found]
    if kind.startswith("tuple["):
        if not isinstance(value, list | tuple):
            return _DROP, [f"{name} must be a list, got {value!r}"]
        inner = kind[len("tuple[") : -1]
        kinds = [inner[: -len(", ...")]] * len(value) if inner.endswith(", ...") else None
        if kinds is None:  # a fixed-length tuple such as (score, rate)
            kinds = inner.split(", ")
            if len(kinds) != len(value):
                return _DROP, [f"{name} must have {len(kinds)} items, got {value!r}"]
        found = [
            p
            for i, (k, v) in enumerate(zip(kinds, value, strict=True))
            for p in _typed_value(k, v, f"{name}[{i}]")[1]
        ]
        return (_DROP if found else value), found
    return value, []


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    return value
