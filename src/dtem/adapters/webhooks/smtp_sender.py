"""Send `email` deliveries (the daily digest) over SMTP: the dispatcher's mailer.

It has the `WebhookSender` shape, so an e-mail is claimed, retried and logged like any
webhook: the answer recorded is the SMTP reply code (250 = delivered); a refused
connection, a timeout or a rejected message is a failed attempt, tried again later.
"""

from __future__ import annotations

import smtplib
from dataclasses import dataclass
from email import message_from_bytes, policy
from email.message import EmailMessage

from dtem.domain.webhooks import WebhookSendFailed


@dataclass(frozen=True)
class SmtpMailer:
    """SMTP settings (from `DTEM_SMTP_*`); one connection per message.

    >>> # SmtpMailer("smtp.acme.com", 587, "dtem@acme.com", starttls=True).post(...)
    """

    host: str
    port: int
    sender: str
    user: str | None = None
    password: str | None = None
    starttls: bool = False

    def post(self, url: str, body: bytes, headers: dict[str, str], timeout: float) -> int:
        """Send the message in `body` (its `To` says to whom); `url` is not used."""
        msg = message_from_bytes(body, policy=policy.default)
        assert isinstance(msg, EmailMessage)
        msg["From"] = self.sender
        try:
            with smtplib.SMTP(self.host, self.port, timeout=timeout) as smtp:
                if self.starttls:
                    smtp.starttls()
                if self.user:
                    smtp.login(self.user, self.password or "")
                smtp.send_message(msg)
        except smtplib.SMTPResponseException as exc:
            return int(exc.smtp_code)  # refused with a code: recorded, retried
        except (smtplib.SMTPException, OSError) as exc:
            raise WebhookSendFailed(f"SMTP {self.host}:{self.port}: {exc}") from exc
        return 250
