# The two commands of the README, and the steps they are made of.
# Each target installs what it needs first (scripts/bootstrap), so both work
# on a fresh Debian 12 machine and are safe to run twice.

.PHONY: run test bootstrap lint unit lab-test molecule

run: bootstrap
	.venv/bin/e5ops lab up
	.venv/bin/e5ops run playbooks/site.yml

test: bootstrap
	scripts/test

bootstrap:
	scripts/bootstrap
