"""The scope file: environment, inventory and each gate's criteria, validated with line numbers."""

from __future__ import annotations

from dataclasses import dataclass
from importlib import resources
from typing import TYPE_CHECKING, Any

import jsonschema  # type: ignore[import-untyped]  # no stubs installed
import yaml

from e5ops.errors import ScopeError
from e5ops.evidence.schema import load_schema
from e5ops.gates.checks import CHECKS

if TYPE_CHECKING:
    from pathlib import Path

SCOPE_SCHEMA = "scope.schema.json"
DEFAULT_SCOPE = "scope.default.yml"
PROJECT_SCOPE = "scope.yml"


class _Loader(yaml.SafeLoader):
    """YAML without implicit timestamps: dates stay the strings the schema expects."""


_Loader.add_constructor(
    "tag:yaml.org,2002:timestamp",
    lambda loader, node: loader.construct_scalar(node),  # type: ignore[arg-type]
)


@dataclass(frozen=True)
class Scope:
    """A validated scope file.

    Attributes:
        source: Where it was read from.
        data: Its content, as the schema describes it.
        text: Its exact text, kept in the scope record.

    """

    source: str
    data: dict[str, Any]
    text: str

    @property
    def gates(self) -> dict[str, Any]:
        """Return each gate's title and criteria."""
        gates: dict[str, Any] = self.data["gates"]
        return gates

    @property
    def waivers(self) -> list[dict[str, str]]:
        """Return the waivers the scope file grants."""
        return list(self.data.get("waivers") or [])


def default_scope_path(project: Path) -> Path | None:
    """Return the project's ``scope.yml``, or None to use the packaged default."""
    candidate = project / PROJECT_SCOPE
    return candidate if candidate.is_file() else None


def _line_of(node: yaml.Node | None, path: list[str | int]) -> int:
    """Return the 1-based line of the node at ``path``, or of its nearest parent."""
    line = node.start_mark.line + 1 if node is not None else 1
    for part in path:
        child = None
        if isinstance(node, yaml.MappingNode):
            child = next((v for k, v in node.value if k.value == str(part)), None)
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int):
            child = node.value[part] if part < len(node.value) else None
        if child is None:
            break
        node = child
        line = node.start_mark.line + 1
    return line


def load_scope(path: Path | None = None) -> Scope:
    """Read and validate a scope file (the packaged default when ``path`` is None).

    Raises:
        ScopeError: The file is unreadable, not YAML, or invalid; the message
            names the file and the line.

    """
    if path is None:
        source = f"e5ops/data/{DEFAULT_SCOPE} (packaged default)"
        text = resources.files("e5ops").joinpath("data", DEFAULT_SCOPE).read_text("utf-8")
    else:
        source = str(path)
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as exc:
            msg = f"cannot read the scope file {path}: {exc.strerror}"
            raise ScopeError(msg) from exc
    try:
        node = yaml.compose(text, Loader=_Loader)
        data = yaml.load(text, Loader=_Loader)  # noqa: S506 - _Loader is a SafeLoader
    except yaml.MarkedYAMLError as exc:
        line = exc.problem_mark.line + 1 if exc.problem_mark else 1
        msg = f"{source}:{line}: not valid YAML: {exc.problem}"
        raise ScopeError(msg) from exc
    validator = jsonschema.Draft202012Validator(load_schema(SCOPE_SCHEMA))
    errors = sorted(validator.iter_errors(data), key=lambda e: list(e.absolute_path))
    if errors:
        first = errors[0]
        path_parts = list(first.absolute_path)
        where = "/".join(str(p) for p in path_parts) or "(top)"
        msg = f"{source}:{_line_of(node, path_parts)}: {where}: {first.message}"
        raise ScopeError(msg, hint="see the scope schema in e5ops/data/scope.schema.json")
    _check_semantics(data, node, source)
    return Scope(source=source, data=data, text=text)


def _check_semantics(data: dict[str, Any], node: yaml.Node | None, source: str) -> None:
    seen: set[str] = set()
    for gate, spec in data["gates"].items():
        for index, criterion in enumerate(spec["criteria"]):
            path: list[str | int] = ["gates", gate, "criteria", index]
            line = _line_of(node, path)
            if criterion["id"] in seen:
                msg = f"{source}:{line}: criterion id {criterion['id']!r} is used twice"
                raise ScopeError(msg)
            seen.add(criterion["id"])
            check = CHECKS.get(criterion["check"])
            if check is None:
                line = _line_of(node, [*path, "check"])
                msg = f"{source}:{line}: unknown check {criterion['check']!r}"
                raise ScopeError(msg, hint="checks: " + ", ".join(sorted(CHECKS)))
            problem = check.parameter_problem(criterion.get("params") or {})
            if problem:
                msg = f"{source}:{_line_of(node, [*path, 'params'])}: {criterion['id']}: {problem}"
                raise ScopeError(msg)
    for index, waiver in enumerate(data.get("waivers") or []):
        if waiver["criterion"] not in seen:
            line = _line_of(node, ["waivers", index, "criterion"])
            name = waiver["criterion"]
            msg = f"{source}:{line}: the waiver names no criterion of this scope: {name!r}"
            raise ScopeError(msg)


def criterion_line(scope: Scope, gate: str, index: int | None) -> int:
    """Return the line of a gate's criterion in the scope file, or of the gate (``index`` None)."""
    node = yaml.compose(scope.text, Loader=_Loader)
    path: list[str | int] = ["gates", gate] if index is None else ["gates", gate, "criteria", index]
    return _line_of(node, path)


def load_waivers(path: Path) -> list[dict[str, str]]:
    """Read a waivers file: a YAML list of waivers, as in a scope file's ``waivers``.

    Raises:
        ScopeError: The file is invalid; the message names the file and line.

    """
    try:
        text = path.read_text(encoding="utf-8")
        node = yaml.compose(text, Loader=_Loader)
        data = yaml.load(text, Loader=_Loader)  # noqa: S506 - _Loader is a SafeLoader
    except (OSError, yaml.YAMLError) as exc:
        msg = f"cannot read the waivers file {path}: {exc}"
        raise ScopeError(msg) from exc
    schema = {"type": "array", "items": load_schema(SCOPE_SCHEMA)["$defs"]["waiver"]}
    errors = sorted(
        jsonschema.Draft202012Validator(schema).iter_errors(data),
        key=lambda e: list(e.absolute_path),
    )
    if errors:
        parts = list(errors[0].absolute_path)
        msg = f"{path}:{_line_of(node, parts)}: {errors[0].message}"
        raise ScopeError(msg)
    return list(data)
