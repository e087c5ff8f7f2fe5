#!/usr/bin/env bash
# `make test`: every test, against a real PostgreSQL, then the schemathesis gate.
#
#  1. Swift toolchain + missing Debian packages (lib.sh).
#  2. TEST_DATABASE_URL, unless set: a private cluster in .local/pg-test on
#     127.0.0.1:54330, or the next free port when another checkout holds it (fsync off), URL of database `postgres` as the superuser
#     provisioner_owner. Tests create their own isolated databases from it.
#     It is never the `make run` cluster (.local/pg-dev, port 54329), and
#     DATABASE_URL is unset so that no test can reach the dev data by accident.
#  3. swift build --build-tests; docs/schema.sql checked against the migrations
#     (scripts/schema.sh --check); swift test --parallel, in two runs: the worker's suites
#     (queues draining thousands of jobs, webhook receivers, slow endpoints) apart from the
#     others, so that neither pushes the other's database calls past their 5 s deadline on
#     a 2-core machine.
#  4. scripts/schemathesis.sh (skipped only if SKIP_SCHEMATHESIS=1; CI never sets it).
#  5. scripts/browser-test.sh (the web pages in headless Chromium), scripts/runtime-library-test.sh
#     (the runtime's secret read through google-auth-oauthlib), scripts/pooler-test.sh (two serve
#     and two work behind PgBouncer in transaction mode, one of each SIGKILLed midway).
# Under CI=true the test cluster this script started is deleted on exit.
set -euo pipefail

LOG_TAG=make-test
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=scripts/lib.sh
. "$here/lib.sh"
cd "$REPO_ROOT"

TEST_PG_DIR=.local/pg-test
TEST_PG_PORT="${TEST_PG_PORT:-54330}"

bootstrap
unset DATABASE_URL

if [ -n "${TEST_DATABASE_URL:-}" ]; then
	log "using TEST_DATABASE_URL from the environment"
else
	# 54330 unless it is taken by something else (another checkout's cluster): then the next free port.
	TEST_DATABASE_URL="$(bash "$here/dev-postgres.sh" ensure "$TEST_PG_DIR" "$TEST_PG_PORT" postgres --no-fsync --free-port)"
	if [ "${CI:-}" = true ]; then
		# CI works in a fresh clone each time: nothing to keep. `destroy` also
		# removes a cluster kept in /var/tmp (clone under /root), so those do
		# not pile up from run to run.
		trap 'bash "$here/dev-postgres.sh" destroy "$TEST_PG_DIR" || true' EXIT
	fi
fi
export TEST_DATABASE_URL

log "swift build --build-tests"
swift build --build-tests

log "docs/schema.sql against the migrations"
bash "$here/schema.sh" --check

log "swift test --parallel, all but the worker's suites (TEST_DATABASE_URL on ${TEST_DATABASE_URL##*@})"
swift test --skip-build --parallel --skip ProvisionerWorkerTests
log "swift test --parallel, the worker's suites"
swift test --skip-build --parallel --filter ProvisionerWorkerTests

if [ "${SKIP_SCHEMATHESIS:-0}" = 1 ]; then
	warn "SKIP_SCHEMATHESIS=1: the schemathesis gate did not run"
else
	bash "$here/schemathesis.sh"
fi
# The web console in headless Chromium (scripts/browser-test.sh; screenshots in .local/screenshots/).
bash "$here/browser-test.sh"
# The runtime's secret read through google-auth-oauthlib (scripts/runtime-library-test.sh).
bash "$here/runtime-library-test.sh"
# Behind PgBouncer in transaction mode, with SIGKILLs (scripts/pooler-test.sh).
bash "$here/pooler-test.sh"
log "all tests passed"
