#!/usr/bin/env bash
# bench/pooler-capacity.sh [UPLOADS=20000] [CLIENTS=32]: what one PostgreSQL primary holds with
# the service behind PgBouncer in transaction mode, for the capacity section of
# deploy/README.md.
#
# Runs scripts/pooler-test.sh twice with the release binary and no SIGKILL: UPLOADS uploads over
# 100 tenants from CLIENTS client threads to two `serve`, verified by two `work` (a third
# `serve` only watches a revocation), first through PgBouncer, then with DATABASE_URL straight
# to PostgreSQL, and prints their RESULT lines (uploads answered per second, time until every
# verdict, the peak of server connections) side by side. Everything shares this machine's two
# cores: the figures are a floor for a dedicated primary.
set -euo pipefail

LOG_TAG=bench-pooler
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=bench/lib.sh
. "$here/lib.sh"
cd "$REPO_ROOT"

uploads="${1:-20000}"
clients="${2:-32}"
bootstrap
bench_binaries provisioner
export PROVISIONER_BIN="$BIN_DIR/provisioner" POOLER_UPLOADS="$uploads" POOLER_CLIENTS="$clients" POOLER_KILL=0
mkdir -p .local/bench
for mode in pgbouncer direct; do
	direct=0
	[ "$mode" = direct ] && direct=1
	log "$uploads uploads, $clients clients, DATABASE_URL: $mode"
	POOLER_DIRECT="$direct" bash "$REPO_ROOT/scripts/pooler-test.sh" >".local/bench/pooler-$mode.log" 2>&1 ||
		die "scripts/pooler-test.sh failed ($mode; see .local/bench/pooler-$mode.log)"
	grep '^RESULT' ".local/bench/pooler-$mode.log" | sed "s/^RESULT pooler_/RESULT ${mode}_/"
done
