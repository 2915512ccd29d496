"""Runbooks that say what they need: every runbook declares the variables its commands use.

The lab test that runs every runbook's commands is tests/runbooks (`make
runbooks`): it needs a converged lab of its own. This part needs no lab.
"""

from __future__ import annotations

import re

import pytest
from runbook import KNOWN, RUNBOOKS, commands, declared_variables


@pytest.mark.parametrize("runbook", RUNBOOKS, ids=[path.name for path in RUNBOOKS])
def test_runbook_declares_what_the_lab_test_provides(runbook):
    text = runbook.read_text(encoding="utf-8")
    if not commands(text):
        return
    declared = declared_variables(text)
    assert declared, f"{runbook.name}: has ```sh blocks but no 'Variables:' line"
    assert declared <= KNOWN, (
        f"{runbook.name}: declares {sorted(declared - KNOWN)}, which the lab test does not "
        f"set; use {sorted(KNOWN)} (docs/runbooks/README.md)"
    )
    used = set()
    for command in commands(text):
        used |= set(re.findall(r"\$\{?([A-Z][A-Z0-9_]*)", command.text))
    assigned = {
        c.text.split("=", 1)[0] for c in commands(text) if re.match(r"[A-Z][A-Z0-9_]*=", c.text)
    }
    undeclared = used - declared - assigned - {"PWD", "HOME", "PATH"}
    assert not undeclared, f"{runbook.name}: commands use {sorted(undeclared)}, not declared"


def test_the_required_runbooks_are_there():
    names = {path.name for path in RUNBOOKS}
    assert {
        "deploy-and-rollback.md",
        "certificate-rotation.md",
        "restore-from-backup.md",
        "replace-a-host.md",
    } <= names
