# shellcheck shell=bash
# Helpers of the fault tests (scripts/fault-*.sh). Source it after lib.sh; do not run it.
#
# Each test works in a database of its own on a dedicated throwaway cluster
# (FAULT_PG_DIR, default .local/pg-fault, on 127.0.0.1:FAULT_PG_PORT, default 54331,
# fsync off), so that stopping PostgreSQL disturbs no other test. A cluster the test
# started is stopped on exit (and deleted under CI=true); one that already ran is left
# running, with the test's database dropped. Binaries: $BIN_DIR if set, else the debug
# build (`swift build --product provisioner`, `--product provisioner-bench`; a no-op after
# `make test`). Logs and client output: .local/fault/NAME/.

FAULT_PG_DIR="${FAULT_PG_DIR:-.local/pg-fault}"
FAULT_PG_PORT="${FAULT_PG_PORT:-54331}"
FAULT_PIDS=()
fault_cluster_started=0
fault_server_url=""
fault_db=""

# fault_setup NAME: binaries, cluster, a fresh database NAME_PID; exports DATABASE_URL,
# PROVISIONER_ENCRYPTION_KEYS, PROVISIONER_MIGRATIONS_DIR; sets PROVISIONER, BENCH, FAULT_DIR.
fault_setup() {
	local name="$1"
	bootstrap
	unset DATABASE_URL
	FAULT_DIR=".local/fault/$name"
	rm -rf "$FAULT_DIR"
	mkdir -p "$FAULT_DIR"
	if [ -z "${BIN_DIR:-}" ]; then
		log "swift build --product provisioner / provisioner-bench (debug)"
		swift build --product provisioner >&2 || die "swift build --product provisioner failed"
		swift build --product provisioner-bench >&2 || die "swift build --product provisioner-bench failed"
		BIN_DIR="$(swift build --show-bin-path)"
	fi
	PROVISIONER="$BIN_DIR/provisioner"
	BENCH="$BIN_DIR/provisioner-bench"
	if ! [ -x "$PROVISIONER" ] || ! [ -x "$BENCH" ]; then die "provisioner or provisioner-bench missing in $BIN_DIR"; fi

	if ! bash "$REPO_ROOT/scripts/dev-postgres.sh" status "$FAULT_PG_DIR" >/dev/null 2>&1; then
		fault_cluster_started=1
	fi
	fault_server_url="$(bash "$REPO_ROOT/scripts/dev-postgres.sh" ensure "$FAULT_PG_DIR" "$FAULT_PG_PORT" postgres --no-fsync --free-port)" ||
		die "could not start the fault cluster $FAULT_PG_DIR near port $FAULT_PG_PORT"
	# The port it got (another checkout may hold the usual one): restarts reuse it.
	FAULT_PG_PORT="${fault_server_url##*:}"
	FAULT_PG_PORT="${FAULT_PG_PORT%%/*}"
	fault_db="fault_${name//-/_}_$$"
	psql "$fault_server_url" -X -q -v ON_ERROR_STOP=1 -c "CREATE DATABASE $fault_db" >/dev/null ||
		die "could not create database $fault_db"
	DATABASE_URL="${fault_server_url%/*}/$fault_db"
	export DATABASE_URL
	PROVISIONER_ENCRYPTION_KEYS="$(new_encryption_key fault)"
	export PROVISIONER_ENCRYPTION_KEYS
	export PROVISIONER_MIGRATIONS_DIR="$REPO_ROOT/migrations"
	export PROVISIONER_LIVE_CHECK=off PROVISIONER_GOOGLE_TOKEN_URL="http://127.0.0.1:9/token"
	# The load (FAULT_RATE uploads/s of one tenant, any rate) is about recovery, not rate limits.
	export PROVISIONER_RATE_LIMIT_AUTH_FAILURES=0 PROVISIONER_RATE_LIMIT_TOKEN_REQUESTS=0
	export PROVISIONER_RATE_LIMIT_UPLOADS=0 PROVISIONER_RATE_LIMIT_LINKS=0
	export LOG_LEVEL="${LOG_LEVEL:-notice}"
	"$PROVISIONER" migrate >"$FAULT_DIR/migrate.log" 2>&1 || die "provisioner migrate failed (see $FAULT_DIR/migrate.log)"
	log "database $fault_db on 127.0.0.1:$FAULT_PG_PORT (logs in $FAULT_DIR/)"
}

# The EXIT trap of every fault test: stops what it started, drops its database.
fault_cleanup() {
	local rc=$? pid
	trap - EXIT
	for pid in "${FAULT_PIDS[@]}"; do stop_process "$pid"; done
	if [ -n "$fault_server_url" ]; then
		if [ "$fault_cluster_started" = 1 ] && [ "${CI:-}" = true ]; then
			bash "$REPO_ROOT/scripts/dev-postgres.sh" destroy "$FAULT_PG_DIR" >/dev/null 2>&1 || true
		else
			# The test may have left it stopped: bring it back to drop the database.
			bash "$REPO_ROOT/scripts/dev-postgres.sh" ensure "$FAULT_PG_DIR" "$FAULT_PG_PORT" >/dev/null 2>&1 || true
			if [ -n "$fault_db" ]; then
				psql "$fault_server_url" -X -q -c "DROP DATABASE IF EXISTS $fault_db WITH (FORCE)" >/dev/null 2>&1 || true
			fi
			if [ "$fault_cluster_started" = 1 ]; then
				bash "$REPO_ROOT/scripts/dev-postgres.sh" stop "$FAULT_PG_DIR" >/dev/null 2>&1 || true
			fi
		fi
	fi
	exit "$rc"
}

# fault_sql SQL: one value (or rows, |-separated) from the test database.
fault_sql() {
	psql "$DATABASE_URL" -X -q -At -v ON_ERROR_STOP=1 -c "$1"
}

# fault_states: "pending=N verifying=N verified=N superseded=N rejected=N" of every upload.
fault_states() {
	fault_sql "SELECT 'pending=' || count(*) FILTER (WHERE state = 'pending')
	                || ' verifying=' || count(*) FILTER (WHERE state = 'verifying')
	                || ' verified=' || count(*) FILTER (WHERE state = 'verified')
	                || ' superseded=' || count(*) FILTER (WHERE state = 'superseded')
	                || ' rejected=' || count(*) FILTER (WHERE state = 'rejected')
	           FROM credentials"
}

# fault_wait_settled SECONDS: until no upload is pending or verifying; fails after SECONDS.
fault_wait_settled() {
	local deadline=$((SECONDS + $1)) waiting
	while :; do
		waiting="$(fault_sql "SELECT count(*) FROM credentials WHERE state IN ('pending', 'verifying')")" || waiting=unknown
		[ "$waiting" = 0 ] && return 0
		if [ "$SECONDS" -ge "$deadline" ]; then
			log "still waiting after $1 s: $(fault_states)"
			return 1
		fi
		sleep 0.5
	done
}
