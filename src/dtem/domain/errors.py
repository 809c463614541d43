"""Domain errors. Each is mapped once at the edge (HTTP status, CLI exit code)."""

from __future__ import annotations

from dataclasses import dataclass, field


class DomainError(Exception):
    """Base of every error the product raises on purpose."""


class NotFound(DomainError):
    """A named thing (account, rep, lease, policy version…) does not exist."""


class LeaseConflict(DomainError):
    """The account already has an active lease (the database said so)."""

    def __init__(self, account: str, detail: str = "") -> None:
        self.account = account
        msg = f"account {account!r} already has an active lease"
        super().__init__(f"{msg}: {detail}" if detail else msg)


class LeaseVersionConflict(LeaseConflict):
    """A lease changed after it was read: the version a writer read is no longer current.

    >>> str(LeaseVersionConflict(7, 1, 2))
    'lease 7 changed meanwhile (read at version 1, now at version 2): read it again'
    """

    def __init__(
        self, lease_id: int, read_version: int, current_version: int, account: str = ""
    ) -> None:
        self.account, self.lease_id, self.read_version = account, lease_id, read_version
        self.current_version = current_version
        DomainError.__init__(
            self,
            f"lease {lease_id} changed meanwhile (read at version {read_version},"
            f" now at version {current_version}): read it again",
        )


class ClaimNotHeld(DomainError):
    """An agent reported on an account it does not hold (no claim, lapsed, or another's)."""

    def __init__(self, account: str, agent: str, detail: str) -> None:
        self.account, self.agent = account, agent
        super().__init__(f"agent {agent!r} does not hold account {account!r}: {detail}")


class LeaseTransitionInvalid(DomainError):
    """A lease command that its current state does not allow (e.g. advancing a closed lease)."""


class PolicyInvalid(DomainError):
    """A policy document breaks a rule; `problems` lists every broken rule."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("invalid policy: " + "; ".join(problems))

    def __reduce__(self) -> tuple[type[PolicyInvalid], tuple[list[str]]]:
        return PolicyInvalid, (self.problems,)  # survives a worker process (pickle)


class ArgumentInvalid(DomainError, ValueError):
    """A command option or request field that DTEM cannot use as given.

    An unknown routing trigger, token role, export format, mapping or file type, a holdout
    inside the training window: the caller can fix it, so it is never reported as a bug.
    (It is a `ValueError` too, for code that validates values.)
    """


class FileUnreadable(DomainError):
    """An input file that cannot be read as what its name says: where, why, what to try.

    >>> str(FileUnreadable("a.csv", "not UTF-8 text", line=4, hint="try --encoding latin-1"))
    'a.csv:4: not UTF-8 text (try --encoding latin-1)'
    """

    def __init__(self, file: str, reason: str, line: int | None = None, hint: str = "") -> None:
        self.file, self.reason, self.line, self.hint = file, reason, line, hint
        where = f"{file}:{line}" if line is not None else file
        super().__init__(f"{where}: {reason}" + (f" ({hint})" if hint else ""))


class LedgerUnavailable(DomainError):
    """The ledger's database cannot be used: not a database URL, refused, or missing.

    Raised by the ledger adapter for connection failures, so that every entrypoint maps
    "the database is down or misconfigured" once (CLI exit 11, HTTP 503).
    """


class LedgerMissing(LedgerUnavailable):
    """The database answers but holds no ledger: `dtem init` creates one."""


class ActivationRefused(PolicyInvalid):
    """The gate refuses to put a trained version live; `problems` says why.

    `dtem policy activate N --force --reason TEXT` overrides it (audited).
    """

    def __init__(self, version: int, problems: list[str]) -> None:
        self.problems = problems
        DomainError.__init__(
            self,
            f"policy v{version} is not activated: "
            + "; ".join(problems)
            + ". Override with --force --reason TEXT (audited).",
        )


class SourceExists(DomainError):
    """A signal source with this name already exists (names are unique)."""


class AuthError(DomainError):
    """Missing, unknown, expired or revoked credentials."""


class Forbidden(DomainError):
    """Valid credentials whose role may not do this."""


class AuditChainBroken(DomainError):
    """An audit entry is missing or altered (`seq` names it), or the chain head is gone.

    >>> str(AuditChainBroken(3, "is missing"))
    'audit entry #3 is missing'
    """

    def __init__(self, seq: int | None, problem: str) -> None:
        self.seq = seq
        super().__init__(f"audit entry #{seq} {problem}" if seq else f"audit chain {problem}")


@dataclass(frozen=True)
class RowError:
    """One problem in one input row: enough to find and fix it at the source."""

    file: str
    row: int
    field: str
    value: str
    reason: str

    def __str__(self) -> str:
        shown = self.value if len(self.value) <= 80 else self.value[:60] + "…"
        return f"{self.file}:{self.row}: field {self.field!r} = {shown!r}: {self.reason}"


@dataclass
class InputInvalid(DomainError):
    """An input (file, request) has rows that cannot be accepted. Nothing was written."""

    errors: list[RowError] = field(default_factory=list)
    source: str = ""

    def __post_init__(self) -> None:
        head = "\n".join(str(e) for e in self.errors[:20])
        more = len(self.errors) - 20
        tail = f"\n… and {more} more" if more > 0 else ""
        super().__init__(f"{self.source}: {len(self.errors)} invalid row(s)\n{head}{tail}")


class TrainingDataInsufficient(DomainError):
    """The history cannot support a fit or an honest evaluation (no positives, too few rows)."""


class WriteConflict(DomainError):
    """Concurrent units of work collided (a deadlock or serialization failure).

    Nothing of the failed unit of work was kept; running it again is safe.
    """
