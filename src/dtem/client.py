"""A Python client of DTEM's agent gateway (`/agent/v1`), on httpx.

It imports nothing else of DTEM: an agent runtime installs it, points it at a server and
a token of role `agent`, and works the accounts it is given.

    with AgentClient("http://127.0.0.1:8000", token) as dtem:
        for claim in dtem.claim(5):
            dtem.touch(claim.account, "email_sent")
        handed = dtem.hand_raise("ACME-001", note="asked for a demo")
        print(handed.rep, handed.lease_id)

An HTTP error raises `GatewayError` with the status and the server's `detail`.
"""

from __future__ import annotations

from dataclasses import dataclass
from types import TracebackType
from typing import Any

import httpx


class GatewayError(Exception):
    """The gateway refused a call (401 token, 403 role, 409 account not held, ...)."""

    def __init__(self, status: int, detail: str) -> None:
        self.status, self.detail = status, detail
        super().__init__(f"HTTP {status}: {detail}")


@dataclass(frozen=True)
class Claim:
    claim_id: int
    account: str
    tier: int
    score: float | None
    nurture_value: float
    expires_at: str


@dataclass(frozen=True)
class HandRaise:
    account: str
    outcome: str
    rep: str | None
    lease_id: int | None
    score: float | None


class AgentClient:
    """One agent's session with the gateway (a context manager closing its connections)."""

    def __init__(self, base_url: str, token: str, timeout: float = 10.0) -> None:
        headers = {"Authorization": f"Bearer {token}"}
        self.http = httpx.Client(base_url=base_url, headers=headers, timeout=timeout)

    def claim(self, limit: int = 10) -> list[Claim]:
        """Claim up to `limit` accounts, best first (may be fewer, or none)."""
        body = self._post("/agent/v1/claims", {"limit": limit})
        return [Claim(**c) for c in body["claims"]]

    def touch(self, account: str, kind: str, event_id: str | None = None) -> str:
        """Report a touch on a held account; returns its event id."""
        body = self._post(
            "/agent/v1/touches", {"account": account, "kind": kind, "event_id": event_id}
        )
        return str(body["event_id"])

    def hand_raise(self, account: str, note: str = "") -> HandRaise:
        """Hand a held account to a human; the answer names the rep and the lease."""
        body = self._post("/agent/v1/hand-raises", {"account": account, "note": note})
        return HandRaise(**body)

    def _post(self, path: str, payload: dict[str, Any]) -> dict[str, Any]:
        resp = self.http.post(path, json=payload)
        if resp.status_code >= 400:
            raise GatewayError(resp.status_code, _detail(resp))
        body: dict[str, Any] = resp.json()
        return body

    def close(self) -> None:
        self.http.close()

    def __enter__(self) -> AgentClient:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


def _detail(resp: httpx.Response) -> str:
    try:
        return str(resp.json().get("detail", resp.text))
    except ValueError:
        return resp.text
