# shellcheck shell=bash
# bench/lib.sh: the set-up the bench scripts share; sourced by them, not run.
#
#   bench_binaries PRODUCT...  release builds of the products, unless BIN_DIR is set; sets BIN_DIR
#   bench_database NAME [URL]  uses URL (an owner's, already migrated) if given, else creates
#                              NAME_<pid> in the test cluster (.local/pg-test, port 54330) and
#                              drops it on exit (bench_fresh_database=1); exports DATABASE_URL
#                              and the service's environment (a throwaway encryption key unless
#                              PROVISIONER_ENCRYPTION_KEYS is set, the migrations, LOG_LEVEL
#                              warning)
#   bench_pid=$!               the process under test: sent SIGTERM, and waited for, on exit
#   bench_stop                 stops it now (stop_process of scripts/lib.sh)
#   bench_serve COMMAND PORT   starts `provisioner COMMAND` (serve or run) as the process under
#                              test and waits up to 10 s for its /readyz on PORT

bench_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# shellcheck source=scripts/lib.sh
. "$bench_root/scripts/lib.sh"
bench_pid=""
bench_server=""
bench_dropdb=""
# shellcheck disable=SC2034 # read by the scripts that source this file
bench_fresh_database=0

bench_binaries() {
	if [ -z "${BIN_DIR:-}" ]; then
		local product
		for product in "$@"; do swift build -c release --product "$product" >&2; done
		BIN_DIR="$(swift build -c release --show-bin-path)"
	fi
}

bench_database() { # NAME [URL]
	if [ -n "${2:-}" ]; then
		DATABASE_URL="$2"
	else
		bench_server="$(bash "$bench_root/scripts/dev-postgres.sh" ensure "$bench_root/.local/pg-test" 54330 postgres --no-fsync 2>/dev/null)"
		bench_dropdb="${1}_$$"
		psql "$bench_server" -X -q -c "CREATE DATABASE $bench_dropdb" >/dev/null
		DATABASE_URL="${bench_server%/*}/$bench_dropdb"
		# shellcheck disable=SC2034 # read by the scripts that source this file
		bench_fresh_database=1
	fi
	export DATABASE_URL
	PROVISIONER_ENCRYPTION_KEYS="${PROVISIONER_ENCRYPTION_KEYS:-$(new_encryption_key bench)}"
	export PROVISIONER_ENCRYPTION_KEYS
	export PROVISIONER_MIGRATIONS_DIR="$bench_root/migrations"
	export LOG_LEVEL="${LOG_LEVEL:-warning}"
	# Throughput from one token and one address goes far past the rate limits (README, "Rate
	# limits"): off, unless the caller sets them (to measure their cost).
	export PROVISIONER_RATE_LIMIT_AUTH_FAILURES="${PROVISIONER_RATE_LIMIT_AUTH_FAILURES:-0}"
	export PROVISIONER_RATE_LIMIT_TOKEN_REQUESTS="${PROVISIONER_RATE_LIMIT_TOKEN_REQUESTS:-0}"
	export PROVISIONER_RATE_LIMIT_UPLOADS="${PROVISIONER_RATE_LIMIT_UPLOADS:-0}"
	export PROVISIONER_RATE_LIMIT_LINKS="${PROVISIONER_RATE_LIMIT_LINKS:-0}"
}

bench_stop() {
	if [ -n "$bench_pid" ]; then stop_process "$bench_pid"; fi
	bench_pid=""
}

bench_serve() { # COMMAND PORT
	"$BIN_DIR/provisioner" "$1" 2> >(grep -v ' info ' >&2) &
	bench_pid=$!
	local _
	for _ in $(seq 1 100); do
		curl -fsS "http://127.0.0.1:$2/readyz" >/dev/null 2>&1 && return 0
		sleep 0.1
	done
	echo "bench: provisioner $1 is not ready on port $2" >&2
	exit 1
}

bench_cleanup() {
	bench_stop
	if [ -n "$bench_dropdb" ]; then
		psql "$bench_server" -X -q -c "DROP DATABASE IF EXISTS $bench_dropdb WITH (FORCE)" >/dev/null 2>&1 || true
	fi
}
trap bench_cleanup EXIT
