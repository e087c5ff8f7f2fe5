#!/usr/bin/env bash
# `make lint`: shellcheck on every script (installs shellcheck from Debian if
# missing), then the checks of deploy/ (scripts/lint-deploy.sh: yamllint,
# kubernetes-validate, hadolint, systemd-analyze). yamllint of openapi.yaml and
# the CI files: later.
set -euo pipefail

LOG_TAG=lint
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=scripts/lib.sh
. "$here/lib.sh"
cd "$REPO_ROOT"

apt_install_missing shellcheck
files=(scripts/*.sh .ci/run)
shellcheck -x "${files[@]}" || die "shellcheck found problems"
log "shellcheck: ok (${#files[@]} files)"
bash "$here/lint-deploy.sh"
log "lint passed"
