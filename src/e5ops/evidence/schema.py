"""The JSON Schemas that ship with e5ops, and validation against them."""

from __future__ import annotations

import json
from functools import cache
from importlib import resources
from typing import Any

import jsonschema  # type: ignore[import-untyped]  # no stubs installed

from e5ops.errors import EvidenceError

RECORD_SCHEMA = "evidence-record.schema.json"


@cache
def load_schema(name: str) -> dict[str, Any]:
    """Return a schema shipped in ``e5ops/data``."""
    text = resources.files("e5ops").joinpath("data", name).read_text(encoding="utf-8")
    schema: dict[str, Any] = json.loads(text)
    return schema


def validate_record(record: dict[str, Any]) -> None:
    """Check an evidence record against the shipped record schema.

    Raises:
        EvidenceError: The record does not match; the message says where.

    """
    validator = jsonschema.Draft202012Validator(load_schema(RECORD_SCHEMA))
    errors = sorted(validator.iter_errors(record), key=lambda e: list(e.absolute_path))
    if errors:
        first = errors[0]
        where = "/".join(str(p) for p in first.absolute_path) or "(top)"
        msg = f"evidence record {record.get('name')!r} does not match its schema at {where}: "
        raise EvidenceError(msg + first.message)
