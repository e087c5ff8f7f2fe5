#!/usr/bin/env bash
# A private PostgreSQL cluster for development and tests, under the checkout.
#
#   scripts/dev-postgres.sh ensure  DIR PORT [DBNAME] [--no-fsync] [--free-port]
#       Install PostgreSQL from Debian if missing, create the cluster in DIR if
#       missing, start it on 127.0.0.1:PORT if not running (reuse it if it is),
#       create DBNAME if given and missing. Prints the DATABASE_URL of DBNAME
#       (default: postgres) as the only line on stdout; progress goes to stderr.
#       --no-fsync: fsync/full_page_writes/synchronous_commit off (test
#       clusters only: a crash of the machine may lose or corrupt the data).
#       --free-port: PORT is only preferred. A running cluster keeps the port it
#       has; otherwise, when something else (another checkout's cluster, say)
#       listens on PORT, the next free port is taken.
#   scripts/dev-postgres.sh url     DIR PORT DBNAME   print the URL (no side effects)
#   scripts/dev-postgres.sh stop    DIR               stop the cluster if running
#   scripts/dev-postgres.sh status  DIR               say whether it runs (exit 0 if so)
#   scripts/dev-postgres.sh destroy DIR               stop it and delete its data
#
# Layout. DIR (e.g. .local/pg-dev) belongs to the invoking user and holds
#   DIR/password   the password of role provisioner_owner (made once, mode 600)
#   DIR/cluster    the cluster root (a directory, or a symlink, see below):
#     cluster/data         PGDATA
#     cluster/run          unix socket directory
#     cluster/postgres.log server log
# Connections: TCP on 127.0.0.1:PORT only (plus the socket in cluster/run),
# `trust` for all of them: this cluster is private to a developer box and is
# reachable only from loopback. The superuser is `provisioner_owner`; it still
# gets a password so that DATABASE_URL has the production shape
# postgres://provisioner_owner:PASSWORD@127.0.0.1:PORT/DB.
#
# Running as root. initdb and postgres refuse to run as root, so as root the
# cluster belongs to the system user `provisioner-dev` (created on demand with
# useradd --system) and every server-side command runs through `runuser -u`.
# That user must be able to reach DIR/cluster. A checkout under /root (mode
# 700) is not traversable by it, and we do not loosen the permissions of the
# user's home. So: if `provisioner-dev` can enter DIR, the cluster lives in
# DIR/cluster; otherwise it lives in
#   /var/tmp/provisioner-pg-<sha256(absolute DIR), 12 hex>-<basename DIR>
# (/var/tmp survives reboots; the hash keeps two checkouts apart) and
# DIR/cluster is a symlink to it, so the choice is recorded once and reused.
# The external directory must be a real directory owned by provisioner-dev
# with mode 700, or we refuse to use it (it sits in a world-writable place).
# `destroy` (and `make clean`) deletes it too.
set -euo pipefail

LOG_TAG=dev-postgres
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=scripts/lib.sh
. "$here/lib.sh"

PG_SYSTEM_USER=provisioner-dev
PG_SUPERUSER=provisioner_owner

usage() {
	cat >&2 <<'EOF'
usage: dev-postgres.sh ensure  DIR PORT [DBNAME] [--no-fsync] [--free-port]
       dev-postgres.sh url     DIR PORT DBNAME
       dev-postgres.sh stop    DIR
       dev-postgres.sh status  DIR
       dev-postgres.sh destroy DIR
EOF
	exit 2
}

abs_path() { # absolute path of $1 (which may not exist yet); no symlink resolution
	case "$1" in
	/*) printf '%s\n' "$1" ;;
	*) printf '%s/%s\n' "$(pwd)" "${1#./}" ;;
	esac
}

check_port() {
	if ! [[ "$1" =~ ^[0-9]+$ ]] || [ "$1" -lt 1024 ] || [ "$1" -gt 65535 ]; then
		die "PORT must be a number in 1024-65535, got '$1'"
	fi
}

check_dbname() {
	[[ "$1" =~ ^[a-z_][a-z0-9_]{0,62}$ ]] || die "DBNAME must match [a-z_][a-z0-9_]*, got '$1'"
}

# PostgreSQL binaries: the highest version under /usr/lib/postgresql/*/bin,
# or the version that made an existing cluster.
pg_bindir() { # [MAJOR]
	local want="${1:-}" d
	if [ -n "$want" ]; then
		d="/usr/lib/postgresql/$want/bin"
		[ -x "$d/postgres" ] || die "the cluster was made by PostgreSQL $want but $d is missing (install postgresql-$want, or delete the cluster with: $0 destroy DIR)"
		printf '%s\n' "$d"
		return
	fi
	d="$(compgen -G '/usr/lib/postgresql/*/bin' | sort -V | tail -n1 || true)"
	if [ -z "$d" ] || [ ! -x "$d/initdb" ]; then
		die "no PostgreSQL server binaries under /usr/lib/postgresql/*/bin"
	fi
	printf '%s\n' "$d"
}

# as_pg CMD...: run a server-side command as the cluster's owner. Lock fd 9
# is closed for it: a server started from here must not inherit (and hold) the
# lock that serialises `ensure`.
as_pg() {
	if [ "$PG_USER" = "$(id -un)" ]; then
		"$@" 9>&-
	else
		# cd / so that the unprivileged user does not start in an unreadable cwd.
		(cd / && runuser -u "$PG_USER" -- "$@" 9>&-)
	fi
}

ensure_system_user() {
	getent passwd "$PG_SYSTEM_USER" >/dev/null && return 0
	log "creating system user $PG_SYSTEM_USER (initdb refuses to run as root)"
	useradd --system --user-group --home-dir /nonexistent --no-create-home \
		--shell /usr/sbin/nologin --comment "provisioner dev PostgreSQL" "$PG_SYSTEM_USER" ||
		die "useradd $PG_SYSTEM_USER failed"
}

# Sets DIR, CLUSTER (resolved cluster root, may not exist yet), PG_USER.
resolve_dir() {
	DIR="$(abs_path "$1")"
	DIR="${DIR%/}"
	CLUSTER="$DIR/cluster"
	if [ -L "$CLUSTER" ]; then
		CLUSTER="$(readlink -- "$CLUSTER")"
	fi
	if [ -d "$CLUSTER/data" ]; then
		PG_USER="$(stat -c %U -- "$CLUSTER/data")"
	elif is_root; then
		PG_USER="$PG_SYSTEM_USER"
	else
		PG_USER="$(id -un)"
	fi
	DATA="$CLUSTER/data"
	if ! is_root && [ "$PG_USER" != "$(id -un)" ]; then
		die "the cluster in $1 belongs to $PG_USER; run this as $PG_USER or as root"
	fi
}

external_root() { # /var/tmp/provisioner-pg-<hash>-<name> for $DIR
	local hash
	hash="$(printf '%s' "$DIR" | sha256sum | cut -c1-12)"
	printf '/var/tmp/provisioner-pg-%s-%s\n' "$hash" "$(basename -- "$DIR")"
}

check_external_root() { # refuse a pre-made or foreign directory in /var/tmp
	local root="$1"
	if [ -L "$root" ] || [ ! -d "$root" ]; then die "$root is not a directory"; fi
	[ "$(stat -c '%U %a' -- "$root")" = "$PG_USER 700" ] ||
		die "$root must be owned by $PG_USER with mode 700; remove it and retry"
}

# Create DIR/cluster (or the external root and the symlink) for PG_USER.
prepare_cluster_root() {
	mkdir -p -- "$DIR"
	if [ -L "$DIR/cluster" ]; then
		if [ -e "$CLUSTER" ]; then
			check_external_root "$CLUSTER"
			return
		fi
		log "recorded cluster location $CLUSTER is gone; recreating it"
		rm -f -- "$DIR/cluster"
	fi
	[ -d "$DIR/cluster" ] && return
	if [ "$PG_USER" = "$(id -un)" ]; then
		mkdir -m 700 -- "$DIR/cluster"
		CLUSTER="$DIR/cluster"
		return
	fi
	# Root: can $PG_USER enter DIR (every parent searchable)?
	chmod 0711 -- "$DIR"
	# shellcheck disable=SC2016 # $1 is expanded by the inner sh
	if (cd / && runuser -u "$PG_USER" -- sh -c 'cd "$1"' sh "$DIR") 2>/dev/null; then
		install -d -m 700 -o "$PG_USER" -g "$(id -gn "$PG_USER")" -- "$DIR/cluster"
		CLUSTER="$DIR/cluster"
	else
		CLUSTER="$(external_root)"
		log "$PG_USER cannot traverse to $DIR; keeping the cluster in $CLUSTER (symlinked from $DIR/cluster)"
		if [ ! -e "$CLUSTER" ]; then
			install -d -m 700 -o "$PG_USER" -g "$(id -gn "$PG_USER")" -- "$CLUSTER"
		fi
		check_external_root "$CLUSTER"
		ln -s -- "$CLUSTER" "$DIR/cluster"
	fi
}

ensure_password() {
	if [ ! -s "$DIR/password" ]; then
		(
			umask 077
			od -An -tx1 -N16 /dev/urandom | tr -d ' \n' >"$DIR/password.tmp"
		)
		mv -f -- "$DIR/password.tmp" "$DIR/password"
		log "generated the password of $PG_SUPERUSER in $DIR/password"
	fi
	PASSWORD="$(cat -- "$DIR/password")"
}

# Socket directory: inside the cluster when the path fits in a unix socket
# address (107 bytes including "/.s.PGSQL.NNNNN"); otherwise no socket at all
# (everything here connects over TCP).
socket_dir() {
	local d="$CLUSTER/run"
	if [ "${#d}" -le 88 ]; then printf '%s\n' "$d"; else printf '\n'; fi
}

sql_quote() { printf "'%s'" "${1//\'/\'\'}"; }

write_settings() { # PORT NOFSYNC -> writes $DATA/provisioner.conf; returns 0 if it changed
	local port="$1" nofsync="$2" sock new
	sock="$(socket_dir)"
	new="$(
		printf '# Managed by scripts/dev-postgres.sh; rewritten by every ensure.\n'
		printf 'listen_addresses = %s\n' "'127.0.0.1'"
		printf 'port = %s\n' "$port"
		printf 'unix_socket_directories = %s\n' "$(sql_quote "$sock")"
		# A test run gives every test a database and an application pool of its own (plus a
		# LISTEN connection each), all at once: the throwaway test cluster needs more slots.
		if [ "$nofsync" = 1 ]; then printf 'max_connections = 1000\n'; else printf 'max_connections = 200\n'; fi
		printf 'shared_buffers = 128MB\n'
		printf 'timezone = %s\n' "'UTC'"
		printf 'log_timezone = %s\n' "'UTC'"
		printf 'logging_collector = off\n'
		printf 'log_min_duration_statement = -1\n'
		if [ "$nofsync" = 1 ]; then
			printf '# --no-fsync: throwaway test cluster\n'
			printf 'fsync = off\nfull_page_writes = off\nsynchronous_commit = off\n'
		fi
	)"
	if [ -f "$DATA/provisioner.conf" ] && [ "$(cat -- "$DATA/provisioner.conf")" = "$new" ]; then
		return 1
	fi
	printf '%s\n' "$new" | as_pg tee "$DATA/provisioner.conf" >/dev/null
	if [ -n "$sock" ]; then as_pg mkdir -p -m 700 "$sock"; fi
	return 0
}

init_cluster() {
	local bindir="$1" locale_opt=(--no-locale)
	if locale -a 2>/dev/null | grep -qix 'c\.utf-\?8'; then locale_opt=(--locale=C.UTF-8); fi
	log "initdb $DATA (PostgreSQL $(basename "$(dirname "$bindir")"), superuser $PG_SUPERUSER, owner $PG_USER)"
	as_pg "$bindir/initdb" -D "$DATA" -U "$PG_SUPERUSER" -E UTF8 "${locale_opt[@]}" \
		--auth-local=trust --auth-host=trust >"$CLUSTER/initdb.log.tmp" 2>&1 || {
		cat "$CLUSTER/initdb.log.tmp" >&2 2>/dev/null || true
		die "initdb failed (see above)"
	}
	rm -f -- "$CLUSTER/initdb.log.tmp"
	# Only what this private cluster needs: the socket and loopback, no password check.
	as_pg tee "$DATA/pg_hba.conf" >/dev/null <<'EOF'
# Managed by scripts/dev-postgres.sh: a private dev/test cluster on loopback.
# TYPE  DATABASE  USER  ADDRESS        METHOD
local   all       all                  trust
host    all       all   127.0.0.1/32   trust
EOF
	printf "\n# scripts/dev-postgres.sh\ninclude_if_exists = 'provisioner.conf'\n" |
		as_pg tee -a "$DATA/postgresql.conf" >/dev/null
}

is_running() { # BINDIR
	[ -d "$DATA" ] || return 1
	local rc=0
	as_pg "$1/pg_ctl" status -D "$DATA" >/dev/null 2>&1 || rc=$?
	[ "$rc" -eq 0 ]
}

url_for() { # PORT DBNAME
	printf 'postgres://%s:%s@127.0.0.1:%s/%s\n' "$PG_SUPERUSER" "$PASSWORD" "$1" "$2"
}

cmd_ensure() {
	[ "$#" -ge 2 ] || usage
	local dir="" port="" db="" nofsync=0 freeport=0 a pos=()
	for a in "$@"; do
		case "$a" in
		--no-fsync) nofsync=1 ;;
		--free-port) freeport=1 ;;
		-*) die "unknown option $a" ;;
		*) pos+=("$a") ;;
		esac
	done
	if [ "${#pos[@]}" -lt 2 ] || [ "${#pos[@]}" -gt 3 ]; then usage; fi
	dir="${pos[0]}" port="${pos[1]}" db="${pos[2]:-}"
	check_port "$port"
	[ -z "$db" ] || check_dbname "$db"

	apt_install_missing postgresql postgresql-client
	resolve_dir "$dir"
	mkdir -p -- "$DIR"
	exec 9>"$DIR/.lock"
	# One `ensure` at a time per cluster; bounded so that nothing hangs for ever.
	flock -w 120 9 || die "another ensure of $dir has held $DIR/.lock for 2 minutes"
	if is_root && [ "$PG_USER" = "$PG_SYSTEM_USER" ]; then ensure_system_user; fi
	prepare_cluster_root
	DATA="$CLUSTER/data"
	ensure_password

	local bindir state
	if [ -f "$DATA/PG_VERSION" ]; then
		bindir="$(pg_bindir "$(cat -- "$DATA/PG_VERSION")")"
	else
		bindir="$(pg_bindir)"
		if [ -e "$DATA" ]; then
			die "$DATA exists but is not a cluster (no PG_VERSION); run: $0 destroy $dir"
		fi
		init_cluster "$bindir"
	fi

	if [ "$freeport" = 1 ]; then
		local configured
		configured="$(sed -n 's/^port = \([0-9]*\)$/\1/p' "$DATA/provisioner.conf" 2>/dev/null || true)"
		if [ -n "$configured" ] && is_running "$bindir"; then
			port="$configured"
		else
			port="$(free_port "$port")"
		fi
	fi
	if write_settings "$port" "$nofsync"; then
		if is_running "$bindir"; then
			log "settings changed; restarting"
			as_pg "$bindir/pg_ctl" restart -w -t 60 -m fast -D "$DATA" -l "$CLUSTER/postgres.log" >/dev/null ||
				die "pg_ctl restart failed; see $CLUSTER/postgres.log"
		fi
	fi
	if is_running "$bindir"; then
		state="already running"
	else
		log "starting PostgreSQL on 127.0.0.1:$port (log: $CLUSTER/postgres.log)"
		if ! as_pg "$bindir/pg_ctl" start -w -t 60 -D "$DATA" -l "$CLUSTER/postgres.log" >/dev/null 2>&1; then
			tail -n 15 "$CLUSTER/postgres.log" >&2 2>/dev/null || true
			die "pg_ctl start failed (port $port in use?); see $CLUSTER/postgres.log"
		fi
		state="started"
	fi
	"$bindir/pg_isready" -q -h 127.0.0.1 -p "$port" -t 30 ||
		die "the cluster in $dir does not answer on 127.0.0.1:$port"

	# (Re)assert the superuser's password on every ensure: cheap, and it keeps
	# the URL right even if DIR/password was replaced. Fed on stdin, not argv.
	local admin_url
	admin_url="$(url_for "$port" postgres)"
	"$bindir/psql" "$admin_url" -X -q -v ON_ERROR_STOP=1 -v pw="$PASSWORD" >/dev/null <<'SQL' ||
ALTER ROLE CURRENT_USER WITH SUPERUSER LOGIN PASSWORD :'pw';
SQL
		die "could not set the password of $PG_SUPERUSER"
	if [ -n "$db" ]; then
		"$bindir/psql" "$admin_url" -X -q -v ON_ERROR_STOP=1 -v db="$db" >/dev/null <<'SQL' ||
SELECT format('CREATE DATABASE %I', :'db')
WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = :'db') \gexec
SQL
			die "could not create database $db"
	fi
	log "PostgreSQL $(cat -- "$DATA/PG_VERSION") $state: 127.0.0.1:$port, data $DATA${db:+, database $db}$([ "$nofsync" = 1 ] && printf ', fsync off')"
	url_for "$port" "${db:-postgres}"
}

cmd_url() {
	[ "$#" -eq 3 ] || usage
	check_port "$2"
	check_dbname "$3"
	resolve_dir "$1"
	[ -s "$DIR/password" ] || die "no cluster in $1 yet; run: $0 ensure $1 $2"
	PASSWORD="$(cat -- "$DIR/password")"
	url_for "$2" "$3"
}

existing_bindir() {
	if [ -f "$DATA/PG_VERSION" ]; then pg_bindir "$(cat -- "$DATA/PG_VERSION")"; else return 1; fi
}

cmd_stop() {
	[ "$#" -eq 1 ] || usage
	resolve_dir "$1"
	local bindir
	if ! bindir="$(existing_bindir)" || ! is_running "$bindir"; then
		log "not running: $1"
		return 0
	fi
	log "stopping PostgreSQL of $1"
	as_pg "$bindir/pg_ctl" stop -w -t 60 -m fast -D "$DATA" >/dev/null || die "pg_ctl stop failed"
}

cmd_status() {
	[ "$#" -eq 1 ] || usage
	resolve_dir "$1"
	local bindir
	if bindir="$(existing_bindir)" && is_running "$bindir"; then
		log "running: $1 (data $DATA, $(grep -E '^port' "$DATA/provisioner.conf" 2>/dev/null || echo 'port ?'))"
		return 0
	fi
	log "not running: $1"
	return 3
}

cmd_destroy() {
	[ "$#" -eq 1 ] || usage
	cmd_stop "$1"
	resolve_dir "$1"
	if [ -L "$DIR/cluster" ]; then
		case "$CLUSTER" in
		/var/tmp/provisioner-pg-*) rm -rf -- "$CLUSTER" ;;
		*) die "refusing to delete unexpected symlink target $CLUSTER" ;;
		esac
	fi
	rm -rf -- "$DIR"
	log "deleted $1"
}

[ "$#" -ge 1 ] || usage
sub="$1"
shift
case "$sub" in
ensure) cmd_ensure "$@" ;;
url) cmd_url "$@" ;;
stop) cmd_stop "$@" ;;
status) cmd_status "$@" ;;
destroy) cmd_destroy "$@" ;;
*) usage ;;
esac
