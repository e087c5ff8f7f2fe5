# Developer and CI entry points. Each target is a script in scripts/ (read them
# for details); the scripts install what is missing on a Debian 12 machine.
#
#   make run      build (release) and serve API + worker on http://127.0.0.1:8080,
#                 with a private PostgreSQL in .local/pg-dev (127.0.0.1:54329)
#                 unless DATABASE_URL is set; prints a support token
#   make test     swift build --build-tests, swift test --parallel against a private
#                 PostgreSQL in .local/pg-test (127.0.0.1:54330) unless
#                 TEST_DATABASE_URL is set, then the schemathesis gate (port 18080)
#   make schemathesis   the schemathesis gate alone
#   make lint     shellcheck of every script, yamllint, kubernetes-validate of deploy/kubernetes,
#                 hadolint of the Dockerfile, systemd-analyze of the units (scripts/lint.sh)
#   make fuzz     libFuzzer over the client_secrets.json parser and verifier for
#                 FUZZ_SECONDS (default 60); fuzz/run.sh; crashes in .local/fuzz-artifacts
#   make fault    fault tests against the debug build: workers SIGKILLed mid-drain
#                 (scripts/fault-worker-kill.sh), PostgreSQL stopped under upload load
#                 (scripts/fault-db-restart.sh), workers SIGKILLed mid-delivery of webhooks
#                 (scripts/fault-webhook-kill.sh)
#   make bench    every bench/*.sh (release build), then one table of the figures
#   make stop-db  stop the private PostgreSQL clusters (data is kept)
#   make clean    stop them and delete .build*, .local (clusters, keys, venv)

SHELL := /bin/bash
.DEFAULT_GOAL := help

.PHONY: help run test schemathesis lint fuzz fault bench stop-db clean

help:
	@sed -n 's/^#   //p' $(firstword $(MAKEFILE_LIST))

run:
	@bash scripts/run-dev.sh

test:
	@bash scripts/test.sh

schemathesis:
	@bash scripts/schemathesis.sh

lint:
	@bash scripts/lint.sh

fuzz:
	@bash fuzz/run.sh

fault:
	@bash scripts/fault-worker-kill.sh
	@bash scripts/fault-db-restart.sh
	@bash scripts/fault-webhook-kill.sh

bench:
	@bash bench/run-all.sh

stop-db:
	@bash scripts/dev-postgres.sh stop .local/pg-dev
	@bash scripts/dev-postgres.sh stop .local/pg-test
	@bash scripts/dev-postgres.sh stop .local/pg-fault

# `destroy` also deletes a cluster kept outside the checkout
# (/var/tmp/provisioner-pg-*, see scripts/dev-postgres.sh) and stops it first,
# so no server keeps running on deleted files.
clean:
	@bash scripts/dev-postgres.sh destroy .local/pg-dev
	@bash scripts/dev-postgres.sh destroy .local/pg-test
	@bash scripts/dev-postgres.sh destroy .local/pg-fault
	rm -rf .build .build-* .build_* .local fuzz/.build
