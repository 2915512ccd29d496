"""Every role's interface agrees with itself: defaults, argument specs and README.

The argument specs are what Ansible validates input against, the defaults are
what a role runs with, and the README is what users read. A variable missing
from any one of them is a bug in that role.
"""

from pathlib import Path

import pytest
import yaml

from e5ops.roledocs import update_readme

ROLES = sorted(p.parent.parent for p in Path("roles").glob("*/tasks/main.yml"))


def _load(path):
    return yaml.safe_load(path.read_text()) if path.is_file() else None


def _spec_options(role):
    specs = _load(role / "meta" / "argument_specs.yml")
    assert specs, f"{role}/meta/argument_specs.yml is missing or empty"
    options = {}
    for entry in specs["argument_specs"].values():
        options.update(entry.get("options") or {})
    return options


def _public_defaults(role):
    defaults = _load(role / "defaults" / "main.yml") or {}
    return {name: value for name, value in defaults.items() if not name.startswith("_")}


def test_there_are_roles_to_check():
    assert ROLES, "no roles found: run the tests from the repository root"


@pytest.mark.parametrize("role", ROLES, ids=lambda r: r.name)
def test_every_default_is_in_the_argument_specs_and_back(role):
    options = _spec_options(role)
    defaults = _public_defaults(role)
    assert sorted(set(defaults) - set(options)) == [], "in defaults/ but not in the specs"
    missing = [name for name, spec in options.items() if "default" in spec and name not in defaults]
    assert missing == [], "a default in the specs but not in defaults/main.yml"


@pytest.mark.parametrize("role", ROLES, ids=lambda r: r.name)
def test_spec_defaults_equal_the_role_defaults(role):
    options = _spec_options(role)
    defaults = _public_defaults(role)
    differ = {
        name: (options[name]["default"], value)
        for name, value in defaults.items()
        if "default" in options.get(name, {})
        and options[name]["default"] != value
        and not (isinstance(value, str) and "{{" in value)
    }
    assert differ == {}, "specs default != defaults/main.yml value"


@pytest.mark.parametrize("role", ROLES, ids=lambda r: r.name)
def test_every_option_is_described_and_typed(role):
    for name, spec in _spec_options(role).items():
        assert spec.get("description"), f"{name} has no description"
        assert spec.get("type"), f"{name} has no type"


@pytest.mark.parametrize("role", ROLES, ids=lambda r: r.name)
def test_readme_variables_are_rendered_from_the_current_specs(role):
    assert (role / "README.md").is_file(), f"{role} has no README.md"
    assert update_readme(role, check=True).up_to_date, "run `e5ops docs` and commit the README"


def test_a_stale_readme_is_found_and_rendering_fixes_it(tmp_path):
    role = tmp_path / "demo"
    (role / "meta").mkdir(parents=True)
    (role / "meta" / "argument_specs.yml").write_text(
        "argument_specs:\n  main:\n    options:\n"
        "      demo_port: {type: int, default: 8080, description: Port | to listen on.}\n"
    )
    (role / "README.md").write_text("# demo\n\nIntro.\n")
    assert not update_readme(role, check=True).up_to_date
    assert "demo_port" not in (role / "README.md").read_text(), "check mode wrote the file"
    update_readme(role, check=False)
    text = (role / "README.md").read_text()
    assert "| `demo_port` | int | `8080` | Port \\| to listen on. |" in text
    assert text.startswith("# demo\n\nIntro.\n")
    assert update_readme(role, check=True).up_to_date
