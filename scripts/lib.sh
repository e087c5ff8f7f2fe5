# shellcheck shell=bash
# Helpers shared by the developer/CI scripts. Source it; do not run it.
#
#   here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
#   # shellcheck source=scripts/lib.sh
#   . "$here/lib.sh"
#
# Progress goes to stderr as "[tag] ..." lines so that stdout stays usable for
# values (URLs, tokens). Every failure is a single "[tag] error: ..." line.

LOG_TAG="${LOG_TAG:-$(basename "$0" .sh)}"
export REPO_ROOT
REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export DEBIAN_FRONTEND=noninteractive

log() { printf '[%s] %s\n' "$LOG_TAG" "$*" >&2; }
warn() { printf '[%s] WARNING: %s\n' "$LOG_TAG" "$*" >&2; }
die() {
	printf '[%s] error: %s\n' "$LOG_TAG" "$*" >&2
	exit 1
}

is_root() { [ "$(id -u)" -eq 0 ]; }

# port_in_use PORT: does something accept connections on 127.0.0.1:PORT?
port_in_use() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# free_port PORT: PORT if nothing listens there, else the next free one (up to PORT+200).
# Another checkout's test cluster or server on the usual port must not stop this one.
free_port() {
	local port="$1"
	while port_in_use "$port"; do
		port=$((port + 1))
		[ "$port" -le $(($1 + 200)) ] || die "no free port in $1-$(($1 + 200)) on 127.0.0.1"
	done
	printf '%s\n' "$port"
}

# Is the Debian package's functionality present? Probes the files that the
# scripts use rather than package names (psql may come from
# postgresql-client-15 without the `postgresql-client` metapackage; python3
# may be a non-Debian interpreter that has venv built in).
pkg_present() {
	case "$1" in
	postgresql) compgen -G '/usr/lib/postgresql/*/bin/initdb' >/dev/null ;;
	postgresql-client) compgen -G '/usr/lib/postgresql/*/bin/psql' >/dev/null && command -v pg_isready >/dev/null ;;
	python3-venv) command -v python3 >/dev/null && python3 -c 'import venv, ensurepip' 2>/dev/null ;;
	*) dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'install ok installed' ;;
	esac
}

# apt_install_missing PKG...: installs from Debian's archive only what is
# missing; `apt-get update` runs at most once per top-level invocation (the
# marker is exported to child scripts).
apt_install_missing() {
	local missing=() p
	for p in "$@"; do
		pkg_present "$p" || missing+=("$p")
	done
	[ "${#missing[@]}" -eq 0 ] && return 0
	command -v apt-get >/dev/null || die "missing ${missing[*]} and no apt-get here: install them by hand"
	local sudo=()
	if ! is_root; then
		if command -v sudo >/dev/null && sudo -n true 2>/dev/null; then
			sudo=(sudo -n)
		else
			die "missing Debian packages: ${missing[*]} (run: sudo apt-get install -y ${missing[*]})"
		fi
	fi
	if [ -z "${PROVISIONER_APT_UPDATED:-}" ]; then
		log "apt-get update (missing: ${missing[*]})"
		"${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -qq </dev/null >&2 ||
			die "apt-get update failed"
		export PROVISIONER_APT_UPDATED=1
	fi
	log "apt-get install ${missing[*]}"
	"${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
		"${missing[@]}" </dev/null >&2 || die "apt-get install ${missing[*]} failed"
}

# ensure_swift: puts a Swift toolchain on PATH or fails with one line.
ensure_swift() {
	if ! command -v swift >/dev/null; then
		if [ -x /opt/swift/usr/bin/swift ]; then
			export PATH="/opt/swift/usr/bin:$PATH"
		else
			die "Swift toolchain not found: put 'swift' on PATH or install it under /opt/swift (https://www.swift.org/install/linux/)"
		fi
	fi
	log "using $(swift --version 2>/dev/null | head -n1)"
}

# Build dependencies and tools every entry point needs (Debian packages).
# swift-crypto and SwiftNIO vendor their C code, so no -dev libraries here.
BOOTSTRAP_PACKAGES=(postgresql postgresql-client python3-venv curl)

bootstrap() {
	ensure_swift
	apt_install_missing "${BOOTSTRAP_PACKAGES[@]}"
}

# stop_process PID: SIGTERM, up to 10 s for it to exit, then SIGKILL; reaps it.
stop_process() {
	local pid="$1"
	if kill -0 "$pid" 2>/dev/null; then
		kill -TERM "$pid" 2>/dev/null || true
		# Checked every 20 ms: bench/drain.sh times the worker's stop through this.
		for _ in $(seq 1 500); do
			kill -0 "$pid" 2>/dev/null || break
			sleep 0.02
		done
		kill -KILL "$pid" 2>/dev/null || true
	fi
	wait "$pid" 2>/dev/null || true
}

# wait_ready BASE_URL PID LOG [SECONDS=120]: until BASE_URL/readyz answers 200; dies with the
# log's last lines when the process PID exits first or the time runs out.
wait_ready() {
	local base="$1" pid="$2" logfile="$3" deadline=$((SECONDS + ${4:-120}))
	until curl -fs -o /dev/null --max-time 2 "$base/readyz"; do
		if ! kill -0 "$pid" 2>/dev/null; then
			tail -n 20 "$logfile" >&2 || true
			die "the server exited before $base/readyz answered 200 (see $logfile)"
		fi
		if [ "$SECONDS" -ge "$deadline" ]; then
			tail -n 20 "$logfile" >&2 || true
			die "$base/readyz did not answer 200 within ${4:-120}s (see $logfile)"
		fi
		sleep 0.5
	done
}

# provisioner_binary CONFIGURATION: sets `bin` to $PROVISIONER_BIN, else to a build of
# `provisioner` in CONFIGURATION (debug or release), built here (a no-op when up
# to date); stops when there is no executable there.
provisioner_binary() {
	local configuration="$1"
	if [ -n "${PROVISIONER_BIN:-}" ]; then
		bin="$PROVISIONER_BIN"
	else
		log "swift build -c $configuration --product provisioner"
		swift build -c "$configuration" --product provisioner
		bin="$(swift build -c "$configuration" --show-bin-path)/provisioner"
	fi
	[ -x "$bin" ] || die "provisioner binary not found at $bin"
}

# start_test_server BIN PORT LOG READY_SECONDS [VAR=VALUE...]: `provisioner run` on
# 127.0.0.1:PORT (live check off unless a VAR says otherwise) with the environment given
# (DATABASE_URL among it), once nothing else answers there; waits for its /readyz; stops it
# when the script exits (an EXIT trap; INT and TERM exit). Sets TEST_SERVER_PID.
start_test_server() {
	local bin="$1" port="$2" logfile="$3" ready="$4" base="http://127.0.0.1:$2"
	shift 4
	if curl -s -o /dev/null --max-time 2 "$base/"; then
		die "something already listens on 127.0.0.1:$port (set the script's port variable to another port)"
	fi
	TEST_SERVER_PID=""
	trap stop_test_server EXIT
	trap 'exit 130' INT
	trap 'exit 143' TERM
	log "provisioner run on $base (log: $logfile)"
	env PROVISIONER_HOST=127.0.0.1 PROVISIONER_PORT="$port" PROVISIONER_LIVE_CHECK=off "$@" \
		"$bin" run </dev/null >"$logfile" 2>&1 &
	TEST_SERVER_PID=$!
	wait_ready "$base" "$TEST_SERVER_PID" "$logfile" "$ready"
}

# stop_test_server: stops the server of start_test_server, if it runs.
stop_test_server() {
	[ -n "${TEST_SERVER_PID:-}" ] || return 0
	stop_process "$TEST_SERVER_PID"
	TEST_SERVER_PID=""
}

# new_encryption_key ID -> "ID:base64(32 random bytes)"
new_encryption_key() {
	printf '%s:%s\n' "$1" "$(head -c32 /dev/urandom | base64 -w0)"
}

# test_server_url: TEST_DATABASE_URL, else the test cluster's (.local/pg-test, started if needed).
test_server_url() {
	if [ -n "${TEST_DATABASE_URL:-}" ]; then
		printf '%s\n' "$TEST_DATABASE_URL"
	else
		bash "$REPO_ROOT/scripts/dev-postgres.sh" ensure .local/pg-test "${TEST_PG_PORT:-54330}" postgres --no-fsync --free-port
	fi
}

# fresh_migrated_database NAME BIN: database NAME dropped and created again on the test server
# (test_server_url), migrated with the provisioner binary BIN; prints its URL (same server and
# credentials; a ?query such as sslmode is kept).
fresh_migrated_database() {
	local name="$1" bin="$2" server url_path url_query url
	server="$(test_server_url)"
	url_path="${server%%\?*}"
	url_query="${server#"$url_path"}"
	url="${url_path%/*}/$name$url_query"
	log "fresh database $name"
	psql "$server" -X -q -v ON_ERROR_STOP=1 \
		-c "DROP DATABASE IF EXISTS $name WITH (FORCE)" -c "CREATE DATABASE $name" >/dev/null ||
		die "could not recreate database $name on ${server##*@}"
	DATABASE_URL="$url" "$bin" migrate >&2 || die "provisioner migrate failed on $name"
	printf '%s\n' "$url"
}
