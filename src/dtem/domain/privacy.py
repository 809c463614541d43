"""Erasure on request (GDPR Art. 17): which stored signals name a person.

A person is named by an email address or by a tracked user id. A signal names them when
its account key is that user id, when an identifying field of its attributes (`user_id`,
`userId`, `anonymousId`, `anonymous_id`) holds that user id, or when any text anywhere in
its attributes holds that email as a whole address (any case: `Ana@Acme.com`,
`mailto:ana@acme.com`, `Ana <ana@acme.com>`; not `ana@acme.com.br` nor `x.ana@acme.com`).
The address itself is never an account key (only its domain is kept), so the
attributes are where it can be.

>>> names_person("user_id", "u-42", {}, None, {"u-42"})
True
>>> names_person("email", "acme.com", {"properties": {"email": "Ana@Acme.com"}}, "ana@acme.com", ())
True
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterator
from dataclasses import dataclass
from typing import Any

from dtem.domain.errors import ArgumentInvalid

USER_FIELDS = frozenset({"user_id", "userId", "anonymousId", "anonymous_id"})


@dataclass(frozen=True)
class Person:
    """Whom an erasure request names: exactly one of an email and a user id.

    >>> Person.of(email=" Ana@Acme.com ", user_id=None).email
    'ana@acme.com'
    """

    email: str | None = None
    user_id: str | None = None

    @classmethod
    def of(cls, email: str | None, user_id: str | None) -> Person:
        """Validate a request; `ArgumentInvalid` names the field at fault."""
        if email is not None and user_id is not None:
            raise ArgumentInvalid("email, user_id: give one of them, not both")
        if email is None and user_id is None:
            raise ArgumentInvalid("email, user_id: give one of them")
        if email is not None:
            e = email.strip().lower()
            if not e:
                raise ArgumentInvalid("email: must not be empty")
            if "@" not in e:
                raise ArgumentInvalid(f"email: {email!r} is not an email address")
            return cls(email=e)
        u = (user_id or "").strip()
        if not u:
            raise ArgumentInvalid("user_id: must not be empty")
        return cls(user_id=u)

    @property
    def kind(self) -> str:
        """`email` or `user_id`: what the audit entry may say about the request."""
        return "email" if self.email is not None else "user_id"


def names_person(
    key_kind: str,
    account_key: str,
    attributes: Any,
    email: str | None,
    user_ids: Collection[str],
) -> bool:
    """Whether a signal names the person (`email` lower-case; see the module doc)."""
    if key_kind == "user_id" and account_key in user_ids:
        return True
    address = _address(email) if email is not None else None
    for key, value in _texts(attributes, None):
        if address is not None and address.search(value):
            return True
        if key in USER_FIELDS and value in user_ids:
            return True
    return False


def _address(email: str) -> re.Pattern[str]:
    """The email as a whole address inside a text: no address character touches it."""
    return re.compile(rf"(?<![\w.+%-]){re.escape(email)}(?![\w-]|\.[\w-])", re.IGNORECASE)


def _texts(value: Any, key: str | None) -> Iterator[tuple[str | None, str]]:
    """Every text in a JSON value, with the key it sits under (None in a list or at the top)."""
    if isinstance(value, str):
        yield key, value
    elif isinstance(value, dict):
        for k, v in value.items():
            yield from _texts(v, str(k))
    elif isinstance(value, list):
        for v in value:
            yield from _texts(v, key)
