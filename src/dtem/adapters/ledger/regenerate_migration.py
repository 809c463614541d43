"""Regenerate the initial migration from tables.py (until the first release freezes it).

Usage: `make schema`. Later schema changes after a release get their own revisions.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from alembic import command

from dtem.adapters.ledger.engine import MIGRATIONS, alembic_config, make_engine


def main() -> None:
    versions = MIGRATIONS / "versions"
    for old in versions.glob("0001_*.py"):
        old.unlink()
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{Path(tmp) / 'empty.db'}"
        engine = make_engine(url)
        cfg = alembic_config(url)
        with engine.begin() as conn:
            cfg.attributes["connection"] = conn
            command.revision(cfg, message="initial ledger", autogenerate=True, rev_id="0001")
    for new in versions.glob("0001_*.py"):
        print(f"wrote {new}")


if __name__ == "__main__":
    main()
