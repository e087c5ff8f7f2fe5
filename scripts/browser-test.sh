#!/usr/bin/env bash
# The browser test of the web console, part of `make test`.
#
#  1. Debian's chromium and chromium-driver (and Japanese fonts for the screenshots) if
#     missing; Selenium (pinned) in the venv .local/venv.
#  2. The provisioner binary: $PROVISIONER_BIN, else the debug build (swift build --product
#     provisioner; a no-op after `make test`'s build).
#  3. A fresh database `provisioner_browser` on TEST_DATABASE_URL (or the test cluster),
#     `provisioner migrate`, a support token from `provisioner token create`.
#  4. `provisioner run` on a free port from 18180 with PROVISIONER_PUBLIC_URL on it; log in
#     .local/browser/server.log; always stopped on exit.
#  5. tests/browser/test_console.py drives headless Chromium through /usr/bin/chromedriver:
#     a tenant, its URI set and an onboarding link made through the API, the link opened, the
#     issued values checked, uploads, the verdict, the calendar settings, cookie flags, expired
#     and revoked links, a form posted from another site, and axe-core on every page (no
#     serious or critical violation). Screenshots in .local/screenshots/.
set -euo pipefail

LOG_TAG=browser-test
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=scripts/lib.sh
. "$here/lib.sh"
cd "$REPO_ROOT"

SELENIUM_VERSION=4.27.1
# axe-core (carried by this package) for the accessibility check of every page.
AXE_VERSION=2.1.6
VENV=.local/venv
OUT_DIR=.local/browser
SHOT_DIR=.local/screenshots
BR_DB=provisioner_browser
BR_PORT="${BR_PORT:-$(free_port 18180)}"
base="http://127.0.0.1:$BR_PORT"

bootstrap
unset DATABASE_URL
apt_install_missing chromium chromium-driver fonts-noto-cjk
[ -x /usr/bin/chromedriver ] || die "/usr/bin/chromedriver is missing after installing chromium-driver"

provisioner_binary debug

br_url="$(fresh_migrated_database "$BR_DB" "$bin")"
support_token="$(DATABASE_URL="$br_url" "$bin" token create --role support --name browser-support | tail -n1 | tr -d '[:space:]')"
[ -n "$support_token" ] || die "token create --role support failed"

if [ ! -x "$VENV/bin/python" ]; then
	python3 -m venv "$VENV" || die "python3 -m venv $VENV failed (apt-get install python3-venv)"
fi
if [ "$("$VENV/bin/python" -c 'import selenium; print(selenium.__version__)' 2>/dev/null)" != "$SELENIUM_VERSION" ]; then
	log "installing selenium==$SELENIUM_VERSION into $VENV"
	"$VENV/bin/pip" install -q --disable-pip-version-check "selenium==$SELENIUM_VERSION" ||
		die "pip install selenium==$SELENIUM_VERSION failed"
fi
if ! "$VENV/bin/python" -c 'import axe_selenium_python' 2>/dev/null; then
	log "installing axe-selenium-python==$AXE_VERSION into $VENV"
	"$VENV/bin/pip" install -q --disable-pip-version-check "axe-selenium-python==$AXE_VERSION" ||
		die "pip install axe-selenium-python==$AXE_VERSION failed"
fi

mkdir -p "$OUT_DIR" "$SHOT_DIR"
start_test_server "$bin" "$BR_PORT" "$OUT_DIR/server.log" 120 \
	DATABASE_URL="$br_url" PROVISIONER_PUBLIC_URL="$base" PROVISIONER_ENCRYPTION_KEYS="$(new_encryption_key br1)"

log "tests/browser/test_console.py (screenshots in $SHOT_DIR/)"
BASE_URL="$base" SUPPORT_TOKEN="$support_token" SCREENSHOT_DIR="$SHOT_DIR" CHROMEDRIVER=/usr/bin/chromedriver \
	BROWSER_DATABASE_URL="$br_url" \
	"$VENV/bin/python" tests/browser/test_console.py </dev/null || die "the browser test failed (screenshots in $SHOT_DIR/, server log $OUT_DIR/server.log)"
log "the browser test passed"
