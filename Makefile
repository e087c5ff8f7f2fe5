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
#   make lint     shellcheck of scripts/*.sh and .ci/run
#   make stop-db  stop both private PostgreSQL clusters (data is kept)
#   make clean    stop them and delete .build*, .local (clusters, keys, venv)

SHELL := /bin/bash
.DEFAULT_GOAL := help

.PHONY: help run test schemathesis lint stop-db clean

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

stop-db:
	@bash scripts/dev-postgres.sh stop .local/pg-dev
	@bash scripts/dev-postgres.sh stop .local/pg-test

# `destroy` also deletes a cluster kept outside the checkout
# (/var/tmp/provisioner-pg-*, see scripts/dev-postgres.sh) and stops it first,
# so no server keeps running on deleted files.
clean:
	@bash scripts/dev-postgres.sh destroy .local/pg-dev
	@bash scripts/dev-postgres.sh destroy .local/pg-test
	rm -rf .build .build-* .build_* .local
