"""Engines for the two supported databases, and schema migration with Alembic."""

from __future__ import annotations

import re
import threading
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from sqlalchemy.engine import Engine

from dtem.domain.errors import LedgerMissing, LedgerUnavailable

MIGRATIONS = Path(__file__).parent / "migrations"
BACKENDS = ("sqlite", "postgresql")
# Alembic runs migrations through module-level state: one migration at a time per process.
_MIGRATING = threading.Lock()
URL_FORM = "sqlite:///PATH or postgresql://USER@HOST:PORT/DATABASE"


def normalise_url(url: str) -> str:
    """Accept `postgresql://` and `postgres://` and use the psycopg 3 driver for them.

    >>> normalise_url("postgresql://127.0.0.1/test")
    'postgresql+psycopg://127.0.0.1/test'
    """
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def make_engine(url: str, *, create: bool = True, **kwargs: Any) -> Engine:
    """An engine with the settings DTEM relies on for either backend.

    SQLite: foreign keys on, WAL journal, a busy timeout, and `BEGIN IMMEDIATE` so that two
    writers queue up instead of failing on a read-to-write lock upgrade. With `create` the
    SQLite file's folder is made; without it nothing is created on disk.

    A URL that is no database URL, and every failure to connect, raise `LedgerUnavailable`
    with one line naming the problem (never the password).
    """
    parsed = parse_url(url)
    if parsed.get_backend_name() == "sqlite":
        if create:
            _ensure_parent(parsed)
        engine = sa.create_engine(parsed, connect_args={"timeout": 30}, **kwargs)
        _configure_sqlite(engine)
    else:
        kwargs.setdefault("pool_pre_ping", True)
        engine = sa.create_engine(parsed, **kwargs)
    _report_connection_failures(engine)
    return engine


def parse_url(url: str) -> sa.URL:
    """The URL of a supported database, or `LedgerUnavailable` saying what is wrong.

    >>> parse_url("notaurl")
    Traceback (most recent call last):
    ...
    dtem.domain.errors.LedgerUnavailable: 'notaurl' is not a database URL; use sqlite:///PATH or postgresql://USER@HOST:PORT/DATABASE
    """
    try:
        parsed = sa.engine.make_url(normalise_url(url))
    except (sa.exc.ArgumentError, ValueError):
        raise LedgerUnavailable(f"{redact(url)!r} is not a database URL; use {URL_FORM}") from None
    if parsed.get_backend_name() not in BACKENDS:
        backend = parsed.get_backend_name()
        raise LedgerUnavailable(f"unsupported database {backend!r}; use {URL_FORM}")
    return parsed


def redact(url: str) -> str:
    """The URL without its password, for messages.

    >>> redact("postgresql://ana:s3cret@db/x")
    'postgresql://ana:***@db/x'
    """
    return re.sub(r"(://[^:/@]*):[^@/]*@", r"\1:***@", url)


def describe(engine: Engine) -> str:
    """The engine's URL as shown to people (password hidden, driver name dropped)."""
    return engine.url.set(drivername=engine.url.get_backend_name()).render_as_string()


def _report_connection_failures(engine: Engine) -> None:
    """Turn a failure to connect (or a dropped connection) into `LedgerUnavailable`.

    Other database errors (a deadlock, a constraint) pass through unchanged: callers that
    retry or map them still see SQLAlchemy's exception.
    """

    @sa.event.listens_for(engine, "handle_error")
    def _on_error(ctx: sa.engine.ExceptionContext) -> None:
        if ctx.is_pre_ping or not (ctx.connection is None or ctx.is_disconnect):
            return
        first = (
            str(ctx.original_exception).strip().splitlines()[0] if ctx.original_exception else ""
        )
        raise LedgerUnavailable(f"cannot use the ledger at {describe(engine)}: {first}")


def require_ledger(engine: Engine) -> None:
    """`LedgerMissing` unless the database already holds a ledger; creates nothing."""
    hint = "create one with: dtem init"
    path = engine.url.database if engine.url.get_backend_name() == "sqlite" else None
    if path and path != ":memory:" and not Path(path).expanduser().exists():
        raise LedgerMissing(f"no ledger at {describe(engine)} (no such file); {hint}")
    with engine.connect() as conn:
        if not sa.inspect(conn).has_table("alembic_version"):
            raise LedgerMissing(f"no ledger at {describe(engine)}; {hint}")


def _ensure_parent(url: sa.URL) -> None:
    path = url.database
    if path and path != ":memory:" and not path.startswith("file:"):
        Path(path).expanduser().parent.mkdir(parents=True, exist_ok=True)


UNICODE_LOWER = "dtem_lower"  # SQLite: lower() for all of Unicode (rows.lower_text)


def _unicode_lower(text: Any) -> Any:
    return text.lower() if isinstance(text, str) else text


def _configure_sqlite(engine: Engine) -> None:
    @sa.event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.isolation_level = None  # we issue BEGIN ourselves
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.close()
        # SQLite's lower() folds ASCII only; names compare any case like PostgreSQL's
        dbapi_conn.create_function(UNICODE_LOWER, 1, _unicode_lower, deterministic=True)

    @sa.event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        conn.exec_driver_sql("BEGIN IMMEDIATE")


def alembic_config(url: str) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.set_main_option("sqlalchemy.url", normalise_url(url).replace("%", "%%"))
    return cfg


def migrate(engine: Engine) -> str:
    """Bring the schema to the newest revision (harmless when already there); return it."""
    cfg = alembic_config(engine.url.render_as_string(hide_password=False))
    with _MIGRATING, engine.begin() as conn:  # Alembic's context is process-global
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "head")
    with engine.connect() as conn:
        rev = conn.execute(sa.text("SELECT version_num FROM alembic_version")).scalar_one()
    return str(rev)
