#!/usr/bin/env bash
# `make run`: build the service and run it in the foreground on this machine.
#
#  1. Swift toolchain on PATH (/opt/swift is used if swift is not on PATH);
#     missing Debian packages installed (see BOOTSTRAP_PACKAGES in lib.sh).
#  2. swift build -c release --product provisioner
#  3. DATABASE_URL, unless set: a private PostgreSQL in .local/pg-dev on
#     127.0.0.1:54329, database `provisioner` (its data is kept between runs; a
#     cluster this run started is stopped again when the service stops).
#  4. PROVISIONER_ENCRYPTION_KEYS, unless set: from .local/dev-encryption-keys,
#     made once (dev1:<base64 of 32 random bytes>, mode 600). Keep that file:
#     the dev database's secrets are encrypted under it.
#  5. provisioner migrate; provisioner token create --role support; prints the
#     token and the base URL.
#  6. provisioner run (API + worker) until Ctrl-C, which stops everything this run
#     started.
set -euo pipefail

LOG_TAG=make-run
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=scripts/lib.sh
. "$here/lib.sh"
cd "$REPO_ROOT"

DEV_PG_DIR=.local/pg-dev
DEV_PG_PORT="${DEV_PG_PORT:-54329}"
DEV_DB=provisioner
KEYS_FILE=.local/dev-encryption-keys

bootstrap

log "swift build -c release --product provisioner"
swift build -c release --product provisioner
bin="$(swift build -c release --show-bin-path)/provisioner"
[ -x "$bin" ] || die "build finished but $bin is missing"

started_db=0
if [ -n "${DATABASE_URL:-}" ]; then
	log "using DATABASE_URL from the environment"
else
	bash "$here/dev-postgres.sh" status "$DEV_PG_DIR" >/dev/null 2>&1 || started_db=1
	DATABASE_URL="$(bash "$here/dev-postgres.sh" ensure "$DEV_PG_DIR" "$DEV_PG_PORT" "$DEV_DB")"
	export DATABASE_URL
fi

# Ctrl-C stops what this run started: the service (it handles SIGINT itself), then the
# cluster if it was not running before. bash runs this on a signal too.
stop_started_db() {
	if [ "$started_db" = 1 ]; then
		log "stopping the PostgreSQL cluster this run started (its data is kept)"
		bash "$here/dev-postgres.sh" stop "$DEV_PG_DIR" >/dev/null 2>&1 || warn "could not stop the cluster in $DEV_PG_DIR; 'make stop-db' does"
	fi
}
trap stop_started_db EXIT

if [ -n "${PROVISIONER_ENCRYPTION_KEYS:-}" ]; then
	log "using PROVISIONER_ENCRYPTION_KEYS from the environment"
else
	if [ ! -s "$KEYS_FILE" ]; then
		mkdir -p "$(dirname "$KEYS_FILE")"
		(
			umask 077
			new_encryption_key dev1 >"$KEYS_FILE.tmp"
		)
		mv -f "$KEYS_FILE.tmp" "$KEYS_FILE"
		log "created $KEYS_FILE (keep it: the dev database's secrets are encrypted under it)"
	fi
	PROVISIONER_ENCRYPTION_KEYS="$(tr -d '[:space:]' <"$KEYS_FILE")"
	export PROVISIONER_ENCRYPTION_KEYS
fi

host="${PROVISIONER_HOST:-127.0.0.1}"
port="${PROVISIONER_PORT:-8080}"

log "provisioner migrate"
"$bin" migrate || die "provisioner migrate failed"

log "provisioner token create --role support --name make-run"
token=""
if out="$("$bin" token create --role support --name make-run)"; then
	token="$(printf '%s\n' "$out" | tail -n1)"
else
	warn "could not create a support token (is 'provisioner token create' implemented?)"
fi
# Runtime tokens (the only role that reads secrets) come from this command alone, never the API.
log "provisioner token create --role runtime --name make-run-runtime"
runtime_token=""
if out="$("$bin" token create --role runtime --name make-run-runtime)"; then
	runtime_token="$(printf '%s\n' "$out" | tail -n1)"
else
	warn "could not create a runtime token"
fi

cat <<EOF

  provisioner: http://$host:$port   (API and worker; Ctrl-C stops it)
  support token: ${token:-<none>}
  runtime token: ${runtime_token:-<none>}   (reads secrets: for the CRM runtime only)
  try: curl -H 'Authorization: Bearer ${token:-TOKEN}' http://$host:$port/v1/tenants
  Ctrl-C stops the service$([ "$started_db" = 1 ] && echo ' and the PostgreSQL cluster it started'); the data is kept.

EOF
"$bin" run
