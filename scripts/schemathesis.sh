#!/usr/bin/env bash
# The schemathesis gate: fuzz the running service against the openapi.yaml it
# serves, once per role, with every check. Any failure fails `make test`.
#
#  1. provisioner binary: $PROVISIONER_BIN if set, else the debug build that
#     `make test` just made (swift build --product provisioner; no-op then);
#     ST_BUILD=release builds and uses the release binary instead.
#  2. TEST_DATABASE_URL (or the test cluster .local/pg-test:54330 if unset):
#     a fresh database `provisioner_st` (dropped first), `provisioner migrate`.
#  3. One token per role with `provisioner token create --role ROLE --name st-ROLE`
#     for ST_ROLES (default: support dashboard runtime); every role must get one.
#     tenant_admin (ST_TENANT_ADMIN=1, the default): tenant `st-tenant` is created
#     through POST /v1/tenants with the support token, then a tenant_admin token
#     for it, and that role joins the loop.
#  4. `provisioner run` on 127.0.0.1:$ST_PORT (default 18080) in the background
#     with a fresh encryption key and PROVISIONER_LIVE_CHECK=off; webhook URLs
#     of any scheme http(s) and any address are accepted (ALLOW_HTTP/ALLOW_PRIVATE),
#     so that registering one never waits on DNS for a random host; waits for
#     /readyz; the server is always stopped on exit (trap). Log:
#     .local/schemathesis/server.log.
#  5. schemathesis (pinned, in the venv .local/venv) per role:
#     run http://127.0.0.1:$ST_PORT/openapi.yaml every check (on by default), all phases,
#     --max-examples $ST_MAX_EXAMPLES (default 50). Reports (JUnit, NDJSON) in
#     .local/schemathesis/ROLE/; replay with `cd .local/schemathesis &&
#     ../venv/bin/st replay ID`. A schemathesis.toml at the repository root,
#     if any, is picked up by schemathesis itself (e.g. per-check settings).
# Other knobs: ST_SEED (reproduce a run), ST_READY_TIMEOUT (seconds, default 120).
set -euo pipefail

LOG_TAG=schemathesis
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=scripts/lib.sh
. "$here/lib.sh"
cd "$REPO_ROOT"

SCHEMATHESIS_VERSION=4.32.5
VENV=.local/venv
ST_DIR=.local/schemathesis
ST_DB=provisioner_st
# 18080, or the next free port when another checkout's server holds it; a port given is used as is.
ST_PORT="${ST_PORT:-$(free_port 18080)}"
ST_MAX_EXAMPLES="${ST_MAX_EXAMPLES:-50}"
ST_READY_TIMEOUT="${ST_READY_TIMEOUT:-120}"
ST_ROLES="${ST_ROLES:-support dashboard runtime}"
ST_TENANT_ADMIN="${ST_TENANT_ADMIN:-1}"
base="http://127.0.0.1:$ST_PORT"

bootstrap
unset DATABASE_URL

# 1. the binary
provisioner_binary "${ST_BUILD:-debug}"

# 2. a fresh database
st_url="$(fresh_migrated_database "$ST_DB" "$bin")"

# 3. tokens (roles whose token was made; parallel array of tokens)
roles=()
tokens=()
have_token_cmd=0
if "$bin" token create --help >/dev/null 2>&1; then have_token_cmd=1; fi
create_token() { # ROLE NAME [extra args...] -> prints the token
	local role="$1" name="$2" out
	shift 2
	out="$(DATABASE_URL="$st_url" "$bin" token create --role "$role" --name "$name" "$@")" || return 1
	out="$(printf '%s\n' "$out" | tail -n1 | tr -d '[:space:]')"
	[ -n "$out" ] || return 1
	printf '%s\n' "$out"
}
if [ "$have_token_cmd" = 1 ]; then
	for role in $ST_ROLES; do
		log "provisioner token create --role $role --name st-$role"
		tok="$(create_token "$role" "st-$role")" || die "token create --role $role failed"
		roles+=("$role")
		tokens+=("$tok")
	done
else
	warn "'provisioner token create' does not exist yet: fuzzing without a token (roles skipped: $ST_ROLES)"
fi

# 4. the server
mkdir -p "$ST_DIR"
# Rate limits off: schemathesis sends thousands of requests a minute with one token, and many
# without one (ignored_auth), all from 127.0.0.1; the 429 answers are covered by the API tests.
start_test_server "$bin" "$ST_PORT" "$ST_DIR/server.log" "$ST_READY_TIMEOUT" \
	DATABASE_URL="$st_url" \
	PROVISIONER_RATE_LIMIT_AUTH_FAILURES=0 PROVISIONER_RATE_LIMIT_TOKEN_REQUESTS=0 \
	PROVISIONER_RATE_LIMIT_UPLOADS=0 PROVISIONER_RATE_LIMIT_LINKS=0 \
	PROVISIONER_ENCRYPTION_KEYS="$(new_encryption_key st1)" \
	PROVISIONER_WEBHOOK_ALLOW_HTTP=true PROVISIONER_WEBHOOK_ALLOW_PRIVATE=true \
	PROVISIONER_GOOGLE_TOKEN_URL="http://127.0.0.1:9/token"
log "ready: $base/readyz"

# tenant_admin hook (see the header).
if [ "$ST_TENANT_ADMIN" = 1 ] && [ "$have_token_cmd" = 1 ]; then
	support_token=""
	for i in "${!roles[@]}"; do
		if [ "${roles[$i]}" = support ]; then support_token="${tokens[$i]}"; fi
	done
	[ -n "$support_token" ] || die "ST_TENANT_ADMIN=1 needs the support role in ST_ROLES"
	log "tenant acme (the slug of the spec's examples) and a tenant_admin token for it"
	code="$(curl -s -o "$ST_DIR/tenant.json" -w '%{http_code}' -X POST "$base/v1/tenants" \
		-H "Authorization: Bearer $support_token" -H 'Content-Type: application/json' \
		--data '{"slug": "acme", "display_name": "Acme 株式会社"}')"
	[ "$code" = 201 ] || die "POST /v1/tenants answered $code, not 201 (see $ST_DIR/tenant.json)"
	tok="$(create_token tenant_admin acme-admin --tenant acme)" ||
		die "token create --role tenant_admin --tenant acme failed"
	roles+=(tenant_admin)
	tokens+=("$tok")
fi

# 5. schemathesis
venv_version() { "$VENV/bin/schemathesis" --version 2>/dev/null | awk '{print $NF}'; }
if [ ! -x "$VENV/bin/schemathesis" ] || [ "$(venv_version)" != "$SCHEMATHESIS_VERSION" ]; then
	log "installing schemathesis==$SCHEMATHESIS_VERSION into $VENV"
	if [ ! -x "$VENV/bin/python" ]; then
		python3 -m venv "$VENV" || die "python3 -m venv $VENV failed (apt-get install python3-venv)"
	fi
	"$VENV/bin/pip" install -q --disable-pip-version-check "schemathesis==$SCHEMATHESIS_VERSION" ||
		die "pip install schemathesis==$SCHEMATHESIS_VERSION failed"
fi

# No --checks: all are on by default, and naming them here would override the
# per-operation exceptions of schemathesis.toml.
st_common=(
	--phases "examples,coverage,fuzzing,stateful"
	--max-examples "$ST_MAX_EXAMPLES"
	--origin "$base"
	--request-timeout 10
	--generation-database none
	--report "junit,ndjson"
)
if [ -n "${ST_SEED:-}" ]; then st_common+=(--seed "$ST_SEED"); fi
if [ "${CI:-}" = true ] || [ ! -t 1 ]; then st_common+=(--no-color); fi

failed=()
run_schemathesis() { # LABEL [extra args...]
	local label="$1" rc=0
	shift
	log "schemathesis run as $label (max-examples $ST_MAX_EXAMPLES; report $ST_DIR/$label/)"
	rm -rf "${ST_DIR:?}/$label"
	# Run from $ST_DIR: schemathesis keeps its replay cache (.schemathesis/) and
	# hypothesis its (.hypothesis/) in the working directory; `st replay ID`
	# works from there. A schemathesis.toml in the repository root is still
	# found (it searches the parent directories).
	(
		cd "$ST_DIR" &&
			HYPOTHESIS_STORAGE_DIRECTORY="$PWD/.hypothesis" \
				"$REPO_ROOT/$VENV/bin/schemathesis" run "$base/openapi.yaml" "${st_common[@]}" \
				--report-dir "$REPO_ROOT/$ST_DIR/$label" "$@" </dev/null
	) || rc=$?
	if [ "$rc" -ne 0 ]; then
		warn "schemathesis as $label failed (exit $rc)"
		failed+=("$label")
	fi
	if ! kill -0 "$TEST_SERVER_PID" 2>/dev/null; then
		tail -n 20 "$ST_DIR/server.log" >&2 || true
		die "the server died during the schemathesis run as $label (see $ST_DIR/server.log)"
	fi
}

if [ "${#roles[@]}" -eq 0 ]; then
	run_schemathesis anonymous
else
	for i in "${!roles[@]}"; do
		run_schemathesis "${roles[$i]}" --header "Authorization: Bearer ${tokens[$i]}"
	done
fi

if [ "${#failed[@]}" -gt 0 ]; then
	die "schemathesis failed for: ${failed[*]} (reports under $ST_DIR/)"
fi
log "schemathesis passed for: ${roles[*]:-anonymous}"
