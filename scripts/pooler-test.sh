#!/usr/bin/env bash
# The service behind a connection pooler in transaction mode, part of `make test`: Debian's
# PgBouncer (pool_mode = transaction) in front of the test cluster, two `serve` and two `work`
# through it, LISTEN on a direct connection (DATABASE_LISTEN_URL).
#
#  1. A fresh database `provisioner_pooler` on the test cluster, migrated; a login role
#     `provisioner_pooler_login`: LOGIN NOINHERIT, granted `provisioner_app` and nothing else,
#     so a statement that forgot to take the role fails instead of running as the login role.
#     An observer trigger (this database only) records every claim and every verdict of a
#     verification with the job version it was for.
#  2. PgBouncer on a free port (auth scram-sha-256, pool_mode transaction, 20 server
#     connections), run as the cluster's unprivileged user when we are root.
#  3. serve A and serve B (DATABASE_URL through PgBouncer, DATABASE_LISTEN_URL direct), serve C
#     with no DATABASE_LISTEN_URL (so its LISTEN goes through PgBouncer and must be found not to
#     work: C warns, keeps its caches off, and must still see a revocation), work 1 and work 2.
#  4. scripts/pooler-load.py: a token revoked through A is refused by A, B and C within 1 s;
#     POOLER_UPLOADS (5,000) uploads over POOLER_TENANTS (100) tenants from POOLER_CLIENTS (8)
#     threads to A and B, with A and work 1 SIGKILLed after half of them were answered (the
#     clients resend with the same Idempotency-Key to B); every upload read back final and
#     right (clean -> verified or superseded, broken -> rejected with redirect_uri_missing).
#  5. Here: exactly POOLER_UPLOADS credentials; no job version claimed twice; one verdict per
#     credential; PgBouncer saw only its clients (no session left behind: SHOW POOLS).
# Logs in .local/pooler/. Everything started here is stopped on exit, the database and the
# role dropped.
set -euo pipefail

LOG_TAG=pooler-test
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=scripts/lib.sh
. "$here/lib.sh"
cd "$REPO_ROOT"

UPLOADS="${POOLER_UPLOADS:-5000}"
TENANTS="${POOLER_TENANTS:-100}"
CLIENTS="${POOLER_CLIENTS:-8}"
# bench/pooler-capacity.sh: POOLER_KILL=0 kills nothing; POOLER_DIRECT=1 points DATABASE_URL at
# PostgreSQL itself (no PgBouncer in the path) to compare.
KILL="${POOLER_KILL:-1}"
DIRECT="${POOLER_DIRECT:-0}"
OUT_DIR=.local/pooler
DB=provisioner_pooler
LOGIN=provisioner_pooler_login
PIDS=()
work_dir=""
server=""

bootstrap
unset DATABASE_URL DATABASE_LISTEN_URL
apt_install_missing pgbouncer

provisioner_binary debug

cleanup() {
	local rc=$? pid
	trap - EXIT
	for pid in "${PIDS[@]}"; do stop_process "$pid"; done
	if [ -n "$server" ]; then
		psql "$server" -X -q -c "DROP DATABASE IF EXISTS $DB WITH (FORCE)" -c "DROP ROLE IF EXISTS $LOGIN" >/dev/null 2>&1 || true
	fi
	[ -n "$work_dir" ] && rm -rf "$work_dir"
	exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

rm -rf "$OUT_DIR"
mkdir -p "$OUT_DIR"
owner_url="$(fresh_migrated_database "$DB" "$bin")"
server="$(test_server_url)"
pg_hostport="${owner_url#*@}"
pg_hostport="${pg_hostport%%/*}"
pg_port="${pg_hostport##*:}"
password="$(head -c 18 /dev/urandom | base64 | tr -dc 'A-Za-z0-9')"

psql "$owner_url" -X -q -v ON_ERROR_STOP=1 >/dev/null <<-SQL || die "could not make the login role and the observer"
	DROP ROLE IF EXISTS $LOGIN;
	CREATE ROLE $LOGIN LOGIN NOINHERIT PASSWORD '$password';
	GRANT provisioner_app TO $LOGIN;
	-- The observer: every claim (pending -> verifying) and every verdict (verifying -> final),
	-- with the job version it was for.
	CREATE TABLE pooler_observed (credential_id uuid, version integer, event text, worker text);
	GRANT INSERT ON pooler_observed TO provisioner_app;
	CREATE FUNCTION pooler_observe() RETURNS trigger LANGUAGE plpgsql AS \$\$
	BEGIN
	    IF OLD.state = 'pending' AND NEW.state = 'verifying' THEN
	        INSERT INTO pooler_observed VALUES (NEW.id, NEW.verification_version, 'claim', NEW.claimed_by);
	    ELSIF OLD.state = 'verifying' AND NEW.state IN ('verified', 'rejected', 'superseded') THEN
	        INSERT INTO pooler_observed VALUES (NEW.id, OLD.verification_version, 'verdict', OLD.claimed_by);
	    END IF;
	    RETURN NULL;
	END \$\$;
	CREATE TRIGGER pooler_observe AFTER UPDATE OF state ON credentials FOR EACH ROW EXECUTE FUNCTION pooler_observe();
SQL
support_token="$(DATABASE_URL="$owner_url" "$bin" token create --role support --name pooler-support | tail -n1 | tr -d '[:space:]')"
[ -n "$support_token" ] || die "token create --role support failed"

# PgBouncer refuses to run as root: as root it runs as the test cluster's owner.
work_dir="$(mktemp -d /tmp/provisioner-pgbouncer.XXXXXX)"
run_as=()
if is_root; then
	pg_user="$(stat -c %U "$(readlink -f .local/pg-test/cluster)/data" 2>/dev/null || echo provisioner-dev)"
	chown "$pg_user" "$work_dir"
	run_as=(runuser -u "$pg_user" --)
fi
pgb_port="$(free_port 16432)"
cat >"$work_dir/userlist.txt" <<-EOF
	"$LOGIN" "$password"
EOF
cat >"$work_dir/pgbouncer.ini" <<-EOF
	[databases]
	$DB = host=127.0.0.1 port=$pg_port dbname=$DB
	[pgbouncer]
	listen_addr = 127.0.0.1
	listen_port = $pgb_port
	unix_socket_dir =
	auth_type = scram-sha-256
	auth_file = $work_dir/userlist.txt
	pool_mode = transaction
	default_pool_size = 20
	max_client_conn = 400
	server_reset_query =
	logfile = $work_dir/pgbouncer.log
	pidfile = $work_dir/pgbouncer.pid
	admin_users = $LOGIN
EOF
chmod 600 "$work_dir/userlist.txt"
if is_root; then chown "$pg_user" "$work_dir"/*; fi
"${run_as[@]}" /usr/sbin/pgbouncer "$work_dir/pgbouncer.ini" >"$OUT_DIR/pgbouncer.out" 2>&1 &
PIDS+=($!)
for _ in $(seq 1 50); do port_in_use "$pgb_port" && break; sleep 0.1; done
port_in_use "$pgb_port" || { cat "$work_dir/pgbouncer.log" >&2 2>/dev/null || true; die "pgbouncer did not listen on $pgb_port"; }
log "pgbouncer (transaction mode) on 127.0.0.1:$pgb_port in front of 127.0.0.1:$pg_port"

pooled_url="postgres://$LOGIN:$password@127.0.0.1:$pgb_port/$DB"
direct_url="postgres://$LOGIN:$password@127.0.0.1:$pg_port/$DB"
[ "$DIRECT" = 1 ] && pooled_url="$direct_url"
export PROVISIONER_ENCRYPTION_KEYS
PROVISIONER_ENCRYPTION_KEYS="$(new_encryption_key pooler)"
export PROVISIONER_MIGRATIONS_DIR="$REPO_ROOT/migrations" PROVISIONER_LIVE_CHECK=off PROVISIONER_REGISTRATION_PROBE=off
export PROVISIONER_GOOGLE_TOKEN_URL="http://127.0.0.1:9/token" LOG_LEVEL=notice

# start NAME COMMAND LISTEN_URL PORT: one process through the pooler; prints its pid.
start() {
	local name="$1" command="$2" listen="$3" port="$4"
	if [ -n "$listen" ]; then
		DATABASE_URL="$pooled_url" DATABASE_LISTEN_URL="$listen" PROVISIONER_PORT="$port" \
			"$bin" "$command" </dev/null >"$OUT_DIR/$name.log" 2>&1 &
	else
		DATABASE_URL="$pooled_url" PROVISIONER_PORT="$port" "$bin" "$command" </dev/null >"$OUT_DIR/$name.log" 2>&1 &
	fi
	echo $!
}
port_a="$(free_port 18380)"
pid_a="$(start serve-a serve "$direct_url" "$port_a")"
PIDS+=("$pid_a")
port_b="$(free_port $((port_a + 1)))"
pid_b="$(start serve-b serve "$direct_url" "$port_b")"
PIDS+=("$pid_b")
port_c="$(free_port $((port_b + 1)))"
pid_c="$(start serve-c serve "" "$port_c")"
PIDS+=("$pid_c")
port_w1="$(free_port $((port_c + 1)))"
pid_w1="$(start work-1 work "$direct_url" "$port_w1")"
PIDS+=("$pid_w1")
port_w2="$(free_port $((port_w1 + 1)))"
pid_w2="$(start work-2 work "$direct_url" "$port_w2")"
PIDS+=("$pid_w2")
for entry in "a:$port_a:$pid_a" "b:$port_b:$pid_b" "c:$port_c:$pid_c" "work-1:$port_w1:$pid_w1" "work-2:$port_w2:$pid_w2"; do
	IFS=: read -r name port pid <<<"$entry"
	logfile="$OUT_DIR/serve-$name.log"
	[ "${name#work}" != "$name" ] && logfile="$OUT_DIR/$name.log"
	if [ "${name#work}" != "$name" ]; then
		until curl -fs -o /dev/null --max-time 2 "http://127.0.0.1:$port/healthz"; do
			kill -0 "$pid" 2>/dev/null || { tail -n 20 "$logfile" >&2; die "$name exited (see $logfile)"; }
			sleep 0.3
		done
	else
		wait_ready "http://127.0.0.1:$port" "$pid" "$logfile" 60
	fi
done
log "serve A :$port_a, serve B :$port_b, serve C :$port_c (LISTEN through the pooler), work 1 and 2 through the pooler"

# The server connections the five processes hold, sampled while the load runs.
(
	peak=0
	while sleep 0.5; do
		n="$(psql "$owner_url" -X -A -t -c "SELECT count(*) FROM pg_stat_activity WHERE datname = '$DB' AND usename = '$LOGIN'" 2>/dev/null || echo 0)"
		[ "$n" -gt "$peak" ] 2>/dev/null && peak="$n" && echo "$peak" >"$OUT_DIR/peak-connections"
	done
) &
PIDS+=($!)
sql() { psql "$owner_url" -X -q -A -t -v ON_ERROR_STOP=1 -c "$1"; }
kill_args=()
if [ "$KILL" = 1 ]; then
	# serve A goes when half the uploads were answered (the load kills it); work 1 right after,
	# as soon as it holds leases, so that their jobs must be rescued (after the 30 s lease).
	kill_args=(--kill-after $((UPLOADS / 2)) --kill-pids "$pid_a")
	(
		until grep -q "pooler_sigkill_after" "$OUT_DIR/load.out" 2>/dev/null; do sleep 0.1; done
		held=0
		for _ in $(seq 1 600); do
			held="$(sql "SELECT count(*) FROM credentials WHERE state = 'verifying' AND claimed_by LIKE '%:$pid_w1:%'" 2>/dev/null || echo 0)"
			[ "$held" -gt 0 ] && break
			sleep 0.05
		done
		kill -KILL "$pid_w1"
		echo "$held" >"$OUT_DIR/work-1-held"
	) &
	PIDS+=($!)
fi
python3 "$here/pooler-load.py" \
	--bases "http://127.0.0.1:$port_a,http://127.0.0.1:$port_b" \
	--revocation-bases "http://127.0.0.1:$port_c" \
	--token "$support_token" --uploads "$UPLOADS" --tenants "$TENANTS" --clients "$CLIENTS" \
	"${kill_args[@]}" --settle-seconds 150 \
	| tee "$OUT_DIR/load.out" || die "the load through the pooler failed (see above and $OUT_DIR/)"
echo "RESULT pooler_peak_server_connections=$(cat "$OUT_DIR/peak-connections" 2>/dev/null || echo 0) (2 serve x 20 + 1 serve x 20 + 2 work x 10 in their pools, plus LISTEN)"

total="$(sql "SELECT count(*) FROM credentials")"
[ "$total" -eq "$UPLOADS" ] || die "$total credentials stored for $UPLOADS uploads (a retried upload stored twice, or one lost)"
twice="$(sql "SELECT count(*) FROM (SELECT 1 FROM pooler_observed WHERE event = 'claim' GROUP BY credential_id, version HAVING count(*) > 1) t")"
[ "$twice" -eq 0 ] || die "$twice job versions were claimed more than once"
verdicts="$(sql "SELECT count(*) FROM (SELECT 1 FROM pooler_observed WHERE event = 'verdict' GROUP BY credential_id HAVING count(*) > 1) t")"
[ "$verdicts" -eq 0 ] || die "$verdicts credentials got more than one verdict"
with_verdict="$(sql "SELECT count(DISTINCT credential_id) FROM pooler_observed WHERE event = 'verdict'")"
[ "$with_verdict" -eq "$UPLOADS" ] || die "$with_verdict of $UPLOADS credentials got a verdict"
rescued="$(sql "SELECT count(*) FROM (SELECT credential_id FROM pooler_observed WHERE event = 'claim' GROUP BY credential_id HAVING count(*) > 1) t")"
[ "$DIRECT" = 1 ] || grep -q "DATABASE_LISTEN_URL must name PostgreSQL directly" "$OUT_DIR/serve-c.log" ||
	die "serve C listened through the pooler and did not say that it cannot (see $OUT_DIR/serve-c.log)"
if grep -q "DATABASE_LISTEN_URL must name PostgreSQL directly" "$OUT_DIR/serve-b.log" "$OUT_DIR/work-2.log"; then
	die "a process with a direct DATABASE_LISTEN_URL found its LISTEN not working"
fi
survivors=("$pid_b" "$pid_c" "$pid_w2")
[ "$KILL" = 1 ] || survivors+=("$pid_a" "$pid_w1")
for pid in "${survivors[@]}"; do
	kill -0 "$pid" 2>/dev/null || die "a process that was not killed died (pid $pid; see $OUT_DIR/)"
done
if [ "$KILL" = 1 ]; then
	held="$(cat "$OUT_DIR/work-1-held" 2>/dev/null || echo none)"
	[ "$held" != none ] || die "work 1 was never SIGKILLed"
	kill -0 "$pid_w1" 2>/dev/null && die "work 1 survived its SIGKILL"
	echo "RESULT pooler_work_sigkill_held=$held leases"
fi
echo "RESULT pooler_credentials=$total, claimed again after a kill: $rescued, job versions claimed twice: $twice"
log "passed: $UPLOADS uploads through PgBouncer (transaction mode), one serve and one work SIGKILLed midway, every verdict once and right"
