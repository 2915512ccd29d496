"""Redaction: secrets are taken out of results before anything is written.

Three things are redacted: the whole result of a ``no_log`` task, the value
of every key whose name matches a pattern (password, secret, token, private
key ...), and every occurrence of a known secret value (the plaintexts of
vault-encrypted variables) wherever it appears in a string.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

REDACTED = "<redacted>"
NO_LOG = "<redacted: no_log>"

#: Key names whose values are never written, unless the caller gives its own pattern.
#: A bare "pass" counts only as a whole word of the key (db_pass), so that
#: results such as "passed" or "bypass" stay readable.
DEFAULT_KEY_PATTERN = (
    r"pass(word|wd|phrase)|(^|[_.-])pass($|[_.-])|secret|token|private[_-]?key"
    r"|api[_-]?key|credential|auth[_-]?key"
)

# A secret shorter than this would redact common words; the key pattern covers short ones.
_MIN_SECRET_LENGTH = 4


def is_no_log(result: dict[str, Any]) -> bool:
    """Tell whether Ansible marked ``result`` as coming from a ``no_log`` task."""
    return bool(result.get("_ansible_no_log")) or "censored" in result


@dataclass
class Redactor:
    """Takes secrets out of data before it is written.

    Attributes:
        key_pattern: A regular expression; values of matching keys are redacted.
        secrets: Values redacted wherever they occur, such as vault plaintexts.

    """

    key_pattern: str = DEFAULT_KEY_PATTERN
    secrets: set[str] = field(default_factory=set)

    def __post_init__(self) -> None:
        """Compile the key pattern once."""
        self._keys = re.compile(self.key_pattern, re.IGNORECASE)

    def add_secret(self, value: str) -> None:
        """Redact ``value`` wherever it occurs from now on."""
        if len(value) >= _MIN_SECRET_LENGTH:
            self.secrets.add(value)

    def is_secret_key(self, key: str) -> bool:
        """Tell whether values under ``key`` are secrets, by the key pattern."""
        return bool(self._keys.search(key))

    def result(self, result: dict[str, Any]) -> dict[str, Any]:
        """Return a task result fit to write: nothing of a ``no_log`` result survives."""
        if is_no_log(result):
            return {"censored": NO_LOG}
        cleaned = self.value(result)
        return cleaned if isinstance(cleaned, dict) else {}

    def text(self, text: str) -> str:
        """Return ``text`` with every known secret value replaced."""
        for secret in sorted(self.secrets, key=len, reverse=True):
            if secret in text:
                text = text.replace(secret, REDACTED)
        return text

    def value(self, data: Any) -> Any:  # noqa: ANN401 - any JSON-like value
        """Return ``data`` with secret keys and secret values redacted, recursively."""
        if isinstance(data, dict):
            return {
                str(key): REDACTED if self._keys.search(str(key)) else self.value(item)
                for key, item in data.items()
                if not str(key).startswith("_ansible_")
            }
        if isinstance(data, list | tuple):
            return [self.value(item) for item in data]
        if isinstance(data, str):
            return self.text(data)
        if data is None or isinstance(data, bool | int | float):
            return data
        return self.text(str(data))
