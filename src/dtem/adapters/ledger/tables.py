"""The ledger's tables (SQLAlchemy Core). One definition serves SQLite and PostgreSQL.

Facts are appended (signals, stage history, lease events, audit, scores); the few
current-state tables (accounts, reps, opportunities, leases) are projections updated
by the services, and every change to them leaves an audit entry.

Schema changes: edit this file, then `make schema` regenerates the migration and
`tests/contract/test_migrations.py` proves the two agree.
"""

from __future__ import annotations

import sqlalchemy as sa

metadata = sa.MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
        "ck": "ck_%(table_name)s_%(constraint_name)s",
    }
)

TS = sa.DateTime(timezone=True)


def _id() -> sa.Column[int]:
    return sa.Column("id", sa.Integer, primary_key=True, autoincrement=True)


# --- the market ------------------------------------------------------------------------
accounts = sa.Table(
    "accounts",
    metadata,
    _id(),
    sa.Column("external_id", sa.String(128), nullable=False, unique=True),
    sa.Column("name", sa.String(512), nullable=False),
    sa.Column("domain", sa.String(255), index=True),
    sa.Column("industry", sa.String(128)),
    sa.Column("employees", sa.Integer),
    sa.Column("annual_revenue", sa.Float),
    sa.Column("country", sa.String(64)),
    sa.Column("region", sa.String(64)),
    sa.Column("tier", sa.SmallInteger, nullable=False, server_default="2"),
    sa.Column("do_not_contact", sa.Boolean, nullable=False, server_default=sa.text("false")),
    sa.Column("static_owner", sa.String(128)),
    sa.Column("potential_value", sa.Float),
    sa.Column("created_at", TS, nullable=False),
    sa.Column("updated_at", TS, nullable=False),
)

account_tiers = sa.Table(  # the tier each account was last given, and why (a projection)
    "account_tiers",
    metadata,
    sa.Column("account_id", sa.ForeignKey("accounts.id"), primary_key=True),
    sa.Column("tier", sa.SmallInteger, nullable=False),
    sa.Column("reason", sa.String(512), nullable=False),
    sa.Column("policy_version", sa.Integer),
    sa.Column("computed_at", TS, nullable=False),
    sa.Column("override_tier", sa.SmallInteger),  # set by name; beats the policy's rules
    sa.Column("override_by", sa.String(128)),
    sa.Column("override_at", TS),
    sa.Column("override_note", sa.String(512)),
)

reps = sa.Table(
    "reps",
    metadata,
    _id(),
    sa.Column("external_id", sa.String(128), nullable=False, unique=True),
    sa.Column("name", sa.String(256), nullable=False),
    sa.Column("email", sa.String(256)),
    sa.Column("pod", sa.String(128)),
    sa.Column("segments", sa.JSON, nullable=False),  # list[str]; empty = any segment
    sa.Column("languages", sa.JSON, nullable=False),  # list[str]; empty = any language
    sa.Column("capacity", sa.Integer, nullable=False),
    sa.Column("hourly_cost", sa.Float, nullable=False, server_default="0"),
    sa.Column("active", sa.Boolean, nullable=False, server_default=sa.text("true")),
    sa.Column("crm_user_id", sa.String(128)),
    sa.Column("manager", sa.String(256)),  # the manager as the CRM names them (id or name)
    sa.Column("team", sa.String(128)),
    sa.Column("region", sa.String(64)),
    sa.Column("created_at", TS, nullable=False),
    sa.Column("updated_at", TS, nullable=False),
)

rep_unavailability = sa.Table(
    "rep_unavailability",
    metadata,
    _id(),
    sa.Column("rep_id", sa.ForeignKey("reps.id"), nullable=False, index=True),
    sa.Column("starts_at", TS, nullable=False),
    sa.Column("ends_at", TS, nullable=False),
    sa.Column("reason", sa.String(256), nullable=False, server_default=""),
)

opportunities = sa.Table(
    "opportunities",
    metadata,
    _id(),
    sa.Column("external_id", sa.String(128), nullable=False, unique=True),
    sa.Column("account_id", sa.ForeignKey("accounts.id"), index=True),  # NULL = unattached
    # how the import named the account (as signals do): key kind id | domain | name, value
    sa.Column("account_key", sa.String(512)),
    sa.Column("key_kind", sa.String(16)),
    sa.Column("rep_id", sa.ForeignKey("reps.id"), index=True),
    sa.Column("stage", sa.String(64), nullable=False),
    sa.Column("amount", sa.Numeric(18, 2, asdecimal=False)),  # exact on PostgreSQL; cents
    sa.Column("product", sa.String(128)),
    sa.Column("created_date", sa.Date),
    sa.Column("close_date", sa.Date),
    sa.Column("updated_at", TS, nullable=False),
)

opportunity_stages = sa.Table(
    "opportunity_stages",
    metadata,
    _id(),
    sa.Column("opportunity_id", sa.ForeignKey("opportunities.id"), nullable=False, index=True),
    sa.Column("stage", sa.String(64), nullable=False),
    sa.Column("changed_at", TS, nullable=False),
    sa.Column("source", sa.String(64), nullable=False),  # import | api | crm_sync
)

activities = sa.Table(
    "activities",
    metadata,
    _id(),
    sa.Column("external_id", sa.String(128), nullable=False, unique=True),
    sa.Column("account_id", sa.ForeignKey("accounts.id"), nullable=False, index=True),
    sa.Column("actor_kind", sa.String(16), nullable=False),  # rep | agent
    sa.Column("actor_id", sa.String(128)),
    sa.Column("kind", sa.String(64), nullable=False),
    sa.Column("occurred_at", TS, nullable=False),
)

# --- signals (the Radar) ---------------------------------------------------------------
signals = sa.Table(
    "signals",
    metadata,
    _id(),
    # an event id is unique per scope: `source:<name>` (webhook) or `pipeline` (NATS, files)
    sa.Column("scope", sa.String(140), nullable=False, server_default="pipeline"),
    sa.Column("event_id", sa.String(255), nullable=False),
    sa.Column("account_id", sa.ForeignKey("accounts.id"), index=True),  # NULL = unmatched
    sa.Column("account_key", sa.String(512), nullable=False),  # as received
    sa.Column("key_kind", sa.String(16), nullable=False),  # id | domain | email | user_id
    sa.Column("unmatched_reason", sa.String(64)),
    sa.Column("type", sa.String(64), nullable=False),
    sa.Column("event_name", sa.String(255)),
    sa.Column("source", sa.String(32), nullable=False),
    sa.Column("occurred_at", TS, nullable=False, index=True),
    sa.Column("value", sa.Float, nullable=False),
    sa.Column("topic", sa.String(255)),
    sa.Column("attributes", sa.JSON, nullable=False),
    sa.Column("received_at", TS, nullable=False),
    sa.Column("superseded", sa.Boolean, nullable=False, server_default=sa.text("false")),
    sa.UniqueConstraint("scope", "event_id"),
)

identity_links = sa.Table(
    "identity_links",
    metadata,
    _id(),
    sa.Column("user_id", sa.String(255), nullable=False, unique=True),
    sa.Column("account_key", sa.String(512), nullable=False),
    sa.Column("linked_at", TS, nullable=False),
)

signal_sources = sa.Table(
    "signal_sources",
    metadata,
    _id(),
    sa.Column("name", sa.String(128), nullable=False, unique=True),
    sa.Column("key_hash", sa.String(64), nullable=False, unique=True),
    sa.Column("created_at", TS, nullable=False),
    sa.Column("revoked_at", TS),
)

signal_retention = sa.Table(  # days each source's raw signals are kept (no row = forever)
    "signal_retention",
    metadata,
    sa.Column("source", sa.String(128), primary_key=True),  # a webhook source or a label
    sa.Column("retention_days", sa.Integer, nullable=False),
    sa.Column("updated_at", TS, nullable=False),
    sa.CheckConstraint("retention_days >= 1", name="retention_days_positive"),
)

account_state = sa.Table(  # incremental decayed intensities, one row per (account, type)
    "account_state",
    metadata,
    sa.Column("account_id", sa.ForeignKey("accounts.id"), primary_key=True),
    sa.Column("type", sa.String(64), primary_key=True),
    sa.Column("intensity", sa.Float, nullable=False),
    sa.Column("as_of", TS, nullable=False),
)

scores = sa.Table(  # score history, appended by batch and incremental scoring
    "scores",
    metadata,
    _id(),
    sa.Column("account_id", sa.ForeignKey("accounts.id"), nullable=False),
    sa.Column("as_of", TS, nullable=False),
    sa.Column("score", sa.Float, nullable=False),
    sa.Column("equity", sa.Float, nullable=False),
    sa.Column("propensity", sa.Float, nullable=False),
    sa.Column("velocity", sa.Float, nullable=False),
    sa.Column("cost", sa.Float, nullable=False),
    sa.Column("policy_version", sa.Integer, nullable=False),
    sa.Column("method", sa.String(16), nullable=False),  # batch | incremental
    sa.Column("economics_version", sa.Integer),  # segment_economics snapshot used (None = none)
    sa.Index("ix_scores_account_asof", "account_id", "as_of"),
    sa.Index("ix_scores_account_id", "account_id", "id"),  # an account's latest: max(id)
)

segment_economics = sa.Table(  # frozen deal value / cycle by segment: scores stay absolute
    "segment_economics",
    metadata,
    _id(),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("segment", sa.String(255), nullable=False),  # size band|industry; "*" = all
    sa.Column("value_deals", sa.Integer, nullable=False),
    sa.Column("mean_value", sa.Float, nullable=False),
    sa.Column("cycle_deals", sa.Integer, nullable=False),
    sa.Column("mean_cycle_days", sa.Float, nullable=False),
    sa.Column("blended_hourly", sa.Float),  # mean hourly cost of active reps at refresh
    sa.Column("computed_at", TS, nullable=False),
    sa.UniqueConstraint("version", "segment"),
)

score_events = sa.Table(  # threshold crossings and hand-raises: routing triggers
    "score_events",
    metadata,
    _id(),
    sa.Column("account_id", sa.ForeignKey("accounts.id"), nullable=False, index=True),
    sa.Column("at", TS, nullable=False),
    sa.Column("kind", sa.String(32), nullable=False),  # crossed_up | crossed_down | hand_raise
    sa.Column("score", sa.Float, nullable=False),
    sa.Column("policy_version", sa.Integer, nullable=False),
    sa.Column("consumed_at", TS),
    sa.Index(  # the review reads the pending triggers; without it, a scan of every trigger
        "ix_score_events_unconsumed",
        "id",
        sqlite_where=sa.text("consumed_at IS NULL"),
        postgresql_where=sa.text("consumed_at IS NULL"),
    ),
)

# --- leases (the Market Maker) ---------------------------------------------------------
leases = sa.Table(
    "leases",
    metadata,
    _id(),
    sa.Column("account_id", sa.ForeignKey("accounts.id"), nullable=False, index=True),
    sa.Column("rep_id", sa.ForeignKey("reps.id"), nullable=False, index=True),
    sa.Column("state", sa.String(16), nullable=False),
    sa.Column("granted_at", TS, nullable=False),
    sa.Column("expires_at", TS, nullable=False),
    sa.Column("ended_at", TS),
    sa.Column("score_at_grant", sa.Float, nullable=False),
    sa.Column("policy_version", sa.Integer, nullable=False),
    sa.Column("reason", sa.String(512), nullable=False, server_default=""),
    # Optimistic concurrency: a transition updates the row only at the version it read.
    sa.Column("version", sa.Integer, nullable=False, server_default=sa.text("1")),
    # The invariant: at most one active lease per account, enforced by the database.
    sa.Index(
        "uq_leases_one_active_per_account",
        "account_id",
        unique=True,
        sqlite_where=sa.text("ended_at IS NULL"),
        postgresql_where=sa.text("ended_at IS NULL"),
    ),
    # Routing counts active leases per rep on every decision: a covering partial index.
    sa.Index(
        "ix_leases_active_rep",
        "rep_id",
        sqlite_where=sa.text("ended_at IS NULL"),
        postgresql_where=sa.text("ended_at IS NULL"),
    ),
)

agent_claims = sa.Table(  # which agent holds which account (the agent gateway)
    "agent_claims",
    metadata,
    _id(),
    sa.Column("account_id", sa.ForeignKey("accounts.id"), nullable=False),
    sa.Column("agent", sa.String(128), nullable=False),
    sa.Column("claimed_at", TS, nullable=False),
    sa.Column("expires_at", TS, nullable=False),
    sa.Column("released_at", TS),
    sa.Column("reason", sa.String(256), nullable=False, server_default=""),
    sa.Column("policy_version", sa.Integer, nullable=False),  # the policy that allowed it
    # Two agents never hold one account: at most one open claim per account.
    sa.Index(
        "uq_agent_claims_one_open_per_account",
        "account_id",
        unique=True,
        sqlite_where=sa.text("released_at IS NULL"),
        postgresql_where=sa.text("released_at IS NULL"),
    ),
)

rep_loads = sa.Table(  # active leases per rep, kept by grant/end_lease (routing reads it)
    "rep_loads",
    metadata,
    sa.Column("rep_id", sa.ForeignKey("reps.id"), primary_key=True),
    sa.Column("active_leases", sa.Integer, nullable=False),
)

roster_version = sa.Table(  # one row: bumped by every write to what routing caches per rep
    "roster_version",  # (reps, leave windows, records, capacity awards, pilots)
    metadata,
    sa.Column("id", sa.SmallInteger, primary_key=True, autoincrement=False),
    sa.Column("version", sa.BigInteger, nullable=False),
    # random when the row is made: a ledger made again never matches an older cache
    sa.Column("epoch", sa.BigInteger, nullable=False),
)

rep_records = sa.Table(  # won/lost deals per rep and segment, refreshed by the daily review
    "rep_records",
    metadata,
    sa.Column("rep_id", sa.ForeignKey("reps.id"), primary_key=True),
    sa.Column("segment", sa.String(160), primary_key=True),
    sa.Column("wins", sa.Integer, nullable=False),
    sa.Column("losses", sa.Integer, nullable=False),
    sa.Column("as_of", TS, nullable=False),
    sa.Index("ix_rep_records_segment", "segment"),
)

lease_events = sa.Table(
    "lease_events",
    metadata,
    _id(),
    sa.Column("lease_id", sa.ForeignKey("leases.id"), nullable=False),
    sa.Column("seq", sa.Integer, nullable=False),  # the lease version this event produced
    sa.Column("kind", sa.String(32), nullable=False),
    sa.Column("at", TS, nullable=False),
    sa.Column("actor", sa.String(128), nullable=False),
    sa.Column("reason", sa.String(512), nullable=False, server_default=""),
    sa.Column("policy_version", sa.Integer, nullable=False),
    sa.Column("payload", sa.JSON, nullable=False),
    # Two writers that read the same version cannot both append its successor (and the
    # index serves "a lease's history", so lease_id needs no index of its own).
    sa.UniqueConstraint("lease_id", "seq", name="uq_lease_events_lease_seq"),
)

routing_decisions = sa.Table(
    "routing_decisions",
    metadata,
    _id(),
    sa.Column("account_id", sa.ForeignKey("accounts.id"), nullable=False, index=True),
    sa.Column("at", TS, nullable=False),
    sa.Column("trigger", sa.String(32), nullable=False),
    sa.Column("policy_version", sa.Integer, nullable=False),
    sa.Column("chosen_rep_id", sa.ForeignKey("reps.id")),
    sa.Column("lease_id", sa.ForeignKey("leases.id")),
    sa.Column("candidates", sa.JSON, nullable=False),  # top five with EV
    sa.Column("exclusions", sa.JSON, nullable=False),  # rep -> reason
    sa.Column("outcome", sa.String(32), nullable=False),  # leased | overflow | pool | skipped
)

overflow_queue = sa.Table(
    "overflow_queue",
    metadata,
    _id(),
    sa.Column("account_id", sa.ForeignKey("accounts.id"), nullable=False, index=True),
    sa.Column("queued_at", TS, nullable=False),
    sa.Column("reason", sa.String(512), nullable=False),
    sa.Column("resolved_at", TS),
    sa.Column("resolution", sa.String(64)),
)

capacity_bids = sa.Table(
    "capacity_bids",
    metadata,
    _id(),
    sa.Column("rep_id", sa.ForeignKey("reps.id"), nullable=False),
    sa.Column("quarter", sa.String(8), nullable=False),
    sa.Column("leases", sa.Integer, nullable=False),
    sa.Column("submitted_at", TS, nullable=False),
    sa.Column("awarded", sa.Integer),
    sa.Column("award_reason", sa.String(512)),
    sa.Column("awarded_at", TS),
    sa.UniqueConstraint("rep_id", "quarter"),
)

# --- governance ------------------------------------------------------------------------
policies = sa.Table(
    "policies",
    metadata,
    sa.Column("version", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("document", sa.JSON, nullable=False),
    sa.Column("created_at", TS, nullable=False),
    sa.Column("created_by", sa.String(128), nullable=False),
    sa.Column("note", sa.String(1024), nullable=False, server_default=""),
)

policy_checks = sa.Table(  # the holdout verdict on a trained version, read by the gate
    "policy_checks",
    metadata,
    sa.Column("version", sa.ForeignKey("policies.version"), primary_key=True),
    sa.Column("document", sa.JSON, nullable=False),
    sa.Column("recorded_at", TS, nullable=False),
)

policy_activations = sa.Table(  # append-only: the active version is the latest row
    "policy_activations",
    metadata,
    _id(),
    sa.Column("version", sa.ForeignKey("policies.version"), nullable=False),
    sa.Column("activated_at", TS, nullable=False),
    sa.Column("actor", sa.String(128), nullable=False),
)

policy_schedules = sa.Table(  # a version to activate at a set time (dtem policy activate --at)
    "policy_schedules",
    metadata,
    _id(),
    sa.Column("version", sa.ForeignKey("policies.version"), nullable=False),
    sa.Column("at", TS, nullable=False),
    sa.Column("created_at", TS, nullable=False),
    sa.Column("actor", sa.String(128), nullable=False),
    sa.Column("closed_at", TS),
    sa.Column("outcome", sa.String(16)),  # applied | cancelled | refused; NULL = pending
    sa.Index(
        "ix_policy_schedules_open",
        "at",
        sqlite_where=sa.text("closed_at IS NULL"),
        postgresql_where=sa.text("closed_at IS NULL"),
    ),
)

lambda_steps = sa.Table(  # the capacity interest rate: one step per daily review
    "lambda_steps",
    metadata,
    _id(),
    sa.Column("on_date", sa.Date, nullable=False, unique=True),
    sa.Column("at", TS, nullable=False),
    sa.Column("policy_version", sa.ForeignKey("policies.version"), nullable=False),
    sa.Column("lambda_before", sa.Float, nullable=False),
    sa.Column("lambda_after", sa.Float, nullable=False),
    sa.Column("policy_lambda", sa.Float, nullable=False),
    sa.Column("ratio", sa.Float, nullable=False),
    sa.Column("utilisation", sa.Float, nullable=False),
    sa.Column("target_utilisation", sa.Float, nullable=False),
    sa.Column("k", sa.Float, nullable=False),
    sa.Column("active_leases", sa.Integer, nullable=False),
    sa.Column("capacity", sa.Integer, nullable=False),
    sa.Column("threshold", sa.Float, nullable=False),
    sa.Column("threshold_in_force", sa.Float, nullable=False),
    sa.Column("open_pipeline", sa.Float, nullable=False),
    sa.Column("mean_deal", sa.Float),
    sa.Column("pipeline_bloat", sa.Float),
)

audit_log = sa.Table(
    "audit_log",
    metadata,
    sa.Column("seq", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("at", sa.String(40), nullable=False),  # ISO text: exactly what was hashed
    sa.Column("actor", sa.String(128), nullable=False),
    sa.Column("action", sa.String(64), nullable=False),
    sa.Column("payload", sa.JSON, nullable=False),
    sa.Column("prev_hash", sa.String(64), nullable=False),
    sa.Column("hash", sa.String(64), nullable=False),
)

audit_head = sa.Table(  # one row, updated with every append: a bare DELETE on audit_log shows
    "audit_head",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("entries", sa.Integer, nullable=False),
    sa.Column("last_hash", sa.String(64), nullable=False),
    sa.CheckConstraint("id = 1", name="audit_head_single_row"),
)

api_tokens = sa.Table(
    "api_tokens",
    metadata,
    _id(),
    sa.Column("token_hash", sa.String(64), nullable=False, unique=True),
    sa.Column("role", sa.String(32), nullable=False),
    sa.Column("name", sa.String(128), nullable=False, server_default=""),
    sa.Column("subject", sa.String(128)),  # rep external id for role rep, agent name for agent
    sa.Column("created_at", TS, nullable=False),
    sa.Column("expires_at", TS),
    sa.Column("revoked_at", TS),
    sa.Column("last_used_at", TS),  # refreshed at most once a minute by the API
)

import_batches = sa.Table(
    "import_batches",
    metadata,
    _id(),
    sa.Column("kind", sa.String(32), nullable=False),
    sa.Column("file", sa.String(1024), nullable=False),
    sa.Column("sha256", sa.String(64), nullable=False),
    sa.Column("at", TS, nullable=False),
    sa.Column("actor", sa.String(128), nullable=False),
    sa.Column("counts", sa.JSON, nullable=False),
)

record_changes = sa.Table(  # what an import changed, field by field
    "record_changes",
    metadata,
    _id(),
    sa.Column("batch_id", sa.ForeignKey("import_batches.id"), nullable=False, index=True),
    sa.Column("entity", sa.String(32), nullable=False),
    sa.Column("external_id", sa.String(128), nullable=False),
    sa.Column("changes", sa.JSON, nullable=False),  # field -> [old, new]
)

account_attributes = sa.Table(  # source fields without a column (e.g. lead origin)
    "account_attributes",
    metadata,
    sa.Column("account_id", sa.ForeignKey("accounts.id"), primary_key=True),
    sa.Column("name", sa.String(64), primary_key=True),
    sa.Column("value", sa.String(1024)),
)

sync_watermarks = sa.Table(
    "sync_watermarks",
    metadata,
    sa.Column("name", sa.String(64), primary_key=True),
    sa.Column("at", TS, nullable=False),
)

# --- compensation ------------------------------------------------------------------------
# Money, rates and scores are exact integers (cents, millionths, hundredths): SQLite has no
# exact decimal type, and integers sum exactly on both databases.
comp_plans = sa.Table(  # effective-dated comp plan documents, never edited
    "comp_plans",
    metadata,
    sa.Column("version", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("effective_from", sa.Date, nullable=False, unique=True),
    sa.Column("document", sa.JSON, nullable=False),
    sa.Column("created_at", TS, nullable=False),
    sa.Column("created_by", sa.String(128), nullable=False),
    sa.Column("note", sa.String(512), nullable=False, server_default=""),
)

comp_lines = sa.Table(  # commission lines: a won deal (seq 0) and its adjustments (1, 2, …)
    "comp_lines",
    metadata,
    _id(),
    sa.Column("opportunity_id", sa.ForeignKey("opportunities.id"), nullable=False),
    sa.Column("seq", sa.Integer, nullable=False),
    sa.Column("kind", sa.String(16), nullable=False),  # deal | adjustment
    sa.Column("rep_id", sa.ForeignKey("reps.id"), nullable=False),
    sa.Column("lease_id", sa.ForeignKey("leases.id"), nullable=False),
    sa.Column("period", sa.String(7), nullable=False),  # YYYY-MM posted in
    sa.Column("won_on", sa.Date, nullable=False),
    sa.Column("score_hundredths", sa.BigInteger, nullable=False),
    sa.Column("plan_version", sa.ForeignKey("comp_plans.version"), nullable=False),
    sa.Column("policy_version", sa.Integer, nullable=False),  # its won stages, at posting
    sa.Column("rate_millionths", sa.BigInteger, nullable=False),
    sa.Column("amount_cents", sa.BigInteger, nullable=False),
    sa.Column("commission_cents", sa.BigInteger, nullable=False),
    sa.Column("posted_at", TS, nullable=False),
    sa.Column("reason", sa.String(512), nullable=False, server_default=""),
    sa.UniqueConstraint("opportunity_id", "seq"),  # a win cannot be paid twice
    sa.Index("ix_comp_lines_rep_period", "rep_id", "period"),
    sa.Index("ix_comp_lines_period", "period"),
)

comp_periods = sa.Table(  # closed (locked) periods: their lines never change
    "comp_periods",
    metadata,
    sa.Column("period", sa.String(7), primary_key=True),
    sa.Column("closed_at", TS, nullable=False),
    sa.Column("closed_by", sa.String(128), nullable=False),
)

# --- pilots (the Shark Tank pod) -----------------------------------------------------------
pilots = sa.Table(  # a named pod fed only by routing while it runs (ended_at IS NULL)
    "pilots",
    metadata,
    _id(),
    sa.Column("name", sa.String(128), nullable=False, unique=True),
    sa.Column("started_at", TS, nullable=False),
    sa.Column("ended_at", TS),
    sa.Column("created_by", sa.String(128), nullable=False),
)

pilot_reps = sa.Table(
    "pilot_reps",
    metadata,
    sa.Column("pilot_id", sa.ForeignKey("pilots.id"), primary_key=True),
    sa.Column("rep_id", sa.ForeignKey("reps.id"), primary_key=True),
)

# --- outbound webhooks (the outbox) -------------------------------------------------------
webhook_subscriptions = sa.Table(  # where to POST which events; never deleted, only stopped
    "webhook_subscriptions",
    metadata,
    _id(),
    sa.Column("url", sa.String(2000), nullable=False),
    sa.Column("secret", sa.String(128), nullable=False),  # signs deliveries: kept, never shown
    sa.Column("events", sa.JSON, nullable=False),  # event types taken; [] = every type
    sa.Column("format", sa.String(16), nullable=False),
    sa.Column("active", sa.Boolean, nullable=False),
    sa.Column("created_at", TS, nullable=False),
    sa.Column("created_by", sa.String(128), nullable=False),
    sa.Column("removed_at", TS),
    sa.Column("rep_id", sa.ForeignKey("reps.id")),  # only this rep's events (NULL: any)
    sa.Column("team", sa.String(128)),  # only the events of this team's reps (NULL: any)
)

notification_mutes = sa.Table(  # a kind a rep does not want in Slack or e-mail (unmute: removed)
    "notification_mutes",
    metadata,
    sa.Column("rep_id", sa.ForeignKey("reps.id"), primary_key=True),
    sa.Column("kind", sa.String(64), primary_key=True),
    sa.Column("muted_at", TS, nullable=False),
    sa.Column("muted_by", sa.String(128), nullable=False),
)

sprint_notices = sa.Table(  # a lease.sprint_ending written once per lease and sprint
    "sprint_notices",
    metadata,
    sa.Column("lease_id", sa.ForeignKey("leases.id"), primary_key=True),
    sa.Column("expires_at", TS, primary_key=True),  # the sprint (an advance moves it)
    sa.Column("noticed_at", TS, nullable=False),
)

digest_notices = sa.Table(  # a rep's digest of a day queued once, however often it is run
    "digest_notices",
    metadata,
    sa.Column("rep_id", sa.ForeignKey("reps.id"), primary_key=True),
    sa.Column("day", sa.Date, primary_key=True),
    sa.Column("queued_at", TS, nullable=False),
)

webhook_deliveries = sa.Table(  # one event owed to one subscription (the outbox rows)
    "webhook_deliveries",
    metadata,
    _id(),
    sa.Column("subscription_id", sa.ForeignKey("webhook_subscriptions.id"), nullable=False),
    sa.Column("event_id", sa.String(40), nullable=False),  # Webhook-Id: same on every retry
    sa.Column("event_type", sa.String(64), nullable=False),
    sa.Column("event_at", TS, nullable=False),
    sa.Column("data", sa.JSON, nullable=False),
    sa.Column("created_at", TS, nullable=False),
    sa.Column("status", sa.String(16), nullable=False),  # pending|delivered|failed|cancelled
    sa.Column("attempts", sa.Integer, nullable=False),
    sa.Column("next_attempt_at", TS),
    sa.Column("replay_of", sa.Integer),
    sa.Column("claim_token", sa.String(32)),  # the dispatcher holding it, until claimed_until
    sa.Column("claimed_until", TS),
    sa.Index(  # dispatchers read the due pending rows only
        "ix_webhook_deliveries_due",
        "next_attempt_at",
        sqlite_where=sa.text("status = 'pending'"),
        postgresql_where=sa.text("status = 'pending'"),
    ),
    sa.Index("ix_webhook_deliveries_subscription", "subscription_id", "id"),
    sa.Index("ix_webhook_deliveries_created", "created_at"),
)

webhook_attempts = sa.Table(  # every POST of a delivery (the delivery log)
    "webhook_attempts",
    metadata,
    _id(),
    sa.Column("delivery_id", sa.ForeignKey("webhook_deliveries.id"), nullable=False),
    sa.Column("attempt", sa.Integer, nullable=False),
    sa.Column("at", TS, nullable=False),
    sa.Column("status_code", sa.Integer),
    sa.Column("error", sa.String(500)),
    sa.Column("duration_ms", sa.Integer, nullable=False),
    sa.Column("next_retry_at", TS),
    sa.UniqueConstraint("delivery_id", "attempt"),  # an attempt is recorded once
)

# --- idempotency keys (the API's first answers, kept 24 h) ---------------------------------
idempotency_keys = sa.Table(  # a cache of answers, not a fact: finished and deleted in place
    "idempotency_keys",
    metadata,
    sa.Column("principal", sa.String(64), primary_key=True),  # hash of the credential
    sa.Column("key", sa.String(255), primary_key=True),
    sa.Column("fingerprint", sa.String(64), nullable=False),  # sha256 of method, path, body
    sa.Column("status", sa.Integer),  # null while the first request runs
    sa.Column("content_type", sa.String(255)),
    sa.Column("body", sa.LargeBinary),
    sa.Column("created_at", TS, nullable=False, index=True),
)
