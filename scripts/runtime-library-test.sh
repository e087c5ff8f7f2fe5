#!/usr/bin/env bash
# The runtime's secret read as a drop-in for Google's client libraries, part of `make test`:
# `{"web": <GET /v1/tenants/{slug}/credentials/active/secret>}` must be a client config that
# google-auth-oauthlib's Flow.from_client_config accepts (it requires client_id, auth_uri and
# token_uri) and builds the authorization URL from.
#
#  1. google-auth-oauthlib (pinned) in the venv .local/venv the browser test uses.
#  2. The provisioner binary: $PROVISIONER_BIN, else the debug build (a no-op after `make test`'s).
#  3. A fresh database `provisioner_runtime_lib` on TEST_DATABASE_URL (or the test cluster),
#     `provisioner migrate`, support and runtime tokens from `provisioner token create`.
#  4. `provisioner run` on a free port from 18280 (live check and registration probe off: no
#     request leaves the machine); log in .local/runtime-library/server.log; always stopped.
#  5. tests/runtime/test_runtime_library.py: a tenant, its URI set, an upload for it, the
#     verdict `verified`, the runtime's secret read, then Flow.from_client_config and
#     authorization_url(): client_id and redirect_uri of the URL are the uploaded and issued ones.
set -euo pipefail

LOG_TAG=runtime-library-test
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=scripts/lib.sh
. "$here/lib.sh"
cd "$REPO_ROOT"

GOOGLE_AUTH_OAUTHLIB_VERSION=1.5.0
VENV=.local/venv
OUT_DIR=.local/runtime-library
RL_DB=provisioner_runtime_lib
RL_PORT="${RL_PORT:-$(free_port 18280)}"
base="http://127.0.0.1:$RL_PORT"

bootstrap
unset DATABASE_URL

provisioner_binary debug

if [ ! -x "$VENV/bin/python" ]; then
	python3 -m venv "$VENV" || die "python3 -m venv $VENV failed (apt-get install python3-venv)"
fi
if [ "$("$VENV/bin/python" -c 'from importlib.metadata import version; print(version("google-auth-oauthlib"))' 2>/dev/null)" != "$GOOGLE_AUTH_OAUTHLIB_VERSION" ]; then
	log "installing google-auth-oauthlib==$GOOGLE_AUTH_OAUTHLIB_VERSION into $VENV"
	"$VENV/bin/pip" install -q --disable-pip-version-check "google-auth-oauthlib==$GOOGLE_AUTH_OAUTHLIB_VERSION" ||
		die "pip install google-auth-oauthlib==$GOOGLE_AUTH_OAUTHLIB_VERSION failed"
fi

rl_url="$(fresh_migrated_database "$RL_DB" "$bin")"
support_token="$(DATABASE_URL="$rl_url" "$bin" token create --role support --name runtime-lib-support | tail -n1 | tr -d '[:space:]')"
[ -n "$support_token" ] || die "token create --role support failed"
runtime_token="$(DATABASE_URL="$rl_url" "$bin" token create --role runtime --name runtime-lib-runtime | tail -n1 | tr -d '[:space:]')"
[ -n "$runtime_token" ] || die "token create --role runtime failed"

mkdir -p "$OUT_DIR"
start_test_server "$bin" "$RL_PORT" "$OUT_DIR/server.log" 120 \
	DATABASE_URL="$rl_url" PROVISIONER_PUBLIC_URL="$base" \
	PROVISIONER_ENCRYPTION_KEYS="$(new_encryption_key rl1)" PROVISIONER_REGISTRATION_PROBE=off

log "tests/runtime/test_runtime_library.py"
BASE_URL="$base" SUPPORT_TOKEN="$support_token" RUNTIME_TOKEN="$runtime_token" \
	"$VENV/bin/python" tests/runtime/test_runtime_library.py </dev/null ||
	die "the runtime library test failed (server log $OUT_DIR/server.log)"
log "the runtime library test passed"
