# The two commands of the README, and the steps they are made of.
# Each target installs what it needs first (scripts/bootstrap), so both work
# on a fresh Debian 12 machine and are safe to run twice.

.PHONY: run test faults runbooks bootstrap

# The E5 pipeline on the lab. APPROVER and DECISION answer step 06 without a
# prompt: make run APPROVER="Your Name" DECISION=authorize
run: bootstrap
	.venv/bin/e5ops pipeline $(if $(APPROVER),--approver "$(APPROVER)") $(if $(DECISION),--decision "$(DECISION)")

test: bootstrap
	scripts/test

# The fault suite: each case breaks one part of a converged lab on purpose.
faults: bootstrap
	scripts/lab-suite tests/faults

# Every runbook's commands, run against a converged lab.
runbooks: bootstrap
	scripts/lab-suite tests/runbooks

bootstrap:
	scripts/bootstrap
