"""Role READMEs whose variable tables are generated from ``meta/argument_specs.yml``.

The specs are what Ansible validates a role's input against, so they are the
one place variables are described; the README's table is rendered from them
between two markers, and ``e5ops docs --check`` fails when it is out of date.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import yaml

from e5ops.errors import UsageError

if TYPE_CHECKING:
    from pathlib import Path

BEGIN = "<!-- BEGIN generated from meta/argument_specs.yml by `e5ops docs`; do not edit -->"
END = "<!-- END generated -->"


@dataclass(frozen=True)
class ReadmeUpdate:
    """The state of one role's README after rendering."""

    role: str
    path: Path
    up_to_date: bool


def _cell(text: str) -> str:
    return " ".join(text.split()).replace("|", "\\|")


def _default(value: Any) -> str:  # noqa: ANN401 - a default can be of any YAML type
    if isinstance(value, str):
        return f"`{value}`" if value else '`""`'
    return f"`{json.dumps(value)}`"


def render_variables(role: Path) -> str:
    """Return the Markdown tables of a role's variables, one per entry point.

    Raises:
        UsageError: The role has no argument specs.

    """
    path = role / "meta" / "argument_specs.yml"
    if not path.is_file():
        msg = f"role {role.name} has no meta/argument_specs.yml"
        raise UsageError(msg, hint="describe the role's variables there first")
    specs = yaml.safe_load(path.read_text(encoding="utf-8"))["argument_specs"]
    parts = []
    for entry, spec in specs.items():
        rows = [f"### Entry point `{entry}`", ""] if len(specs) > 1 else []
        rows += ["| variable | type | default | description |", "|---|---|---|---|"]
        for name, option in sorted((spec.get("options") or {}).items()):
            description = option.get("description", "")
            if isinstance(description, list):
                description = " ".join(description)
            kind = option.get("type", "str")
            if option.get("elements"):
                kind = f"{kind} of {option['elements']}"
            default = (
                _default(option["default"])
                if "default" in option
                else ("**required**" if option.get("required") else "")
            )
            if option.get("choices"):
                description += " One of: " + ", ".join(f"`{c}`" for c in option["choices"]) + "."
            rows.append(f"| `{name}` | {kind} | {default} | {_cell(description)} |")
        parts.append("\n".join(rows))
    return "\n\n".join(parts)


def update_readme(role: Path, *, check: bool) -> ReadmeUpdate:
    """Render the variables into ``role/README.md`` (or only compare, with ``check``).

    A README without the markers gets the section appended at its end.
    """
    readme = role / "README.md"
    text = readme.read_text(encoding="utf-8") if readme.is_file() else f"# {role.name}\n"
    block = f"{BEGIN}\n\n{render_variables(role)}\n\n{END}"
    if BEGIN in text and END in text:
        head, rest = text.split(BEGIN, 1)
        tail = rest.split(END, 1)[1]
        updated = f"{head}{block}{tail}"
    else:
        updated = f"{text.rstrip()}\n\n## Variables\n\n{block}\n"
    up_to_date = updated == text
    if not up_to_date and not check:
        readme.write_text(updated, encoding="utf-8")
    return ReadmeUpdate(role=role.name, path=readme, up_to_date=up_to_date)


def update_all(project: Path, *, check: bool) -> tuple[ReadmeUpdate, ...]:
    """Render (or check) the README of every role of the collection."""
    roles = sorted(p.parent.parent for p in (project / "roles").glob("*/meta/argument_specs.yml"))
    return tuple(update_readme(role, check=check) for role in roles)
