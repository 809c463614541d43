"""Settings, loaded once from the environment (prefix `DTEM_`) and passed down."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict


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
    cors_origins: Annotated[tuple[str, ...], NoDecode] = Field(
        (),
        description="web origins whose browsers may call the tracking API (/v1), comma-"
        "separated: DTEM_CORS_ORIGINS=https://www.acme.com,https://app.acme.com",
    )

    webhook_dispatch: bool = Field(
        True,
        description="whether `dtem serve` delivers webhooks in the background (one dispatcher "
        "per worker process); DTEM_WEBHOOK_DISPATCH=false leaves it to `dtem webhooks deliver`",
    )
    webhook_timeout_seconds: float = Field(
        5.0, gt=0, le=60, description="how long a webhook POST may wait for each HTTP phase"
    )
    webhook_poll_seconds: float = Field(
        1.0, gt=0, description="how long a dispatcher waits when no delivery is due"
    )

    smtp_host: str | None = Field(
        None, description="SMTP server of the daily digest e-mails (unset: no e-mail is sent)"
    )
    smtp_port: int = Field(25, ge=1, le=65535, description="SMTP port (587 with STARTTLS)")
    smtp_from: str = Field("dtem@localhost", description="the From address of digest e-mails")
    smtp_user: str | None = Field(None, description="SMTP login, if the server wants one")
    smtp_password: SecretStr | None = Field(None, description="SMTP password (never logged)")
    smtp_starttls: bool = Field(False, description="upgrade the SMTP connection with STARTTLS")

    @field_validator("cors_origins", mode="before")
    @classmethod
    def _origins(cls, value: Any) -> Any:
        """`a, b/` -> ("a", "b"): an origin has no path, so a trailing slash is dropped."""
        if isinstance(value, str):
            return tuple(o.strip().rstrip("/") for o in value.split(",") if o.strip())
        return value

    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{self.data_dir / 'dtem.db'}"
