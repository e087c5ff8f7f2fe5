#!/usr/bin/env bash
# `make lint`: shellcheck on every script (installs shellcheck from Debian if
# missing). yamllint of openapi.yaml and the CI files: later.
set -euo pipefail

LOG_TAG=lint
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=scripts/lib.sh
. "$here/lib.sh"
cd "$REPO_ROOT"

apt_install_missing shellcheck
files=(scripts/*.sh .ci/run)
log "shellcheck -x ${files[*]}"
shellcheck -x "${files[@]}"
log "lint passed"
