"""Settings, loaded once from the environment (prefix `DTEM_`) and passed down."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """Every setting DTEM reads from the environment.

    >>> Settings(data_dir=Path("/tmp/x")).resolved_database_url()
    'sqlite:////tmp/x/dtem.db'
    """

    model_config = SettingsConfigDict(env_prefix="DTEM_", env_file=".env", extra="ignore")

    database_url: str | None = Field(None, description="SQLAlchemy URL of the ledger")
    data_dir: Path = Field(Path("data"), description="where the embedded SQLite ledger lives")
    nats_url: str = "nats://127.0.0.1:4222"
    api_host: str = "127.0.0.1"
    api_port: int = 8000
    actor: str = Field("cli", description="who is named in the audit log for CLI changes")

    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{self.data_dir / 'dtem.db'}"
