"""The one exception family of e5ops.

Library code raises; only the CLI prints and exits, with the error's exit code.
Every message says what is wrong and, where there is one, how to fix it.
"""

from __future__ import annotations


class E5opsError(Exception):
    """Base of every error e5ops raises on purpose.

    Attributes:
        exit_code: The process exit code the CLI uses for this error.
        hint: What the user can do about it, shown under the message.

    """

    exit_code = 1

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        """Create the error.

        Args:
            message: What went wrong, in one sentence.
            hint: How to fix it, if there is something the user can do.

        """
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        """Return the message, followed by the hint when there is one."""
        if self.hint:
            return f"{self.message}\n  hint: {self.hint}"
        return self.message


class UsageError(E5opsError):
    """The input is wrong: a name, a count, a path. Nothing was changed."""

    exit_code = 2


class MissingToolError(E5opsError):
    """A program e5ops needs is not installed."""

    exit_code = 3


class LabError(E5opsError):
    """The lab could not be built, started or reached."""

    exit_code = 4


class RunError(E5opsError):
    """A playbook run failed or could not start."""

    exit_code = 5


class EvidenceError(E5opsError):
    """Evidence could not be written or read: a missing key, a locked or broken store."""

    exit_code = 6


class VerificationError(EvidenceError):
    """The evidence does not verify: a changed byte, a missing record, a broken chain."""

    exit_code = 7


class ScopeError(UsageError):
    """The scope file is invalid; the message names the file and line."""


class DecisionError(UsageError):
    """A decision was refused: it contradicts the assessment or lacks its conditions."""
